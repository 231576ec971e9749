"""The text reader: gensim-equal values, every quirk, every bad file."""

import warnings

import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_embedplus.vectors import VectorFileError
from keras_embedplus.vectors import VectorFileWarning
from keras_embedplus.vectors import read_vectors
from tests.vector_files import assert_same_vectors
from tests.vector_files import format_rows
from tests.vector_files import gensim_glove
from tests.vector_files import random_vectors
from tests.vector_files import write_text


def read(path, **kwargs):
    return read_vectors(path, progress=False, **kwargs)


@pytest.mark.parametrize("fmt", ["%.5g", "%.9g", "%.6f", "%e", "%.17g", "%r"])
def test_glove_equals_gensim(tmp_path, fmt):
    words, vectors = random_vectors(300, 20)
    if fmt == "%r":
        lines = [
            f"{w} " + " ".join(str(v) for v in row)
            for w, row in zip(words, vectors, strict=True)
        ]
    else:
        lines = format_rows(words, vectors.astype(np.float64), fmt)
    path = write_text(tmp_path / "glove.txt", lines)
    kv, report = read(path)
    expected = gensim_glove(path)
    assert_same_vectors(kv, expected)
    assert (report.format, report.rows, report.kept, report.dim) == (
        "glove",
        300,
        300,
        20,
    )


def test_word2vec_text_equals_gensim(tmp_path):
    words, vectors = random_vectors(50, 7)
    expected = KeyedVectors(7)
    expected.add_vectors(words, vectors)
    path = str(tmp_path / "vectors.txt")
    expected.save_word2vec_format(path)
    kv, report = read(path)
    assert report.format == "word2vec"
    assert report.header_count == 50 and not report.header_mismatch
    assert_same_vectors(
        kv, KeyedVectors.load_word2vec_format(path, binary=False)
    )


def test_file_of_many_blocks_equals_gensim(tmp_path):
    # About 3 MiB: several 1 MiB blocks, lines cut at block ends.
    words, vectors = random_vectors(6000, 50, seed=1)
    path = write_text(tmp_path / "big.txt", format_rows(words, vectors))
    kv, _ = read(path)
    assert_same_vectors(kv, gensim_glove(path))


def test_lines_longer_than_a_block(tmp_path):
    words, vectors = random_vectors(3, 120_000, seed=2)
    path = write_text(tmp_path / "long.txt", format_rows(words, vectors))
    kv, _ = read(path)
    assert_same_vectors(kv, gensim_glove(path))


def test_tokens_with_spaces(tmp_path):
    path = write_text(
        tmp_path / "glove.840B.txt",
        [
            "the 0.1 0.2 0.3",
            ". . . 1 2 3",
            "at name@domain.com 4 5 6",
            "a  b -1 -2 -3",  # Two spaces inside the word stay.
            "end 7 8 9",
        ],
    )
    kv, report = read(path)
    assert kv.index_to_key == [
        "the",
        ". . .",
        "at name@domain.com",
        "a  b",
        "end",
    ]
    np.testing.assert_array_equal(kv["at name@domain.com"], [4, 5, 6])
    np.testing.assert_array_equal(kv["a  b"], [-1, -2, -3])
    assert report.tokens_with_spaces == 3
    assert report.tokens_with_spaces_examples == [
        ". . .",
        "at name@domain.com",
        "a  b",
    ]


def test_duplicates_keep_the_first_without_a_phantom_key(tmp_path):
    path = write_text(
        tmp_path / "dups.txt",
        ["cat 1 1", "dog 2 2", "cat 3 3", "bird 4 4", "dog 5 5", "cat 6 6"],
    )
    kv, report = read(path)
    assert kv.index_to_key == ["cat", "dog", "bird"]
    assert None not in kv.key_to_index
    assert kv.vectors.shape == (3, 2)
    np.testing.assert_array_equal(kv["cat"], [1, 1])
    np.testing.assert_array_equal(kv["dog"], [2, 2])
    assert (report.rows, report.kept, report.duplicates) == (6, 3, 3)
    assert report.duplicate_examples == ["cat", "dog", "cat"]
    assert "3 duplicate words, first kept" in str(report)


def test_crlf_bom_trailing_spaces_and_blank_lines(tmp_path):
    path = tmp_path / "messy.txt"
    path.write_bytes(
        b"\xef\xbb\xbfthe 0.5 -1.5 \r\n"
        b"cat 1 2\t\r\n"
        b"\r\n"
        b"dog 3 4  \n"
        b"   \n"
        b"end 5 6"  # No newline at the end.
    )
    kv, report = read(path)
    assert kv.index_to_key == ["the", "cat", "dog", "end"]
    np.testing.assert_array_equal(
        kv.vectors, [[0.5, -1.5], [1, 2], [3, 4], [5, 6]]
    )
    assert report.lines_skipped == 2


