"""Where readers put the rows they keep: limit, vocabulary, duplicates.

A reader tells the sink the words of each block of rows it has read; the
sink answers which of them to keep (those in the vocabulary filter, and
only the first row of a repeated word) and the reader then parses the
numbers of those rows only. A repeated word thus costs its bytes and one
dictionary lookup, never a row of the matrix.

The matrix is reserved at the first row kept (so that a header is never
trusted before a row has shown its dimension), at an upper bound of the
row count, in an anonymous memory map: pages never written cost no memory,
transparent huge pages make the first writes cheap (one page fault per
2 MiB, not per 4 KiB: half a second saved on 400k x 100 here), and the
final shrink is an in-place `mremap`, so the peak stays near the size of
the kept matrix.
"""

import math
import mmap
import sys

import numpy as np
from gensim.models import KeyedVectors


class RowSink:
    """Collects the kept rows of a reader.

    Args:
        dim: Integer. Values per row.
        report: `LoadReport` to count rows, duplicates and non-finite rows.
        vocabulary: Set-like of the words to keep, or None for all.
        limit: Integer or None. Rows to read at most (duplicates count).
        capacity: Integer. Upper bound of the rows kept, reserved at the
            first row (it grows if the bound was short).
        allow_nonfinite: Boolean. Keep rows with nan or inf values.
    """

    def __init__(
        self, dim, report, *, vocabulary, limit, capacity, allow_nonfinite
    ):
        self.dim = dim
        self.report = report
        self.limit = limit
        self.wanted = vocabulary
        self.allow_nonfinite = allow_nonfinite
        if vocabulary is not None:
            capacity = min(capacity, len(vocabulary))
        if limit is not None:
            capacity = min(capacity, limit)
        self.capacity = max(capacity, 1)
        self.storage = None
        self.keys = []
        self.index = {}
        # True once a repeated word was seen: each block is then checked
        # word by word instead of by one dictionary update.
        self.repeated = False

    def room(self):
        """Rows the reader may still read, or None for no limit."""
        if self.limit is None:
            return None
        return self.limit - self.report.rows

    def select(self, words):
        """Counts `words` as read; returns the positions of those kept."""
        self.report.rows += len(words)
        if self.wanted is None:
            positions = np.arange(len(words))
            kept = words
        else:
            wanted = self.wanted
            positions = [i for i, word in enumerate(words) if word in wanted]
            kept = [words[i] for i in positions]
        index = self.index
        start = len(self.keys)
        if not self.repeated:
            index.update(
                zip(kept, range(start, start + len(kept)), strict=True)
            )
            if len(index) == start + len(kept):
                self.keys.extend(kept)
                return np.asarray(positions, dtype=np.intp)
            # A repeat: the update overwrote first rows; index them again.
            self.repeated = True
            self.index = index = dict(zip(self.keys, range(start), strict=True))
        elif len(set(kept)) == len(kept) and index.keys().isdisjoint(kept):
            index.update(
                zip(kept, range(start, start + len(kept)), strict=True)
            )
            self.keys.extend(kept)
            return np.asarray(positions, dtype=np.intp)
        chosen = []
        for position, word in zip(positions, kept, strict=True):
            if word in index:
                self.report.add_duplicate(word)
            else:
                index[word] = len(self.keys)
                self.keys.append(word)
                chosen.append(position)
        return np.asarray(chosen, dtype=np.intp)

    def append(self, values):
        """Stores the rows of the words last kept by `select`.

        Returns the position in `values` of the first row holding nan or
        inf (after the cast to float32: values beyond its range become
        inf, as in gensim's `np.float32(text)`), or None. Such rows are
        stored and counted only with `allow_nonfinite`.
        """
        end = len(self.keys)
        start = end - len(values)
        if not len(values):
            return None
        if self.storage is None:
            self.storage = _Storage(max(self.capacity, end), self.dim)
        elif end > len(self.storage.array):
            self.storage.grow(max(end, 2 * len(self.storage.array)))
        rows = self.storage.array[start:end]
        with np.errstate(over="ignore", invalid="ignore"):
            rows[...] = values
            # nan or inf make the sum of squares nan or inf; so may huge
            # finite values, which the exact check then clears.
            flat = rows.reshape(-1)
            if math.isfinite(np.dot(flat, flat)):
                return None
        bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
        if not len(bad):
            return None
        if not self.allow_nonfinite:
            return int(bad[0])
        self.report.nonfinite += len(bad)
        return None

    def finish(self):
        """The `KeyedVectors` of the kept rows."""
        count = len(self.keys)
        if self.storage is None:
            vectors = np.empty((0, self.dim), dtype=np.float32)
        else:
            vectors = self.storage.shrink(count)
        self.report.kept = count
        self.report.dim = self.dim
        return make_keyed_vectors(self.keys, vectors, self.index)


class _Storage:
    """float32 rows in a private anonymous memory map (plain numpy where
    the platform has no `mremap`), grown and shrunk in place."""

    def __init__(self, rows, dim):
        self.dim = dim
        self.map = None
        if sys.platform == "linux":  # Where mmap.resize is an mremap.
            self.map = mmap.mmap(
                -1, rows * 4 * dim, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
            )
            if hasattr(mmap, "MADV_HUGEPAGE"):
                self.map.madvise(mmap.MADV_HUGEPAGE)
            self.array = self._view()
        else:
            self.array = np.empty((rows, dim), dtype=np.float32)

    def _view(self):
        return np.frombuffer(self.map, dtype=np.float32).reshape(-1, self.dim)

    def grow(self, rows):
        """Makes room for `rows` rows; callers hold no view of the array."""
        if self.map is None:
            grown = np.empty((rows, self.dim), dtype=np.float32)
            grown[: len(self.array)] = self.array
            self.array = grown
        else:
            self.array = None  # A map with views cannot be resized.
            self.map.resize(rows * 4 * self.dim)
            self.array = self._view()

    def shrink(self, rows):
        """The first `rows` rows, without copying them."""
        if self.map is None:
            self.array.resize((rows, self.dim), refcheck=False)
            return self.array
        self.array = None
        if not rows:
            self.map.close()
            return np.empty((0, self.dim), dtype=np.float32)
        self.map.resize(rows * 4 * self.dim)
        return self._view()


def make_keyed_vectors(keys, vectors, key_to_index=None):
    """A gensim `KeyedVectors` around `keys` and their `vectors` as given."""
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=vectors.dtype)
    kv.index_to_key = keys
    if key_to_index is None:
        key_to_index = dict(zip(keys, range(len(keys)), strict=True))
    kv.key_to_index = key_to_index
    kv.vectors = vectors
    kv.next_index = len(keys)
    return kv
