"""The pickle-free cache: exact round trip, memory-mapped, never unpickled."""

import json
import os

import numpy as np
import pytest
from gensim.models import FastText
from gensim.models import KeyedVectors

import keras_embedplus
from keras_embedplus.vectors.cache import load_cache
from keras_embedplus.vectors.cache import save_cache
from keras_embedplus.vectors.read import read_vectors
from keras_embedplus.vectors.report import VectorFileError
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


def test_round_trip_is_exact_and_memory_mapped(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    loaded = load_cache(path)
    assert loaded.index_to_key == kv.index_to_key
    assert loaded.key_to_index == kv.key_to_index
    assert isinstance(loaded.vectors, np.memmap)
    assert not loaded.vectors.flags.writeable
    np.testing.assert_array_equal(
        loaded.vectors.view(np.uint32), kv.vectors.view(np.uint32)
    )
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


def test_broken_caches_raise_clear_errors(tmp_path, kv):
    path = save_cache(kv, tmp_path / "cache")
    with open(f"{path}/vocabulary.txt", "a", encoding="utf-8") as f:
        f.write("\nextra")
    with pytest.raises(VectorFileError, match="inconsistent cache"):
        load_cache(path)
    header = tmp_path / "cache" / "header.json"
    header.write_text(
        '{"format": "keras_embedplus.vectors.cache", "version": 9}'
    )
    with pytest.raises(VectorFileError, match="rebuild the cache"):
        load_cache(path)
    header.unlink()
    with pytest.raises(VectorFileError, match="header.json is missing"):
        load_cache(path)
