"""The vectors of one vocabulary: a file read for its words only.

`PretrainedEmbedding.from_vectors` hands this module a path (or vectors
already loaded) and the vocabulary's rows; the decision how to read the
file is made here, on the ground floor, never in a layer.
"""

import inspect
import os

from keras_embedplus.vectors.read import load_vectors
from keras_embedplus.vectors.vocabulary import AnyCase

# The words to read come from the vocabulary: not a caller's option.
_NOT_FORWARDED = {"source", "vocabulary"}


def loading_options():
    """The keyword arguments of `load_vectors` a caller may pass on."""
    parameters = inspect.signature(load_vectors).parameters
    return {
        name
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and name not in _NOT_FORWARDED
    }


def is_path(vectors_or_path):
    """Whether `vectors_or_path` names a file (rather than holding vectors)."""
    return isinstance(vectors_or_path, (str, os.PathLike))


def vectors_for_vocabulary(
    vectors_or_path, rows, *, lowercase_fallback, **load_options
):
    """Returns the vectors to align `rows` with, reading only what it needs.

    Args:
        vectors_or_path: `gensim.models.KeyedVectors` (returned as they
            are), or the path of a vector file.
        rows: The `VocabularyRows` of the vocabulary.
        lowercase_fallback: Boolean. Also read the words in every case the
            file has them, as aligning the whole file would find them.
        **load_options: The options of `load_vectors` (`format`,
            `encoding`, `limit`, ...), for a path only.

    Returns:
        A `gensim.models.KeyedVectors`.
    """
    if not is_path(vectors_or_path):
        return vectors_or_path
    words = {rows.tokens[row] for row in rows.word_ids()}
    if lowercase_fallback:
        words = AnyCase(words)
    return load_vectors(vectors_or_path, vocabulary=words, **load_options)
