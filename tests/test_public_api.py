"""The public surface is a decision: changing it means changing this list."""

import keras_embedplus

PUBLIC_API = [
    "Coverage",
    "VectorFileError",
    "align_vectors",
    "Embedding",
    "EmbeddingHistory",
    "LookupEmbedding",
    "OneHotDense",
    "PretrainedEmbedding",
    "export_projector",
    "load_vectors",
    "plot_embeddings",
    "save_vectors",
    "to_keyed_vectors",
    "__version__",
    "optimizers",
]

OPTIMIZERS_API = ["LazyAdam"]


def test_public_api_is_locked():
    assert sorted(keras_embedplus.__all__) == sorted(PUBLIC_API)


def test_optimizers_api_is_locked():
    assert sorted(keras_embedplus.optimizers.__all__) == OPTIMIZERS_API


def test_every_public_name_exists_and_is_documented():
    for name in keras_embedplus.__all__:
        member = getattr(keras_embedplus, name)
        if name != "__version__":
            assert member.__doc__, f"{name} has no docstring"
    for name in keras_embedplus.optimizers.__all__:
        member = getattr(keras_embedplus.optimizers, name)
        assert member.__doc__, f"optimizers.{name} has no docstring"
