"""load_vectors: every format, detection, compression, the pickle gate."""

import bz2
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from gensim.models import FastText
from gensim.models import KeyedVectors
from gensim.models import Word2Vec
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.fasttext import save_facebook_model

import keras_embedplus
from keras_embedplus.vectors import AnyCase
from keras_embedplus.vectors import VectorFileError
from keras_embedplus.vectors import VectorFileWarning
from keras_embedplus.vectors import detect_format
from keras_embedplus.vectors import read_vectors
from keras_embedplus.vectors import save_cache
from tests.vector_files import assert_same_vectors
from tests.vector_files import format_rows
from tests.vector_files import random_vectors
from tests.vector_files import write_binary
from tests.vector_files import write_text

SENTENCES = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "ate", "the", "cat", "food"],
] * 5


@pytest.fixture
def glove(tmp_path):
    words, vectors = random_vectors(40, 6)
    return write_text(tmp_path / "glove.6B.6d.txt", format_rows(words, vectors))


@pytest.fixture
def reference(glove):
    kv, _ = read_vectors(glove)
    return kv


def test_load_vectors_is_exported():
    assert "load_vectors" in keras_embedplus.__all__
    assert keras_embedplus.load_vectors is not None


def test_load_vectors_returns_keyed_vectors(glove, reference):
    kv = keras_embedplus.load_vectors(glove)
    assert type(kv) is KeyedVectors
    assert_same_vectors(kv, reference)
    assert kv.most_similar("w1", topn=1)[0][0] != "w1"


def test_word2vec_binary_equals_gensim(tmp_path):
    words, vectors = random_vectors(300, 9)
    kv = KeyedVectors(9)
    kv.add_vectors(words, vectors)
    path = str(tmp_path / "GoogleNews.bin")
    kv.save_word2vec_format(path, binary=True)
    loaded, report = read_vectors(path)
    assert report.format == "word2vec-binary"
    assert (report.rows, report.kept, report.header_count) == (300, 300, 300)
    assert_same_vectors(
        loaded, KeyedVectors.load_word2vec_format(path, binary=True)
    )


def test_word2vec_binary_with_newlines_and_duplicates(tmp_path):
    # The C tool writes a newline after each vector; gensim drops it.
    words, vectors = random_vectors(50, 3)
    path = write_binary(tmp_path / "c.bin", words, vectors, newline_after=True)
    assert_same_vectors(
        keras_embedplus.load_vectors(path),
        KeyedVectors.load_word2vec_format(path, binary=True),
    )
    words = ["the", "cat", "the", "ça", "dog"]
    vectors = np.arange(15, dtype=np.float32).reshape(5, 3)
    path = write_binary(tmp_path / "d.bin", words, vectors, newline_after=True)
    kv, report = read_vectors(path)
    assert kv.index_to_key == ["the", "cat", "ça", "dog"]
    np.testing.assert_array_equal(kv.vectors, vectors[[0, 1, 3, 4]])
    assert (report.rows, report.duplicates) == (5, 1)


def test_word2vec_binary_vocabulary_and_limit(tmp_path):
    words, vectors = random_vectors(3000, 4)
    path = write_binary(tmp_path / "v.bin", words, vectors, newline_after=True)
    kv, report = read_vectors(path, vocabulary=["w2999", "w7", "nope"])
    assert kv.index_to_key == ["w7", "w2999"]
    np.testing.assert_array_equal(kv["w2999"], vectors[2999])
    kv, report = read_vectors(path, limit=10)
    assert kv.index_to_key == words[:10]
    np.testing.assert_array_equal(kv.vectors, vectors[:10])
    assert report.rows == 10


def test_truncated_binary_names_the_record(tmp_path):
    words, vectors = random_vectors(10, 4)
    path = write_binary(tmp_path / "v.bin", words, vectors)
    data = Path(path).read_bytes()
    with open(path, "wb") as f:
        f.write(data[:-5])
    with pytest.raises(VectorFileError) as info:
        read_vectors(path)
    assert f"{path}, record 10 (byte " in str(info.value)
    assert "truncated" in str(info.value)


def test_binary_undecodable_word_names_the_record(tmp_path):
    vectors = np.ones((3, 2), dtype=np.float32)
    path = write_binary(tmp_path / "v.bin", ["a", "b", "c"], vectors)
    data = Path(path).read_bytes().replace(b"b ", b"\xff ", 1)
    Path(path).write_bytes(data)
    with pytest.raises(VectorFileError) as info:
        read_vectors(path)
    assert f"{path}, record 2 (byte 14): " in str(info.value)
    assert "encoding=" in str(info.value)
    kv, _ = read_vectors(path, encoding="latin-1")
    assert kv.index_to_key == ["a", "\xff", "c"]


