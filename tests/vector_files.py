"""Small vector files in every format, written by the tests themselves."""

import os

import numpy as np
from gensim.models import KeyedVectors


def random_vectors(rows, dim, seed=0):
    """Words "w0".."w{rows-1}" and seeded float32 vectors."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(rows)]
    vectors = rng.normal(0, 0.5, (rows, dim)).astype(np.float32)
    # Tiny values are printed with an exponent by %g: cover that path.
    vectors[::7, 0] *= 1e-6
    return words, vectors


def format_rows(words, vectors, fmt="%.5g"):
    """Text lines "word v1 v2 ..." formatted like GloVe's (%.5g)."""
    line = " ".join([fmt] * vectors.shape[1])
    return [
        f"{word} {line % tuple(row)}"
        for word, row in zip(words, vectors.tolist(), strict=True)
    ]


def write_text(path, lines, *, header=None, newline="\n", encoding="utf-8"):
    """Writes `lines` (str), with an optional "count dim" header."""
    if header is not None:
        lines = [f"{header[0]} {header[1]}", *lines]
    with open(path, "wb") as f:
        f.write(newline.join(lines).encode(encoding) + newline.encode())
    return str(path)


def write_binary(path, words, vectors, *, newline_after=False):
    """word2vec binary; `newline_after` adds the C tool's "\\n" per row."""
    with open(path, "wb") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for word, row in zip(words, vectors, strict=True):
            f.write(word.encode() + b" " + row.astype("<f4").tobytes())
            if newline_after:
                f.write(b"\n")
    return str(path)


def gensim_glove(path):
    """What gensim's own text reader reads from a GloVe file.

    gensim's `no_header=True` leaves a file open (a ResourceWarning, an
    error under this suite's settings), so the same rows are given to its
    header-reading path instead: a copy with a "count dim" line on top.
    """
    with open(path, "rb") as f:
        rows = f.read()
    lines = [line for line in rows.split(b"\n") if line.strip()]
    dim = len(lines[0].rstrip().split(b" ")) - 1
    copy = os.fspath(path) + ".with_header"
    with open(copy, "wb") as f:
        f.write(f"{len(lines)} {dim}\n".encode() + rows)
    return KeyedVectors.load_word2vec_format(copy)


def assert_same_vectors(kv, expected):
    """Same keys in the same order and bit-identical float32 vectors."""
    assert list(kv.index_to_key) == list(expected.index_to_key)
    assert kv.key_to_index == expected.key_to_index
    assert kv.vectors.dtype == np.float32
    assert expected.vectors.dtype == np.float32
    np.testing.assert_array_equal(
        kv.vectors.view(np.uint32), expected.vectors.view(np.uint32)
    )
