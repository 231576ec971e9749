"""The public names that need Keras (or TensorFlow), imported together.

Importing the layer modules registers the layers with Keras, which
`keras.saving.load_model` needs; `keras_embedplus/__init__.py` imports
this module at once, or on first use when the command line deferred it.
"""

from keras_embedplus import data
from keras_embedplus import optimizers
from keras_embedplus.layers.check_ids import CheckIds
from keras_embedplus.layers.embedding_bag import EmbeddingBag
from keras_embedplus.layers.lookup_embedding import LookupEmbedding
from keras_embedplus.layers.one_hot_dense import OneHotDense
from keras_embedplus.layers.pretrained_embedding import PretrainedEmbedding
from keras_embedplus.layers.subword_embedding import SubwordEmbedding
from keras_embedplus.layers.subword_ids import SubwordIds
from keras_embedplus.tools.embedding_history import EmbeddingHistory
from keras_embedplus.tools.export import export_projector
from keras_embedplus.tools.export import save_vectors
from keras_embedplus.tools.export import to_keyed_vectors
from keras_embedplus.tools.plots import plot_embeddings

Embedding = LookupEmbedding

__all__ = [
    "CheckIds",
    "Embedding",
    "EmbeddingBag",
    "EmbeddingHistory",
    "LookupEmbedding",
    "OneHotDense",
    "PretrainedEmbedding",
    "SubwordEmbedding",
    "SubwordIds",
    "data",
    "export_projector",
    "optimizers",
    "plot_embeddings",
    "save_vectors",
    "to_keyed_vectors",
]
