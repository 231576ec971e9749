"""Where readers put the rows they keep: limit, vocabulary, duplicates.

A reader tells the sink the words of each block of rows it has read; the
sink answers which of them to keep (those in the vocabulary filter) and the
reader then parses the numbers of those rows only. Repeated words are
resolved once at the end, in one dictionary pass (the first row of a word
wins), and the matrix compacted in place.

The matrix is reserved once at an upper bound of the row count, in an
anonymous memory map: pages never written cost no memory, transparent huge
pages make the first writes cheap (one page fault per 2 MiB, not per 4 KiB:
half a second saved on 400k x 100 here), and the final shrink is an
in-place `mremap`, so the peak stays near the size of the kept matrix.
"""

import mmap
import sys

import numpy as np
from gensim.models import KeyedVectors

_COMPACT_ROWS = 4096
_INDEX_BATCH = 1 << 15


class RowSink:
    def __init__(self, dim, report, *, vocabulary, limit, capacity):
        self.dim = dim
        self.report = report
        self.limit = limit
        self.wanted = vocabulary
        if vocabulary is not None:
            capacity = min(capacity, len(vocabulary))
        if limit is not None:
            capacity = min(capacity, limit)
        self.storage = _Storage(max(capacity, 1), dim)
        self.keys = []
        self.index = {}
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
            positions = np.array(positions, dtype=np.intp)
        self.keys.extend(kept)
        if (
            not self.repeated
            and len(self.keys) - len(self.index) >= _INDEX_BATCH
        ):
            self._index()
        return positions

    def _index(self):
        """Adds the keys read since the last call to the dictionary.

        Built as the rows come, like gensim, so that the dictionary's growth
        does not add to the peak once the matrix is full; in batches, since
        a few inserts per block cost a cache miss each.
        """
        start = len(self.index)
        new = self.keys[start:]
        self.index.update(zip(new, range(start, len(self.keys)), strict=True))
        if len(self.index) < len(self.keys):
            self.repeated = True
            self.index = {}

    def append(self, values):
        """Stores the rows of the words last kept by `select`."""
        end = len(self.keys)
        start = end - len(values)
        if end > len(self.storage.array):
            self.storage.grow(max(end, 2 * len(self.storage.array)))
        # Values beyond float32 become inf, as in gensim's np.float32(text).
        with np.errstate(over="ignore"):
            self.storage.array[start:end] = values

    def finish(self):
        """The `KeyedVectors` of the kept rows, first of repeated words."""
        keys = self.keys
        count = len(keys)
        if not self.repeated:
            self._index()
        key_to_index = self.index
        if self.repeated:  # The first row of a repeated word wins.
            key_to_index = None
            first = dict(
                zip(reversed(keys), range(count - 1, -1, -1), strict=True)
            )
            keep = np.sort(np.fromiter(first.values(), np.intp, len(first)))
            first = self.index = None
            dropped = np.ones(count, dtype=bool)
            dropped[keep] = False
            for i in np.flatnonzero(dropped):
                self.report.add_duplicate(keys[i])
            matrix = self.storage.array
            for start in range(0, len(keep), _COMPACT_ROWS):
                rows = keep[start : start + _COMPACT_ROWS]
                # Rows only move up: a block never overwrites later sources.
                matrix[start : start + len(rows)] = matrix[rows]
            matrix = None
            keys = [keys[i] for i in keep.tolist()]
            count = len(keys)
        vectors = self.storage.shrink(count)
        self.report.kept = count
        self.report.dim = self.dim
        return make_keyed_vectors(keys, vectors, key_to_index)


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
