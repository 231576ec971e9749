"""fastText `.bin` files: old and new layouts, supervised models, damage.

Every damaged file must be a `VectorFileError` naming it, never one of
gensim's own exceptions (`AssertionError`, `struct.error`, ...), a hang or
vectors read from a cut file.
"""

import gzip
import os
import pathlib
import shutil
import struct

import numpy as np
import pytest
from gensim.models.fasttext import load_facebook_vectors
from gensim.test.utils import datapath
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_embedplus
from keras_embedplus.vectors import VectorFileError
from keras_embedplus.vectors import detect_format
from keras_embedplus.vectors import read_vectors
from tests.vector_files import assert_same_vectors

OLD = datapath("lee_fasttext.bin")  # Written before the magic number.
NEW = datapath("lee_fasttext_new.bin")
SUPERVISED = datapath("pang_lee_polarity_fasttext.bin")
OLD_BYTES = pathlib.Path(OLD).read_bytes()
NEW_BYTES = pathlib.Path(NEW).read_bytes()

# `make test` runs a few; a long session: READER_FUZZ_EXAMPLES=20000.
FUZZ_EXAMPLES = int(os.environ.get("READER_FUZZ_EXAMPLES", "40"))


def assert_same(ours, theirs):
    assert_same_vectors(ours, theirs)
    np.testing.assert_array_equal(ours.vectors_ngrams, theirs.vectors_ngrams)
    assert ours.get_vector("unseenword") is not None
    np.testing.assert_array_equal(ours["unseenword"], theirs["unseenword"])


@pytest.mark.parametrize("path", [OLD, NEW], ids=["old", "new"])
def test_both_layouts_are_detected_and_load_as_gensim_does(path):
    assert detect_format(path) == "fasttext-bin"
    kv, report = read_vectors(path)
    assert report.format == "fasttext-bin"
    assert_same(kv, load_facebook_vectors(path))


@pytest.mark.parametrize(
    "name",
    [
        "cp852_fasttext.bin",
        "crime-and-punishment.bin",
        "non_ascii_fasttext.bin",
        "toy-model.bin",
        "toy-model-pretrained.bin",
    ],
)
def test_gensims_other_fasttext_files(name):
    assert detect_format(datapath(name)) == "fasttext-bin"
    kv = keras_embedplus.load_vectors(datapath(name))
    assert kv.index_to_key == load_facebook_vectors(datapath(name)).index_to_key


def test_a_supervised_model_gives_its_word_vectors():
    kv = keras_embedplus.load_vectors(SUPERVISED, encoding="latin-1")
    vec = keras_embedplus.load_vectors(
        datapath("pang_lee_polarity_fasttext.vec"), encoding="latin-1"
    )
    assert kv.index_to_key == vec.index_to_key
    # The .vec file holds fastText's own word vectors with 5 digits.
    np.testing.assert_allclose(kv.vectors, vec.vectors, atol=1e-6)
    with pytest.raises(NotImplementedError, match="Supervised"):
        load_facebook_vectors(SUPERVISED)  # What we no longer let through.


def _as_classifier(data):
    """`lee_fasttext_new.bin` turned into a supervised model: same words
    and input matrix (with n-grams), one label, softmax, a 1-row output."""
    from keras_embedplus.vectors.fasttext_format import _Layout
    from keras_embedplus.vectors.source import Opened

    path = NEW  # Only its layout is read here.
    with Opened(path) as opened:
        layout = _Layout(opened, path)
    dictionary_end = layout.input_offset - 17  # quant byte + 2 int64
    args = bytearray(data[:64])
    struct.pack_into("<2i", args, 8 + 4 * 6, 3, 3)  # loss softmax, model sup
    size, nwords, _, ntokens, prune = struct.unpack("<3iqq", data[64:92])
    output = layout.input_offset + (nwords + layout.bucket) * layout.dim * 4
    return b"".join(
        [
            bytes(args),
            struct.pack("<3iqq", size + 1, nwords, 1, ntokens, prune),
            data[92:dictionary_end],
            b"__label__x\x00" + struct.pack("<qb", 5, 1),
            data[dictionary_end:output],
            b"\x00" + struct.pack("<2q", 1, layout.dim),
            np.ones(layout.dim, "<f4").tobytes(),
        ]
    )


def test_a_supervised_model_with_subwords_gives_them_too(tmp_path):
    # fastText builds a word's vector the same way in every model: the
    # classifier's must be the unsupervised model's, bit for bit.
    path = tmp_path / "classifier.bin"
    path.write_bytes(_as_classifier(NEW_BYTES))
    with pytest.raises(NotImplementedError, match="Supervised"):
        load_facebook_vectors(str(path))
    kv = keras_embedplus.load_vectors(path)
    assert_same(kv, load_facebook_vectors(NEW))
    assert "__label__x" not in kv.key_to_index


