"""Aligning pretrained vectors to a vocabulary: the embedding matrix."""

import numpy as np
from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.fasttext import ft_ngram_hashes

from keras_embedplus.vectors import vocabulary as vocabulary_lib
from keras_embedplus.vectors.coverage import Coverage

OOV_POLICIES = ("zeros", "random", "mean", "subword")

# Rows per step when computing statistics over all pretrained vectors, so
# that a float64 pass over 400k x 300 vectors never copies the whole table.
_STATS_CHUNK = 65536
# Values gathered per step when building subword vectors (words x n-grams x
# dim): 16M float32 values, 64 MiB.
_SUBWORD_BUDGET = 1 << 24


def align_vectors(
    vectors,
    vocabulary,
    *,
    oov="random",
    lowercase_fallback=True,
    seed=None,
    dtype="float32",
    mask_token="",
    oov_token="[UNK]",
):
    """Builds the embedding matrix of a vocabulary from pretrained vectors.

    Row `i` of the matrix is the vector of the vocabulary's token `i`, so
    the matrix can be the table of an embedding layer fed with the ids of
    that vocabulary. A word missing from the vectors is looked up in
    another case when `lowercase_fallback` is on: first lowercased ("Hope"
    takes the vector of "hope"), then in any case, preferring the first
    such key in the vectors (the most frequent, in files sorted by
    frequency), so "nasa" takes the vector of "NASA". Words still missing,
    and the OOV rows that unknown tokens map to, get their rows from the
    `oov` policy. The padding row and unused rows are zeros.

    The vocabulary is a list or tuple of tokens (row `i` = token `i`), a
    dict token -> row index (rows no token maps to, such as row 0 of Keras
    2's `Tokenizer.word_index`, are unused rows), or a layer with
    `get_vocabulary()`, such as `TextVectorization` or `StringLookup`, whose
    own padding and OOV rows (`mask_token`, `oov_token`, `num_oov_indices`)
    are respected. For a list or dict, the tokens `mask_token` and
    `oov_token` mark padding and OOV rows, so `layer.get_vocabulary()`
    aligns like the layer. A word that appears twice is an error.

    OOV policies:

    - `"zeros"`: zero vectors.
    - `"random"`: normal samples with the per-dimension mean and standard
      deviation of the pretrained vectors the vocabulary found (each
      distinct vector once), drawn from a generator seeded with `seed`
      (the same seed gives the same matrix). These are the same vectors
      whether they came from a whole file or from one read for the
      vocabulary only, so both give the same rows. With fewer than two
      vectors found, the samples are standard normal.
    - `"mean"`: the mean of the pretrained vectors the vocabulary found
      (zeros if none was).
    - `"subword"`: for fastText vectors with subword information
      (`gensim.models.fasttext.FastTextKeyedVectors`, as read from a
      Facebook `.bin` file), a missing word gets the vector fastText
      builds from its character n-grams, equal to what gensim's
      `get_vector` returns. OOV rows have no word and are zeros. With other
      vectors this policy is an error. fastText vectors with another
      policy do not use their subwords: choosing `"subword"` is explicit.
    - a callable: called once with the list of tokens of the rows to fill
      (missing words, then the OOV rows' tokens, in row order), returning
      an array of shape `(len(tokens), dim)`.

    Args:
        vectors: `gensim.models.KeyedVectors` (a `FastTextKeyedVectors`
            too). The pretrained vectors.
        vocabulary: List or tuple of strings, dict string -> integer, or an
            object with `get_vocabulary()`. The tokens of the rows.
        oov: String or callable, default `"random"`. How to fill the rows
            without a pretrained vector: `"zeros"`, `"random"`, `"mean"`,
            `"subword"` or a callable (see above).
        lowercase_fallback: Boolean, default `True`. Whether to look a
            missing word up in another case.
        seed: Optional integer. Seed of the `"random"` policy.
        dtype: Float dtype of the matrix, default `"float32"`.
        mask_token: String or `None`, default `""`. For a list or dict
            vocabulary: the token of the padding row (zeros).
        oov_token: String or `None`, default `"[UNK]"`. For a list or dict
            vocabulary: the token of OOV rows (filled by the `oov` policy).

    Returns:
        A tuple `(matrix, coverage)`: a numpy array of shape
        `(len(vocabulary), vectors.vector_size)` and a `Coverage` report.

    Example:

    >>> import numpy as np
    >>> from gensim.models import KeyedVectors
    >>> vectors = KeyedVectors(2)
    >>> vectors.add_vectors(["the", "cat"], np.array([[1., 2.], [3., 4.]]))
    >>> matrix, coverage = keras_embedplus.vectors.align_vectors(
    ...     vectors, ["", "[UNK]", "Cat", "the", "qwzx"], oov="zeros")
    >>> matrix
    array([[0., 0.],
           [0., 0.],
           [3., 4.],
           [1., 2.],
           [0., 0.]], dtype=float32)
    >>> coverage
    Coverage(found=1, found_lowercase=1, found_subword=0, missing=1,
    reserved=2, total=5, ratio=0.6667)
    """
    _check_vectors(vectors)
    _check_policy(oov, vectors)
    dtype = _float_dtype(dtype)
    rows = vocabulary_lib.vocabulary_rows(
        vocabulary, mask_token=mask_token, oov_token=oov_token
    )
    source, found_lowercase = _find_rows(vectors, rows, lowercase_fallback)
    found = np.flatnonzero(source >= 0)
    words = np.zeros(len(rows), dtype=bool)
    words[rows.word_ids()] = True
    not_found = words & (source < 0)
    missing = np.flatnonzero(not_found)
    oov_rows = np.flatnonzero(not_found | (rows.kinds == vocabulary_lib.OOV))

    matrix = np.zeros((len(rows), vectors.vector_size), dtype=dtype)
    matrix[found] = vectors.vectors[source[found]]
    found_subword = _fill_oov(
        matrix, oov_rows, missing, vectors, rows, oov, seed, source[found]
    )

    oov_mask = np.zeros(len(rows), dtype=bool)
    oov_mask[oov_rows] = True
    oov_mask.flags.writeable = False
    coverage = Coverage(
        total=len(rows),
        reserved=int(np.count_nonzero(~words)),
        found=len(found) - found_lowercase,
        found_lowercase=found_lowercase,
        found_subword=found_subword,
        missing=tuple(rows.tokens[row] for row in missing),
        oov_mask=oov_mask,
    )
    return matrix, coverage


