"""The source of a vector file: its path, opened and decompressed.

`Opened` opens a file for reading in binary, decompressing gzip (`1f 8b`)
and bzip2 (`BZh`) content on the fly whatever the extension, and reads its
first bytes, from which `detect_format` names the format and with which
the readers start. Damaged compressed data is a `VectorFileError`.
"""

import bz2
import gzip
import os
import zlib

from keras_embedplus.vectors.report import VectorFileError

# Bytes read ahead at the start of a file (the "head").
HEAD = 1 << 16


def check_source(source):
    """The path of `source` (a string or `os.PathLike`) as a string."""
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "`source` must be a path (string or os.PathLike). Received: "
            f"source={source!r} of type {type(source).__name__}"
        )
    return os.fspath(source)


class Opened:
    """The file, decompressed if it is gzip or bzip2, and its first bytes.

    Attributes:
        raw: the file itself, unbuffered.
        stream: what to read from: `raw`, or its decompressed content.
        size: Integer or None. The size of an uncompressed file in bytes;
            None for a compressed one (its content's size is unknown).
        head: bytes. The first `HEAD` bytes of the (decompressed) content,
            already read from `stream`.
    """

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
        while len(self.head) < HEAD:
            more = self.stream.read(HEAD - len(self.head))
            if not more:
                break
            self.head += more

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()


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
