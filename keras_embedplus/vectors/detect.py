"""The vector file formats, and how `format="auto"` tells them apart.

`format="auto"` looks at the content, using the file name only to name
what it finds. The rules, in order:

1. A directory (or its `header.json`) written by `save_cache`: "cache".
2. gzip (`1f 8b`) and bzip2 (`BZh`) content is decompressed on the fly,
   whatever the extension; the next rules look at the decompressed bytes.
3. A pickle (byte `0x80`, then protocol 2 to 5): "gensim", the files of
   `KeyedVectors.save` and `Word2Vec.save` (loaded only with
   `allow_pickle=True`).
4. The fastText magic number (int32 793712314): "fasttext-bin".
5. A first line of two integers "count dim" (after an optional UTF-8 BOM
   and blank lines): "word2vec" when the next non-blank line is text, a
   word and numbers ("fasttext-vec" when the name ends in `.vec`; the
   reader checks it has `dim` of them), "word2vec-binary" otherwise.
6. A first line made of a word and numbers: "glove" (also a header-like
   first line above rows of one value: `3 2`, `x 5`, `y 6`). When `dim`
   is 1 too (`3 1` above `4 1`), `read_vectors` reads the file as a
   header file if it holds the rows declared, else as GloVe.

Anything else is a `VectorFileError` asking for `format=`.
"""

import bz2
import collections
import gzip
import os
import re
import zlib

from keras_embedplus.vectors import cache
from keras_embedplus.vectors.fasttext_format import is_fasttext_bin
from keras_embedplus.vectors.report import VectorFileError

FORMATS = (
    "glove",
    "word2vec",
    "word2vec-binary",
    "fasttext-bin",
    "fasttext-vec",
    "cache",
    "gensim",
)
_HEAD = 1 << 16
BOM = b"\xef\xbb\xbf"
_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_DIGITS = 18
_SEPARATORS = re.compile(rb"[ \t]+")
# Whitespace that ends a line: space, tab, CR, vertical tab, form feed.
_TRAILING = b" \t\r\x0b\x0c"
# Bytes that no text line holds (tab and CR may).
_CONTROL = bytes(set(range(32)) - {9, 13}) + b"\x7f"


def parse_header(line):
    """`(count, dim)` if `line` is a word2vec header, else None.

    Numbers of more than 18 digits read as 10**18: no file holds that
    many rows or values, and the readers check the rows against it.
    """
    parts = line.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return tuple(
            int(part) if len(part) <= _DIGITS else 10**_DIGITS for part in parts
        )
    return None


def declared(number, noun):
    """ "3 rows": a header's number and its noun; 10**18 stands for more."""
    if number >= 10**_DIGITS:
        return f"more than 10**18 {noun}s"
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def split_fields(line):
    """The fields of a text line (without its newline).

    Runs of spaces and tabs separate fields; trailing whitespace (and the
    CR of CRLF) ends the line; leading whitespace leaves an empty first
    field (an empty word).
    """
    return _SEPARATORS.split(line.rstrip(_TRAILING))


def count_values(line):
    """Number of values on a text line: its fields after the first."""
    return len(split_fields(line)) - 1


def majority_dim(lines):
    """Most common value count of the non-blank `lines`, or None."""
    counts = collections.Counter(
        count_values(line) for line in lines if line.strip()
    )
    return counts.most_common(1)[0][0] if counts else None


def detect_format(source):
    """Names the format of a vector file by the rules of this module.

    Args:
        source: String or path.

    Returns:
        One of the format names accepted by `load_vectors`.
    """
    path = check_source(source)
    if cache.is_cache(path) or os.path.isdir(path):
        return "cache"  # A directory can be nothing else: load_cache says.
    with Opened(path) as opened:
        return _sniff(opened.head, path)


