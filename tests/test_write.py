"""Tests of `write_vectors` and `write_projector`."""

import bz2
import gzip
import os
import warnings

import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_embedplus.vectors import float_formatting
from keras_embedplus.vectors import load_vectors
from keras_embedplus.vectors import write as write_lib
from keras_embedplus.vectors import write_projector
from keras_embedplus.vectors import write_vectors
from tests.vector_files import assert_same_vectors

# Values whose shortest forms are long, tiny, huge or special.
AWKWARD = [
    0.1,
    -1.0,
    1 / 3,
    -0.0,
    3.4028235e38,
    -1.1754944e-38,
    1e-45,
    123456789.0,
    1e-5,
    2.5e-7,
]


def make_vectors(words, values):
    vectors = KeyedVectors(values.shape[1])
    vectors.add_vectors(list(words), values)
    return vectors


def sample_vectors(count=50, dim=10, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 3, (count, dim)).astype(np.float32)
    values.flat[: len(AWKWARD)] = AWKWARD
    words = [f"w{i}" for i in range(count)]
    words[1:4] = ["héllo", "日本語", "a\u00a0b"]  # non-ASCII, a no-break space
    return make_vectors(words, values)


def read_back(path, format):
    with warnings.catch_warnings():
        # gensim 4.4's no_header reader reopens the file inside its `with`
        # block and never closes the second handle.
        warnings.simplefilter("ignore", ResourceWarning)
        return KeyedVectors.load_word2vec_format(
            path,
            binary=format == "word2vec-binary",
            no_header=format == "glove",
        )


@pytest.mark.parametrize("format", write_lib.FORMATS)
@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_gensim_reads_back_the_exact_vectors(tmp_path, format, suffix):
    vectors = sample_vectors()
    path = tmp_path / f"vectors.txt{suffix}"
    write_vectors(vectors, path, format)
    assert_same_vectors(read_back(path, format), vectors)
    opener = {".gz": gzip.open, ".bz2": bz2.open, "": open}[suffix]
    with opener(path, "rb") as file:
        first_line = file.readline()
    if format == "glove":
        assert first_line.startswith(b"w0 0.1 -1.0 0.33333334 -0.0 ")
    else:
        assert first_line == b"50 10\n"


def test_text_lines(tmp_path):
    vectors = make_vectors(["a", "b"], np.array([[0.5, -2], [1e-7, 3e9]]))
    write_vectors(vectors, tmp_path / "w2v.txt")
    write_vectors(vectors, tmp_path / "glove.txt", "glove")
    assert (tmp_path / "w2v.txt").read_bytes() == (
        b"2 2\na 0.5 -2.0\nb 1e-07 3e+09\n"
    )
    assert (tmp_path / "glove.txt").read_bytes() == (
        b"a 0.5 -2.0\nb 1e-07 3e+09\n"
    )


def test_binary_layout(tmp_path):
    values = np.array([[1.5, -2.0], [0.25, 8.0]], dtype=np.float32)
    write_vectors(
        make_vectors(["a", "bc"], values), tmp_path / "v.bin", "word2vec-binary"
    )
    expected = b"2 2\na " + values[0].astype("<f4").tobytes() + b"\n"
    expected += b"bc " + values[1].astype("<f4").tobytes() + b"\n"
    assert (tmp_path / "v.bin").read_bytes() == expected


def test_float64_vectors_keep_their_precision_in_text(tmp_path):
    vectors = KeyedVectors(2, dtype=np.float64)
    vectors.add_vectors(["a"], np.array([[0.1, 1 / 3]]))
    write_vectors(vectors, tmp_path / "v.txt")
    assert (tmp_path / "v.txt").read_text() == (
        "1 2\na 0.1 0.3333333333333333\n"
    )


def test_many_rows_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(write_lib, "_CHUNK_ROWS", 7)
    monkeypatch.setattr(write_lib, "_CHUNK_VALUES", 20)
    vectors = sample_vectors(count=30, dim=3)
    for format in write_lib.FORMATS:
        write_vectors(vectors, tmp_path / format, format)
        assert_same_vectors(read_back(tmp_path / format, format), vectors)


@pytest.mark.parametrize("token", [". . .", "at 5", "at name@domain.com"])
def test_glove_refuses_tokens_with_spaces(tmp_path, token):
    # gensim's reader splits at every space, and ours reads "at 5" as the
    # word "at" and a value: no format but the cache can hold these.
    vectors = make_vectors(["the", token], np.ones((2, 2), np.float32))
    path = tmp_path / "g.txt"
    with pytest.raises(ValueError, match="contains a space.*the cache"):
        write_vectors(vectors, path, "glove")
    assert not path.exists()


