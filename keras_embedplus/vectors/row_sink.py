"""Where readers put the rows they keep: limit, vocabulary, duplicates.

A reader tells the sink the words of each block of rows it has read; the
sink answers which of them to parse (those in the vocabulary filter) and
stores the first row of each word. The numbers of every row parsed are
checked (nan, inf), repeats included, so what is valid never depends on
where a repeat falls. Until a first repeat, words are indexed in batches
(small inserts into a big dictionary between the blocks' numpy work miss
the caches): the batch that finds a repeat has its rows compacted, and
from then on each block's words are checked one by one and a repeat's row
is never stored. A repeated word thus costs its bytes, and at most one
batch of rows.

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

from keras_embedplus.vectors.keyed_vectors import make_keyed_vectors

_INDEX_BATCH = 1 << 15
# Rows reserved when the file size is unknown (compressed): this many
# bytes of float32 at most, then the matrix grows as rows come.
_UNKNOWN_SIZE_BYTES = 64 << 20


def unknown_size_rows(dim):
    """Rows to reserve for a file of unknown size (compressed)."""
    return max(1, _UNKNOWN_SIZE_BYTES // (4 * dim))


class RowSink:
    """Collects the kept rows of a reader.

    Args:
        dim: Integer. Values per row.
        report: `LoadReport` to count rows, duplicates and non-finite rows.
        options: `ReadOptions`. Its `vocabulary` (the words to keep, or
            None for all), `limit` (rows to read at most, duplicates
            included) and `allow_nonfinite` (keep rows with nan or inf).
        capacity: Integer. Upper bound of the rows kept, reserved at the
            first row (it grows if the bound was short).
    """

    def __init__(self, dim, report, options, *, capacity):
        self.dim = dim
        self.report = report
        self.limit = limit = options.limit
        self.wanted = vocabulary = options.vocabulary
        self.allow_nonfinite = options.allow_nonfinite
        if vocabulary is not None:
            capacity = min(capacity, len(vocabulary))
        if limit is not None:
            capacity = min(capacity, limit)
        self.capacity = max(capacity, 1)
        self.storage = None
        self.keys = []
        self.index = {}
        # True once a repeated word was seen: each block is then checked
        # word by word instead of indexed in batches.
        self.repeated = False
        # Which rows of the last `select` to store, or None for all.
        self.store = None

    def room(self):
        """Rows the reader may still read, or None for no limit."""
        if self.limit is None:
            return None
        return self.limit - self.report.rows

    def select(self, words):
        """Counts `words` as read; returns the positions of those to parse
        (all but the ones outside the vocabulary), in order."""
        self.report.rows += len(words)
        if self.wanted is None:
            positions = np.arange(len(words))
            kept = words
        else:
            wanted = self.wanted
            positions = [i for i, word in enumerate(words) if word in wanted]
            kept = [words[i] for i in positions]
            positions = np.array(positions, dtype=np.intp)
        self.store = None
        if not self.repeated:
            self.keys.extend(kept)
            return positions
        index = self.index
        store = np.zeros(len(kept), dtype=bool)
        for j, word in enumerate(kept):
            if word in index:
                self.report.add_duplicate(word)
            else:
                index[word] = len(self.keys)
                self.keys.append(word)
                store[j] = True
        if not store.all():
            self.store = store
        return positions

    def append(self, values):
        """Stores the rows parsed for the words of the last `select` (the
        first of each word).

        Returns the position in `values` of the first row holding nan or
        inf (after the cast to float32: values beyond its range become
        inf, as in gensim's `np.float32(text)`), or None. Such rows are
        kept and counted only with `allow_nonfinite`.
        """
        store = self.store
        stored = values if store is None else values[store]
        bad = None
        if len(stored):
            bad = self._store_rows(stored)
            if bad is not None and store is not None:
                bad = int(np.flatnonzero(store)[bad])
        if store is not None and not store.all():
            with np.errstate(over="ignore"):
                dropped = values[~store].astype(np.float32)
            rows = np.flatnonzero(~np.isfinite(dropped).all(axis=1))
            if len(rows) and not self.allow_nonfinite:
                first = int(np.flatnonzero(~store)[rows[0]])
                bad = first if bad is None else min(bad, first)
        if not self.repeated and len(self.keys) - len(self.index) >= (
            _INDEX_BATCH
        ):
            self._index_batch()
        return bad

    def _store_rows(self, values):
        end = len(self.keys)
        start = end - len(values)
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

    def _index_batch(self):
        """Indexes the keys stored since the last batch; on a repeat,
        keeps the first row of each word and checks word by word from then
        on."""
        start = len(self.index)
        count = len(self.keys)
        self.index.update(
            zip(self.keys[start:], range(start, count), strict=True)
        )
        if len(self.index) == count:
            return
        self.repeated = True
        index = self.index = dict(
            zip(self.keys[:start], range(start), strict=True)
        )
        keep = []
        for i in range(start, count):
            word = self.keys[i]
            if word in index:
                self.report.add_duplicate(word)
            else:
                index[word] = start + len(keep)
                keep.append(i)
        matrix = self.storage.array
        matrix[start : start + len(keep)] = matrix[keep]  # A copy first.
        matrix = None
        self.keys[start:] = [self.keys[i] for i in keep]

    def finish(self):
        """The `KeyedVectors` of the kept rows."""
        if not self.repeated:
            self._index_batch()
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
