"""The docs site: its code runs, its pictures exist, its API page is whole.

The site itself is built by `make docs` (`mkdocs build --strict`), which
`make test` runs first.
"""

import importlib
import importlib.util
import pathlib
import re

import keras
import numpy as np
import pytest

import keras_embedplus
from tests.pictures import load_picture

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# A block that cannot run here (a GPU cluster, a multi-GB file) says so on
# its first line, with the reason, where the reader sees it.
NOT_RUN = "# Not run by the tests: "
# Blocks allowed that marker: keep them rare.
MAX_NOT_RUN = 3
# A block only TensorFlow can run (ragged or sparse TensorFlow tensors,
# tf.distribute) follows this HTML comment, with the reason, then a blank
# line; the paragraph before the comment says so to the reader. The tests
# run it on TensorFlow and skip exactly that block on JAX and PyTorch.
TENSORFLOW_ONLY = re.compile(r"^<!-- tensorflow-only: (.+?) -->\n\n\Z")
MAX_TENSORFLOW_ONLY = 2
# The demo writes these; docs/img holds the committed copies.
DEMO_PICTURES = [
    "one_hot_product.png",
    "table_after.png",
    "table_before.png",
    "training_trajectories.png",
]
# examples/word2vec_rows.py writes this one (--out docs/img).
EXAMPLE_PICTURES = ["word2vec_rows.png"]


def runnable_pages():
    """README.md and every docs page, found anew on each run."""
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    return [page.relative_to(ROOT).as_posix() for page in pages]


def python_blocks(page):
    return [code for code, _ in marked_blocks(page)]


def marked_blocks(page):
    """The page's python blocks, each with the text of the page before it."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [
        (match.group(1), text[: match.start()])
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.M | re.S)
    ]


def tensorflow_only(before):
    """The reason a block is TensorFlow-only, from the text before it."""
    marker = TENSORFLOW_ONLY.search(before[before.rfind("\n<!--") + 1 :])
    return marker.group(1) if marker else None


@pytest.mark.parametrize("page", runnable_pages())
def test_page_code_runs(page, tmp_path, monkeypatch):
    """Every ```python block of the page runs, top to bottom, as one program.

    The page's blocks share one namespace, as in a reader's session, and
    run in an empty working directory: a block that needs a vector file
    writes one.
    """
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page} has no python code")
    namespace = {"__name__": page}
    on_tensorflow = keras.backend.backend() == "tensorflow"
    for number, (block, before) in enumerate(marked_blocks(page), 1):
        if tensorflow_only(before) and not on_tensorflow:
            continue
        if block.startswith(NOT_RUN):
            reason = block[len(NOT_RUN) :].split("\n", 1)[0]
            assert len(reason) > 20, f"{page} block {number}: say why"
            continue
        code = compile(block, f"{page} (block {number})", "exec")
        exec(code, namespace)


def test_blocks_that_do_not_run_are_rare():
    skipped = [
        (page, number)
        for page in runnable_pages()
        for number, block in enumerate(python_blocks(page), 1)
        if block.startswith(NOT_RUN)
    ]
    assert len(skipped) <= MAX_NOT_RUN, skipped


def test_tensorflow_only_blocks_are_rare_and_said():
    """Marked blocks are few, and their page tells the reader first."""
    marked = []
    for page in runnable_pages():
        for number, (block, before) in enumerate(marked_blocks(page), 1):
            assert "keras.backend.backend()" not in block, (
                f"{page} block {number}: mark a TensorFlow-only block "
                "instead of branching on the backend inside it"
            )
            reason = tensorflow_only(before)
            if reason is None:
                continue
            marked.append((page, number))
            assert len(reason) > 15, f"{page} block {number}: say why"
            comment = before.rstrip().rfind("\n<!--")
            paragraph = before[:comment].rstrip().rsplit("\n\n", 1)[-1]
            assert "TensorFlow only" in paragraph, (
                f"{page} block {number}: say 'TensorFlow only' in the "
                "paragraph before the marker"
            )
    assert 1 <= len(marked) <= MAX_TENSORFLOW_ONLY, marked


def test_command_line_page_shows_real_output(tmp_path, monkeypatch, capsys):
    from keras_embedplus.tools import cli

    monkeypatch.chdir(tmp_path)
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    sessions = re.findall(r"^```text\n(\$ .*?)^```", text, re.M | re.S)
    commands = 0
    for session in sessions:
        for block in re.split(r"^\$ ", session, flags=re.M)[1:]:
            command, *shown = block.rstrip("\n").split("\n")
            words = command.split()
            if words[0] == "cat":
                (tmp_path / words[1]).write_text("\n".join(shown) + "\n")
                continue
            assert words[0] == "keras-embedplus"
            cli.main(words[1:])
            out, err = capsys.readouterr()
            assert (out + err).rstrip("\n").split("\n") == shown, command
            commands += 1
    assert commands >= 5


def test_every_picture_the_pages_show_exists():
    for page in DOCS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
            load_picture(DOCS / target)
    for name in DEMO_PICTURES + EXAMPLE_PICTURES:
        load_picture(DOCS / "img" / name)


PUBLIC_NAMESPACES = [
    "keras_embedplus",
    "keras_embedplus.vectors",
    "keras_embedplus.data",
    "keras_embedplus.optimizers",
]


def test_api_page_documents_every_public_name():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    paths = re.findall(r"^::: (keras_embedplus[\w.]*)", text, re.M)
    documented = []
    for path in paths:
        namespace, _, name = path.rpartition(".")
        assert namespace in PUBLIC_NAMESPACES, f"{path}: not a public name"
        member = getattr(importlib.import_module(namespace), name)
        assert member.__doc__, f"{path} has no docstring"
        documented.append(member)
    for namespace in PUBLIC_NAMESPACES:
        module = importlib.import_module(namespace)
        for name in set(module.__all__) - {"__version__", "data", "optimizers"}:
            member = getattr(module, name)
            assert any(member is other for other in documented), (
                f"{namespace}.{name} is missing from api.md"
            )


def test_keras_example_sections_become_indented_examples():
    spec = importlib.util.spec_from_file_location(
        "griffe_keras_style", DOCS / "griffe_keras_style.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "One line.\n\nExample:\n\n>>> x = 1\n>>> x\n1\n\nReturns:\n    X."
    assert module.keras_examples(text) == (
        "One line.\n\nExamples:\n    >>> x = 1\n    >>> x\n    1\n\n"
        "Returns:\n    X."
    )
    # Sections already in Google style are left alone.
    google = "Examples:\n    >>> x = 1"
    assert module.keras_examples(google) == google


def test_bag_picture_script_draws_a_picture(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "draw_bags", DOCS / "img" / "draw_bags.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.draw(tmp_path / "bags.png")
    load_picture(tmp_path / "bags.png", size=(640, 480))
    load_picture(DOCS / "img" / "bag_combiners.png", size=(640, 480))
    # The picture shows what the layer computes.
    import keras

    layer = keras_embedplus.EmbeddingBag(
        4, 2, combiner="sqrtn", mask_zero=True, weights=module.TABLE
    )
    sqrtn = keras.ops.convert_to_numpy(layer(np.array([module.BAG])))[0]
    np.testing.assert_allclose(
        sqrtn, module.combined(module.TABLE, module.BAG)["sqrtn"], rtol=1e-6
    )
