"""Where `PretrainedEmbedding.from_vectors` gets its table from.

The layer receives vectors, never a decision about formats: a path is
handed to `load_vectors` with the caller's loading options, and the
vectors are aligned by `align_vectors`. This module sorts the keyword
arguments into loading options and layer arguments, checks them before a
file is read, and draws the `"random"` policy's seed from Keras' random
generator when none is given.
"""

import inspect
import os
import warnings

import keras
from keras import ops

from keras_embedplus.vectors import AnyCase
from keras_embedplus.vectors import vocabulary as vocabulary_lib
from keras_embedplus.vectors.align import OOV_POLICIES
from keras_embedplus.vectors.align import align_vectors
from keras_embedplus.vectors.read import load_vectors

# `from_vectors` chooses which words are read: not a caller's option.
_NOT_FORWARDED = {"source", "vocabulary"}


def loading_options():
    """The keyword arguments of `load_vectors` that `from_vectors` forwards."""
    parameters = inspect.signature(load_vectors).parameters
    return {
        name
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and name not in _NOT_FORWARDED
    }


def is_path(vectors_or_path):
    return isinstance(vectors_or_path, (str, os.PathLike))


def split_options(vectors_or_path, kwargs):
    """Splits `kwargs` into `load_vectors` options and layer arguments."""
    names = loading_options()
    load_options = {k: v for k, v in kwargs.items() if k in names}
    layer_kwargs = {k: v for k, v in kwargs.items() if k not in names}
    if "vocabulary" in kwargs:
        raise ValueError(
            "`from_vectors` reads only the words of its `vocabulary` "
            "argument; `vocabulary=` is not a loading option here. Pass the "
            "vocabulary as the second argument."
        )
    if load_options and not is_path(vectors_or_path):
        raise ValueError(
            f"{', '.join(f'`{k}`' for k in sorted(load_options))} "
            "only apply when `from_vectors` reads a file, but it received "
            f"vectors ({type(vectors_or_path).__name__}). Pass them to "
            "`keras_embedplus.load_vectors` instead, or pass the path."
        )
    return load_options, layer_kwargs


def aligned_matrix(
    vectors_or_path,
    vocabulary,
    load_options,
    *,
    oov,
    lowercase_fallback,
    mask_zero,
    seed,
):
    """Reads (if given a path) and aligns the vectors: `(matrix, coverage)`.

    Every argument is checked before the file is opened.
    """
    rows = vocabulary_lib.vocabulary_rows(vocabulary)
    if mask_zero and rows.kinds[0] == vocabulary_lib.WORD:
        raise ValueError(
            "`mask_zero=True` reserves id 0 for padding, but row 0 of the "
            f"vocabulary is the word {rows.tokens[0]!r}. Put the padding "
            'token ("") first, as TextVectorization does.'
        )
    if not callable(oov) and oov not in OOV_POLICIES:
        raise ValueError(
            f"`oov` must be one of {', '.join(map(repr, OOV_POLICIES))} "
            f"or a callable. Received: oov={oov!r}"
        )
    if not isinstance(lowercase_fallback, bool):
        raise ValueError(
            "`lowercase_fallback` must be a boolean. "
            f"Received: lowercase_fallback={lowercase_fallback!r}"
        )
    if seed is not None and (
        not isinstance(seed, int) or isinstance(seed, bool) or seed < 0
    ):
        raise ValueError(
            f"`seed` must be a non-negative integer or None. Received: "
            f"seed={seed!r}"
        )
    if seed is None and oov == "random":
        seed = keras_seed()
    if is_path(vectors_or_path):
        words = {rows.tokens[row] for row in rows.word_ids()}
        if lowercase_fallback:
            # Every case of a word, as the alignment's fallback would see
            # them in the whole file.
            words = AnyCase(words)
        vectors = load_vectors(
            vectors_or_path, vocabulary=words, **load_options
        )
    else:
        vectors = vectors_or_path
    matrix, coverage = align_vectors(
        vectors,
        vocabulary,
        oov=oov,
        lowercase_fallback=lowercase_fallback,
        seed=seed,
    )
    if coverage.words and not coverage.found + coverage.found_lowercase:
        where = (
            f"in {os.fspath(vectors_or_path)!r}"
            if is_path(vectors_or_path)
            else "in the vectors"
        )
        warnings.warn(
            f"None of the {coverage.words} vocabulary words has a vector "
            f"{where} (coverage 0): every row comes from the `oov` policy "
            f"({oov!r}). Check that the vocabulary and the vectors share "
            "their language and case, and the file's `encoding`.",
            UserWarning,
            stacklevel=3,
        )
    return matrix, coverage


def keras_seed():
    """An integer seed drawn from Keras' random generator.

    `keras.utils.set_random_seed(n)` makes it (and so the `"random"` OOV
    rows) the same from run to run.
    """
    generator = keras.random.SeedGenerator()
    draw = keras.random.randint((), 0, 2**31 - 1, seed=generator)
    return int(ops.convert_to_numpy(draw))
