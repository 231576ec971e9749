"""Keras 3 embedding layers: the lookup, its one-hot twin, pretrained tables."""

import os as _os

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

# Importing the layers registers them, so that `keras.saving.load_model`
# finds them. Only the `keras-embedplus` launcher (`keras_embedplus_cli`)
# sets this variable, while it imports the package: then none of these
# names is imported, and each subcommand imports the modules it uses:
# `--help` starts without gensim, Keras and TensorFlow, and the
# subcommands that read vector files without Keras and TensorFlow.
if _os.environ.get("KERAS_EMBEDPLUS_BARE_IMPORT") != "1":
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
    from keras_embedplus.vectors import Coverage
    from keras_embedplus.vectors import VectorFileError
    from keras_embedplus.vectors import align_vectors
    from keras_embedplus.vectors import load_vectors

    Embedding = LookupEmbedding