def test_crlf_file_equals_gensim(tmp_path):
    words, vectors = random_vectors(200, 10, seed=3)
    lines = format_rows(words, vectors)
    path = write_text(tmp_path / "crlf.txt", lines, newline="\r\n")
    kv, _ = read(path)
    assert_same_vectors(kv, gensim_glove(path))


def test_fasttext_vec_with_trailing_spaces(tmp_path):
    words, vectors = random_vectors(100, 5, seed=4)
    lines = [line + " " for line in format_rows(words, vectors, "%.4f")]
    path = write_text(tmp_path / "wiki.vec", lines, header=(100, 5))
    kv, report = read(path)
    assert report.format == "fasttext-vec"
    assert_same_vectors(
        kv, KeyedVectors.load_word2vec_format(path, binary=False)
    )


def test_header_that_declares_fewer_rows(tmp_path):
    path = write_text(
        tmp_path / "lies.txt",
        ["a 1 2", "b 3 4", "c 5 6", "d 7 8"],
        header=(2, 2),
    )
    with pytest.raises(
        VectorFileError,
        match=r"line 4: the header on line 1 declares 2 rows and this is "
        r"row 3\. Fix the count in the header, or pass limit=2",
    ):
        read(path)
    kv, _ = read(path, limit=2)
    assert kv.index_to_key == ["a", "b"]


def test_header_that_declares_more_rows(tmp_path):
    path = write_text(
        tmp_path / "cut.txt",
        ["a 1 2", "b 3 4", "c 5 6", "d 7 8"],
        header=(10, 2),
    )
    with pytest.raises(
        VectorFileError,
        match=r"line 1: the header on line 1 declares 10 rows but the file "
        r"holds 4.*on_truncation='warn'",
    ):
        read(path)
    with pytest.warns(VectorFileWarning, match="loaded the 4 rows it holds"):
        kv, report = read(path, on_truncation="warn")
    assert kv.index_to_key == ["a", "b", "c", "d"]
    assert report.header_count == 10 and report.header_mismatch
    assert "header declares 10 rows (does not match)" in str(report)
    assert "truncated: line 1: the header on line 1" in str(report)