def _check_vectors(vectors):
    if not isinstance(vectors, KeyedVectors):
        raise TypeError(
            "`vectors` must be a gensim `KeyedVectors`, such as what "
            "`keras_embedplus.load_vectors(path)` returns. Received: "
            f"vectors of type {type(vectors).__name__}"
        )


def _has_subwords(vectors):
    return (
        isinstance(vectors, FastTextKeyedVectors)
        and vectors.bucket > 0
        and vectors.vectors_ngrams is not None
        and len(vectors.vectors_ngrams) > 0
    )


def _check_policy(oov, vectors):
    if callable(oov):
        return
    if oov not in OOV_POLICIES:
        raise ValueError(
            f"`oov` must be one of {', '.join(map(repr, OOV_POLICIES))} "
            f"or a callable. Received: oov={oov!r}"
        )
    if oov == "subword" and not _has_subwords(vectors):
        raise ValueError(
            "`oov='subword'` needs fastText vectors with subword "
            "information (a Facebook fastText `.bin` file, read as "
            "gensim's `FastTextKeyedVectors`). These vectors "
            f"({type(vectors).__name__}) have none: use oov='random', "
            "'mean' or 'zeros'."
        )


def _float_dtype(dtype):
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or result.kind != "f":
        raise ValueError(
            "`dtype` must be a float dtype such as 'float32'. "
            f"Received: dtype={dtype!r}"
        )
    return result


def _find_rows(vectors, rows, lowercase_fallback):
    """Index into `vectors` of each row's word (or -1), and the case hits.

    Only dict lookups run per word. `key_to_index` is used rather than
    `in`, which `FastTextKeyedVectors` answers with True for any word.
    """
    key_to_index = vectors.key_to_index
    source = np.full(len(rows), -1, dtype=np.int64)
    unresolved = []
    for row in rows.word_ids().tolist():
        index = key_to_index.get(rows.tokens[row])
        if index is None:
            unresolved.append(row)
        else:
            source[row] = index
    if not lowercase_fallback or not unresolved:
        return source, 0
    other_case = []
    for row in unresolved:
        index = key_to_index.get(rows.tokens[row].lower())
        if index is None:
            other_case.append(row)
        else:
            source[row] = index
    if other_case:
        by_case = _index_by_lowercase(vectors.index_to_key)
        for row in other_case:
            source[row] = by_case.get(rows.tokens[row].lower(), -1)
    return source, int(np.count_nonzero(source[unresolved] >= 0))


