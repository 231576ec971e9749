"""Reading a cache's three files without trusting them.

Each reader checks what it reads before it is used (the header's keys and
types, the matrix's dtype, shape and size, the vocabulary's length, line
endings and uniqueness), refuses files that are not regular (a link to
`/dev/zero` must not hang the load), and reports any problem as a
`VectorFileError` naming the file and how to rebuild the cache.
"""

import json
import os
import re
import stat

import numpy as np

from keras_embedplus.vectors.arguments import is_integer
from keras_embedplus.vectors.report import VectorFileError

FORMAT = "keras_embedplus.vectors.cache"
VERSION = 1
HEADER = "header.json"
VECTORS = "vectors.npy"
VOCABULARY = "vocabulary.txt"
FILES = (HEADER, VECTORS, VOCABULARY)
# A header is a few short fields; anything longer is not one of ours.
HEADER_BYTES = 1 << 12
DTYPES = ("float16", "float32", "float64")
REBUILD = (
    "rebuild it with keras_embedplus.vectors.save_cache or "
    "`keras-embedplus convert`"
)
_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)
_UNESCAPED = {"\\": "\\", "n": "\n", "r": "\r"}


def read_header(path):
    header_path = os.path.join(path, HEADER)
    if not os.path.lexists(header_path):
        raise VectorFileError(
            path, f"not a vector cache: {HEADER} is missing; {REBUILD}"
        )
    raw = _read_regular(header_path, limit=HEADER_BYTES)
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError as error:
        raise VectorFileError(
            header_path, f"invalid JSON ({error}); {REBUILD}"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise VectorFileError(header_path, f"not a {FORMAT} header; {REBUILD}")
    if header.get("version") != VERSION:
        raise VectorFileError(
            header_path,
            f"not a version {VERSION} {FORMAT} header (version "
            f"{header.get('version')!r}); {REBUILD}",
        )
    checks = {
        "count": lambda v: is_integer(v) and v >= 0,
        "dim": lambda v: is_integer(v) and v >= 1,
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
                header_path, f"the key {key!r} is missing; {REBUILD}"
            )
        if not check(header[key]):
            raise VectorFileError(
                header_path,
                f"{key!r} must be {wanted[key]}, not {header[key]!r}; "
                f"{REBUILD}",
            )
    return header


def _float_dtype(text):
    """The float dtype `text` spells as `save_cache` writes it ('<f4'),
    else None: other spellings ('=f4', 'float32') are not a cache's."""
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        return None
    return dtype if dtype.name in DTYPES and dtype.str == text else None


def read_matrix(path, count, dim, dtype_text, mmap):
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
            f"{REBUILD}",
        ) from None
    shape, fortran, found = info
    if found != dtype or fortran or shape != (count, dim):
        raise VectorFileError(
            vectors_path,
            f"holds a {'Fortran-order ' if fortran else ''}{found} array "
            f"of shape {shape}, but {HEADER} says {dtype} of shape "
            f"{(count, dim)}; {REBUILD}",
        )
    expected = offset + count * dim * dtype.itemsize
    size = _regular_size(vectors_path)
    if size != expected:
        raise VectorFileError(
            vectors_path,
            f"is {size:,} bytes, but a {dtype} matrix of shape "
            f"{(count, dim)} takes {expected:,} (the file is "
            f"{'truncated' if size < expected else 'too long'}); {REBUILD}",
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
            vectors_path, f"cannot be read ({error}); {REBUILD}"
        ) from None


def read_vocabulary(path, count, escaped):
    vocabulary_path = os.path.join(path, VOCABULARY)
    raw = _read_regular(vocabulary_path)
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise VectorFileError(
            vocabulary_path,
            f"is not UTF-8 at byte {error.start} ({error.reason}); {REBUILD}",
            line=line,
        ) from None
    keys = text.split("\n") if count else []
    if len(keys) != count or (not count and text):
        raise VectorFileError(
            vocabulary_path,
            f"holds {len(keys) if count else text.count(chr(10)) + 1:,} "
            f"lines, but {HEADER} says {count:,} words; {REBUILD}",
        )
    carriage = text.find("\r")
    if carriage >= 0:
        raise VectorFileError(
            vocabulary_path,
            "holds a carriage return (CRLF line endings?): the cache writes "
            f"'\\n' only, so it was edited; {REBUILD}",
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
                    f"a cache holds each word once; {REBUILD}",
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
                f"(\\\\, \\n, \\r); {REBUILD}",
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
            path, f"cannot be read ({error.strerror}); {REBUILD}"
        ) from None
    if not stat.S_ISREG(status.st_mode):
        raise VectorFileError(path, f"is not a regular file; {REBUILD}")
    return status.st_size


def _read_regular(path, limit=None):
    size = _regular_size(path)
    if limit is not None and size > limit:
        raise VectorFileError(
            path, f"is {size:,} bytes, too long for a cache file; {REBUILD}"
        )
    try:
        with open(path, "rb") as f:
            return f.read(size + 1)
    except OSError as error:
        raise VectorFileError(
            path, f"cannot be read ({error.strerror}); {REBUILD}"
        ) from None
