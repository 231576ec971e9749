"""The public surface is a decision: changing it means changing this list."""

import keras_embedplus
from tests.harness import run_python

PUBLIC_API = [
    "CheckIds",
    "Coverage",
    "VectorFileError",
    "align_vectors",
    "Embedding",
    "EmbeddingBag",
    "EmbeddingHistory",
    "LookupEmbedding",
    "OneHotDense",
    "PretrainedEmbedding",
    "SubwordEmbedding",
    "SubwordIds",
    "export_projector",
    "load_vectors",
    "plot_embeddings",
    "save_vectors",
    "to_keyed_vectors",
    "__version__",
    "data",
    "optimizers",
]

OPTIMIZERS_API = ["LazyAdam"]

DATA_API = ["make_sampling_table", "skipgram_dataset", "skipgrams"]


def test_public_api_is_locked():
    assert sorted(keras_embedplus.__all__) == sorted(PUBLIC_API)


def test_optimizers_api_is_locked():
    assert sorted(keras_embedplus.optimizers.__all__) == OPTIMIZERS_API


def test_data_api_is_locked():
    assert sorted(keras_embedplus.data.__all__) == DATA_API


def test_every_public_name_exists_and_is_documented():
    for name in keras_embedplus.__all__:
        member = getattr(keras_embedplus, name)
        if name != "__version__":
            assert member.__doc__, f"{name} has no docstring"
    for name in keras_embedplus.optimizers.__all__:
        member = getattr(keras_embedplus.optimizers, name)
        assert member.__doc__, f"optimizers.{name} has no docstring"
    for name in keras_embedplus.data.__all__:
        member = getattr(keras_embedplus.data, name)
        assert member.__doc__, f"data.{name} has no docstring"


REGISTERED = """
    import keras
    names = ["LookupEmbedding", "OneHotDense", "PretrainedEmbedding",
             "SubwordEmbedding", "SubwordIds", "LazyAdam"]
    found = [keras.saving.get_registered_object(f"keras_embedplus>{name}")
             for name in names]
    print([getattr(obj, "__name__", None) == name
           for obj, name in zip(found, names)])
"""


def test_import_registers_every_layer_for_load_model():
    # A user imports the package, then loads a model: the layers must be
    # registered by the import alone, before any name is used.
    lines = run_python("import keras_embedplus\n", REGISTERED)
    assert lines[-1] == "[True, True, True, True, True, True]"


def test_the_command_line_defers_keras_until_a_name_is_used():
    lines = run_python(
        """
        import sys
        import keras_embedplus_cli
        keras_embedplus_cli.DEFER_KERAS = True
        import keras_embedplus
        assert not hasattr(keras_embedplus, "__wrapped__")  # a tool's probe
        print("keras" in sys.modules, "tensorflow" in sys.modules)
        layer = keras_embedplus.Embedding(5, 2)
        print(type(layer) is keras_embedplus.LookupEmbedding)
        print(all(getattr(keras_embedplus, n) for n in keras_embedplus.__all__))
        """,
        REGISTERED,
    )
    assert lines[-4:] == [
        "False False",
        "True",
        "True",
        "[True, True, True, True, True, True]",
    ]


def test_import_on_another_backend_leaves_tensorflow_out():
    """A JAX or PyTorch user does not pay TensorFlow's import (~4 s)."""
    lines = run_python(
        "import sys\n",
        "import keras_embedplus\n",
        "print('tensorflow' in sys.modules)\n",
        KERAS_BACKEND="jax",
        JAX_PLATFORMS="cpu",
    )
    assert lines[-1] == "False"
