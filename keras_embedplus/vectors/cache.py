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
import re
import shutil
import stat
import tempfile

import numpy as np

from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.rows import make_keyed_vectors

FORMAT = "keras_embedplus.vectors.cache"
VERSION = 1
HEADER = "header.json"
VECTORS = "vectors.npy"
VOCABULARY = "vocabulary.txt"
FILES = (HEADER, VECTORS, VOCABULARY)
# A header is a few short fields; anything longer is not one of ours.
_HEADER_BYTES = 1 << 12
_DTYPES = ("float16", "float32", "float64")
_REBUILD = (
    "rebuild it with keras_embedplus.vectors.cache.save_cache or "
    "`keras-embedplus convert`"
)
_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)
_UNESCAPED = {"\\": "\\", "n": "\n", "r": "\r"}


def is_cache(path):
    """Whether `path` is a cache directory (or its `header.json`)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, HEADER)
    if os.path.basename(path) != HEADER or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(_HEADER_BYTES)).get("format") == FORMAT
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
    vectors = kv.vectors[: len(keys)]
    if vectors.ndim != 2 or vectors.dtype.name not in _DTYPES:
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
    staging = tempfile.mkdtemp(prefix=f".{name}.writing-", dir=parent)
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
    >>> folder = keras_embedplus.vectors.cache.save_cache(
    ...     kv, tempfile.mkdtemp())
    >>> keras_embedplus.vectors.cache.load_cache(folder, mmap=False)["cat"]
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
    header = _read_header(path)
    count, dim = header["count"], header["dim"]
    vectors = _read_matrix(path, count, dim, header["dtype"], mmap)
    keys, index = _read_vocabulary(path, count, header["escaped"])
    return make_keyed_vectors(keys, vectors, index)


def _read_header(path):
    header_path = os.path.join(path, HEADER)
    if not os.path.lexists(header_path):
        raise VectorFileError(
            path, f"not a vector cache: {HEADER} is missing; {_REBUILD}"
        )
    raw = _read_regular(header_path, limit=_HEADER_BYTES)
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError as error:
        raise VectorFileError(
            header_path, f"invalid JSON ({error}); {_REBUILD}"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise VectorFileError(header_path, f"not a {FORMAT} header; {_REBUILD}")
    if header.get("version") != VERSION:
        raise VectorFileError(
            header_path,
            f"not a version {VERSION} {FORMAT} header (version "
            f"{header.get('version')!r}); {_REBUILD}",
        )
    checks = {
        "count": lambda v: _is_int(v) and v >= 0,
        "dim": lambda v: _is_int(v) and v >= 1,
        "dtype": lambda v: isinstance(v, str) and _float_dtype(v) is not None,
        "escaped": lambda v: isinstance(v, bool),
    }
    wanted = {
        "count": "an integer >= 0",
        "dim": "an integer >= 1",
        "dtype": "one of float16, float32, float64 (as '<f4')",
        "escaped": "true or false",
    }
    for key, check in checks.items():
        if key not in header:
            raise VectorFileError(
                header_path, f"the key {key!r} is missing; {_REBUILD}"
            )
        if not check(header[key]):
            raise VectorFileError(
                header_path,
                f"{key!r} must be {wanted[key]}, not {header[key]!r}; "
                f"{_REBUILD}",
            )
    return header


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _float_dtype(text):
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        return None
    return dtype if dtype.name in _DTYPES else None


def _read_matrix(path, count, dim, dtype_text, mmap):
    vectors_path = os.path.join(path, VECTORS)
    dtype = _float_dtype(dtype_text)
    _regular_size(vectors_path)
    try:
        with open(vectors_path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                info = np.lib.format.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                info = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except Exception as error:  # noqa: BLE001 - numpy's parser of bytes
        # The .npy header parser raises what its tokenizer or literal
        # evaluator raises (ValueError, SyntaxError, TokenError, ...).
        raise VectorFileError(
            vectors_path,
            f"not a readable .npy file ({type(error).__name__}: {error}); "
            f"{_REBUILD}",
        ) from None
    shape, fortran, found = info
    if found != dtype or fortran or shape != (count, dim):
        raise VectorFileError(
            vectors_path,
            f"holds a {'Fortran-order ' if fortran else ''}{found} array "
            f"of shape {shape}, but {HEADER} says {dtype} of shape "
            f"{(count, dim)}; {_REBUILD}",
        )
    expected = offset + count * dim * dtype.itemsize
    size = _regular_size(vectors_path)
    if size != expected:
        raise VectorFileError(
            vectors_path,
            f"is {size:,} bytes, but a {dtype} matrix of shape "
            f"{(count, dim)} takes {expected:,} (the file is "
            f"{'truncated' if size < expected else 'too long'}); {_REBUILD}",
        )
    try:
        if count == 0:
            return np.zeros((0, dim), dtype)
        if mmap:
            return np.memmap(
                vectors_path, dtype, "r", offset=offset, shape=(count, dim)
            )
        with open(vectors_path, "rb") as f:
            f.seek(offset)
            data = np.fromfile(f, dtype, count * dim)
        if data.size != count * dim:
            raise OSError("the file shrank while it was read")
        return data.reshape(count, dim)
    except (OSError, ValueError) as error:
        raise VectorFileError(
            vectors_path, f"cannot be read ({error}); {_REBUILD}"
        ) from None


def _read_vocabulary(path, count, escaped):
    vocabulary_path = os.path.join(path, VOCABULARY)
    raw = _read_regular(vocabulary_path)
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise VectorFileError(
            vocabulary_path,
            f"is not UTF-8 at byte {error.start} ({error.reason}); {_REBUILD}",
            line=line,
        ) from None
    keys = text.split("\n") if count else []
    if len(keys) != count or (not count and text):
        raise VectorFileError(
            vocabulary_path,
            f"holds {len(keys) if count else text.count(chr(10)) + 1:,} "
            f"lines, but {HEADER} says {count:,} words; {_REBUILD}",
        )
    carriage = text.find("\r")
    if carriage >= 0:
        raise VectorFileError(
            vocabulary_path,
            "holds a carriage return (CRLF line endings?): the cache writes "
            f"'\\n' only, so it was edited; {_REBUILD}",
            line=text.count("\n", 0, carriage) + 1,
        )
    if escaped:
        keys = [
            _unescape(key, vocabulary_path, i) for i, key in enumerate(keys)
        ]
    index = dict(zip(keys, range(count), strict=True))
    if len(index) != count:
        seen = {}
        for row, key in enumerate(keys):
            if seen.setdefault(key, row) != row:
                raise VectorFileError(
                    vocabulary_path,
                    f"the word {key[:40]!r} repeats line {seen[key] + 1}; "
                    f"a cache holds each word once; {_REBUILD}",
                    line=row + 1,
                )
    return keys, index


def _unescape(key, path, row):
    def replace(match):
        found = _UNESCAPED.get(match.group(1))
        if found is None:
            raise VectorFileError(
                path,
                f"the escape {match.group()!r} is not one the cache writes "
                f"(\\\\, \\n, \\r); {_REBUILD}",
                line=row + 1,
            )
        return found

    return _ESCAPE.sub(replace, key) if "\\" in key else key


def _regular_size(path):
    """The size of `path`, refused unless it is a regular file."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise VectorFileError(
            path, f"cannot be read ({error.strerror}); {_REBUILD}"
        ) from None
    if not stat.S_ISREG(status.st_mode):
        raise VectorFileError(path, f"is not a regular file; {_REBUILD}")
    return status.st_size


def _read_regular(path, limit=None):
    size = _regular_size(path)
    if limit is not None and size > limit:
        raise VectorFileError(
            path, f"is {size:,} bytes, too long for a cache file; {_REBUILD}"
        )
    try:
        with open(path, "rb") as f:
            return f.read(size + 1)
    except OSError as error:
        raise VectorFileError(
            path, f"cannot be read ({error.strerror}); {_REBUILD}"
        ) from None
