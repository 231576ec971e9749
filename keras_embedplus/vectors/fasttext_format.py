"""fastText `.bin` files: telling them apart, checking them, loading them.

A `.bin` file holds the training arguments, the dictionary (each entry a
NUL-terminated word, its count and whether it is a word or a label), the
input matrix (whole words, then the hashed n-gram buckets) and the output
matrix. Files written since fastText 0.2 start with a magic number and a
version; older ones (gensim's test file `lee_fasttext.bin` is one) start
directly with the arguments, which `is_fasttext_bin` recognises by their
ranges.

`load_fasttext` walks the whole layout first, without reading the
matrices, so that a cut, padded or malformed file is a `VectorFileError`
naming the byte offset instead of one of gensim's own exceptions (or a loop
that never ends: gensim reads a word byte by byte until a NUL it may never
find), then lets gensim load the vectors with their subwords. gensim refuses
supervised models (classifiers); their word vectors are built here from
the same input matrix: the rows themselves (plain `KeyedVectors`) when the
model has no character n-grams (`maxn` 0, fastText's default for
classifiers), else a `FastTextKeyedVectors` as for other models.
A compressed `.bin` is decompressed to a temporary file as its layout is
walked: gensim reads one by its name, slowly, and (gensim 4.4) into wrong
vectors.
"""

import math
import os
import struct
import tempfile

import numpy as np

from keras_embedplus.vectors.keyed_vectors import make_keyed_vectors
from keras_embedplus.vectors.report import VectorFileError

MAGIC = 793712314
_ARGS = struct.Struct("<12id")  # dim, ws, epoch, ..., lrUpdateRate, t
_CHUNK = 1 << 20
_SUPERVISED = 3


def is_fasttext_bin(head):
    """Whether the first bytes `head` start a fastText `.bin` file."""
    if head[:4] == MAGIC.to_bytes(4, "little"):
        return True
    if len(head) < _ARGS.size:
        return False
    return _plausible(_ARGS.unpack_from(head))


def _plausible(args):
    dim, ws, epoch, min_count, neg, ngrams, loss, model = args[:8]
    bucket, minn, maxn, lr_update, t = args[8:]
    return (
        1 <= dim <= 1 << 20
        and 1 <= ws <= 1 << 16
        and 1 <= epoch <= 1 << 20
        and min_count >= 0
        and neg >= 0
        and 1 <= ngrams <= 64
        and 1 <= loss <= 4
        and 1 <= model <= 3
        and bucket >= 0
        and 0 <= minn <= 64
        and 0 <= maxn <= 64
        and lr_update >= 1
        and math.isfinite(t)
        and 0 <= t <= 1
    )


def load_fasttext(opened, path, encoding):
    """Checks the `.bin` file `opened`, then loads it.

    Args:
        opened: `Opened` (of `source`), at its start.
        path: String. The file, for messages and for gensim.
        encoding: String. Encoding of the words.

    Returns:
        A `FastTextKeyedVectors`, or a `KeyedVectors` for a supervised
        model without character n-grams.
    """
    if opened.size is not None:
        return _load(_Layout(opened, path), path, path, encoding)
    # gensim reads a compressed .bin by its name and then returns garbage
    # vectors (gensim 4.4): it loads the copy that the walk of the layout
    # writes of what it decompresses, so the file is decompressed once.
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, "model.bin")
        with open(copy, "wb") as f:
            layout = _Layout(_Copied(opened, f), path)
        return _load(layout, copy, path, encoding)


class _Copied:
    """`opened` (compressed), copying what is read of it to `file`."""

    def __init__(self, opened, file):
        self.head = opened.head
        self.size = None
        self.stream = self
        self._stream = opened.stream
        self._file = file
        file.write(opened.head)

    def read(self, size):
        data = self._stream.read(size)
        self._file.write(data)
        return data


def _load(layout, real, path, encoding):
    if layout.supervised:
        return _supervised_vectors(layout, real, path, encoding)
    from gensim.models.fasttext import load_facebook_vectors

    try:
        return load_facebook_vectors(real, encoding=encoding)
    except Exception as error:  # noqa: BLE001 - gensim's, whatever it is
        raise VectorFileError(
            path,
            "gensim cannot load this fastText .bin file "
            f"({type(error).__name__}: {error}); check that it is a "
            "complete fastText model, or load its .vec file instead",
        ) from None


