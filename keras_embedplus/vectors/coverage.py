"""`Coverage`: how much of a vocabulary pretrained vectors cover."""

import dataclasses

import numpy as np

_EXAMPLES = 10


@dataclasses.dataclass(frozen=True, eq=False)
class Coverage:
    """How much of a vocabulary found pretrained vectors, and which rows not.

    `align_vectors` returns one next to the matrix. Every row of the matrix
    is either reserved (the padding row, the OOV rows that unknown tokens
    map to, and rows no token maps to) or holds a word. Each word is found
    as written, found in another case (the lowercase fallback: "Hope"
    takes the vector of "hope"), or missing. A missing word gets its
    row from the OOV policy, which for `oov="subword"` builds it from
    the word's character n-grams (fastText).

    Args:
        total: Integer. Number of rows.
        reserved: Integer. Rows that are not words: padding, OOV and unused
            rows. They are not counted as missing.
        found: Integer. Words found as written.
        found_lowercase: Integer. Words found in another case.
        found_subword: Integer. Missing words that got a vector built from
            their subwords (`oov="subword"`); they stay in `missing`.
        missing: Tuple of strings. The words with no pretrained vector, in
            vocabulary order.
        oov_mask: Boolean array of shape `(total,)`. `True` for the rows
            that got no pretrained vector and were filled by the OOV
            policy: missing words (subword-built ones too, as they are
            estimates) and the OOV rows. `False` for pretrained rows and for
            padding and unused rows, which stay zero.
            `PretrainedEmbedding(trainable_oov=True)` trains these rows.

    Example:

    >>> import numpy as np
    >>> from keras_embedplus.vectors import Coverage
    >>> coverage = Coverage(
    ...     total=5, reserved=1, found=2, found_lowercase=1, found_subword=0,
    ...     missing=("qwzx",),
    ...     oov_mask=np.array([False, False, False, False, True]))
    >>> coverage.ratio
    0.75
    >>> print(coverage)
    Coverage: 3 of 4 words (75.0%) have pretrained vectors
      found as written:      2
      found in another case: 1
      missing:               1, e.g. 'qwzx'
      reserved rows:         1 (padding, OOV or unused; not words)
    """

    total: int
    reserved: int
    found: int
    found_lowercase: int
    found_subword: int
    missing: tuple
    oov_mask: np.ndarray

    @property
    def words(self):
        """Integer. Number of rows that hold words (`total - reserved`)."""
        return self.total - self.reserved

    @property
    def ratio(self):
        """Float. Share of the words that found a pretrained vector."""
        if not self.words:
            return 0.0
        return (self.found + self.found_lowercase) / self.words

    def __str__(self):
        covered = self.found + self.found_lowercase
        missing = f"{len(self.missing):,}"
        if self.found_subword:
            missing += f" ({self.found_subword:,} built from subwords)"
        if self.missing:
            examples = ", ".join(map(repr, self.missing[:_EXAMPLES]))
            more = ", ..." if len(self.missing) > _EXAMPLES else ""
            missing += f", e.g. {examples}{more}"
        lines = [
            f"Coverage: {covered:,} of {self.words:,} words "
            f"({_percent(covered, self.words)}) have pretrained vectors",
            f"found as written:      {self.found:,}",
            f"found in another case: {self.found_lowercase:,}",
            f"missing:               {missing}",
            f"reserved rows:         {self.reserved:,} "
            "(padding, OOV or unused; not words)",
        ]
        return "\n  ".join(lines)

    def __repr__(self):
        return (
            f"Coverage(found={self.found}, "
            f"found_lowercase={self.found_lowercase}, "
            f"found_subword={self.found_subword}, "
            f"missing={len(self.missing)}, reserved={self.reserved}, "
            f"total={self.total}, ratio={self.ratio:.4g})"
        )


def _percent(part, whole):
    """`part / whole` as a percentage that never rounds to 0% or 100%."""
    if not whole:
        return "0.0%"
    text = f"{100 * part / whole:.1f}%"
    if text == "100.0%" and part < whole:
        return ">99.9%"
    if text == "0.0%" and part > 0:
        return "<0.1%"
    return text
