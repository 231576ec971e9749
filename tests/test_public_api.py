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


def test_the_launchers_variable_leaves_every_module_out():
    # `keras_embedplus_cli` sets it while it imports the package: no
    # public name, no Keras, no gensim; each subcommand imports its own.
    lines = run_python(
        """
        import sys
        import keras_embedplus
        heavy = ("keras", "tensorflow", "gensim")
        print([m for m in heavy if m in sys.modules])
        present = [n for n in keras_embedplus.__all__
                   if hasattr(keras_embedplus, n)]
        print(sorted(present))
        """,
        KERAS_EMBEDPLUS_BARE_IMPORT="1",
    )
    assert lines[-2:] == ["[]", "['__version__']"]


def test_the_launcher_does_not_pass_its_variable_on(tmp_path):
    # The variable is gone once the package is imported, so a process the
    # command starts imports the package with its layers registered.
    path = tmp_path / "vectors.txt"
    path.write_text("hope 1.0 2.0\n", encoding="utf-8")
    lines = run_python(
        f"""
        import os, sys
        import keras_embedplus_cli
        code = keras_embedplus_cli.main(["inspect", {str(path)!r}])
        print(code, "KERAS_EMBEDPLUS_BARE_IMPORT" in os.environ)
        print("keras" in sys.modules)
        """
    )
    assert lines[-2:] == ["0 False", "False"]


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
