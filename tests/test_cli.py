"""The `keras-embedplus` command.

The main paths run it as a user does, as a real subprocess (`run_cli`)
started through the same launcher as the installed command. The demo's
subprocess spends seconds importing TensorFlow, so the cheap variants
(help texts, argument checks) call the same `main` in this process
(`call_cli`).
"""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from gensim.models import KeyedVectors

from keras_embedplus.tools import cli
from tests.harness import run_python
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
        [sys.executable, "-m", "keras_embedplus_cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def call_cli(capsys, *args):
    """Runs the command's `main` in this process, like `run_cli`."""
    try:
        code = cli.main([str(arg) for arg in args])
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def assert_user_error(done, *fragments):
    """A one-line error on stderr, exit status 1, no traceback."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in done.stderr


@pytest.mark.slow
def test_help_lists_every_subcommand():
    done = run_cli("--help")
    assert done.returncode == 0
    for name in SUBCOMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name, capsys):
    done = call_cli(capsys, name, "--help")
    assert done.returncode == 0
    assert f"usage: keras-embedplus {name}" in done.stdout


@pytest.mark.slow
def test_no_subcommand_or_an_unknown_one_is_a_usage_error(capsys):
    assert call_cli(capsys).returncode == 2
    done = run_cli("frobnicate")
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr


@pytest.mark.slow
@pytest.mark.slow
def test_demo_prints_the_walkthrough_and_writes_pictures(tmp_path):
    done = run_cli("demo", "--epochs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "model.output_shape = (None, 5, 2)" in done.stdout
    assert "rows bit-for-bit the same: [5, 6]" in done.stdout
    pictures = sorted((tmp_path / "demo_output").iterdir())
    assert [path.name for path in pictures] == [
        "one_hot_product.png",
        "table_after.png",
        "table_before.png",
        "training_trajectories.png",
    ]
    for path in pictures:
        load_picture(path)


def test_demo_refuses_zero_epochs(capsys):
    assert_user_error(
        call_cli(capsys, "demo", "--epochs", "0"),
        "keras-embedplus demo: error: --epochs must be at least 1, got 0",
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_inspect_reads_binary_word2vec(word2vec_binary_file):
    done = run_cli("inspect", word2vec_binary_file)
    assert done.returncode == 0, done.stderr
    assert "binary" in done.stdout.lower()
    assert "'new_york'" in done.stdout


def test_inspect_lists_the_quirks(tmp_path, capsys):
    path = tmp_path / "quirky.txt"
    path.write_text(
        "3 2\nthe 0.1 0.2\nnew york 0.3 0.4\n\nthe 0.5 0.6\n",
        encoding="utf-8",
    )
    done = call_cli(capsys, "inspect", path)
    assert done.returncode == 0, done.stderr
    quirks = done.stdout.split("quirks:")[1].splitlines()
    assert [line.strip() for line in quirks] == [
        "1 repeated word, the first kept (e.g. 'the')",
        "1 word containing spaces (e.g. 'new york')",
        "1 blank line skipped",
    ]


@pytest.mark.slow
def test_coverage_names_the_missing_words(glove_file, tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("king\nQueen\n\nparis\nzebra\nunicorn\n")
    done = run_cli("coverage", glove_file, "--vocab", vocab)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # king as written; Queen and paris through the case fallback.
    assert "3 of 5 words (60.0%)" in out
    assert out.splitlines()[-3:] == [
        "Missing words (2):",
        "  zebra",
        "  unicorn",
    ]
    done = call_cli(
        capsys, "coverage", glove_file, "--vocab", vocab, "--missing", "1"
    )
    assert done.stdout.endswith(
        "  zebra\n  ... and 1 more (--missing 0 lists them all)\n"
    )
    strict = call_cli(
        capsys,
        "coverage",
        glove_file,
        "--vocab",
        vocab,
        "--no-lowercase-fallback",
    )
    assert "1 of 5 words (20.0%)" in strict.stdout
    assert "Missing words (4):" in strict.stdout


@pytest.mark.slow
def test_coverage_refuses_a_bad_vocabulary_file(glove_file, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("king\nqueen\nking\n")
    assert_user_error(
        run_cli("coverage", glove_file, "--vocab", vocab),
        f"{vocab} line 3: 'king' repeats line 1",
    )


def test_coverage_names_a_missing_or_empty_vocabulary(
    glove_file, tmp_path, capsys
):
    missing = tmp_path / "nope.txt"
    assert_user_error(
        call_cli(capsys, "coverage", glove_file, "--vocab", missing),
        f"{missing}: No such file or directory",
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert_user_error(
        call_cli(capsys, "coverage", glove_file, "--vocab", empty),
        f"{empty} holds no words",
    )


@pytest.mark.parametrize("out_format", ["cache", "word2vec", "glove"])
@pytest.mark.slow
def test_convert_writes_a_file_that_reads_back(
    glove_file, tmp_path, out_format, capsys
):
    from keras_embedplus.vectors import load_vectors

    out = tmp_path / f"converted.{out_format}"
    if out_format == "cache":  # the default, as a user runs it
        done = run_cli("convert", glove_file, out)
    else:
        done = call_cli(
            capsys, "convert", glove_file, out, "--format", out_format
        )
    assert done.returncode == 0, done.stderr
    assert f"wrote 7 vectors of dimension 3 to {out}" in done.stdout
    vectors = load_vectors(out)
    assert vectors.index_to_key == WORDS
    np.testing.assert_array_equal(vectors.vectors, VECTORS)


@pytest.mark.slow
def test_convert_binary_is_read_by_gensim(glove_file, tmp_path):
    out = tmp_path / "converted.bin"
    done = run_cli("convert", glove_file, out, "--format", "word2vec-binary")
    assert done.returncode == 0, done.stderr
    vectors = KeyedVectors.load_word2vec_format(str(out), binary=True)
    np.testing.assert_array_equal(vectors["queen"], VECTORS[2])


def test_convert_refuses_to_overwrite_its_input(glove_file, capsys):
    assert_user_error(
        call_cli(
            capsys, "convert", glove_file, glove_file, "--format", "glove"
        ),
        "OUT is PATH",
    )


@pytest.mark.slow
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


@pytest.mark.slow
def test_neighbors_of_an_unknown_word(glove_file):
    assert_user_error(
        run_cli("neighbors", glove_file, "paris"),
        f"'paris' is not in {glove_file} (7 words); did you mean 'Paris'?",
    )


def test_neighbors_of_an_unseen_word_with_fasttext(tmp_path, capsys):
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["king", "queen", "kingdom"], ["man", "woman", "kingly"]] * 5
    model = FastText(sentences, vector_size=4, min_count=1, epochs=1, seed=1)
    path = tmp_path / "tiny.bin"
    save_facebook_model(model, str(path))
    done = call_cli(capsys, "neighbors", path, "kings", "-k", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "nearest to 'kings' by cosine similarity (not in the file: its "
        "vector is built from subwords):"
    )
    expected = model.wv.most_similar("kings", topn=2)
    assert [line.split()[1] for line in lines[1:]] == [w for w, _ in expected]


def test_neighbors_needs_a_positive_k(glove_file, capsys):
    assert_user_error(
        call_cli(capsys, "neighbors", glove_file, "king", "-k", "0"),
        "-k must be at least 1",
    )


@pytest.mark.slow
def test_a_missing_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert_user_error(run_cli("inspect", missing), f"inspect: error: {missing}")
    for command in [["neighbors", missing, "x"], ["convert", missing, "o"]]:
        assert_user_error(
            call_cli(capsys, *command), f"{command[0]}: error: {missing}"
        )


@pytest.mark.slow
def test_a_malformed_file_is_named_with_its_line(tmp_path, capsys):
    path = tmp_path / "broken.txt"
    path.write_text("the 0.1 0.2 0.3\nking 0.1 0.2\nqueen 0.1 0.2 0.3\n")
    done = run_cli("inspect", path)
    assert_user_error(done, f"inspect: error: {path}, line 2: has 2 values")
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xfe not vectors")
    assert_user_error(
        call_cli(capsys, "inspect", garbage),
        f"{garbage}, line 1: cannot tell the format",
        "--input-format",
    )


VECTOR_SUBCOMMANDS = [
    ["inspect", "{path}"],
    ["coverage", "{path}", "--vocab", "{vocab}"],
    ["convert", "{path}", "{out}"],
    ["neighbors", "{path}", "king", "-k", "2"],
]


@pytest.mark.parametrize("args", VECTOR_SUBCOMMANDS, ids=lambda a: a[0])
def test_vector_subcommands_start_without_tensorflow(
    args, glove_file, tmp_path
):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("king\nqueen\nzebra\n", encoding="utf-8")
    argv = [
        arg.format(path=glove_file, vocab=vocab, out=tmp_path / "out.txt")
        for arg in args
    ]
    script = (
        "import sys, keras_embedplus_cli\n"
        f"code = keras_embedplus_cli.main({argv!r})\n"
        "print([m for m in ('keras', 'tensorflow') if m in sys.modules])\n"
        "sys.exit(code)\n"
    )
    assert run_python(script)[-1] == "[]"


def test_help_starts_without_the_vector_modules_or_keras():
    script = (
        "import sys, keras_embedplus_cli\n"
        "try:\n"
        "    keras_embedplus_cli.main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0\n"
        "heavy = ('keras_embedplus.vectors', 'gensim', 'keras', 'tensorflow')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    assert run_python(script)[-1] == "[]"


def test_plurals_follow_the_count(tmp_path, capsys):
    one = tmp_path / "one.txt"
    one.write_text("the 0.1 0.2\n", encoding="utf-8")
    done = call_cli(capsys, "convert", one, tmp_path / "one.cache")
    assert done.stdout == (
        f"wrote 1 vector of dimension 2 to {tmp_path / 'one.cache'} (cache)\n"
    )
    many = tmp_path / "many.txt"
    many.write_text("a 1.0 2.0\nb 1.0 2.0\na 1.0 2.0\nb 1.0 2.0\n")
    done = call_cli(capsys, "inspect", many)
    assert "2 repeated words, the first kept" in done.stdout


def test_convert_help_calls_the_cache_a_directory(capsys):
    done = call_cli(capsys, "convert", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "a directory for --format cache" in text
    assert "OUT file to write" not in text


def test_the_pickle_error_speaks_the_command_lines_language(tmp_path, capsys):
    import pickle

    path = tmp_path / "model.kv"
    path.write_bytes(pickle.dumps({"x": 1}, protocol=4))
    done = call_cli(capsys, "inspect", path)
    assert_user_error(done, "--allow-pickle", "keras-embedplus convert")
    assert "allow_pickle=True" not in done.stderr
    assert "save_cache" not in done.stderr


@pytest.mark.parametrize(
    "call",
    [
        "keras_embedplus.vectors.cache.save_cache",
        "keras_embedplus.vectors.save_cache",
    ],
)
def test_the_pickle_advice_is_translated_whatever_the_module_path(call):
    from keras_embedplus.tools import commands

    error = ValueError(
        f"m.kv: pass allow_pickle=True, then save it once with {call}"
        "(kv, directory) to reload it pickle-free."
    )
    assert commands.describe(error) == (
        "m.kv: pass --allow-pickle, then convert it once to a cache "
        "(keras-embedplus convert PATH OUT --allow-pickle) to reload it "
        "pickle-free."
    )


def test_neighbors_of_several_words(glove_file, capsys):
    done = call_cli(capsys, "neighbors", glove_file, "king", "man", "-k", "2")
    assert done.returncode == 0, done.stderr
    blocks = done.stdout.split("\n\n")
    assert (
        blocks[0].splitlines()[0] == "nearest to 'king' by cosine similarity:"
    )
    assert blocks[1].splitlines()[0] == "nearest to 'man' by cosine similarity:"
    assert [len(block.splitlines()) for block in blocks] == [3, 3]
    assert_user_error(
        call_cli(capsys, "neighbors", glove_file, "king", "paris", "zebra"),
        f"'paris', 'zebra' are not in {glove_file} (7 words); did you mean "
        "'Paris' for 'paris'?",
    )


def test_inspect_reads_the_projector_files_the_package_writes(tmp_path, capsys):
    from keras_embedplus.vectors import write_projector

    vectors = KeyedVectors(3)
    vectors.add_vectors(WORDS, VECTORS)
    folder = tmp_path / "projector"
    vectors_path, _ = write_projector(vectors, folder)
    for path in (vectors_path, folder):
        done = call_cli(capsys, "inspect", path)
        assert done.returncode == 0, done.stderr
        assert "format:       projector\n" in done.stdout
        assert "words:        7\n" in done.stdout
    done = call_cli(capsys, "neighbors", vectors_path, "king", "-k", "1")
    assert done.stdout.splitlines()[1].split()[1] == "queen"
    out = tmp_path / "from_projector.cache"
    assert call_cli(capsys, "convert", vectors_path, out).returncode == 0
    from keras_embedplus.vectors import load_cache

    loaded = load_cache(out)
    assert loaded.index_to_key == WORDS
    np.testing.assert_array_equal(loaded.vectors, VECTORS)
    # A cache directory stays a cache, whatever else it holds.
    shutil.copy(vectors_path, out / "vectors.tsv")
    assert "format:       cache\n" in call_cli(capsys, "inspect", out).stdout
    # Several metadata columns: a header line, the first column is the word.
    write_projector(
        vectors, folder, metadata={"word": WORDS, "count": range(7)}
    )
    done = call_cli(capsys, "inspect", vectors_path)
    assert "'the', 'king'" in done.stdout
    done = call_cli(capsys, "inspect", vectors_path, "--limit", "2")
    assert "sample:       'the', 'king'\n" in done.stdout
    # Without labels, the words are the row numbers, and it says so.
    (folder / "metadata.tsv").unlink()
    done = call_cli(capsys, "inspect", vectors_path)
    assert "no metadata.tsv: the words are row numbers" in done.stdout
    assert "'0', '1', '2'" in done.stdout
    (folder / "metadata.tsv").write_text("the\nking\n")
    for limit in ([], ["--limit", "2"]):
        assert_user_error(
            call_cli(capsys, "inspect", vectors_path, *limit),
            "metadata.tsv: holds 2 labels for the 7 vectors",
        )
    (folder / "vectors.tsv").write_text("0.1\t0.2\nx\t0.3\n")
    assert_user_error(
        call_cli(capsys, "inspect", vectors_path),
        f"{vectors_path}, line 2: 'x\\t0.3' is not tab-separated numbers",
    )


def test_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xfe not vectors")
    with pytest.raises(Exception, match="cannot tell the format"):
        cli.main(["--debug", "inspect", str(garbage)])
    with pytest.raises(Exception, match="cannot tell the format"):
        cli.main(["inspect", str(garbage), "--debug"])
    monkeypatch.setenv("KERAS_EMBEDPLUS_DEBUG", "1")
    with pytest.raises(Exception, match="cannot tell the format"):
        cli.main(["inspect", str(garbage)])
    monkeypatch.setenv("KERAS_EMBEDPLUS_DEBUG", "0")
    assert_user_error(call_cli(capsys, "inspect", garbage), "cannot tell")


def test_an_unforeseen_error_is_one_line_too(glove_file, capsys, monkeypatch):
    from keras_embedplus.tools import commands

    def broken(args):
        raise RuntimeError("something\nunexpected")

    monkeypatch.setattr(commands, "inspect", broken)
    done = call_cli(capsys, "inspect", glove_file)
    assert_user_error(
        done,
        "keras-embedplus inspect: error: RuntimeError: something unexpected "
        "(--debug or KERAS_EMBEDPLUS_DEBUG=1 shows the traceback)",
    )
    assert done.stderr.count("\n") == 1


def _hostile_files(folder):
    """Files that are no vectors at all, or damaged ones: name -> path."""
    import bz2
    import gzip
    import pickle
    import struct

    from gensim.test.utils import datapath

    from keras_embedplus.vectors import save_cache

    rng = np.random.default_rng(0)
    fasttext = pathlib.Path(datapath("lee_fasttext_new.bin")).read_bytes()
    old_fasttext = pathlib.Path(datapath("lee_fasttext.bin")).read_bytes()
    binary = b"2 3\nthe " + np.ones(3, "<f4").tobytes() + b"\ncat "
    files = {
        "empty.txt": b"",
        "blank.txt": b"\n\n\n",
        "bom.txt": b"\xef\xbb\xbf",
        "nul.txt": b"\0" * 100,
        "random.bin": rng.bytes(4096),
        "random_text.txt": bytes(rng.integers(32, 127, 4096, "u1")),
        "short_row.txt": b"the 0.1 0.2 0.3\ncat 0.1 0.2\n",
        "bad_number.txt": b"the 0.1 0.2\ncat 0.1 0.2x\n",
        "huge_header.txt": b"100000000 100000000\nthe 0.1 0.2 0.3\n",
        "giant_dim.txt": b"3 100000000000000000000\nthe 0.1 0.2\ncat 0.3 0.4\n",
        "digits.txt": b"9" * 5000 + b" 3\nthe 0.1 0.2 0.3\n",
        "latin1.txt": b"caf\xe9 0.1 0.2\nthe 0.3 0.4\n",
        "tabs.tsv": b"a\tb\tc\n1\t2\n",
        "pickle2.pkl": pickle.dumps({"a": 1}, protocol=2),
        "pickle5.pkl": pickle.dumps({"a": 1}, protocol=5),
        "array.npy": b"\x93NUMPY" + rng.bytes(100),
        "broken.gz": b"\x1f\x8b\x08\x00" + rng.bytes(100),
        "cut.gz": gzip.compress(b"the 0.1 0.2\n" * 1000)[:50],
        "broken.bz2": b"BZh9" + rng.bytes(100),
        "binary_cut.bin": binary[:-2],
        "binary_huge_count.bin": b"99999999999 3\nthe "
        + np.ones(3, "<f4").tobytes(),
        "fasttext_cut.bin": fasttext[:-7],
        "fasttext_head.bin": fasttext[:100],
        "fasttext_magic.bin": fasttext[:4] + rng.bytes(300),
        "old_fasttext_cut.bin": old_fasttext[: len(old_fasttext) // 2],
        "fasttext_padded.bin": fasttext + b"\0\0",
        "fasttext_dim.bin": fasttext[:8] + struct.pack("<i", 7) + fasttext[12:],
    }
    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    empty_dir = folder / "empty_dir"
    empty_dir.mkdir()
    paths["empty_dir"] = empty_dir
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    paths["fifo"] = fifo
    paths["dev_null"] = pathlib.Path(os.devnull)
    vectors = KeyedVectors(3)
    vectors.add_vectors(WORDS, VECTORS)
    tampering = {
        "no_header": lambda c: (c / "header.json").unlink(),
        "bad_json": lambda c: (c / "header.json").write_text("{"),
        "crlf": lambda c: (c / "vocabulary.txt").write_bytes(
            (c / "vocabulary.txt").read_bytes().replace(b"\n", b"\r\n")
        ),
        "cut_matrix": lambda c: (c / "vectors.npy").write_bytes(
            (c / "vectors.npy").read_bytes()[:-3]
        ),
        "zero_vocabulary": lambda c: (
            (c / "vocabulary.txt").unlink(),
            (c / "vocabulary.txt").symlink_to("/dev/zero"),
        ),
        "complex": lambda c: np.save(c / "vectors.npy", np.zeros((7, 3), "c8")),
    }
    for name, tamper in tampering.items():
        path = pathlib.Path(save_cache(vectors, folder / f"cache_{name}"))
        tamper(path)
        paths[f"cache_{name}"] = path
    compressed = folder / "fasttext.bin.bz2"
    compressed.write_bytes(bz2.compress(fasttext[:-1]))
    paths["compressed_fasttext_cut"] = compressed
    return paths


# Damaged files the readers' own fixes turn from silent loads into errors
# (issue 9, classes 1 and 4): here they must only never show a traceback.
_READERS_DECIDE = {"binary_cut.bin", "binary_huge_count.bin", "huge_header.txt"}


def test_hostile_files_never_show_a_traceback(tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("king\nqueen\n")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, path in _hostile_files(inputs).items():
        for args in (
            ["inspect", path],
            ["coverage", path, "--vocab", vocab],
            ["coverage", vocab, "--vocab", path],
            ["convert", path, tmp_path / "out" / name],
            ["neighbors", path, "king", "queen"],
            ["inspect", path, "--input-format", "fasttext-bin"],
            ["inspect", path, "--input-format", "cache"],
            ["inspect", path, "--input-format", "word2vec-binary"],
        ):
            done = call_cli(capsys, *args)
            context = f"{name}: {args}: {done.stderr}"
            assert "Traceback" not in done.stderr, context
            if name in _READERS_DECIDE and done.returncode == 0:
                continue
            assert done.returncode == 1, context
            assert done.stderr.count("\n") == 1, context
            assert done.stderr.startswith(f"keras-embedplus {args[0]}: error: ")
            assert "--debug" not in done.stderr or "Error" in done.stderr


@pytest.mark.slow
def test_hostile_files_in_a_real_process(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    paths = _hostile_files(inputs)
    for name in ("random.bin", "fasttext_cut.bin", "cache_zero_vocabulary"):
        done = run_cli("inspect", paths[name])
        assert_user_error(done, f"keras-embedplus inspect: error: {inputs}")
    done = run_cli("--debug", "inspect", paths["random.bin"])
    assert done.returncode == 1
    assert "Traceback" in done.stderr


def test_the_readers_advice_names_the_command_lines_flags(tmp_path, capsys):
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9 0.1 0.2\nthe 0.3 0.4\n")
    done = call_cli(capsys, "inspect", latin)
    assert_user_error(done, "--encoding latin-1")
    assert "encoding='" not in done.stderr
    done = call_cli(capsys, "inspect", latin, "--encoding", "latin-1")
    assert "'café'" in done.stdout


def test_nonfinite_and_truncation_flags_reach_the_reader(tmp_path, capsys):
    import inspect

    from keras_embedplus.vectors import read_vectors

    if "allow_nonfinite" not in inspect.signature(read_vectors).parameters:
        pytest.skip("this reader has no allow_nonfinite / on_truncation")
    nan = tmp_path / "nan.txt"
    nan.write_text("the 0.1 nan\ncat 0.3 0.4\n")
    assert_user_error(call_cli(capsys, "inspect", nan), "--allow-nonfinite")
    done = call_cli(capsys, "inspect", nan, "--allow-nonfinite")
    assert "not finite:   1 value\n" in done.stdout
    cut = tmp_path / "cut.txt"
    cut.write_text("3 2\nthe 0.1 0.2\ncat 0.3 0.4\n")
    assert_user_error(call_cli(capsys, "inspect", cut), "--on-truncation warn")
    with pytest.warns(UserWarning):
        done = call_cli(capsys, "inspect", cut, "--on-truncation", "warn")
    assert "words:        2\n" in done.stdout


def test_neighbors_leave_zero_vectors_out(tmp_path, capsys):
    # An exported layer's OOV rows can be zeros: no direction, no cosine.
    path = tmp_path / "with_zeros.txt"
    path.write_text(
        "king 1.0 0.9\nqueen 0.9 1.0\nnone 0.0 0.0\nman 1.0 -0.2\n",
        encoding="utf-8",
    )
    done = call_cli(capsys, "neighbors", path, "king", "-k", "5")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert [line.split()[1] for line in done.stdout.splitlines()[1:]] == [
        "queen",
        "man",
    ]
    assert_user_error(
        call_cli(capsys, "neighbors", path, "none"),
        "the vector of 'none' is all zeros",
    )
