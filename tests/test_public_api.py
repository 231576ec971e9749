"""The public surface is a decision: changing it means changing this list."""

import ast
import pathlib
import re

import pytest

import keras_embedplus
from tests.harness import REPO
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

VECTORS_API = [
    "AnyCase",
    "Coverage",
    "LoadReport",
    "VectorFileError",
    "VectorFileWarning",
    "align_vectors",
    "detect_format",
    "load_cache",
    "load_vectors",
    "read_vectors",
    "save_cache",
    "write_projector",
    "write_vectors",
]


def test_public_api_is_locked():
    assert sorted(keras_embedplus.__all__) == sorted(PUBLIC_API)


def test_optimizers_api_is_locked():
    assert sorted(keras_embedplus.optimizers.__all__) == OPTIMIZERS_API


def test_data_api_is_locked():
    assert sorted(keras_embedplus.data.__all__) == DATA_API


def test_vectors_api_is_locked():
    assert sorted(keras_embedplus.vectors.__all__) == VECTORS_API


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
    for name in keras_embedplus.vectors.__all__:
        member = getattr(keras_embedplus.vectors, name)
        assert member.__doc__, f"vectors.{name} has no docstring"


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


VECTORS_FLOOR = pathlib.Path(REPO) / "keras_embedplus" / "vectors"
NOT_ON_THE_GROUND_FLOOR = {"keras", "tensorflow", "jax", "torch"}


def test_the_vectors_floor_imports_nothing_above_it():
    """Its modules import numpy and gensim, never Keras, a backend or
    another part of the package (the layers, the tools)."""
    modules = sorted(VECTORS_FLOOR.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in NOT_ON_THE_GROUND_FLOOR, (path.name, name)
                if top == "keras_embedplus":
                    assert name.startswith("keras_embedplus.vectors"), (
                        path.name,
                        name,
                    )


# What each part of the package may import from the package: the floors
# below it. The private helpers at the root (`_distinct`, `_replicas`,
# `_shared_handle`, `_xla`) serve the middle floor.
FLOORS = {
    "vectors": {"vectors"},
    "layers": {
        "layers",
        "vectors",
        "_distinct",
        "_replicas",
        "_shared_handle",
        "_xla",
    },
    "optimizers": {"optimizers", "_distinct", "_xla"},
    "data": {"data", "vectors"},
    "tools": {"tools", "layers", "vectors"},
}


def package_imports(path):
    """The parts of keras_embedplus that the module at `path` imports."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module]
            if node.module == "keras_embedplus":
                names = [f"keras_embedplus.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "keras_embedplus" and len(pieces) > 1:
                parts.add(pieces[1])
    return parts


@pytest.mark.parametrize("floor", sorted(FLOORS))
def test_each_floor_imports_only_the_floors_below_it(floor):
    modules = sorted(
        (pathlib.Path(REPO) / "keras_embedplus" / floor).glob("*.py")
    )
    assert modules
    for path in modules:
        assert package_imports(path) <= FLOORS[floor], path.name


def test_the_floor_check_sees_an_import_from_above(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from keras_embedplus.tools import plots\n")
    assert package_imports(module) == {"tools"}
    assert not package_imports(module) <= FLOORS["layers"]


def test_the_vectors_floor_works_without_keras():
    # The package's root imports Keras; the floor alone must not.
    lines = run_python(
        f"""
        import os, sys, tempfile, types
        package = types.ModuleType("keras_embedplus")
        package.__path__ = [{str(pathlib.Path(REPO) / "keras_embedplus")!r}]
        sys.modules["keras_embedplus"] = package
        from keras_embedplus import vectors
        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "tiny.txt")
        with open(path, "w") as f:
            f.write("the 0.1 0.2\\ncat 0.3 0.4\\n")
        words = vectors.AnyCase(["CAT", "the"])
        kv, report = vectors.read_vectors(path, vocabulary=words)
        matrix, coverage = vectors.align_vectors(kv, ["", "[UNK]", "Cat"])
        kv = vectors.load_vectors(vectors.save_cache(kv, path + ".cache"))
        vectors.write_vectors(kv, path + ".w2v")
        found = vectors.detect_format(path + ".w2v")
        print(report.kept, coverage.found_lowercase, found)
        above = {sorted(NOT_ON_THE_GROUND_FLOOR)!r}
        print(sorted(name for name in above if name in sys.modules))
        """
    )
    assert lines[-2:] == ["2 1 word2vec", "[]"]


# `keras_embedplus.vectors.read_vectors` or `from keras_embedplus.vectors
# import AnyCase`, never a name behind a namespace: `...vectors.read.X`.
_DOTTED = re.compile(r"\bkeras_embedplus((?:\.\w+)+)")
_FROM = re.compile(r"\bfrom keras_embedplus((?:\.\w+)*) import ([\w, ]+)")
PUBLIC_NAMESPACES = ["", ".vectors", ".data", ".optimizers"]


def _is_public(name):
    """Whether ".vectors.read_vectors" (say) is a public namespace, a name
    in its `__all__` or an attribute of one (".Embedding.from_config")."""
    parts = name.split(".")[1:]
    namespace = ""
    while parts and f"{namespace}.{parts[0]}" in PUBLIC_NAMESPACES:
        namespace += f".{parts.pop(0)}"
    if not parts:
        return True
    module = keras_embedplus
    if namespace:
        module = getattr(keras_embedplus, namespace[1:])
    return parts[0] in module.__all__


def _names_behind_a_namespace(text):
    """The `keras_embedplus...` names of `text` that are not public."""
    names = [match.group(1) for match in _DOTTED.finditer(text)]
    for match in _FROM.finditer(text):
        for name in match.group(2).split(","):
            names.append(f"{match.group(1)}.{name.strip()}")
    found = []
    for name in names:
        if not _is_public(name) and name not in found:
            found.append(name)
    return found


# Left to decide (issue 12): the Q&A example runs the demo's walkthrough,
# which no namespace offers.
NOT_YET_PUBLIC = {"qa_embedding.py": [".tools.demo", ".tools"]}


def test_docs_and_examples_import_only_from_public_namespaces():
    root = pathlib.Path(REPO)
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    pages += sorted((root / "examples").glob("*.py"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # The cache's format name is data, not an import path.
        text = text.replace('"keras_embedplus.vectors.cache"', "")
        found = _names_behind_a_namespace(text)
        assert found == NOT_YET_PUBLIC.get(page.name, []), page.name


def test_the_namespace_check_finds_a_module_behind_a_namespace():
    assert _names_behind_a_namespace(
        "keras_embedplus.vectors.read.read_vectors(path)\n"
        "from keras_embedplus.vectors.cache import save_cache\n"
        "from keras_embedplus.layers import ids\n"
        "keras_embedplus.vectors.load_vectors(path)\n"
        "from keras_embedplus.vectors import AnyCase, save_cache\n"
        "keras_embedplus.data.skipgrams(x) and keras_embedplus.Embedding"
    ) == [
        ".vectors.read.read_vectors",
        ".vectors.cache",
        ".layers",
        ".vectors.cache.save_cache",
        ".layers.ids",
    ]