def test_binary_header_that_lies(tmp_path):
    words, vectors = random_vectors(10, 4)
    path = write_binary(tmp_path / "v.bin", words, vectors)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data.replace(b"10 4\n", b"12 4\n", 1))
    with pytest.raises(
        VectorFileError,
        match=r"record 11 \(byte \d+\): the "
        r"header declares 12 records but the file ends after "
        r"10.*on_truncation='warn'",
    ):
        read_vectors(path)
    with pytest.warns(VectorFileWarning, match="loaded the 10 records"):
        kv, report = read_vectors(path, on_truncation="warn")
    assert len(kv) == 10 and report.header_mismatch
    assert report.truncated.startswith("record 11 (byte ")
    Path(path).write_bytes(data.replace(b"10 4\n", b"8 4\n", 1))
    with pytest.raises(
        VectorFileError, match=r"record 9 .*goes on after them.*limit=8"
    ):
        read_vectors(path)
    kv, _ = read_vectors(path, limit=8)
    assert kv.index_to_key == words[:8]


def test_fasttext_bin_keeps_subword_vectors(tmp_path):
    model = FastText(SENTENCES, vector_size=8, min_count=1, epochs=1, seed=1)
    path = str(tmp_path / "cc.en.8.bin")
    save_facebook_model(model, path)
    assert detect_format(path) == "fasttext-bin"
    kv, report = read_vectors(path)
    assert isinstance(kv, FastTextKeyedVectors)
    assert "cats" not in kv.key_to_index
    assert kv["cats"].shape == (8,)  # From its subwords.
    np.testing.assert_allclose(kv["cat"], model.wv["cat"], rtol=1e-6)
    assert report.kept == len(model.wv)
    # A vocabulary shrinks the whole-word table; the n-grams stay.
    kv, report = read_vectors(path, vocabulary=["cat", "dog", "unicorn"])
    assert isinstance(kv, FastTextKeyedVectors)
    assert kv.index_to_key == sorted(["cat", "dog"], key=model.wv.get_index)
    np.testing.assert_allclose(kv["cat"], model.wv["cat"], rtol=1e-6)
    np.testing.assert_allclose(kv["cats"], model.wv["cats"], rtol=1e-6)
    assert kv["food"].shape == (8,)  # Now unseen: from its n-grams.
    assert (report.rows, report.kept) == (len(model.wv), 2)
    kv, _ = read_vectors(path, limit=3)
    assert kv.index_to_key == model.wv.index_to_key[:3]


def test_gensim_pickle_needs_allow_pickle(tmp_path, reference):
    path = str(tmp_path / "vectors.kv")
    reference.save(path)
    assert detect_format(path) == "gensim"
    with pytest.raises(VectorFileError) as info:
        keras_embedplus.load_vectors(path)
    message = str(info.value)
    assert message.startswith(path)
    assert "allow_pickle=True" in message and "arbitrary code" in message
    kv = keras_embedplus.load_vectors(path, allow_pickle=True)
    assert_same_vectors(kv, reference)
    kv = keras_embedplus.load_vectors(
        path, allow_pickle=True, vocabulary=["w3", "w1"]
    )
    assert kv.index_to_key == ["w1", "w3"]


def test_gensim_model_file_gives_its_word_vectors(tmp_path):
    model = Word2Vec(SENTENCES, vector_size=5, min_count=1, epochs=1, seed=1)
    path = str(tmp_path / "w2v.model")
    model.save(path)
    with pytest.raises(VectorFileError, match="allow_pickle"):
        keras_embedplus.load_vectors(path, format="gensim")
    kv = keras_embedplus.load_vectors(path, allow_pickle=True)
    assert_same_vectors(kv, model.wv)