@pytest.mark.parametrize("dim", [1, 2])
def test_auto_reads_a_cut_header_file_once(tmp_path, monkeypatch, dim):
    # With on_truncation="warn", the warning waits until GloVe is ruled
    # out ("10 1" above rows of one value may be a GloVe row), and the
    # file is read once as a header file, not once strictly then again.
    from keras_embedplus.vectors import read as read_module

    rows = [f"{word} {' '.join(['1.5'] * dim)}" for word in "abc"]
    path = write_text(tmp_path / "cut.txt", rows, header=(10, dim))
    calls = []
    read_text = read_module.read_text

    def counted(*args, **kwargs):
        calls.append(kwargs["header"])
        return read_text(*args, **kwargs)

    monkeypatch.setattr(read_module, "read_text", counted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kv, report = read(path, on_truncation="warn")
    if dim == 1:  # Consistent as GloVe: no warning, the header is a row.
        assert calls == [True, False] and caught == []
        assert kv.index_to_key == ["10", "a", "b", "c"]
        assert report.format == "glove"
        return
    assert calls == [True]
    assert kv.index_to_key == ["a", "b", "c"] and report.format == "word2vec"
    assert len(caught) == 1 and caught[0].category is VectorFileWarning
    with warnings.catch_warnings(record=True) as forced:
        warnings.simplefilter("always")
        forced_kv, _ = read(path, format="word2vec", on_truncation="warn")
    assert [str(w.message) for w in forced] == [str(caught[0].message)]
    np.testing.assert_array_equal(kv.vectors, forced_kv.vectors)


def test_control_bytes_and_unicode_words(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_bytes(
        "tab\there 1 2\nnbsp\u00a0word 3 4\nnew\u2028line 5 6\n"
        "z\x1c 7 8\n".encode()
    )
    kv, _ = read(path)
    assert kv.index_to_key == [
        "tab\there",
        "nbsp\u00a0word",
        "new\u2028line",
        "z\x1c",
    ]
    np.testing.assert_array_equal(kv["z\x1c"], [7, 8])


def test_empty_word(tmp_path):
    path = write_text(tmp_path / "empty_word.txt", ["a 1 2", " 3 4"])
    kv, _ = read(path)
    assert kv.index_to_key == ["a", ""]
    np.testing.assert_array_equal(kv[""], [3, 4])


def test_special_numbers(tmp_path):
    path = write_text(
        tmp_path / "special.txt",
        ["a nan -inf", "b 1e39 -0", "c 1_000 .5", "d 5. +2"],
    )
    kv, report = read(path, allow_nonfinite=True)
    assert np.isnan(kv["a"][0]) and kv["a"][1] == -np.inf
    assert kv["b"][0] == np.inf and np.signbit(kv["b"][1])
    np.testing.assert_array_equal(kv["c"], [1000, 0.5])
    np.testing.assert_array_equal(kv["d"], [5, 2])
    assert report.nonfinite == 2
    assert "2 rows with nan or inf values kept" in str(report)


@pytest.mark.parametrize(
    "row, problem",
    [
        ("b nan 1", "value 1 is nan"),
        ("b 1 -inf", "value 2 is -inf"),
        ("b 1e39 1", "value 1 is 1e+39, beyond the float32 range"),
    ],
)
def test_nonfinite_values_are_refused_by_default(tmp_path, row, problem):
    path = write_text(tmp_path / "nan.txt", ["a 1 2", row, "c 3 4"])
    with pytest.raises(VectorFileError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}, line 2: {problem}")
    assert "allow_nonfinite=True" in str(info.value)
    kv, _ = read(path, vocabulary=["a", "c"])  # Only kept rows count.
    assert kv.index_to_key == ["a", "c"]


def test_latin1_words(tmp_path):
    path = write_text(
        tmp_path / "latin1.txt", ["café 1 2", "naïve 3 4"], encoding="latin-1"
    )
    kv, _ = read(path, encoding="latin-1")
    assert kv.index_to_key == ["café", "naïve"]


def test_vocabulary_keeps_only_those_words_in_file_order(tmp_path):
    words, vectors = random_vectors(5000, 8, seed=5)
    lines = format_rows(words, vectors)
    lines[10] = "at name@domain.com " + lines[10].split(" ", 1)[1]
    path = write_text(tmp_path / "glove.txt", lines)
    wanted = ["w4999", "w3", "missing", "at name@domain.com", "w3", "at"]
    kv, report = read(path, vocabulary=wanted)
    full, _ = read(path)  # gensim cannot read the word with a space.
    assert kv.index_to_key == ["w3", "at name@domain.com", "w4999"]
    for word in kv.index_to_key:
        np.testing.assert_array_equal(kv[word], full[word])
    assert (report.rows, report.kept) == (5000, 3)


def test_vocabulary_skips_bad_numbers_of_unwanted_rows(tmp_path):
    path = write_text(tmp_path / "glove.txt", ["a 1 2", "b x y", "c 3 4"])
    kv, _ = read(path, vocabulary=["a", "c"])
    assert kv.index_to_key == ["a", "c"]
    with pytest.raises(VectorFileError, match="line 2"):
        read(path)


def test_limit_reads_the_first_rows(tmp_path):
    path = write_text(
        tmp_path / "glove.txt",
        ["a 1 2", "", "b 3 4", "c 5 6", "ragged 7"],
    )
    kv, report = read(path, limit=2)
    assert kv.index_to_key == ["a", "b"]
    assert report.rows == 2
    kv, _ = read(path, limit=3, vocabulary=["c", "a"])
    assert kv.index_to_key == ["a", "c"]


def test_limit_across_blocks_equals_gensim(tmp_path):
    words, vectors = random_vectors(6000, 50, seed=6)
    path = write_text(tmp_path / "big.txt", format_rows(words, vectors))
    kv, _ = read(path, limit=4321)
    expected = gensim_glove(path)
    assert kv.index_to_key == expected.index_to_key[:4321]
    np.testing.assert_array_equal(kv.vectors, expected.vectors[:4321])


BAD_FILES = [
    # (lines, line number, message part)
    (["a 1 2 3", "b 4 5", "c 6 7 8"], 2, "has 2 values; expected 3"),
    (["a 1 2 3", "b 4 5 6 7", "c 6 7 8"], 2, "has 4 values; expected 3"),
    (["a 1 2", "b 3 x", "c 4 5"], 2, "value 2 ('x') is not a number"),
    (["a 1 2", "b 3 4", "c 5 1.2.3"], 3, "value 2 ('1.2.3') is not a number"),
    (["a 1 2", "b 3 4 5"], 2, "has 3 values; expected 2"),
    (["a 1 2", "b 3 1e-05."], 2, "value 2 ('1e-05.') is not a number"),
    (["a 1 2", "b"], 2, "has 0 values; expected 2"),
    (["a 1 2", "b 3 -"], 2, "value 2 ('-') is not a number"),
]


@pytest.mark.parametrize("lines, line, problem", BAD_FILES)
def test_bad_files_name_file_and_line(tmp_path, lines, line, problem):
    path = write_text(tmp_path / "bad.txt", lines)
    with pytest.raises(VectorFileError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert problem in str(info.value)
    assert info.value.line == line and info.value.path == path


def test_bad_number_deep_in_a_big_file(tmp_path):
    words, vectors = random_vectors(6000, 50, seed=7)
    lines = format_rows(words, vectors)
    parts = lines[5432].split(" ")
    parts[3] = "0.1e"
    lines[5432] = " ".join(parts)
    path = write_text(tmp_path / "big.txt", lines)
    with pytest.raises(
        VectorFileError, match=r", line 5433: value 3 \('0.1e'\) is not a"
    ):
        read(path)


def test_ragged_row_deep_in_a_big_file(tmp_path):
    words, vectors = random_vectors(6000, 50, seed=8)
    lines = format_rows(words, vectors)
    lines[4000] = lines[4000].rsplit(" ", 1)[0]
    path = write_text(tmp_path / "big.txt", lines, header=(6000, 50))
    with pytest.raises(
        VectorFileError,
        match=r", line 4002: has 49 values; expected 50 \(declared by the "
        r"header on line 1\)",
    ):
        read(path)


def test_wrong_declared_dimension(tmp_path):
    path = write_text(tmp_path / "w2v.txt", ["a 1 2", "b 3 4"], header=(2, 3))
    with pytest.raises(VectorFileError, match=", line 2: has 2 values"):
        read(path, format="word2vec")


def test_undecodable_word_suggests_the_encoding(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"a 1 2\ncaf\xe9 3 4\n")
    with pytest.raises(
        VectorFileError, match=r"line 2: .*not valid utf-8.*encoding="
    ):
        read(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(VectorFileError, match="empty.txt, line 1: .*empty"):
        read(path)
    with pytest.raises(VectorFileError, match="line 1: the file is empty"):
        read(path, format="glove")


def test_glove_format_on_a_file_with_a_header(tmp_path):
    path = write_text(tmp_path / "w2v.txt", ["a 1 2 3"], header=(1, 3))
    with pytest.raises(VectorFileError, match="line 1: .*format='word2vec'"):
        read(path, format="glove")


def test_word2vec_format_on_a_file_without_header(tmp_path):
    path = write_text(tmp_path / "glove.txt", ["a 1 2 3"])
    with pytest.raises(VectorFileError, match="line 1: .*format='glove'"):
        read(path, format="word2vec")


WORD = st.text(
    st.characters(
        blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"),
    ),
    min_size=1,
    max_size=8,
)
FLOATS = st.floats(width=32, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(WORD, st.lists(FLOATS, min_size=3, max_size=3)),
        min_size=1,
        max_size=20,
        unique_by=lambda row: row[0],
    ),
    style=st.sampled_from(["%r", "%.5g", "%.9g", "%e"]),
    header=st.booleans(),
)
def test_written_vectors_read_back_equal(tmp_path_factory, rows, style, header):
    words = [word for word, _ in rows]
    values = np.array([row for _, row in rows], dtype=np.float32)
    if style == "%r":
        texts = [[repr(float(v)) for v in row] for row in values]
    else:
        texts = [[style % v for v in row] for row in values.astype(float)]
    lines = [f"{w} {' '.join(t)}" for w, t in zip(words, texts, strict=True)]
    path = write_text(
        tmp_path_factory.mktemp("prop") / "v.txt",
        lines,
        header=(len(words), 3) if header else None,
    )
    kv, _ = read(
        path, format="word2vec" if header else "glove", allow_nonfinite=True
    )
    assert kv.index_to_key == words
    expected = np.array(
        [[np.float32(t) for t in row] for row in texts], dtype=np.float32
    )
    np.testing.assert_array_equal(
        kv.vectors.view(np.uint32), expected.view(np.uint32)
    )


def test_more_rows_than_the_first_block_suggests(tmp_path):
    # Long first lines make the row estimate short: the matrix must grow.
    lines = [f"{'x' * 3000}{i} {i} {-i}" for i in range(100)]
    lines += [f"w{i} {i}.5 -{i}" for i in range(6000)]
    path = write_text(tmp_path / "growing.txt", lines)
    kv, report = read(path)
    assert len(kv) == report.rows == 6100
    np.testing.assert_array_equal(kv["w5999"], [5999.5, -5999])
    np.testing.assert_array_equal(kv[f"{'x' * 3000}99"], [99, -99])
