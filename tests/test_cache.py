"""The pickle-free cache: exact round trip, memory-mapped, never unpickled."""

import json
import os
import pathlib

import numpy as np
import pytest
from gensim.models import FastText
from gensim.models import KeyedVectors
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_embedplus
from keras_embedplus.vectors import VectorFileError
from keras_embedplus.vectors import cache as cache_module
from keras_embedplus.vectors import load_cache
from keras_embedplus.vectors import read_vectors
from keras_embedplus.vectors import save_cache
from keras_embedplus.vectors.cache import FILES
from tests.vector_files import assert_same_vectors
from tests.vector_files import random_vectors


@pytest.fixture
def kv():
    words, vectors = random_vectors(500, 12)
    words[3] = ". . ."
    words[4] = "new\nline"
    words[5] = "back\\slash\\n"
    words[6] = ""
    words[7] = "ünï\u2028cödé"
    kv = KeyedVectors(12)
    kv.add_vectors(words, vectors)
    return kv


# `make test` runs a few; a long session: READER_FUZZ_EXAMPLES=20000.
FUZZ_EXAMPLES = int(os.environ.get("READER_FUZZ_EXAMPLES", "150"))


def test_round_trip_is_exact_and_memory_mapped(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    loaded = load_cache(path)
    assert_same_vectors(loaded, kv)
    assert isinstance(loaded.vectors, np.memmap)
    assert not loaded.vectors.flags.writeable
    assert loaded.most_similar("w10", topn=3) == kv.most_similar("w10", topn=3)
    in_memory = load_cache(path, mmap=False)
    assert not isinstance(in_memory.vectors, np.memmap)
    np.testing.assert_array_equal(in_memory.vectors, kv.vectors)


def test_files_hold_no_pickle(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    assert sorted(os.listdir(path)) == [
        "header.json",
        "vectors.npy",
        "vocabulary.txt",
    ]
    header = json.loads((tmp_path / "cache" / "header.json").read_text())
    assert header == {
        "format": "keras_embedplus.vectors.cache",
        "version": 1,
        "count": 500,
        "dim": 12,
        "dtype": "<f4",
        "escaped": True,
    }
    matrix = np.load(tmp_path / "cache" / "vectors.npy", allow_pickle=False)
    assert matrix.shape == (500, 12)
    words = (tmp_path / "cache" / "vocabulary.txt").read_text("utf-8")
    assert words.split("\n")[:3] == ["w0", "w1", "w2"]


def test_load_vectors_detects_the_cache(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    loaded, report = read_vectors(path)
    assert report.format == "cache"
    assert loaded.index_to_key == kv.index_to_key
    for source in (tmp_path / "cache", f"{path}/header.json"):
        assert len(keras_embedplus.load_vectors(source)) == 500
    subset = keras_embedplus.load_vectors(path, vocabulary=["w9", ". . ."])
    assert subset.index_to_key == [". . .", "w9"]
    np.testing.assert_array_equal(subset["w9"], kv["w9"])
    first = keras_embedplus.load_vectors(path, limit=20)
    assert first.index_to_key == kv.index_to_key[:20]


def test_text_to_cache_to_vectors(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("the 0.418 0.24968\ncat -0.41242 0.1217\n")
    kv = keras_embedplus.load_vectors(glove)
    loaded = keras_embedplus.load_vectors(save_cache(kv, tmp_path / "c"))
    np.testing.assert_array_equal(loaded.vectors, kv.vectors)


def test_save_replaces_an_existing_cache(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    small = KeyedVectors(2)
    small.add_vectors(["a"], [[1.0, 2.0]])
    save_cache(small, path)
    assert load_cache(path).index_to_key == ["a"]


def test_empty_vectors(tmp_path):
    path = save_cache(KeyedVectors(3), tmp_path / "cache")
    loaded = load_cache(path)
    assert len(loaded) == 0 and loaded.vectors.shape == (0, 3)


def test_refuses_what_it_cannot_keep(tmp_path):
    model = FastText([["a", "b"]], vector_size=4, min_count=1, epochs=1)
    with pytest.raises(ValueError, match="whole-word vectors only"):
        save_cache(model.wv, tmp_path / "ft")
    ints = KeyedVectors(2)
    ints.add_vectors([7], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="string keys only"):
        save_cache(ints, tmp_path / "ints")


def test_a_bad_version_or_missing_header_is_named(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    header = tmp_path / "cache" / "header.json"
    header.write_text(
        '{"format": "keras_embedplus.vectors.cache", "version": 9}'
    )
    with pytest.raises(VectorFileError, match="rebuild it"):
        load_cache(path)
    header.unlink()
    with pytest.raises(VectorFileError, match="header.json is missing"):
        load_cache(path)


def _header(path):
    return json.loads((path / "header.json").read_text())


def _set_header(path, **changes):
    header = {**_header(path), **changes}
    header = {key: value for key, value in header.items() if value != "DEL"}
    (path / "header.json").write_text(json.dumps(header))


def _vocabulary(path):
    return (path / "vocabulary.txt").read_bytes()


@pytest.fixture
def small(tmp_path):
    """A 4-word float32 cache (no escaping) and its directory."""
    kv = KeyedVectors(3)
    kv.add_vectors(["the", "cat", "sat", "mat"], np.arange(12.0).reshape(4, 3))
    return pathlib.Path(save_cache(kv, tmp_path / "small"))


TAMPERED = {
    "header not JSON": (
        lambda p: (p / "header.json").write_text("{nope"),
        "header.json: invalid JSON",
    ),
    "header a list": (
        lambda p: (p / "header.json").write_text("[1, 2]"),
        "not a keras_embedplus.vectors.cache header",
    ),
    "header a directory": (
        lambda p: ((p / "header.json").unlink(), (p / "header.json").mkdir()),
        "header.json: is not a regular file",
    ),
    "header huge": (
        lambda p: (p / "header.json").write_text(" " * 10_000 + "{}"),
        "too long for a cache file",
    ),
    "count missing": (
        lambda p: _set_header(p, count="DEL"),
        "the key 'count' is missing",
    ),
    "count a string": (
        lambda p: _set_header(p, count="4"),
        "'count' must be an integer >= 0, not '4'",
    ),
    "count a bool": (
        lambda p: _set_header(p, count=True),
        "'count' must be an integer",
    ),
    "dim negative": (
        lambda p: _set_header(p, dim=-3),
        "'dim' must be an integer >= 1",
    ),
    "escaped a string": (
        lambda p: _set_header(p, escaped="no"),
        "'escaped' must be true or false",
    ),
    "dtype complex": (
        lambda p: _set_header(p, dtype="<c8"),
        "'dtype' must be one of float16, float32, float64",
    ),
    "dtype object": (
        lambda p: _set_header(p, dtype="|O"),
        "'dtype' must be one of",
    ),
    "dtype bool": (lambda p: _set_header(p, dtype="|b1"), "'dtype' must be"),
    # Spellings numpy reads as float32 but `save_cache` never writes.
    "dtype native order": (
        lambda p: _set_header(p, dtype="=f4"),
        "'dtype' must be one of float16, float32, float64",
    ),
    "dtype no order": (
        lambda p: _set_header(p, dtype="|f4"),
        "'dtype' must be one of float16, float32, float64",
    ),
    "dtype by name": (
        lambda p: _set_header(p, dtype="float32"),
        "'dtype' must be one of float16, float32, float64",
    ),
    "dtype disagrees": (
        lambda p: _set_header(p, dtype="<f8"),
        "vectors.npy: holds a float32 array of shape (4, 3), but "
        "header.json says float64",
    ),
    "count disagrees": (
        lambda p: _set_header(p, count=5),
        "but header.json says float32 of shape (5, 3)",
    ),
    "matrix truncated": (
        lambda p: _truncate(p / "vectors.npy", -5),
        "vectors.npy: is 171 bytes, but a float32 matrix of shape (4, 3) "
        "takes 176 (the file is truncated)",
    ),
    "matrix too long": (
        lambda p: _append(p / "vectors.npy", b"\0" * 8),
        "(the file is too long)",
    ),
    "matrix cut in its header": (
        lambda p: _truncate(p / "vectors.npy", 20),
        "vectors.npy: not a readable .npy file",
    ),
    "matrix not npy": (
        lambda p: (p / "vectors.npy").write_bytes(b"hello"),
        "not a readable .npy file",
    ),
    "matrix of complex numbers": (
        lambda p: np.save(p / "vectors.npy", np.zeros((4, 3), "c8")),
        "holds a complex64 array",
    ),
    "matrix of bools": (
        lambda p: np.save(p / "vectors.npy", np.zeros((4, 3), bool)),
        "holds a bool array",
    ),
    "matrix of objects": (
        lambda p: np.save(p / "vectors.npy", np.array([[None] * 3] * 4)),
        "holds a object array",
    ),
    "matrix in Fortran order": (
        lambda p: np.save(
            p / "vectors.npy", np.asfortranarray(np.zeros((4, 3), "f4"))
        ),
        "holds a Fortran-order float32 array",
    ),
    "matrix missing": (
        lambda p: (p / "vectors.npy").unlink(),
        "vectors.npy: cannot be read (No such file or directory)",
    ),
    "matrix a directory": (
        lambda p: ((p / "vectors.npy").unlink(), (p / "vectors.npy").mkdir()),
        "vectors.npy: is not a regular file",
    ),
    "vocabulary missing": (
        lambda p: (p / "vocabulary.txt").unlink(),
        "vocabulary.txt: cannot be read (No such file or directory)",
    ),
    "vocabulary with an extra line": (
        lambda p: _append(p / "vocabulary.txt", b"\nextra"),
        "vocabulary.txt: holds 5 lines, but header.json says 4 words",
    ),
    "vocabulary with a trailing newline": (
        lambda p: _append(p / "vocabulary.txt", b"\n"),
        "holds 5 lines",
    ),
    "vocabulary short": (
        lambda p: (p / "vocabulary.txt").write_bytes(b"the\ncat\nsat"),
        "holds 3 lines",
    ),
    "vocabulary with CRLF": (
        lambda p: (p / "vocabulary.txt").write_bytes(
            _vocabulary(p).replace(b"\n", b"\r\n")
        ),
        "vocabulary.txt, line 1: holds a carriage return (CRLF",
    ),
    "vocabulary with a repeat": (
        lambda p: (p / "vocabulary.txt").write_bytes(b"the\ncat\nthe\nmat"),
        "vocabulary.txt, line 3: the word 'the' repeats line 1",
    ),
    "vocabulary not UTF-8": (
        lambda p: (p / "vocabulary.txt").write_bytes(b"the\ncat\ns\xffat\nmat"),
        "vocabulary.txt, line 3: is not UTF-8 at byte 9",
    ),
    "vocabulary with an unknown escape": (
        lambda p: (
            _set_header(p, escaped=True),
            (p / "vocabulary.txt").write_bytes(b"the\ncat\n\\t\nmat"),
        ),
        "line 3: the escape '\\\\t' is not one the cache writes",
    ),
    "vocabulary is /dev/zero": (
        lambda p: (
            (p / "vocabulary.txt").unlink(),
            (p / "vocabulary.txt").symlink_to("/dev/zero"),
        ),
        "vocabulary.txt: is not a regular file",
    ),
    "header is /dev/zero": (
        lambda p: (
            (p / "header.json").unlink(),
            (p / "header.json").symlink_to("/dev/zero"),
        ),
        "header.json: is not a regular file",
    ),
}


def _truncate(path, size):
    data = path.read_bytes()
    path.write_bytes(data[:size])


def _append(path, data):
    with open(path, "ab") as f:
        f.write(data)


@pytest.mark.parametrize("case", TAMPERED, ids=list(TAMPERED))
def test_a_tampered_cache_is_a_clear_error(small, case):
    tamper, message = TAMPERED[case]
    tamper(small)
    for load in (load_cache, keras_embedplus.load_vectors):
        with pytest.raises(VectorFileError) as error:
            load(small)
        assert message in str(error.value)
        assert str(small) in str(error.value)
        assert "rebuild it" in str(error.value)
    with pytest.raises(VectorFileError, match="rebuild it"):
        load_cache(small, mmap=False)


def test_a_path_that_is_not_a_directory(tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(VectorFileError, match="not a vector cache"):
        load_cache(file)
    with pytest.raises(VectorFileError, match="not a vector cache"):
        load_cache(tmp_path / "missing")


def test_every_float_dtype_round_trips(tmp_path):
    for dtype in ("float16", "float32", "float64"):
        kv = KeyedVectors(2, dtype=dtype)
        kv.add_vectors(["a", "b"], np.array([[1, 2], [3, 4]], dtype))
        path = save_cache(kv, tmp_path / dtype)
        for mmap in (True, False):
            loaded = load_cache(path, mmap=mmap)
            assert loaded.vectors.dtype == dtype
            np.testing.assert_array_equal(loaded.vectors, kv.vectors)


def test_carriage_returns_in_words_are_escaped(tmp_path):
    kv = KeyedVectors(2)
    kv.add_vectors(["a\r", "\rb", "c"], np.eye(3, 2))
    path = save_cache(kv, tmp_path / "cache")
    assert b"\r" not in _vocabulary(tmp_path / "cache")
    assert load_cache(path).index_to_key == ["a\r", "\rb", "c"]


def test_saving_onto_the_cache_being_read_is_refused(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    before = {name: (tmp_path / "cache" / name).read_bytes() for name in FILES}
    loaded = keras_embedplus.load_vectors(path)
    for vectors in (loaded, keras_embedplus.load_vectors(path, limit=10)):
        with pytest.raises(ValueError, match="onto itself"):
            save_cache(vectors, path)
        with pytest.raises(ValueError, match="onto itself"):
            save_cache(vectors, tmp_path / "." / "cache")
    after = {name: (tmp_path / "cache" / name).read_bytes() for name in FILES}
    assert after == before
    np.testing.assert_array_equal(loaded["w1"], kv["w1"])
    # Read into memory, the vectors no longer depend on the files.
    save_cache(load_cache(path, mmap=False), path)
    assert load_cache(path).index_to_key == kv.index_to_key


def test_a_directory_that_is_not_a_cache_is_refused(tmp_path, kv):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ValueError, match="not empty and not a cache"):
        save_cache(kv, folder)
    assert os.listdir(folder) == ["holiday.jpg"]
    path = save_cache(kv, tmp_path / "cache")
    (tmp_path / "cache" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"it holds notes\.txt"):
        save_cache(kv, path)
    with pytest.raises(ValueError, match="it is a file"):
        save_cache(kv, folder / "holiday.jpg")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(load_cache(save_cache(kv, empty))) == 500


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_crash_mid_write_leaves_the_old_cache(
    tmp_path, kv, monkeypatch, crash_at
):
    path = save_cache(kv, tmp_path / "cache")
    calls = []

    def crash(file):
        calls.append(file)
        if len(calls) == crash_at:
            raise KeyboardInterrupt
        file.flush()

    monkeypatch.setattr(cache_module, "_sync", crash)
    other = KeyedVectors(2)
    other.add_vectors(["x"], [[1.0, 2.0]])
    with pytest.raises(KeyboardInterrupt):
        save_cache(other, path)
    assert os.listdir(tmp_path) == ["cache"]
    assert load_cache(path).index_to_key == kv.index_to_key
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        save_cache(other, tmp_path / "new")
    assert os.listdir(tmp_path) == ["cache"]


def _reference_load(path):
    """What a cache holds, read naively: None where it must be refused."""
    try:
        header = json.loads((path / "header.json").read_text("utf-8"))
        count, dim = header["count"], header["dim"]
        with open(path / "vectors.npy", "rb") as f:
            matrix = np.load(f, allow_pickle=False)
            if f.read(1):
                return None  # Bytes after the matrix.
        text = (path / "vocabulary.txt").read_bytes().decode("utf-8")
    except Exception:  # noqa: BLE001 - anything unreadable must be refused
        return None
    if (
        header.get("format") != "keras_embedplus.vectors.cache"
        or header.get("version") != 1
        or type(count) is not int
        or type(dim) is not int
        or type(header.get("escaped")) is not bool
        or header.get("dtype") not in ("<f2", "<f4", "<f8", ">f2", ">f4", ">f8")
        or matrix.dtype.str != header["dtype"]
        or matrix.shape != (count, dim)
        or dim < 1
        or "\r" in text
    ):
        return None
    keys = text.split("\n") if count else []
    if (not count and text) or len(keys) != count:
        return None
    if header["escaped"]:
        unescaped = []
        for key in keys:
            out, i = "", 0
            while i < len(key):
                if key[i] == "\\":
                    if key[i + 1 : i + 2] not in ("\\", "n", "r"):
                        return None
                    out += {"\\": "\\", "n": "\n", "r": "\r"}[key[i + 1]]
                    i += 2
                else:
                    out += key[i]
                    i += 1
            unescaped.append(out)
        keys = unescaped
    if len(set(keys)) != len(keys):
        return None
    return keys, matrix


def _mutate(data, path):
    """Applies one random mutation to one file of the cache at `path`."""
    name = data.draw(st.sampled_from(FILES))
    target = path / name
    raw = target.read_bytes()
    kind = data.draw(st.sampled_from(["cut", "flip", "lines", "json"]))
    if kind == "cut":
        raw = raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif kind == "flip" and raw:
        at = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ data.draw(st.integers(1, 255))])
        raw += target.read_bytes()[at + 1 :]
    elif kind == "lines":
        lines = raw.split(b"\n")
        at = data.draw(st.integers(0, len(lines) - 1))
        change = data.draw(st.sampled_from(["dup", "drop", "crlf", "empty"]))
        if change == "dup":
            lines.insert(at, lines[at])
        elif change == "drop":
            del lines[at]
        elif change == "crlf":
            lines[at] += b"\r"
        else:
            lines.insert(at, b"")
        raw = b"\n".join(lines)
    elif kind == "json" and name == "header.json":
        try:
            header = json.loads(raw)
        except ValueError:
            return  # Already broken by an earlier mutation.
        if not isinstance(header, dict) or not header:
            return
        key = data.draw(st.sampled_from(sorted(header)))
        header[key] = data.draw(
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(-3, 10**20),
                st.floats(allow_nan=False),
                st.sampled_from(["<f2", "<f8", ">f4", "|O", "<c8", "<i4"]),
                st.text(max_size=5),
                st.lists(st.integers(), max_size=2),
            )
        )
        raw = json.dumps(header).encode()
    target.write_bytes(raw)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.data())
def test_fuzz_a_mutated_cache_loads_exactly_or_raises(tmp_path_factory, data):
    words = data.draw(
        st.lists(
            st.text(alphabet="ab\\\n\r é", max_size=4),
            min_size=0,
            max_size=6,
            unique=True,
        )
    )
    dim = data.draw(st.integers(1, 3))
    kv = KeyedVectors(dim)
    if words:
        kv.add_vectors(words, np.arange(len(words) * dim).reshape(-1, dim))
    path = pathlib.Path(save_cache(kv, tmp_path_factory.mktemp("fuzz") / "c"))
    for _ in range(data.draw(st.integers(1, 2))):
        _mutate(data, path)
    expected = _reference_load(path)
    for mmap in (True, False):
        try:
            loaded = load_cache(path, mmap=mmap)
        except VectorFileError as error:
            assert str(path) in str(error)
            assert expected is None or not expected[0], error
            continue
        assert expected is not None
        assert loaded.index_to_key == expected[0]
        np.testing.assert_array_equal(
            loaded.vectors.view(np.uint8), expected[1].view(np.uint8)
        )


def test_a_cache_has_the_permissions_of_a_directory_made_with_the_umask(
    tmp_path, kv
):
    made = tmp_path / "made"
    made.mkdir()
    path = save_cache(kv, tmp_path / "cache")
    assert os.stat(path).st_mode == os.stat(made).st_mode