@pytest.mark.parametrize(
    "token, format, message",
    [
        (
            "a b",
            "word2vec",
            r"'a b' \(row 1\).*contains a space.*"
            r"save_cache",
        ),
        ("a b", "word2vec-binary", "contains a space"),
        ("a b", "glove", "contains a space"),
        ("a\tb", "glove", r"contains '\\t'"),
        ("a\nb", "word2vec", r"contains '\\n'"),
        ("a\rb", "glove", r"contains '\\r'"),
        ("a\x00b", "glove", r"contains '\\x00'"),
        ("a\u2028b", "glove", r"contains '\\u2028'"),
        (" ab", "glove", "contains a space"),
        ("ab ", "glove", "contains a space"),
        ("\ufeffab", "word2vec", "byte-order mark"),
        ("", "word2vec", "is empty"),
    ],
)
def test_unwritable_tokens(tmp_path, token, format, message):
    vectors = make_vectors(["ok", token], np.ones((2, 2), np.float32))
    path = tmp_path / "v.txt"
    with pytest.raises(ValueError, match=message):
        write_vectors(vectors, path, format)
    assert not path.exists()  # checked before anything is written


def test_non_string_keys(tmp_path):
    vectors = KeyedVectors(2, count=1)  # gensim's phantom None key
    with pytest.raises(ValueError, match="row 0 has the key None.*count=n"):
        write_vectors(vectors, tmp_path / "v.txt")
    vectors = make_vectors([7], np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="row 0 has the key 7 of type int"):
        write_vectors(vectors, tmp_path / "v.txt")


def test_encoding(tmp_path):
    vectors = make_vectors(["café"], np.ones((1, 2), np.float32))
    write_vectors(vectors, tmp_path / "v.txt", encoding="latin-1")
    assert (tmp_path / "v.txt").read_bytes() == b"1 2\ncaf\xe9 1.0 1.0\n"
    read = KeyedVectors.load_word2vec_format(
        tmp_path / "v.txt", encoding="latin-1"
    )
    assert read.index_to_key == ["café"]
    vectors = make_vectors(["日本"], np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="encode the token '日本' in latin-1"):
        write_vectors(vectors, tmp_path / "w.txt", encoding="latin-1")


def test_bad_arguments(tmp_path):
    vectors = sample_vectors()
    with pytest.raises(ValueError, match="`format` must be one of.*'fasttext'"):
        write_vectors(vectors, tmp_path / "v", "fasttext")
    with pytest.raises(TypeError, match="KeyedVectors.*ndarray"):
        write_vectors(np.zeros((2, 2)), tmp_path / "v")
    with pytest.raises(ValueError, match="holds no vectors"):
        write_vectors(KeyedVectors(3), tmp_path / "v")


TOKEN = st.text(
    # No space (gensim cannot read GloVe tokens with spaces), no line
    # breaks or control characters; other spaces, such as U+00A0, are fine.
    st.characters(
        blacklist_categories=["Cs", "Cc", "Zl", "Zp"],
        blacklist_characters=" ",
    ),
    min_size=1,
    max_size=12,
).filter(lambda token: not token.startswith("\ufeff"))


@settings(max_examples=60, deadline=None)
@given(
    st.data(),
    st.sampled_from(write_lib.FORMATS),
    st.integers(1, 6),
)
def test_write_then_gensim_read_is_the_identity(
    tmp_path_factory, data, format, dim
):
    words = data.draw(st.lists(TOKEN, min_size=1, max_size=8, unique=True))
    values = data.draw(
        hnp.arrays(
            np.float32,
            (len(words), dim),
            elements=st.floats(width=32, allow_nan=False),
        )
    )
    vectors = make_vectors(words, values)
    path = tmp_path_factory.mktemp("roundtrip") / "vectors"
    write_vectors(vectors, path, format)
    assert_same_vectors(read_back(path, format), vectors)


