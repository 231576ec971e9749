"""Keras 3 embedding layers: the lookup, its one-hot twin, pretrained tables."""

from keras_embedplus import optimizers
from keras_embedplus.layers.lookup_embedding import LookupEmbedding
from keras_embedplus.layers.one_hot_dense import OneHotDense
from keras_embedplus.layers.pretrained_embedding import PretrainedEmbedding
from keras_embedplus.vectors.read import load_vectors

Embedding = LookupEmbedding

__version__ = "0.1.0.dev0"

__all__ = [
    "Embedding",
    "LookupEmbedding",
    "OneHotDense",
    "PretrainedEmbedding",
    "__version__",
    "load_vectors",
    "optimizers",
]
