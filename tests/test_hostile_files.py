"""Broken and hostile vector files: exactly their vectors, or a clear error.

A corpus of hostile files, each with the outcome it must have. The
differential fuzz tests of the same readers are in `test_reader_fuzz.py`.
"""

import gzip
import re

import numpy as np
import pytest
from gensim.models import KeyedVectors

from keras_embedplus.vectors import VectorFileError
from keras_embedplus.vectors import VectorFileWarning
from keras_embedplus.vectors import align_vectors
from keras_embedplus.vectors import read_vectors
from tests.vector_files import assert_same_vectors


def read(path, **kwargs):
    return read_vectors(path, progress=False, **kwargs)


def write(tmp_path, data, name="v.txt"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def binary(words, vectors, *, count=None, newline_after=False):
    vectors = np.asarray(vectors, dtype="<f4")
    count = len(words) if count is None else count
    data = f"{count} {vectors.shape[1]}\n".encode()
    for word, row in zip(words, vectors, strict=True):
        data += word.encode() + b" " + row.tobytes()
        data += b"\n" if newline_after else b""
    return data


# ------------------------------------------------------ the hostile corpus

FULL = b"3 3\nthe 0.1 0.2 0.3\ncat 0.4 0.5 0.625\ndog 0.7 0.8 0.9\n"

# (name, file bytes, read_vectors arguments, words and rows or an error
# pattern that follows "<path>, ")
CORPUS = [
    (
        "cut inside a number",
        FULL[: FULL.index(b"0.625") + 3],
        {},
        r"line 1: the header on line 1 declares 3 rows but the file holds 2",
    ),
    (
        "cut at a line end",
        FULL[: FULL.index(b"dog")],
        {},
        r"line 1: .*declares 3 rows but the file holds 2.*on_truncation",
    ),
    (
        "cut inside the last line",
        b"the 0.1 0.2 0.3\ncat 0.4 0.5",
        {},
        r"line 2: the file ends inside line 2, which has no newline and is "
        r"not a whole row \(has 2 values; expected 3",
    ),
    (
        "last line whole but without a newline",
        b"the 0.1 0.2 0.3\ncat 0.4 0.5 0.6",
        {},
        {"the": [0.1, 0.2, 0.3], "cat": [0.4, 0.5, 0.6]},
    ),
    (
        "more rows than the header",
        b"1 2\na 1 2\nb 3 4\n",
        {},
        r"line 3: the header on line 1 declares 1 row and this is row 2",
    ),
    ("two spaces after the word", b"the  1 2\ncat 3 4\n", {}, {"the": [1, 2]}),
    ("tab after the word", b"the\t1 2 3\ncat\t4 5 6\n", {}, {"cat": [4, 5, 6]}),
    ("tabs and spaces", b"the \t 1\t2 \ncat 3  4\n", {}, {"the": [1, 2]}),
    (
        "spaces inside the word stay",
        b"new  york 1 2\ncat 3 4\ndog 5 6\n",
        {},
        {"new  york": [1, 2]},
    ),
    (
        "CRLF and BOM",
        b"\xef\xbb\xbfthe 1 2\r\ncat 3 4\r\n",
        {},
        {"the": [1, 2]},
    ),
    (
        "exponent with a point, in a big block",
        b"".join(b"w%d 1.5e-05 2e-3 3E+2\n" % i for i in range(200))
        + b"bad 1e-05. 1e-5 1e-5\n",
        {},
        r"line 201: value 1 \('1e-05.'\) is not a number",
    ),
    (
        "header larger than the file",
        b"100000 100000\nthe 1 2 3\n",
        {},
        r"line 2: has 3 values; expected 100000 \(declared by the header",
    ),
    (
        "dimension 1e20",
        b"2 100000000000000000000\nthe 1 2 3\n",
        {},
        r"line 2: has 3 values; expected 1000000000000000000 ",
    ),
    (
        "a 5000-digit count",
        b"9" * 5000 + b" 3\nthe 1 2 3\n",
        {},
        r"line 1: the header on line 1 declares more than 10\*\*18 rows but "
        r"the file holds 1",
    ),
    ("header of an empty file", b"0 300\n", {}, {}),
    (
        "header of a cut file",
        b"2 3\n",
        {},
        r"line 1: the header on line 1 declares 2 rows but the file holds 0",
    ),
    (
        "blank lines at the top",
        b"\n\n\nthe 1 2\ncat 3 4\n",
        {},
        {"cat": [3, 4]},
    ),
    (
        "blank lines above a header",
        b"\n \n2 2\nthe 1 2\ncat 3 4\n",
        {},
        {"the": [1, 2]},
    ),
    ("a 1-d GloVe file of numbers", b"3 1\n4 1\n5 9\n", {}, {"3": [1]}),
    ("a header over 1-d rows", b"2 1\n4 1\n5 9\n", {}, {"4": [1], "5": [9]}),
    (
        "nan",
        b"the 1 2\ncat nan 2\n",
        {},
        r"line 2: value 1 is nan\..*allow_nonfinite=True",
    ),
    ("nan kept", b"the 1 2\ncat inf 2\n", {"allow_nonfinite": True}, {}),
    ("utf8", b"\xef\xbb\xbfthe 1 2\n", {"encoding": "utf8"}, {"the": [1, 2]}),
    ("UTF8", b"\xef\xbb\xbfthe 1 2\n", {"encoding": "UTF8"}, {"the": [1, 2]}),
    ("u8", b"\xef\xbb\xbfthe 1 2\n", {"encoding": "u8"}, {"the": [1, 2]}),
    (
        "utf-8-sig",
        b"\xef\xbb\xbfthe 1 2\n",
        {"encoding": "utf-8-sig"},
        {"the": [1, 2]},
    ),
    (
        "binary cut at a record boundary",
        binary(["a", "b", "c"], np.ones((3, 2)))[:-10],
        {"format": "word2vec-binary"},
        r"record 3 \(byte 24\): the header declares 3 records but the file "
        r"ends after 2",
    ),
    (
        "binary cut inside a record",
        binary(["a", "b", "c"], np.ones((3, 2)))[:-3],
        {"format": "word2vec-binary"},
        r"record 3 \(byte 24\): the file ends inside this record",
    ),
    (
        "binary header-only",
        b"2 3\n",
        {"format": "word2vec-binary"},
        r"record 1 \(byte 4\): the header declares 2 records but the file "
        r"ends after 0",
    ),
    ("binary empty", b"0 3\n", {"format": "word2vec-binary"}, {}),
    (
        "binary word with a space (gensim's layout)",
        binary(["the", "new york", "cat"], np.full((3, 2), 0.5)),
        {},
        r"record 3 \(byte \d+\): the word .* previous record's word "
        r"probably holds a space",
    ),
    (
        "binary word with a space (the C tool's layout)",
        binary(
            ["the", "new york", "cat"], np.full((3, 2), 0.5), newline_after=True
        ),
        {},
        r"record 3 \(byte \d+\): the word .*(control bytes|no newline)",
    ),
    (
        "binary records after the declared count",
        binary(["a", "b", "c"], np.ones((3, 2)), count=2),
        {},
        r"record 3 \(byte \d+\): the header declares 2 records and the file "
        r"goes on.*limit=2",
    ),
    (
        "binary nan",
        binary(["a", "b"], [[1, 2], [np.nan, 3]]),
        {},
        r"record 2 \(byte 14\): value 1 of the word 'b' is nan",
    ),
]


@pytest.mark.parametrize(
    "data, kwargs, expected",
    [case[1:] for case in CORPUS],
    ids=[case[0] for case in CORPUS],
)
def test_hostile_corpus(tmp_path, data, kwargs, expected):
    path = write(tmp_path, data)
    if isinstance(expected, str):
        with pytest.raises(VectorFileError) as info:
            read(path, **kwargs)
        assert str(info.value).startswith(f"{path}, ")
        assert info.value.path == path
        where = str(info.value)[len(path) + 2 :]
        assert re.match(expected, where), str(info.value)
        return
    kv, _ = read(path, **kwargs)
    for word, row in expected.items():
        np.testing.assert_array_equal(kv[word], np.float32(row))
    assert all(isinstance(word, str) for word in kv.index_to_key)
    assert not any(word != word.strip(" \t") for word in kv.index_to_key)


def test_empty_header_file_keeps_its_dimension(tmp_path):
    kv, report = read(write(tmp_path, b"0 300\n"))
    assert kv.vectors.shape == (0, 300) and report.header_count == 0


def test_truncated_files_load_with_a_warning_when_asked(tmp_path):
    path = write(tmp_path, FULL[: FULL.index(b"0.625") + 3])
    with pytest.warns(VectorFileWarning, match="loaded the 2 rows it holds"):
        kv, report = read(path, on_truncation="warn")
    assert kv.index_to_key == ["the", "cat"]
    np.testing.assert_array_equal(kv["cat"], np.float32([0.4, 0.5, 0.6]))
    assert "declares 3 rows but the file holds 2" in report.truncated
    path = write(tmp_path, b"the 0.1 0.2 0.3\ncat 0.4 0.5")
    with pytest.warns(VectorFileWarning, match="loaded the rows before it"):
        kv, report = read(path, on_truncation="warn")
    assert kv.index_to_key == ["the"]
    assert report.truncated.startswith("line 2: the file ends inside line 2")
    words, vectors = ["a", "b", "c"], np.arange(6).reshape(3, 2)
    path = write(tmp_path, binary(words, vectors)[:-3], "v.bin")
    with pytest.warns(VectorFileWarning, match="the 2 whole records"):
        kv, report = read(path, on_truncation="warn")
    assert kv.index_to_key == ["a", "b"]
    with pytest.raises(ValueError, match="`on_truncation` must be 'raise'"):
        read(path, on_truncation="ignore")


def test_blank_lines_and_repeats_cost_only_their_bytes(tmp_path):
    data = b"the 1 2\n" + b"\n" * (5 << 20) + b"cat 3 4\n"
    kv, report = read(write(tmp_path, data))
    assert kv.index_to_key == ["the", "cat"]
    assert report.lines_skipped == 5 << 20
    # A small gzip of 160 MB of one repeated row: one row kept, and no
    # more than one batch of rows ever stored.
    row = b"the " + b" ".join(b"0.%04d" % i for i in range(50)) + b"\n"
    packed = tmp_path / "repeats.txt.gz"
    with gzip.open(packed, "wb") as f:
        f.write(row * 500_000)
    kv, report = read(packed)
    assert kv.vectors.shape == (1, 50)
    assert (report.rows, report.duplicates) == (500_000, 499_999)


def test_a_line_of_eight_million_values_loads(tmp_path):
    path = tmp_path / "wide.txt"
    values = np.zeros(8_000_000, dtype=np.float32)
    values[::1000] = 0.5
    with open(path, "wb") as f:
        f.write(b"word ")
        chunk = b" ".join(b"0.5" if v else b"0" for v in values[:1000])
        f.write(b" ".join([chunk] * 8000))
        f.write(b"\n")
    kv = read(path)[0]
    assert kv.vectors.shape == (1, 8_000_000)
    np.testing.assert_array_equal(kv["word"], values)


def test_a_compressed_line_without_separators_is_refused(tmp_path):
    packed = tmp_path / "bomb.txt.gz"
    with gzip.open(packed, "wb", compresslevel=9) as f:
        f.write(b"the 1 2\n")
        for _ in range(8):
            f.write(b"a" * (1 << 20))
    with pytest.raises(
        VectorFileError, match=r"bomb.txt.gz, line 2: a field of more than"
    ):
        read(packed)


def test_a_compressed_header_reserves_nothing(tmp_path):
    packed = tmp_path / "huge.txt.gz"
    with gzip.open(packed, "wb") as f:
        f.write(b"100000000 100000\nthe 1 2 3\n")
    with pytest.raises(VectorFileError, match=r"line 2: has 3 values"):
        read(packed)
    with gzip.open(packed, "wb") as f:
        f.write(b"100000000 3\nthe 1 2 3\n")
    with pytest.raises(VectorFileError, match=r"declares 100,000,000 rows"):
        read(packed)


def test_two_spaces_and_tabs_equal_gensim_once_normalised(tmp_path):
    clean = b"2 3\nthe 0.1 0.2 0.3\ncat 0.4 0.5 0.6\n"
    messy = b"2 3\nthe  0.1 0.2 0.3\ncat\t0.4  0.5\t0.6 \n"
    clean_path = write(tmp_path, clean, "clean.txt")
    expected = KeyedVectors.load_word2vec_format(clean_path)
    kv, _ = read(write(tmp_path, messy, "messy.txt"))
    assert_same_vectors(kv, expected)


@pytest.mark.parametrize("oov", ["mean", "random"])
def test_kept_nonfinite_rows_stay_out_of_the_oov_statistics(tmp_path, oov):
    path = write(tmp_path, b"a 1 2\nb nan 4\nc 3 inf\nd 3 6\n")
    kv = read(path, allow_nonfinite=True)[0]
    # The statistics are over the vectors the vocabulary found: all four
    # rows here, of which "b" and "c" are not finite.
    matrix, _ = align_vectors(kv, ["a", "b", "c", "d", "zzz"], oov=oov, seed=1)
    assert np.isfinite(matrix[-1]).all()
    if oov == "mean":
        np.testing.assert_array_equal(matrix[-1], [2, 4])


def test_a_first_line_longer_than_the_detection_head(tmp_path):
    # The 64 KiB read for detection ends just after a "-" of this line.
    data = b"wxyz " + b" ".join([b"-1.5"] * 20_000) + b"\n"
    assert data[65535:65536] == b"-" and data[65534:65535] == b" "
    kv, report = read(write(tmp_path, data))
    assert report.format == "glove" and kv.vector_size == 20_000