@pytest.mark.parametrize(
    "opener, suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")]
)
def test_compressed_text_and_binary(tmp_path, glove, reference, opener, suffix):
    text = str(tmp_path / f"glove.txt{suffix}")
    with open(glove, "rb") as src, opener(text, "wb") as dst:
        shutil.copyfileobj(src, dst)
    kv, report = read_vectors(text, limit=30)
    assert report.format == "glove"
    assert kv.index_to_key == reference.index_to_key[:30]
    np.testing.assert_array_equal(kv.vectors, reference.vectors[:30])
    binary = str(tmp_path / "vectors.bin")
    reference.save_word2vec_format(binary, binary=True)
    # Detected from the content, whatever the name says.
    packed = str(tmp_path / "vectors.data")
    with open(binary, "rb") as src, opener(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert detect_format(packed) == "word2vec-binary"
    assert_same_vectors(keras_embedplus.load_vectors(packed), reference)


def test_detect_format(tmp_path, glove, reference):
    assert detect_format(glove) == "glove"
    text = str(tmp_path / "w2v.txt")
    reference.save_word2vec_format(text)
    assert detect_format(text) == "word2vec"
    vec = str(tmp_path / "wiki.en.vec")
    shutil.copy(text, vec)
    assert detect_format(vec) == "fasttext-vec"
    binary = str(tmp_path / "w2v.txt.bin")
    reference.save_word2vec_format(binary, binary=True)
    assert detect_format(binary) == "word2vec-binary"
    folder = save_cache(reference, tmp_path / "cached")
    assert detect_format(folder) == "cache"
    # A GloVe file of one value per row whose words are numbers.
    numbers = write_text(tmp_path / "numbers.txt", ["1 2", "3 4", "5 6"])
    assert detect_format(numbers) == "glove"
    assert len(keras_embedplus.load_vectors(numbers)) == 3


def test_detection_errors(tmp_path, reference):
    folder = save_cache(reference, tmp_path / "cached")
    with pytest.raises(VectorFileError, match="pass the cache directory"):
        keras_embedplus.load_vectors(f"{folder}/vectors.npy")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello world\nfoo\n")
    with pytest.raises(
        VectorFileError, match=r"junk.txt, line 1: cannot tell the format"
    ):
        keras_embedplus.load_vectors(junk)
    # After blank lines, and on a first line longer than detection reads.
    junk.write_text("\n\nhello world\n")
    with pytest.raises(VectorFileError, match=r"junk.txt, line 3: cannot"):
        keras_embedplus.load_vectors(junk)
    junk.write_text("abc " + "def " * 20_000)
    with pytest.raises(VectorFileError, match=r"junk.txt, line 1: cannot"):
        keras_embedplus.load_vectors(junk)
    empty = tmp_path / "empty.vec"
    empty.write_bytes(b"\n\n")
    with pytest.raises(VectorFileError, match=r"line 1: the file is empty"):
        keras_embedplus.load_vectors(empty)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"format": "glove2"}, "`format` must be 'auto' or one of"),
        ({"limit": 0}, "`limit` must be a positive integer or None"),
        ({"limit": True}, "`limit` must be a positive integer or None"),
        ({"limit": 2.0}, "`limit` must be a positive integer or None"),
        ({"limit": np.int64(-1)}, "Received: limit=np.int64\\(-1\\)"),
        ({"progress": "yes"}, "`progress` must be True, False or None"),
        ({"encoding": "utf-16"}, "`encoding` must be ASCII-compatible"),
        ({"encoding": "klingon"}, "Unknown `encoding`"),
        ({"vocabulary": "the"}, "not a single string"),
    ],
)
def test_invalid_arguments(glove, kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_embedplus.load_vectors(glove, **kwargs)


def test_limit_may_be_a_numpy_integer(glove):
    # One integer check for the package: numpy integers are integers.
    kv = keras_embedplus.load_vectors(glove, limit=np.int64(2))
    expected = keras_embedplus.load_vectors(glove, limit=2)
    assert kv.index_to_key == expected.index_to_key


def test_source_must_be_a_path(reference):
    with pytest.raises(TypeError, match="`source` must be a path"):
        keras_embedplus.load_vectors(reference)


def test_progress_bar(glove, capsys):
    keras_embedplus.load_vectors(glove, progress=True)
    assert "glove.6B.6d.txt" in capsys.readouterr().err
    keras_embedplus.load_vectors(glove, progress=False)
    keras_embedplus.load_vectors(glove)  # Small file, not a terminal.
    assert capsys.readouterr().err == ""


def test_report_is_separate_from_the_vectors(glove):
    kv, report = read_vectors(glove, vocabulary=["w1", "w2"])
    assert not hasattr(kv, "load_report")
    assert (report.path, report.rows, report.kept, report.dim) == (
        glove,
        40,
        2,
        6,
    )
    assert str(report).startswith(f"{glove} (glove): 2 vectors of dimension 6")


@pytest.mark.parametrize(
    "opener, suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")]
)
def test_damaged_compressed_files(tmp_path, glove, opener, suffix):
    packed = tmp_path / f"glove.txt{suffix}"
    with open(glove, "rb") as src, opener(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    data = packed.read_bytes()
    packed.write_bytes(data[: len(data) // 2])
    with pytest.raises(VectorFileError, match="damaged or truncated"):
        keras_embedplus.load_vectors(packed)
    packed.write_bytes(data[:20] + b"\0" * 20 + data[40:])
    with pytest.raises(VectorFileError, match=str(packed)):
        keras_embedplus.load_vectors(packed)


@pytest.mark.parametrize("fmt", ["glove", "word2vec-binary", "cache"])
def test_any_case_vocabulary_keeps_every_case_in_file_order(tmp_path, fmt):
    words = ["Paris", "the", "iPhone", "paris", "IPHONE", "phone"]
    vectors = np.arange(12, dtype="float32").reshape(6, 2)
    if fmt == "glove":
        path = write_text(tmp_path / "v.txt", format_rows(words, vectors))
    elif fmt == "word2vec-binary":
        path = write_binary(tmp_path / "v.bin", words, vectors)
    else:
        kv = KeyedVectors(2)
        kv.add_vectors(words, vectors)
        path = save_cache(kv, tmp_path / "v.cache")
    wanted = AnyCase(["iphone", "paris", "absent"])
    kv, report = read_vectors(path, vocabulary=wanted)
    assert kv.index_to_key == ["Paris", "iPhone", "paris", "IPHONE"]
    np.testing.assert_array_equal(kv["IPHONE"], vectors[4])
    assert (report.rows, report.kept) == (6, 4)
    # A plain vocabulary keeps the exact words only.
    kv, _ = read_vectors(path, vocabulary=["iphone", "paris"])
    assert kv.index_to_key == ["paris"]


def test_any_case_needs_words_not_a_string():
    with pytest.raises(ValueError, match="not a single string"):
        AnyCase("iphone")
