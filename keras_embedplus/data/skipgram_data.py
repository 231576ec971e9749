import itertools
import numbers

import numpy as np

from keras_embedplus.vectors.arguments import check_integer

# Tokens per slice of the corpus turned into pairs at once: bounds memory
# (about 100 bytes of pairs per token) on corpora of any size.
_CHUNK_TOKENS = 1 << 20


def skipgram_dataset(
    sequences,
    vocabulary_size,
    window=5,
    negatives=5,
    subsample=1e-3,
    batch_size=1024,
    seed=None,
    oov_ids=None,
    shuffle=True,
    ns_exponent=0.75,
):
    """Skip-gram pairs with negative samples, as gensim's word2vec draws them.

    Turns a corpus of integer ids into a `tf.data.Dataset` of batches
    `((target, context_and_negatives), labels)` for a skip-gram model with
    negative sampling, following the recipe of word2vec and gensim's
    `Word2Vec(sg=1)`:

    - Padding (id 0) and the `oov_ids` are removed from the sequences
      first, as gensim drops words outside its vocabulary: they are never a
      target, a context or a negative.
    - Frequent words are subsampled: each occurrence of a word seen `c`
      times among `n` tokens is kept with probability
      `min(1, (sqrt(c / t) + 1) * t / c)`, where `t = subsample * n`
      (gensim's formula), drawn afresh at every pass.
    - The window shrinks at random: each kept token takes an effective
      window drawn uniformly from `1..window` and pairs with every kept
      token that close to it in the same sequence, on both sides.
    - Each true pair gets `negatives` negative ids drawn from the unigram
      distribution raised to `ns_exponent`, over the words the corpus
      holds (so never 0, an OOV id, or an id the corpus never uses).

    The pairs are made by vectorised numpy, a slice of about a million
    tokens at a time, and shuffled within the slice when `shuffle=True`.
    Every batch holds exactly `batch_size` pairs (fixed shapes: no
    retracing, no recompiling on JAX), and a pass over the dataset (an
    epoch of `model.fit`) is as many batches as one pass over the corpus
    makes, measured on the first pass, so Keras knows the epoch's length.
    Each pass draws a fresh sample, running on into another sweep of the
    corpus when it needs a few more pairs and dropping the pairs left over.
    The sequence of passes is the same from run to run for a given `seed`;
    with `seed=None` the seed is drawn from numpy's global generator when
    the dataset is made, so `keras.utils.set_random_seed` makes it
    reproducible too. The dataset is a `tf.data` pipeline with prefetching:
    it feeds models on every Keras backend.

    Args:
        sequences: The corpus: a list of sequences of integer ids (lists or
            1D arrays, of any lengths), or a 2D integer array padded with 0.
        vocabulary_size: Integer. Every id is below it (the `input_dim` of
            the embedding tables).
        window: Integer. The largest distance between a target and a
            context. Defaults to `5`.
        negatives: Integer. Negative ids drawn per true pair. Defaults to
            `5`.
        subsample: Float in `[0, 1)`. The `sample` of gensim: the share of
            the corpus above which words are subsampled; `0` keeps every
            token. Defaults to `1e-3`.
        batch_size: Integer. True pairs per batch. Defaults to `1024`.
        seed: Integer or `None`. Seed for every random draw.
        oov_ids: Integer, list of integers or `None`. Ids that stand for
            out-of-vocabulary tokens (e.g. `1`, the `"[UNK]"` of
            `keras.layers.TextVectorization`), removed like padding.
        shuffle: Boolean. Whether to shuffle the pairs. Defaults to `True`.
        ns_exponent: Float. The exponent of the unigram distribution the
            negatives are drawn from. Defaults to `0.75`.

    Returns:
        A `tf.data.Dataset` of `((target, context_and_negatives), labels)`:
        `target` is int32 of shape `(batch,)`, `context_and_negatives` int32
        of shape `(batch, 1 + negatives)` holding the true context first,
        and `labels` float32 of the same shape, `1.0` then `0.0`s.

    Example:

    >>> dataset = keras_embedplus.data.skipgram_dataset(
    ...     [[1, 2, 3, 4, 5, 6], [2, 3, 4]], vocabulary_size=7,
    ...     window=2, negatives=3, subsample=0, batch_size=4, seed=0)
    >>> (target, context), labels = next(iter(dataset))
    >>> target.shape, context.shape, labels.shape
    (TensorShape([4]), TensorShape([4, 4]), TensorShape([4, 4]))
    >>> labels[0].numpy()
    array([1., 0., 0., 0.], dtype=float32)
    """
    import tensorflow as tf

    corpus = _Corpus(sequences, vocabulary_size, oov_ids)
    window = check_integer("window", window, minimum=1)
    negatives = check_integer("negatives", negatives, minimum=0)
    batch_size = check_integer("batch_size", batch_size, minimum=1)
    if not isinstance(subsample, numbers.Real) or not 0 <= subsample < 1:
        raise ValueError(
            "`subsample` must be a number in [0, 1), the share of the corpus "
            "above which words are subsampled (0 keeps every token). "
            f"Received: subsample={subsample!r}"
        )
    if not isinstance(ns_exponent, numbers.Real):
        raise ValueError(
            f"`ns_exponent` must be a number. Received: ns_exponent="
            f"{ns_exponent!r}"
        )
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    else:
        seed = check_integer("seed", seed, allow_none=True)
    recipe = _Recipe(
        keep=_keep_probability(corpus.counts, subsample),
        cdf=_negative_cdf(corpus.counts, ns_exponent),
        window=window,
        negatives=negatives,
        shuffle=shuffle,
    )
    passes = itertools.count()
    tokens, sentence = next(corpus.chunks())
    first = len(recipe.pairs(tokens, sentence, _rng(seed, 0, 0))[0])
    expected = first * len(corpus.tokens) / len(tokens)
    steps = max(1, int(round(expected / batch_size)))

    def generate():
        # Pass k of the dataset is `steps` batches from its own stream, so
        # it is the same however far the previous passes were read.
        stream = _stream(corpus, recipe, seed, next(passes), batch_size)
        for batch in itertools.islice(stream, steps):
            yield _as_example(batch)

    width = 1 + negatives
    signature = (
        (
            tf.TensorSpec((batch_size,), tf.int32),
            tf.TensorSpec((batch_size, width), tf.int32),
        ),
        tf.TensorSpec((batch_size, width), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=signature
    )
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _rng(seed, dataset_pass, repeat):
    return np.random.default_rng([seed, dataset_pass, repeat])


def _stream(corpus, recipe, seed, dataset_pass, batch_size):
    """Full batches of pairs from passes over the corpus, without end."""
    pending = None
    for repeat in itertools.count():
        rng = _rng(seed, dataset_pass, repeat)
        for tokens, sentence in corpus.chunks():
            pairs = recipe.pairs(tokens, sentence, rng)
            if pending is not None:
                pairs = _concatenate([pending, pairs])
            count = len(pairs[0])
            for start in range(0, count - batch_size + 1, batch_size):
                yield _batch(pairs, start, start + batch_size)
            pending = _batch(pairs, count - count % batch_size, count)


def _keep_probability(counts, subsample):
    """Gensim's subsampling: the chance each occurrence of a word is kept."""
    counts = np.asarray(counts, dtype="float64")
    if not subsample:
        return np.ones_like(counts)
    threshold = subsample * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.where(counts > 0, np.minimum(keep, 1.0), 0.0)


def _negative_cdf(counts, exponent):
    weights = np.where(counts > 0, counts.astype("float64") ** exponent, 0.0)
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


class _Corpus:
    """The sequences as one flat array of the ids kept, with sentence ids."""

    def __init__(self, sequences, vocabulary_size, oov_ids):
        self.vocabulary_size = check_integer(
            "vocabulary_size", vocabulary_size, minimum=2
        )
        if isinstance(sequences, (str, bytes)) or not hasattr(
            sequences, "__len__"
        ):
            raise ValueError(
                "`sequences` must be a list of sequences of integer ids, or "
                f"a 2D integer array. Received: {type(sequences).__name__}"
            )
        pieces = [np.asarray(s) for s in sequences]
        for index, piece in enumerate(pieces):
            if piece.ndim != 1 or not (
                piece.size == 0 or np.issubdtype(piece.dtype, np.integer)
            ):
                raise ValueError(
                    "`sequences` must be a list of sequences of integer ids, "
                    f"or a 2D integer array. Sequence {index} is "
                    f"{np.asarray(sequences[index])!r:.80}"
                )
        lengths = np.array([len(p) for p in pieces], dtype="int64")
        tokens = (
            np.concatenate(pieces).astype("int64")
            if len(pieces)
            else np.zeros(0, "int64")
        )
        sentence = np.repeat(np.arange(len(pieces)), lengths)
        bad = (tokens < 0) | (tokens >= self.vocabulary_size)
        if bad.any():
            where = int(np.argmax(bad))
            seq = int(sentence[where])
            raise ValueError(
                f"Sequence {seq} holds the id {int(tokens[where])}, outside "
                f"[0, vocabulary_size={self.vocabulary_size}). Pass the "
                "vocabulary size of the lookup that made the ids."
            )
        dropped = np.zeros(self.vocabulary_size, dtype=bool)
        dropped[0] = True
        for oov in _oov_list(oov_ids, self.vocabulary_size):
            dropped[oov] = True
        kept = ~dropped[tokens]
        self.tokens = tokens[kept]
        self.sentence = sentence[kept]
        self.counts = np.bincount(self.tokens, minlength=self.vocabulary_size)
        if not (self.sentence[1:] == self.sentence[:-1]).any():
            raise ValueError(
                "`sequences` hold no sequence of 2 or more word ids once "
                "padding (0) and `oov_ids` are removed: there is nothing to "
                "pair."
            )

    def chunks(self):
        """Slices of about `_CHUNK_TOKENS` tokens that end with a sequence."""
        start, total = 0, len(self.tokens)
        while start < total:
            stop = min(start + _CHUNK_TOKENS, total)
            if stop < total:
                # Extend to the end of the sequence the slice cut.
                last = self.sentence[stop - 1]
                stop = int(np.searchsorted(self.sentence, last, side="right"))
            yield self.tokens[start:stop], self.sentence[start:stop]
            start = stop


class _Recipe:
    def __init__(self, keep, cdf, window, negatives, shuffle):
        self.keep = keep
        self.cdf = cdf
        self.window = window
        self.negatives = negatives
        self.shuffle = shuffle
        self._guide = None

    def pairs(self, tokens, sentence, rng):
        """(targets, contexts, negatives) of one slice of the corpus."""
        kept = rng.random(len(tokens)) < self.keep[tokens]
        tokens, sentence = tokens[kept], sentence[kept]
        reach = rng.integers(1, self.window + 1, size=len(tokens))
        centers, others = [], []
        for distance in range(1, self.window + 1):
            left = np.arange(len(tokens) - distance)
            right = left + distance
            same = sentence[left] == sentence[right]
            # Pairs (left -> right) where left's window reaches, and back.
            forward = left[same & (reach[left] >= distance)]
            backward = right[same & (reach[right] >= distance)]
            centers += [forward, backward]
            others += [forward + distance, backward - distance]
        centers = np.concatenate(centers)
        others = np.concatenate(others)
        if self.shuffle:
            order = rng.permutation(len(centers))
        else:
            order = np.lexsort((others, centers))
        targets = tokens[centers[order]]
        contexts = tokens[others[order]]
        drawn = rng.random((len(targets), self.negatives))
        return targets, contexts, self._inverse_cdf(drawn)

    def _inverse_cdf(self, drawn):
        """`np.searchsorted(cdf, drawn, side="right")`, in O(1) a draw.

        A guide table gives, for each of `2 * len(cdf)` equal slices of
        [0, 1), the first id whose cdf passes the slice's start; a draw
        then steps forward past the few ids whose cdf is still <= it.
        """
        if self._guide is None:
            slices = 2 * len(self.cdf)
            starts = np.arange(slices) / slices
            self._guide = np.searchsorted(self.cdf, starts, side="right")
        flat = drawn.reshape(-1)
        ids = self._guide[(flat * len(self._guide)).astype(np.int64)]
        behind = np.flatnonzero(self.cdf[ids] <= flat)
        while len(behind):
            ids[behind] += 1
            behind = behind[self.cdf[ids[behind]] <= flat[behind]]
        return ids.reshape(drawn.shape)


def _concatenate(parts):
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def _batch(arrays, start, stop):
    return tuple(array[start:stop] for array in arrays)


def _as_example(batch):
    targets, contexts, negative = batch
    context = np.concatenate([contexts[:, None], negative], axis=1)
    labels = np.zeros(context.shape, dtype="float32")
    labels[:, 0] = 1.0
    return (targets.astype("int32"), context.astype("int32")), labels


def _oov_list(oov_ids, vocabulary_size):
    if oov_ids is None:
        return []
    ids = [oov_ids] if isinstance(oov_ids, numbers.Integral) else oov_ids
    ids = list(ids)
    for oov in ids:
        if not isinstance(oov, numbers.Integral) or not (
            0 <= oov < vocabulary_size
        ):
            raise ValueError(
                "`oov_ids` must be ids in [0, vocabulary_size="
                f"{vocabulary_size}). Received: oov_ids={oov_ids!r}"
            )
    return [int(oov) for oov in ids]