class _Layout:
    """Walks a `.bin` file's layout; raises at the first inconsistency."""

    def __init__(self, opened, path):
        self.path = path
        self.stream = opened.stream
        self.size = opened.size
        self.buffer = opened.head
        self.start = 0  # Offset in the file of self.buffer[0].
        self.at = 0  # Position in self.buffer.
        self.new_format = opened.head[:4] == MAGIC.to_bytes(4, "little")
        if self.new_format:
            _, version = struct.unpack("<2i", self._take(8, "the header"))
            if version not in (11, 12):
                raise self._error(
                    f"is fastText file version {version}; gensim reads "
                    "versions 11 and 12"
                )
        args = _ARGS.unpack(self._take(_ARGS.size, "the arguments"))
        if not _plausible(args):
            raise self._error(
                f"holds training arguments out of range ({args}): it is "
                "damaged or not a fastText model"
            )
        self.dim, self.model, self.bucket = args[0], args[7], args[8]
        self.minn, self.maxn = args[9], args[10]
        self._dictionary()
        self.input_offset = self._matrix("input", self.nwords + self.bucket)
        self._matrix("output", None)
        if self._fill(1):
            raise self._error(
                f"goes on after the end of the model at byte {self._tell()}: "
                "it is damaged or two files were joined"
            )

    @property
    def supervised(self):
        return self.nlabels > 0 or self.model == _SUPERVISED

    def _dictionary(self):
        size, nwords, nlabels, _ = struct.unpack(
            "<3iq", self._take(20, "the dictionary's header")
        )
        prune = 0
        if self.new_format:
            (prune,) = struct.unpack("<q", self._take(8, "the dictionary"))
        if min(size, nwords, nlabels) < 0 or nwords + nlabels != size:
            raise self._error(
                f"has an impossible dictionary header ({nwords} words + "
                f"{nlabels} labels != {size} entries)"
            )
        self.nwords, self.nlabels = nwords, nlabels
        self.words = []
        for entry in range(size):
            word = self._word(entry)
            _, kind = struct.unpack("<qb", self._take(9, f"entry {entry}"))
            if kind != (0 if entry < nwords else 1):
                raise self._error(
                    f"dictionary entry {entry} has type {kind}, where the "
                    f"header ({nwords} words, then {nlabels} labels) says "
                    f"{0 if entry < nwords else 1}"
                )
            if entry < nwords:
                self.words.append(word)
        self._skip(8 * max(prune, 0), "the pruned-word index")

    def _matrix(self, name, rows):
        what = f"the {name} matrix's header"
        if self.new_format and self._take(1, what) != b"\x00":
            raise self._error(
                f"has a quantized {name} matrix (a .ftz model), which gensim "
                "cannot read; use the unquantized .bin or the .vec file"
            )
        count, dim = struct.unpack("<2q", self._take(16, what))
        if count < 0 or dim != self.dim or (rows is not None and count != rows):
            raise self._error(
                f"declares a {name} matrix of {count} x {dim}, where the "
                f"model's arguments say {rows if rows is not None else 'n'} "
                f"x {self.dim}"
            )
        offset = self._tell()
        self._skip(count * dim * 4, f"the {name} matrix")
        return offset

    def _tell(self):
        return self.start + self.at

    def _error(self, problem):
        return VectorFileError(self.path, problem)

    def _truncated(self, what):
        end = self.start + len(self.buffer)
        return self._error(
            f"ends at byte {end:,}, inside {what}: the file was cut (a "
            "download that stopped?); download or copy it again"
        )

    def _fill(self, count):
        """Makes `count` bytes available at `self.at`; False at the end."""
        while len(self.buffer) - self.at < count:
            more = self.stream.read(max(_CHUNK, count))
            if not more:
                return False
            self.start += self.at
            self.buffer = self.buffer[self.at :] + more
            self.at = 0
        return True

    def _take(self, count, what):
        if not self._fill(count):
            raise self._truncated(what)
        self.at += count
        return self.buffer[self.at - count : self.at]

    def _word(self, entry):
        while True:
            end = self.buffer.find(b"\x00", self.at)
            if end >= 0:
                word = self.buffer[self.at : end]
                self.at = end + 1
                return word
            if not self._fill(len(self.buffer) - self.at + 1):
                raise self._truncated(f"dictionary entry {entry}")

    def _skip(self, count, what):
        target = self._tell() + count
        if self.size is not None:
            if target > self.size:
                self.at = len(self.buffer)
                self.start = self.size - len(self.buffer)
                raise self._truncated(what)
            if target > self.start + len(self.buffer):
                self.stream.seek(target)
                self.start, self.buffer, self.at = target, b"", 0
                return
        while count:
            step = min(count, len(self.buffer) - self.at)
            self.at += step
            count -= step
            if count and not self._fill(1):
                raise self._truncated(what)


def _supervised_vectors(layout, real, path, encoding):
    # As gensim does for the words of other models: invalid bytes are
    # kept as backslash escapes.
    keys = [word.decode(encoding, "backslashreplace") for word in layout.words]
    if len(set(keys)) != len(keys):
        raise VectorFileError(
            path, "repeats a word in its dictionary: it is damaged"
        )
    subwords = layout.maxn > 0 and layout.bucket > 0
    rows = layout.nwords + (layout.bucket if subwords else 0)
    with open(real, "rb") as f:
        f.seek(layout.input_offset)
        values = np.fromfile(f, "<f4", rows * layout.dim)
    matrix = values.astype(np.float32).reshape(rows, layout.dim)
    if not subwords:
        return make_keyed_vectors(keys, matrix)
    # A word's vector is the mean of its row and its n-grams' rows, as for
    # unsupervised models: gensim computes it from the same matrix.
    from gensim.models.fasttext import FastTextKeyedVectors

    kv = FastTextKeyedVectors(
        layout.dim, layout.minn, layout.maxn, layout.bucket, count=0
    )
    kv.index_to_key = keys
    kv.key_to_index = {key: i for i, key in enumerate(keys)}
    kv.vectors = np.zeros((len(keys), layout.dim), np.float32)
    kv.next_index = len(keys)
    kv.init_post_load(matrix)
    return kv