def _sniff(head, path):
    if head[:2] in _PICKLE_PROTOCOLS:
        return "gensim"
    if is_fasttext_bin(head):  # The magic number, or an older file's start.
        return "fasttext-bin"
    if head.startswith(b"\x93NUMPY"):
        raise VectorFileError(
            path,
            "is a numpy array; pass the cache directory that holds it "
            "(the one with header.json)",
        )
    text = head[len(BOM) :] if head.startswith(BOM) else head
    numbered = [
        (number, line)
        for number, line in enumerate(text.split(b"\n", 50), 1)
        if line.strip()
    ]
    lines = [line for _, line in numbered]
    if len(head) == _HEAD and b"\n" not in text and lines:
        # A first line longer than the head: its last field may be cut.
        lines = [lines[0].rsplit(b" ", 1)[0]]
    if not lines:
        raise VectorFileError(path, "the file is empty", line=1)
    header = parse_header(lines[0])
    second = lines[1] if len(lines) > 1 else b""
    if header is not None:
        dim = header[1]
        if not second or (dim and _is_row(second, dim)):
            name = path.removesuffix(".gz").removesuffix(".bz2")
            return "fasttext-vec" if name.endswith(".vec") else "word2vec"
        if _is_text(second) and _is_row(second, 1):
            if dim != 1 and count_values(second) == 1:
                return "glove"  # Rows of one value, the first word a number.
            # A text row of another length: the reader says which line.
            name = path.removesuffix(".gz").removesuffix(".bz2")
            return "fasttext-vec" if name.endswith(".vec") else "word2vec"
        return "word2vec-binary"
    if count_values(lines[0]) >= 1 and _is_row(lines[0], 1):
        return "glove"
    raise VectorFileError(
        path,
        f"cannot tell the format: {lines[0][:40]!r} is neither a word2vec "
        "header '<count> <dim>' nor a word followed by numbers; pass "
        f"format= (one of {', '.join(FORMATS)})",
        line=numbered[0][0],
    )


def _is_text(line):
    """Whether a line is text: UTF-8 without control bytes but tabs/CR."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(line.translate(None, _CONTROL)) == len(line)


def _is_row(line, dim):
    """Whether a text line ends in `dim` numbers after at least a word."""
    parts = split_fields(line)
    if len(parts) < dim + 1:
        return False
    try:
        for part in parts[-dim:]:
            float(part)
    except ValueError:
        return False
    return True


class Opened:
    """The file, decompressed if it is gzip or bzip2, and its first bytes."""

    def __init__(self, path):
        self.raw = open(path, "rb", buffering=0)
        try:
            self._open(path)
        except BaseException:
            self.raw.close()
            raise

    def _open(self, path):
        magic = self.raw.read(3)
        self.raw.seek(0)
        self.size = None
        if magic[:2] == b"\x1f\x8b":
            inner = gzip.GzipFile(fileobj=self.raw, mode="rb")
            self.stream = _Decompressed(inner, path, "gzip")
        elif magic == b"BZh":
            inner = bz2.BZ2File(self.raw, "rb")
            self.stream = _Decompressed(inner, path, "bzip2")
        else:
            self.stream = self.raw
            self.size = os.fstat(self.raw.fileno()).st_size
        self.head = b""
        while len(self.head) < _HEAD:
            more = self.stream.read(_HEAD - len(self.head))
            if not more:
                break
            self.head += more

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()


def check_source(source):
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "`source` must be a path (string or os.PathLike). Received: "
            f"source={source!r} of type {type(source).__name__}"
        )
    return os.fspath(source)


class _Decompressed:
    """A gzip or bzip2 stream whose damage is a `VectorFileError`."""

    def __init__(self, inner, path, kind):
        self.inner = inner
        self.path = path
        self.kind = kind

    def read(self, size):
        return self._checked(self.inner.read, size)

    def readinto(self, buffer):
        return self._checked(self.inner.readinto, buffer)

    def close(self):
        self.inner.close()

    def _checked(self, method, argument):
        try:
            return method(argument)
        except (OSError, EOFError, zlib.error) as error:
            raise VectorFileError(
                self.path,
                f"the {self.kind} data is damaged or truncated ({error})",
            ) from None
