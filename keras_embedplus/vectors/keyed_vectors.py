"""Building gensim `KeyedVectors` around rows, and keeping some of them.

The readers hand their words and matrix to `make_keyed_vectors`, which
wraps them as they are (no copy, no re-indexing); `first_words` keeps the
first vectors of a loaded `KeyedVectors`, or those of a vocabulary.
"""

from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors


def make_keyed_vectors(keys, vectors, key_to_index=None):
    """A gensim `KeyedVectors` around `keys` and their `vectors` as given."""
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=vectors.dtype)
    kv.index_to_key = keys
    if key_to_index is None:
        key_to_index = dict(zip(keys, range(len(keys)), strict=True))
    kv.key_to_index = key_to_index
    kv.vectors = vectors
    kv.next_index = len(keys)
    return kv


def first_words(kv, count, wanted):
    """The vectors of the first `count` words of `kv` that are `wanted`.

    Args:
        kv: `KeyedVectors` (a `FastTextKeyedVectors` too).
        count: Integer. How many of the first words to consider.
        wanted: Set-like of the words to keep, or None for all.

    Returns:
        `kv` itself when it keeps them all; else a `KeyedVectors` of the
        kept rows in order (a view of `kv`'s matrix when `wanted` is None,
        so that a memory-mapped cache stays so). fastText vectors keep
        their whole subword table, so that the words left out still get
        vectors from their character n-grams.
    """
    keys = kv.index_to_key
    if wanted is None and count == len(keys):
        return kv
    if wanted is None:
        rows = slice(0, count)
    else:
        rows = [i for i in range(count) if keys[i] in wanted]
    if isinstance(kv, FastTextKeyedVectors):
        return _fasttext_rows(kv, rows)
    return make_keyed_vectors(_take(keys, rows), kv.vectors[rows])


def _fasttext_rows(kv, rows):
    """`kv` (fastText) with only the whole words `rows`, n-grams intact."""
    kv.index_to_key = _take(kv.index_to_key, rows)
    kv.key_to_index = {key: i for i, key in enumerate(kv.index_to_key)}
    kv.vectors = kv.vectors[rows]
    kv.vectors_vocab = kv.vectors_vocab[rows]
    if kv.buckets_word is not None:
        kv.buckets_word = _take(kv.buckets_word, rows)
    kv.expandos = {name: values[rows] for name, values in kv.expandos.items()}
    kv.next_index = len(kv.index_to_key)
    kv.norms = None
    return kv


def _take(items, rows):
    if isinstance(rows, slice):
        return list(items[rows])
    return [items[i] for i in rows]
