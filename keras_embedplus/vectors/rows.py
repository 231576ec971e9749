"""Where readers put the rows they keep: limit, vocabulary, duplicates.

A reader tells the sink the words of each block of rows it has read; the
sink answers which of them to keep (in the file's vocabulary filter, not
seen before) and the reader then parses the numbers of those rows only.
The matrix is allocated once at an upper bound of the row count: pages that
are never written cost no memory, and the final shrink is a `realloc`, so
the peak stays near the size of the kept matrix.
"""

import numpy as np
from gensim.models import KeyedVectors


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
        self.matrix = np.empty((max(capacity, 1), dim), dtype=np.float32)
        self.keys = []
        self.key_to_index = {}

    def room(self):
        """Rows the reader may still read, or None for no limit."""
        if self.limit is None:
            return None
        return self.limit - self.report.rows

    def select(self, words):
        """Counts `words` as read; returns the positions of those kept."""
        self.report.rows += len(words)
        if self.wanted is None:
            positions = range(len(words))
            candidates = words
        else:
            positions = [
                i for i, word in enumerate(words) if word in self.wanted
            ]
            candidates = [words[i] for i in positions]
        start = len(self.keys)
        # Reversed, so that the first of repeated words wins.
        fresh = dict(
            zip(
                reversed(candidates),
                range(start + len(candidates) - 1, start - 1, -1),
                strict=True,
            )
        )
        if len(fresh) == len(
            candidates
        ) and self.key_to_index.keys().isdisjoint(fresh):
            self.key_to_index.update(fresh)
            self.keys.extend(candidates)
            return np.asarray(positions, dtype=np.intp)
        kept = []
        for position, word in zip(positions, candidates, strict=True):
            if word in self.key_to_index:
                self.report.add_duplicate(word)
                continue
            self.key_to_index[word] = len(self.keys)
            self.keys.append(word)
            kept.append(position)
        return np.asarray(kept, dtype=np.intp)

    def append(self, values):
        """Stores the rows of the words last kept by `select`."""
        end = len(self.keys)
        start = end - len(values)
        if end > len(self.matrix):
            grown = np.empty(
                (max(end, 2 * len(self.matrix)), self.dim), np.float32
            )
            grown[:start] = self.matrix[:start]
            self.matrix = grown
        # Values beyond float32 become inf, as in gensim's np.float32(text).
        with np.errstate(over="ignore"):
            self.matrix[start:end] = values

    def finish(self):
        """The `KeyedVectors` of the kept rows."""
        count = len(self.keys)
        # In place (realloc): no second copy of the matrix.
        self.matrix.resize((count, self.dim), refcheck=False)
        self.report.kept = count
        self.report.dim = self.dim
        return make_keyed_vectors(self.keys, self.matrix, self.key_to_index)


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