def test_projector_files(tmp_path):
    values = np.array([[0.5, -1.0, 2.0], [1e-7, 3.0, 4.0]], np.float32)
    vectors = make_vectors(["cat", "a\tb"], values)
    vectors_path, metadata_path = write_projector(vectors, tmp_path / "p")
    assert vectors_path == str(tmp_path / "p" / "vectors.tsv")
    lines = (tmp_path / "p" / "vectors.tsv").read_text().splitlines()
    assert lines == ["0.5\t-1.0\t2.0", "1e-07\t3.0\t4.0"]
    assert (tmp_path / "p" / "metadata.tsv").read_text() == "cat\na\\tb\n"
    config = (tmp_path / "p" / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors.tsv"' in config
    assert 'metadata_path: "metadata.tsv"' in config


def test_projector_labels_never_blank():
    labels = ["", " ", "a\nb", "c\r", "ok"]
    assert [write_lib._label(label) for label in labels] == [
        "''",
        "' '",
        "a\\nb",
        "c\\r",
        "ok",
    ]


def test_projector_metadata_columns(tmp_path):
    values = np.eye(3, dtype=np.float32)
    _, metadata_path = write_projector(
        values,
        tmp_path,
        metadata={"word": ["", "cat", "dog"], "count": [0, 5, 2]},
    )
    assert (tmp_path / "metadata.tsv").read_text() == (
        "word\tcount\n''\t0\ncat\t5\ndog\t2\n"
    )


def test_projector_without_labels(tmp_path):
    vectors_path, metadata_path = write_projector(
        np.arange(6).reshape(3, 2), tmp_path
    )
    assert metadata_path is None
    assert (tmp_path / "vectors.tsv").read_text() == (
        "0.0\t1.0\n2.0\t3.0\n4.0\t5.0\n"
    )
    assert "metadata" not in (tmp_path / "projector_config.pbtxt").read_text()


@pytest.mark.parametrize(
    "vectors, metadata, message",
    [
        (np.zeros((2, 1)), None, "at least 2 dimensions.*dim=1"),
        (np.zeros(3), None, "2-D numeric array.*shape \\(3,\\)"),
        (np.zeros((2, 2)), ["a"], "'label' has 1 values for 2 vectors"),
        (np.zeros((2, 2)), {"w": ["a", "b"], "n": [1]}, "'n' has 1 values"),
    ],
)
def test_projector_errors(tmp_path, vectors, metadata, message):
    with pytest.raises(ValueError, match=message):
        write_projector(vectors, tmp_path, metadata=metadata)


def formatted(values):
    values = np.asarray(values, dtype=np.float32)
    text = float_formatting.format_float32(values)
    return text.view(f"S{float_formatting.WIDTH}").reshape(values.shape)


def assert_reads_back(values):
    """Text -> float64 -> float32 (Python's float) and straight to float32."""
    values = np.asarray(values, dtype=np.float32)
    text = formatted(values)
    for parsed in (
        text.astype(np.float64).astype(np.float32),
        text.astype(np.float32),
        np.array([np.float32(float(t)) for t in text.tolist()]),
    ):
        same = parsed.view(np.uint32) == values.view(np.uint32)
        assert np.all(same | np.isnan(values)), values[~same]


@pytest.mark.parametrize(
    "value, text",
    [
        (0.1, b"0.1"),
        (3.0, b"3.0"),
        (-0.0, b"-0.0"),
        (0.0, b"0.0"),
        (-0.00012, b"-0.00012"),
        (1234.5, b"1234.5"),
        (1 / 3, b"0.33333334"),
        (123456789.0, b"123456790.0"),
        (999999940.0, b"999999940.0"),
        (1e-5, b"1e-05"),  # outside [1e-4, 1e9): numpy's form
        (1e9, b"1e+09"),
        (-3.4028235e38, b"-3.4028235e+38"),
        (np.nan, b"nan"),
        (-np.inf, b"-inf"),
    ],
)
def test_float_formatting(value, text):
    assert formatted([value])[0] == text
    assert_reads_back([value])


def test_float_formatting_random_bit_patterns():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=300_000, dtype=np.uint64)
    assert_reads_back(bits.astype(np.uint32).view(np.float32))


def test_float_formatting_around_every_power_of_ten():
    powers = np.float32(10.0) ** np.arange(-45, 39, dtype=np.float32)
    below, above = [powers], [powers]
    for _ in range(3):
        below.append(np.nextafter(below[-1], np.float32(0)))
        above.append(np.nextafter(above[-1], np.float32(np.inf)))
    values = np.concatenate(below + above)
    assert_reads_back(np.concatenate([values, -values]))


def test_float_formatting_falls_back_to_numpy_if_a_check_fails(monkeypatch):
    def never_exact(*args):
        exact, mantissa = original(*args)
        return np.zeros_like(exact), mantissa

    original = float_formatting._round
    monkeypatch.setattr(float_formatting, "_round", never_exact)
    values = np.float32([0.1, -2.5, 123456789.0, 7.0])
    assert formatted(values)[2] == b"1.2345679e+08"  # not 123456790.0
    assert list(formatted(values)) == list(values.astype("S16"))


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 50), elements=st.floats(width=32)))
def test_float_formatting_reads_back(values):
    assert_reads_back(values)


# Any text at all, and words that look like numbers, headers or specials.
ANY_TOKEN = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=8),
    st.sampled_from(
        ["1", "2", "3 3", "0", "-1", "nan", "inf", "-inf", "1e5", "at 5"]
    ),
    st.sampled_from([". . .", "a\u00a0b", "\ufeffx", "x\x85y", "\u3000"]),
)


@settings(
    max_examples=int(os.environ.get("READER_FUZZ_EXAMPLES", "150")),
    deadline=None,
)
@given(st.data(), st.sampled_from(write_lib.FORMATS), st.integers(1, 4))
def test_written_reads_back_with_ours_and_gensim_or_is_refused(
    tmp_path_factory, data, format, dim
):
    words = data.draw(st.lists(ANY_TOKEN, min_size=1, max_size=6, unique=True))
    values = data.draw(
        hnp.arrays(
            np.float32,
            (len(words), dim),
            elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
        )
    )
    vectors = make_vectors(words, values)
    folder = tmp_path_factory.mktemp("any")
    path = folder / "vectors"
    try:
        write_vectors(vectors, path, format)
    except ValueError as error:
        assert "Cannot write the token" in str(error)
        assert not path.exists()
        return
    assert_same_vectors(read_back(path, format), vectors)
    for how in ("auto", format):
        assert_same_vectors(load_vectors(path, format=how), vectors)
    compressed = folder / "vectors.gz"
    write_vectors(vectors, compressed, format)
    assert_same_vectors(load_vectors(compressed), vectors)
