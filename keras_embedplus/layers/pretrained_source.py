"""Where `PretrainedEmbedding.from_vectors` gets its table from.

The layer receives vectors, never a decision about formats: the ground
floor's `vectors_for_vocabulary` reads a path with the caller's loading
options, and `align_vectors` aligns the vectors to the vocabulary's rows,
which the layer normalised once. This module sorts the keyword arguments
into loading options and layer arguments, checks them before a file is
read, and draws the `"random"` policy's seed from Keras' random generator
when none is given.
"""

import os
import warnings

import keras
from keras import ops

from keras_embedplus.vectors import vocabulary as vocabulary_lib
from keras_embedplus.vectors.align import OOV_POLICIES
from keras_embedplus.vectors.align import align_vectors
from keras_embedplus.vectors.arguments import check_integer
from keras_embedplus.vectors.for_vocabulary import is_path
from keras_embedplus.vectors.for_vocabulary import loading_options
from keras_embedplus.vectors.for_vocabulary import vectors_for_vocabulary


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


def check_padding_row(rows):
    """For `mask_zero=True`: refuses a vocabulary whose row 0 is no padding."""
    if rows.kinds[0] == vocabulary_lib.WORD:
        raise ValueError(
            "`mask_zero=True` reserves id 0 for padding, but row 0 of the "
            f"vocabulary is the word {rows.tokens[0]!r}. Put the padding "
            'token ("") first, as TextVectorization does.'
        )
    if rows.kinds[0] == vocabulary_lib.OOV:
        raise ValueError(
            "`mask_zero=True` reserves id 0 for padding, but id 0 of the "
            f"vocabulary is the OOV ([UNK]) token {rows.tokens[0]!r}: every "
            "unknown token would be masked as padding (and a masked "
            "average over a row of unknown tokens is NaN). `StringLookup` "
            "and `IntegerLookup` put it there unless given a `mask_token`: "
            'build the lookup with `mask_token=""` (`mask_token=0` for '
            "`IntegerLookup`) so that padding is id 0 and [UNK] id 1, or "
            "pass `mask_zero=False`."
        )


def aligned_matrix(
    vectors_or_path,
    rows,
    load_options,
    *,
    oov,
    lowercase_fallback,
    seed,
):
    """Reads (if given a path) and aligns the vectors: `(matrix, coverage)`.

    `rows` is the vocabulary's `VocabularyRows`. Every argument is checked
    before the file is opened.
    """
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
    seed = check_integer("seed", seed, allow_none=True)
    if seed is None and oov == "random":
        seed = keras_seed()
    vectors = vectors_for_vocabulary(
        vectors_or_path,
        rows,
        lowercase_fallback=lowercase_fallback,
        **load_options,
    )
    matrix, coverage = align_vectors(
        vectors,
        rows,
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
