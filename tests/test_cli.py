"""The `keras-embedplus` command, run as a real subprocess."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from gensim.models import KeyedVectors

from tests.pictures import load_picture

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUBCOMMANDS = ["demo", "inspect", "coverage", "convert", "neighbors"]
WORDS = ["the", "king", "queen", "man", "woman", "Paris", "new_york"]
VECTORS = np.array(
    [
        [0.0, 0.1, 0.0],
        [1.0, 0.9, 0.1],
        [0.9, 1.0, 0.1],
        [1.0, 0.0, 0.2],
        [0.9, 0.1, 0.3],
        [-1.0, 0.0, 2.0],
        [-0.9, 0.1, 2.5],
    ],
    dtype="float32",
)


def run_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "keras_embedplus.tools.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_user_error(done, *fragments):
    """A one-line error on stderr, exit status 1, no traceback."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in done.stderr


def test_help_lists_every_subcommand():
    done = run_cli("--help")
    assert done.returncode == 0
    for name in SUBCOMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name):
    done = run_cli(name, "--help")
    assert done.returncode == 0
    assert f"usage: keras-embedplus {name}" in done.stdout


def test_no_subcommand_or_an_unknown_one_is_a_usage_error():
    assert run_cli().returncode == 2
    done = run_cli("frobnicate")
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr


@pytest.mark.slow
def test_demo_prints_the_walkthrough_and_writes_pictures(tmp_path):
    done = run_cli("demo", "--out", tmp_path / "pics", "--epochs", "3")
    assert done.returncode == 0, done.stderr
    assert "model.output_shape = (None, 5, 2)" in done.stdout
    assert "rows bit-for-bit the same: [5, 6]" in done.stdout
    pictures = sorted((tmp_path / "pics").iterdir())
    assert [path.name for path in pictures] == [
        "one_hot_product.png",
        "table_after.png",
        "table_before.png",
        "training_trajectories.png",
    ]
    for path in pictures:
        load_picture(path)


def test_demo_default_output_directory(tmp_path):
    done = run_cli("demo", "--epochs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo_output" / "table_after.png").is_file()


def test_demo_refuses_zero_epochs():
    assert_user_error(
        run_cli("demo", "--epochs", "0"), "demo: error: --epochs must be"
    )


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "vectors.txt"
    lines = [
        " ".join([word, *map(repr, map(float, row))])
        for word, row in zip(WORDS, VECTORS, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def word2vec_binary_file(tmp_path):
    vectors = KeyedVectors(3)
    vectors.add_vectors(WORDS, VECTORS)
    path = tmp_path / "vectors.bin"
    vectors.save_word2vec_format(str(path), binary=True)
    return path


def test_inspect_describes_a_file(glove_file):
    done = run_cli("inspect", glove_file, "--sample", "3")
    assert done.returncode == 0, done.stderr
    fields = dict(
        (part.strip() for part in line.split(":", 1))
        for line in done.stdout.splitlines()
        if ":" in line
    )
    assert "glove" in fields["format"].lower()
    assert fields["words"] == "7"
    assert fields["dimension"] == "3"
    assert fields["sample"] == "'the', 'king', 'queen', ..."
    values = VECTORS.astype("float64")
    assert fields["values"] == (
        f"min {values.min():.4g}, max {values.max():.4g}, "
        f"mean {values.mean():.4g}, std {values.std():.4g}"
    )
    norms = np.linalg.norm(values, axis=1)
    assert fields["vector norms"] == (
        f"min {norms.min():.4g}, mean {norms.mean():.4g}, max {norms.max():.4g}"
    )
    assert fields["zero vectors"] == "0"
    assert fields["not finite"] == "0 values"
    assert fields["quirks"] == "none"


def test_inspect_reads_binary_word2vec(word2vec_binary_file):
    done = run_cli("inspect", word2vec_binary_file)
    assert done.returncode == 0, done.stderr
    assert "binary" in done.stdout.lower()
    assert "'new_york'" in done.stdout


def test_coverage_names_the_missing_words(glove_file, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("king\nQueen\n\nparis\nzebra\nunicorn\n")
    done = run_cli("coverage", glove_file, "--vocab", vocab)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # king as written, Queen via "queen"; paris has no lowercase source.
    assert "2 of 5 words (40.0%)" in out
    assert "Missing words (3):" in out
    assert out.splitlines()[-3:] == ["  paris", "  zebra", "  unicorn"]
    done = run_cli("coverage", glove_file, "--vocab", vocab, "--missing", "1")
    assert "  paris\n  ... and 2 more" in done.stdout
    strict = run_cli(
        "coverage", glove_file, "--vocab", vocab, "--no-lowercase-fallback"
    )
    assert "1 of 5 words (20.0%)" in strict.stdout


def test_coverage_refuses_a_repeated_word(glove_file, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("king\nqueen\nking\n")
    assert_user_error(
        run_cli("coverage", glove_file, "--vocab", vocab),
        f"{vocab} line 3: 'king' repeats line 1",
    )


@pytest.mark.parametrize("out_format", ["cache", "word2vec", "glove"])
def test_convert_writes_a_file_that_reads_back(
    glove_file, tmp_path, out_format
):
    from keras_embedplus.vectors.read import load_vectors

    out = tmp_path / f"converted.{out_format}"
    done = run_cli("convert", glove_file, out, "--format", out_format)
    assert done.returncode == 0, done.stderr
    assert f"wrote 7 vectors of dimension 3 to {out}" in done.stdout
    vectors = load_vectors(out)
    assert vectors.index_to_key == WORDS
    np.testing.assert_array_equal(vectors.vectors, VECTORS)


def test_convert_binary_is_read_by_gensim(glove_file, tmp_path):
    out = tmp_path / "converted.bin"
    done = run_cli("convert", glove_file, out, "--format", "word2vec-binary")
    assert done.returncode == 0, done.stderr
    vectors = KeyedVectors.load_word2vec_format(str(out), binary=True)
    np.testing.assert_array_equal(vectors["queen"], VECTORS[2])


def test_convert_refuses_to_overwrite_its_input(glove_file):
    assert_user_error(
        run_cli("convert", glove_file, glove_file, "--format", "glove"),
        "OUT is PATH",
    )


def test_neighbors_by_cosine(glove_file):
    done = run_cli("neighbors", glove_file, "king", "-k", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "nearest to 'king' by cosine similarity:"
    expected = KeyedVectors(3)
    expected.add_vectors(WORDS, VECTORS)
    for line, (word, similarity) in zip(
        lines[1:], expected.most_similar("king", topn=2), strict=True
    ):
        assert line.split()[1:] == [word, f"{similarity:+.4f}"]


def test_neighbors_of_an_unknown_word(glove_file):
    assert_user_error(
        run_cli("neighbors", glove_file, "paris"),
        f"'paris' is not in {glove_file} (7 words); did you mean 'Paris'?",
    )


def test_neighbors_needs_a_positive_k(glove_file):
    assert_user_error(
        run_cli("neighbors", glove_file, "king", "-k", "0"),
        "-k must be at least 1",
    )


@pytest.mark.parametrize(
    "command", [["inspect"], ["neighbors", "x"], ["convert", "out.txt"]]
)
def test_a_missing_file_is_named(command, tmp_path):
    missing = tmp_path / "nope.txt"
    args = [command[0], missing, *command[1:]]
    assert_user_error(run_cli(*args, cwd=tmp_path), str(missing))


def test_a_malformed_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("the 0.1 0.2 0.3\nking 0.1 0.2\nqueen 0.1 0.2 0.3\n")
    done = run_cli("inspect", path)
    assert_user_error(done, str(path), "line 2")
