"""A pickle-free cache of vectors that loads in milliseconds.

A cache is a directory holding `vectors.npy` (the matrix, saved with
`np.save`, loaded with `allow_pickle=False` and memory-mapped by default),
`vocabulary.txt` (the words in row order, UTF-8, one per line) and
`header.json` (format name, version, count, dim, dtype). Words that
contain a newline, a carriage return or a backslash are escaped (`\\n`,
`\\r`, `\\\\`) and the header says so.

`save_cache` writes the three files into a new directory next to the
target and then renames it into place, so that a crash leaves the old
cache or none, never a mix. `load_cache` trusts nothing it reads: the
header's keys and types, the matrix's dtype, shape and file size, the
vocabulary's length, line endings and uniqueness are all checked, and any
disagreement is a `VectorFileError` that names the file.
"""

import json
import os
import secrets
import shutil
import tempfile

import numpy as np

from keras_embedplus.vectors.cache_files import DTYPES
from keras_embedplus.vectors.cache_files import FILES
from keras_embedplus.vectors.cache_files import FORMAT
from keras_embedplus.vectors.cache_files import HEADER
from keras_embedplus.vectors.cache_files import HEADER_BYTES
from keras_embedplus.vectors.cache_files import VECTORS
from keras_embedplus.vectors.cache_files import VERSION
from keras_embedplus.vectors.cache_files import VOCABULARY
from keras_embedplus.vectors.cache_files import read_header
from keras_embedplus.vectors.cache_files import read_matrix
from keras_embedplus.vectors.cache_files import read_vocabulary
from keras_embedplus.vectors.keyed_vectors import make_keyed_vectors
from keras_embedplus.vectors.report import VectorFileError


def is_cache(path):
    """Whether `path` is a cache directory (or its `header.json`)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, HEADER)
    if os.path.basename(path) != HEADER or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(HEADER_BYTES)).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_cache(kv, path):
    """Saves `KeyedVectors` as a pickle-free cache directory.

    The files are written into a new directory beside `path`, which then
    replaces `path` in one rename: a crash leaves the old cache or none.

    Args:
        kv: `gensim.models.KeyedVectors` with string keys. fastText
            vectors are refused: the cache keeps whole words only.
        path: String or path. The directory; created if needed. An
            existing cache there is replaced; any other non-empty directory
            (or a file) is refused, and so is the cache `kv` was loaded
            from while its matrix is still memory-mapped from it.

    Returns:
        The directory path as a string.

    Example:

    >>> import tempfile
    >>> from gensim.models import KeyedVectors
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["cat", "dog"], [[1.0, 2.0], [3.0, 4.0]])
    >>> folder = tempfile.mkdtemp()
    >>> path = keras_embedplus.vectors.save_cache(kv, folder)
    >>> keras_embedplus.vectors.load_cache(path)["dog"]
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
    vectors = kv.vectors[: len(keys)]
    if vectors.ndim != 2 or vectors.dtype.name not in DTYPES:
        raise ValueError(
            f"The cache stores float16, float32 or float64 matrices. "
            f"Received: vectors of dtype {vectors.dtype}, shape "
            f"{vectors.shape}"
        )
    path = os.path.abspath(os.fspath(path))
    _check_target(path, vectors)
    text = "\n".join(keys)
    escaped = (
        text.count("\n") != max(len(keys) - 1, 0)
        or "\\" in text
        or "\r" in text
    )
    if escaped:
        text = "\n".join(map(_escape, keys))
    header = {
        "format": FORMAT,
        "version": VERSION,
        "count": len(keys),
        "dim": int(vectors.shape[1]),
        "dtype": vectors.dtype.str,
        "escaped": escaped,
    }
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(path)
    staging = _new_directory(parent, f".{name}.writing-")
    try:
        with open(os.path.join(staging, VECTORS), "wb") as f:
            np.save(f, np.ascontiguousarray(vectors), allow_pickle=False)
            _sync(f)
        with open(os.path.join(staging, VOCABULARY), "wb") as f:
            f.write(text.encode("utf-8", "surrogatepass"))
            _sync(f)
        with open(os.path.join(staging, HEADER), "w", encoding="utf-8") as f:
            json.dump(header, f)
            _sync(f)
        _swap(staging, path, name, parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _check_target(path, vectors):
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ValueError(
            f"Cannot write a cache at {path}: it is a file, and a cache is "
            "a directory. Choose another path."
        )
    if not os.path.isdir(path):
        return
    source = _mapped_file(vectors)
    if source is not None and _same_directory(source, path):
        raise ValueError(
            f"Cannot save the cache {path} onto itself: these vectors are "
            "memory-mapped from it, and replacing it would pull the matrix "
            "from under them. Save to another directory, or load with "
            "load_cache(path, mmap=False) first."
        )
    names = set(os.listdir(path))
    if names and not (is_cache(path) and names <= set(FILES)):
        shown = ", ".join(sorted(names - set(FILES))[:3] or sorted(names))
        raise ValueError(
            f"Cannot write a cache into {path}: the directory is not empty "
            f"and not a cache (it holds {shown}). Choose a new or empty "
            "directory; only an existing cache is replaced."
        )


def _mapped_file(array):
    """The directory of the file `array` is memory-mapped from, or None."""
    while array is not None:
        filename = getattr(array, "filename", None)
        if isinstance(array, np.memmap) and filename:
            return os.path.dirname(os.fspath(filename))
        array = getattr(array, "base", None)
    return None


def _same_directory(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _swap(staging, path, name, parent):
    if not os.path.isdir(path):
        os.rename(staging, path)
    elif not os.listdir(path):
        os.rmdir(path)
        os.rename(staging, path)
    else:
        old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
        os.rename(path, os.path.join(old, name))
        os.rename(staging, path)
        shutil.rmtree(old, ignore_errors=True)
    try:
        directory = os.open(parent, os.O_RDONLY)
    except OSError:
        return  # Platforms that cannot open a directory cannot sync one.
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def _new_directory(parent, prefix):
    """A new directory with the umask's permissions (not mkdtemp's 0700,
    which would keep a shared cache from other users)."""
    while True:
        path = os.path.join(parent, prefix + secrets.token_hex(4))
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def _sync(file):
    file.flush()
    os.fsync(file.fileno())


def _escape(key):
    return key.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def load_cache(path, mmap=True):
    """Loads a cache directory made by `save_cache`; never unpickles.

    Every part is checked before it is used: a damaged or edited cache
    raises `VectorFileError` naming the file and what is wrong.

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
    >>> folder = keras_embedplus.vectors.save_cache(
    ...     kv, tempfile.mkdtemp())
    >>> keras_embedplus.vectors.load_cache(folder, mmap=False)["cat"]
    array([1., 2.], dtype=float32)
    """
    path = os.fspath(path)
    if os.path.basename(path) == HEADER and not os.path.isdir(path):
        path = os.path.dirname(path) or "."
    if not os.path.isdir(path):
        raise VectorFileError(
            path,
            "not a vector cache: a cache is a directory holding "
            f"{', '.join(FILES)}",
        )
    header = read_header(path)
    count, dim = header["count"], header["dim"]
    vectors = read_matrix(path, count, dim, header["dtype"], mmap)
    keys, index = read_vocabulary(path, count, header["escaped"])
    return make_keyed_vectors(keys, vectors, index)