def _index_by_lowercase(index_to_key):
    """Lowercased key -> index of the first key with that lowercase form."""
    try:
        lowered = list(map(str.lower, index_to_key))
    except TypeError:  # non-string keys, such as integer document tags
        lowered = [k.lower() if isinstance(k, str) else k for k in index_to_key]
    # Built from the end, so that the first key of each form is kept.
    indices = range(len(lowered) - 1, -1, -1)
    return dict(zip(reversed(lowered), indices, strict=True))


def _fill_oov(matrix, oov_rows, missing, vectors, rows, oov, seed, sources):
    """Fills the rows without a pretrained vector; returns subword hits.

    `sources` are the indices in `vectors` of the found words' vectors.
    """
    if not len(oov_rows) or oov == "zeros":
        return 0
    dim = matrix.shape[1]
    if callable(oov):
        tokens = [rows.tokens[row] for row in oov_rows]
        values = np.asarray(oov(tokens))
        if values.shape != (len(tokens), dim):
            raise ValueError(
                "The `oov` callable must return an array of shape "
                f"{(len(tokens), dim)} (one row per token it receives). "
                f"Received shape {values.shape}"
            )
        matrix[oov_rows] = values
        return 0
    if oov == "subword":
        return _fill_subwords(matrix, missing, vectors, rows)
    distinct = np.unique(sources)
    if len(distinct) >= 2 and len(distinct) == len(vectors.vectors):
        mean, std = _vector_stats(vectors.vectors)  # no copy of them all
    elif len(distinct) >= 2:
        mean, std = _vector_stats(vectors.vectors[distinct])
    elif oov == "mean" and len(distinct):
        mean, std = vectors.vectors[distinct[0]], None
    else:
        mean, std = np.zeros(dim), np.ones(dim)
    if oov == "mean":
        matrix[oov_rows] = mean
    else:
        rng = np.random.default_rng(seed)
        matrix[oov_rows] = rng.normal(mean, std, size=(len(oov_rows), dim))
    return 0


def _vector_stats(table):
    """Per-dimension mean and standard deviation of the finite vectors.

    Computed in chunks of rows (each chunk summed in float64, squared
    deviations in the table's own dtype), so that no copy of the whole
    table is made: 400k x 300 vectors take a fraction of a second. Rows
    holding nan or inf (loaded with `allow_nonfinite=True`) are left out.
    """
    total = np.zeros(table.shape[1])
    count = 0
    for start in range(0, len(table), _STATS_CHUNK):
        rows = _finite_rows(table[start : start + _STATS_CHUNK])
        total += rows.sum(0, dtype=np.float64)
        count += len(rows)
    mean = total / max(count, 1)
    squares = np.zeros(table.shape[1])
    for start in range(0, len(table), _STATS_CHUNK):
        rows = _finite_rows(table[start : start + _STATS_CHUNK])
        deviation = rows - mean.astype(table.dtype)
        squares += np.einsum("ij,ij->j", deviation, deviation)
    return mean, np.sqrt(squares / max(count, 1))


def _finite_rows(rows):
    finite = np.isfinite(rows).all(axis=1)
    return rows if finite.all() else rows[finite]


def _fill_subwords(matrix, missing, vectors, rows):
    """Builds the missing words' rows from their n-grams, as fastText does.

    The n-gram hashes are computed per word (gensim's `ft_ngram_hashes`).
    Words with the same number of n-grams are then built together: one
    gather of shape `(words, n-grams, dim)` and a sum over the n-grams,
    which adds them in order, as gensim's `get_vector` does, so the rows
    equal its vectors exactly. A word without any n-gram keeps its zero
    row, as in gensim.
    """
    by_count = {}
    for row in missing.tolist():
        hashes = ft_ngram_hashes(
            rows.tokens[row], vectors.min_n, vectors.max_n, vectors.bucket
        )
        if hashes:
            by_count.setdefault(len(hashes), []).append((row, hashes))
    table = vectors.vectors_ngrams
    for count, words in by_count.items():
        step = max(1, _SUBWORD_BUDGET // (count * table.shape[1]))
        for start in range(0, len(words), step):
            chunk = words[start : start + step]
            ngrams = np.array([word_hashes for _, word_hashes in chunk])
            sums = table[ngrams].sum(axis=1)
            matrix[[row for row, _ in chunk]] = sums / table.dtype.type(count)
    return sum(len(words) for words in by_count.values())
