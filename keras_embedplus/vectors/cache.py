"""A pickle-free cache of vectors that loads in milliseconds.

A cache is a directory holding `vectors.npy` (the matrix, saved with
`np.save`, loaded with `allow_pickle=False` and memory-mapped by default),
`vocabulary.txt` (the words in row order, UTF-8, one per line) and
`header.json` (format name, version, count, dim, dtype). `header.json` is
written last, so a directory without it is not a cache. Words that contain
a newline or a backslash are escaped (`\\n`, `\\\\`) and the header says so.
"""

import json
import os

import numpy as np

from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.rows import make_keyed_vectors

FORMAT = "keras_embedplus.vectors.cache"
VERSION = 1
HEADER = "header.json"
VECTORS = "vectors.npy"
VOCABULARY = "vocabulary.txt"


def is_cache(path):
    """Whether `path` is a cache directory (or its `header.json`)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, HEADER)
    if os.path.basename(path) != HEADER or not os.path.isfile(path):
        return False
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_cache(kv, path):
    """Saves `KeyedVectors` as a pickle-free cache directory.

    Args:
        kv: `gensim.models.KeyedVectors` with string keys. fastText
            vectors are refused: the cache keeps whole words only.
        path: String or path. The directory; created if needed, and an
            existing cache there is replaced.

    Returns:
        The directory path as a string.

    Example:

    >>> import tempfile
    >>> from gensim.models import KeyedVectors
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["cat", "dog"], [[1.0, 2.0], [3.0, 4.0]])
    >>> folder = tempfile.mkdtemp()
    >>> path = keras_embedplus.vectors.cache.save_cache(kv, folder)
    >>> keras_embedplus.vectors.cache.load_cache(path)["dog"]
    memmap([3., 4.], dtype=float32)
    """
    from gensim.models.fasttext import FastTextKeyedVectors

    if isinstance(kv, FastTextKeyedVectors):
        raise ValueError(
            "The cache stores whole-word vectors only, and would drop the "
            "subword vectors of this FastTextKeyedVectors. Keep the .bin "
            "file, or cache a plain KeyedVectors built from it."
        )
    keys = list(kv.index_to_key)
    for key in keys:
        if not isinstance(key, str):
            raise ValueError(
                f"The cache stores string keys only. Received key {key!r} "
                f"of type {type(key).__name__}."
            )
    vectors = np.ascontiguousarray(kv.vectors[: len(keys)])
    text = "\n".join(keys)
    escaped = text.count("\n") != max(len(keys) - 1, 0) or "\\" in text
    if escaped:
        text = "\n".join(
            key.replace("\\", "\\\\").replace("\n", "\\n") for key in keys
        )
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    header_path = os.path.join(path, HEADER)
    if os.path.exists(header_path):
        os.remove(header_path)
    np.save(os.path.join(path, VECTORS), vectors, allow_pickle=False)
    with open(os.path.join(path, VOCABULARY), "wb") as f:
        f.write(text.encode("utf-8", "surrogatepass"))
    header = {
        "format": FORMAT,
        "version": VERSION,
        "count": len(keys),
        "dim": int(vectors.shape[1]),
        "dtype": vectors.dtype.str,
        "escaped": escaped,
    }
    with open(header_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(header, f)
    os.replace(header_path + ".tmp", header_path)
    return path


def load_cache(path, mmap=True):
    """Loads a cache directory made by `save_cache`; never unpickles.

    Args:
        path: String or path. The cache directory (or its `header.json`).
        mmap: Boolean. Memory-map the matrix read-only (the default: the
            load is instant and the pages are shared) or read it into
            memory.

    Returns:
        A `gensim.models.KeyedVectors`.

    Example:

    >>> import tempfile
    >>> from gensim.models import KeyedVectors
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["cat", "dog"], [[1.0, 2.0], [3.0, 4.0]])
    >>> folder = keras_embedplus.vectors.cache.save_cache(
    ...     kv, tempfile.mkdtemp())
    >>> keras_embedplus.vectors.cache.load_cache(folder, mmap=False)["cat"]
    array([1., 2.], dtype=float32)
    """
    path = os.fspath(path)
    if os.path.basename(path) == HEADER:
        path = os.path.dirname(path)
    header_path = os.path.join(path, HEADER)
    try:
        with open(header_path, encoding="utf-8") as f:
            header = json.load(f)
    except FileNotFoundError:
        raise VectorFileError(
            path, f"not a vector cache: {HEADER} is missing", line=None
        ) from None
    except ValueError as error:
        raise VectorFileError(
            header_path, f"invalid JSON ({error})", line=None
        ) from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise VectorFileError(
            header_path,
            f"not a version {VERSION} {FORMAT} header; rebuild the cache "
            "with keras_embedplus.vectors.cache.save_cache",
        )
    vectors = np.load(
        os.path.join(path, VECTORS),
        mmap_mode="r" if mmap else None,
        allow_pickle=False,
    )
    with open(os.path.join(path, VOCABULARY), "rb") as f:
        text = f.read().decode("utf-8", "surrogatepass")
    keys = text.split("\n") if header["count"] else []
    if header["escaped"]:
        keys = [_unescape(key) for key in keys]
    expected = (header["count"], header["dim"])
    if vectors.shape != expected or len(keys) != header["count"]:
        raise VectorFileError(
            path,
            f"inconsistent cache: header says {expected}, matrix is "
            f"{vectors.shape} and the vocabulary has {len(keys)} words",
        )
    return make_keyed_vectors(keys, vectors)


def _unescape(key):
    parts = key.split("\\\\")
    return "\\".join(part.replace("\\n", "\n") for part in parts)
