"""Keras 3 embedding layers: the lookup, its one-hot twin, pretrained tables."""

from keras_embedplus import optimizers
from keras_embedplus.layers.lookup_embedding import LookupEmbedding
from keras_embedplus.layers.one_hot_dense import OneHotDense
from keras_embedplus.layers.pretrained_embedding import PretrainedEmbedding
from keras_embedplus.tools.embedding_history import EmbeddingHistory
from keras_embedplus.tools.export import export_projector
from keras_embedplus.tools.export import save_vectors
from keras_embedplus.tools.export import to_keyed_vectors
from keras_embedplus.tools.plots import plot_embeddings
from keras_embedplus.vectors.align import align_vectors
from keras_embedplus.vectors.coverage import Coverage
from keras_embedplus.vectors.read import load_vectors
from keras_embedplus.vectors.report import VectorFileError

Embedding = LookupEmbedding

__version__ = "0.1.0.dev0"

__all__ = [
    "Coverage",
    "Embedding",
    "EmbeddingHistory",
    "LookupEmbedding",
    "OneHotDense",
    "PretrainedEmbedding",
    "VectorFileError",
    "align_vectors",
    "export_projector",
    "load_vectors",
    "plot_embeddings",
    "save_vectors",
    "to_keyed_vectors",
    "__version__",
    "optimizers",
]
