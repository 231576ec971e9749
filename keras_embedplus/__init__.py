"""Keras 3 embedding layers: the lookup, its one-hot twin, pretrained tables."""

import importlib as _importlib
import sys as _sys

from keras_embedplus.vectors.align import align_vectors
from keras_embedplus.vectors.coverage import Coverage
from keras_embedplus.vectors.read import load_vectors
from keras_embedplus.vectors.report import VectorFileError

__version__ = "0.1.0.dev0"

__all__ = [
    "CheckIds",
    "Coverage",
    "Embedding",
    "EmbeddingBag",
    "EmbeddingHistory",
    "LookupEmbedding",
    "OneHotDense",
    "PretrainedEmbedding",
    "SubwordEmbedding",
    "SubwordIds",
    "VectorFileError",
    "align_vectors",
    "export_projector",
    "load_vectors",
    "plot_embeddings",
    "save_vectors",
    "to_keyed_vectors",
    "__version__",
    "data",
    "optimizers",
]

# `import keras_embedplus` imports the layers at once, so that
# `keras.saving.load_model` finds them registered. Only the command-line
# launcher (`keras_embedplus_cli`) defers them, and with them Keras and
# TensorFlow (about 4 s), for its subcommands that read vector files: then
# the first use of one of these names imports them all.
if not getattr(_sys.modules.get("keras_embedplus_cli"), "DEFER_KERAS", False):
    from keras_embedplus._keras_names import CheckIds
    from keras_embedplus._keras_names import Embedding
    from keras_embedplus._keras_names import EmbeddingBag
    from keras_embedplus._keras_names import EmbeddingHistory
    from keras_embedplus._keras_names import LookupEmbedding
    from keras_embedplus._keras_names import OneHotDense
    from keras_embedplus._keras_names import PretrainedEmbedding
    from keras_embedplus._keras_names import SubwordEmbedding
    from keras_embedplus._keras_names import SubwordIds
    from keras_embedplus._keras_names import data
    from keras_embedplus._keras_names import export_projector
    from keras_embedplus._keras_names import optimizers
    from keras_embedplus._keras_names import plot_embeddings
    from keras_embedplus._keras_names import save_vectors
    from keras_embedplus._keras_names import to_keyed_vectors


def __getattr__(name):
    # Reached only for names not imported above (the deferred case); other
    # lookups (tools probing for attributes) must not import Keras.
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    keras_names = _importlib.import_module("keras_embedplus._keras_names")
    value = getattr(keras_names, name)
    globals()[name] = value
    return value