def _write(tmp_path, data, name="model.bin"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_refused(path, *fragments):
    with pytest.raises(VectorFileError) as error:
        keras_embedplus.load_vectors(path)
    assert str(path) in str(error.value)
    for fragment in fragments:
        assert fragment in str(error.value)


@pytest.mark.parametrize("data", [OLD_BYTES, NEW_BYTES], ids=["old", "new"])
@pytest.mark.parametrize("cut", [1, 4096, 100_000, 8, 100])
def test_a_cut_file_is_refused(tmp_path, data, cut):
    # Cut in the tail (the output matrix, which gensim does not read),
    # in the input matrix, the dictionary and the arguments.
    path = _write(tmp_path, data[: len(data) - cut])
    _assert_refused(path)


def test_a_cut_in_the_tail_names_the_offset(tmp_path):
    path = _write(tmp_path, NEW_BYTES[:-1])
    _assert_refused(
        path, f"ends at byte {len(NEW_BYTES) - 1:,}", "output matrix", "cut"
    )


def test_bytes_after_the_model_are_refused(tmp_path):
    _assert_refused(_write(tmp_path, NEW_BYTES + b"\0"), "goes on after")


def test_a_dictionary_without_its_end_does_not_hang(tmp_path):
    # gensim reads a word byte by byte until a NUL that never comes.
    data = bytearray(NEW_BYTES[:200])
    struct.pack_into("<3i", data, 64, 10**9, 10**9, 0)
    _assert_refused(_write(tmp_path, bytes(data)), "dictionary")


def test_impossible_headers_are_refused(tmp_path):
    data = bytearray(NEW_BYTES)
    struct.pack_into("<i", data, 8, 11)  # dim 11 where the matrix has 10
    _assert_refused(_write(tmp_path, bytes(data), "dim.bin"), "11")
    data = bytearray(NEW_BYTES)
    struct.pack_into("<i", data, 4, 99)
    _assert_refused(_write(tmp_path, bytes(data), "v.bin"), "version 99")


def test_forcing_the_format_on_another_file(tmp_path):
    path = _write(tmp_path, b"the 0.1 0.2\n" * 10, "vectors.txt")
    with pytest.raises(VectorFileError, match="out of range"):
        keras_embedplus.load_vectors(path, format="fasttext-bin")


def test_compressed(tmp_path):
    named = tmp_path / "model.bin.gz"
    with gzip.open(named, "wb") as f:
        f.write(NEW_BYTES)
    unnamed = tmp_path / "model.bin"
    shutil.copy(named, unnamed)
    for path in (named, unnamed):
        kv = keras_embedplus.load_vectors(path)
        assert_same(kv, load_facebook_vectors(NEW))
    cut = tmp_path / "cut.bin.gz"
    cut.write_bytes(gzip.compress(NEW_BYTES[:-1]))
    _assert_refused(cut, "ends at byte", "output matrix")


def test_a_compressed_model_is_decompressed_once(tmp_path, monkeypatch):
    from keras_embedplus.vectors import source

    path = tmp_path / "model.bin.gz"
    path.write_bytes(gzip.compress(NEW_BYTES))
    decompressed = []
    read = source._Decompressed.read

    def counted(self, size):
        data = read(self, size)
        decompressed.append(len(data))
        return data

    monkeypatch.setattr(source._Decompressed, "read", counted)
    kv = keras_embedplus.load_vectors(path, format="fasttext-bin")
    assert_same(kv, load_facebook_vectors(NEW))
    assert sum(decompressed) == len(NEW_BYTES)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    st.sampled_from(["old", "new"]),
    st.integers(0, len(NEW_BYTES) - 1),
    st.sampled_from(["cut", "flip", "insert"]),
    st.integers(1, 255),
)
def test_fuzz_damaged_files_are_refused_or_loaded(
    tmp_path_factory, layout, at, change, byte
):
    data = OLD_BYTES if layout == "old" else NEW_BYTES
    at = min(at, len(data) - 1)
    if change == "cut":
        damaged = data[:at]
    elif change == "flip":
        damaged = data[:at] + bytes([data[at] ^ byte]) + data[at + 1 :]
    else:
        damaged = data[:at] + bytes([byte]) + data[at:]
    path = tmp_path_factory.mktemp("ft") / "model.bin"
    path.write_bytes(damaged)
    try:
        kv = keras_embedplus.load_vectors(path, format="fasttext-bin")
    except VectorFileError as error:
        assert str(path) in str(error)
        return
    # A cut never loads; a changed or inserted byte can (inside a word or
    # a value), and then gives what gensim gives for the same file.
    assert change != "cut"
    theirs = load_facebook_vectors(str(path))
    assert kv.index_to_key == theirs.index_to_key
    np.testing.assert_array_equal(kv.vectors, theirs.vectors)


def test_a_quantized_model_is_a_clear_error(tmp_path):
    from keras_embedplus.vectors.fasttext_format import _Layout
    from keras_embedplus.vectors.source import Opened

    with Opened(NEW) as opened:
        quant = _Layout(opened, NEW).input_offset - 17
    data = bytearray(NEW_BYTES)
    data[quant] = 1
    path = _write(tmp_path, bytes(data), "model.ftz")
    _assert_refused(path, "quantized input matrix (a .ftz model)")
