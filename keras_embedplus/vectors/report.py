"""What a vector file turned out to hold, and the error for a bad one."""

import dataclasses

_EXAMPLES = 5


class VectorFileError(ValueError):
    """A vector file that cannot be read as the format it claims to be.

    The message names the file and where the problem is: the 1-based line
    of a text file, or the 1-based record and byte offset of a binary file,
    then what is wrong and, when there is one, what to do about it.

    Args:
        path: String. The file.
        problem: String. What is wrong there.
        line: Integer or None. 1-based line of a text file.
        record: Integer or None. 1-based record of a binary file.
        offset: Integer or None. Byte offset of that record.

    Example:

    >>> error = keras_embedplus.vectors.VectorFileError(
    ...     "glove.txt", "has 2 values, expected 3", line=7)
    >>> str(error)
    'glove.txt, line 7: has 2 values, expected 3'
    """

    def __init__(self, path, problem, *, line=None, record=None, offset=None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.record = record
        self.offset = offset
        place = where(line=line, record=record, offset=offset)
        located = f"{self.path}, {place}" if place else self.path
        super().__init__(f"{located}: {problem}")


def where(*, line=None, record=None, offset=None):
    """ "line 7", "record 3 (byte 120)", or "" where nothing is known."""
    if line is not None:
        return f"line {line}"
    if record is not None:
        return f"record {record} (byte {offset})"
    return ""


class VectorFileWarning(UserWarning):
    """A vector file was read only in part (`on_truncation="warn"`)."""


@dataclasses.dataclass
class LoadReport:
    """What `read_vectors` found in a vector file.

    Args:
        path: String. The file or cache directory read.
        format: String. The format it was read as (see `load_vectors`).
        dim: Integer. Number of values per vector.
        rows: Integer. Vectors read from the file, duplicates included
            (after `limit`, before `vocabulary` filtering).
        kept: Integer. Vectors in the returned `KeyedVectors`.
        header_count: Integer or None. Row count declared by a word2vec
            header. A file whose rows disagree with it raises, unless read
            with `on_truncation="warn"` (see `header_mismatch`).
        duplicates: Integer. Rows whose word appeared earlier (the first
            one is kept).
        duplicate_examples: List of up to 5 such words.
        tokens_with_spaces: Integer. Rows whose word contains spaces
            (read as everything before the last `dim` fields).
        tokens_with_spaces_examples: List of up to 5 such words.
        lines_skipped: Integer. Blank lines ignored.
        nonfinite: Integer. Rows holding nan or inf (kept only with
            `allow_nonfinite=True`; otherwise such a row is an error).
        truncated: String or None. With `on_truncation="warn"`, what the
            file lacked or what was dropped because it was cut short.

    Example:

    >>> report = keras_embedplus.vectors.LoadReport(
    ...     "glove.txt", "glove", dim=50, rows=3, kept=3)
    >>> report.header_mismatch
    False
    """

    path: str
    format: str
    dim: int = 0
    rows: int = 0
    kept: int = 0
    header_count: int | None = None
    duplicates: int = 0
    duplicate_examples: list = dataclasses.field(default_factory=list)
    tokens_with_spaces: int = 0
    tokens_with_spaces_examples: list = dataclasses.field(default_factory=list)
    lines_skipped: int = 0
    nonfinite: int = 0
    truncated: str | None = None

    @property
    def header_mismatch(self):
        """True when a header declared another row count than was read."""
        return self.header_count is not None and self.header_count != (
            self.rows
        )

    def add_duplicate(self, word):
        self.duplicates += 1
        if len(self.duplicate_examples) < _EXAMPLES:
            self.duplicate_examples.append(word)

    def add_token_with_spaces(self, word):
        self.tokens_with_spaces += 1
        if len(self.tokens_with_spaces_examples) < _EXAMPLES:
            self.tokens_with_spaces_examples.append(word)

    def __str__(self):
        lines = [
            f"{self.path} ({self.format}): {self.kept} vectors of "
            f"dimension {self.dim} kept out of {self.rows} read",
        ]
        if self.header_count is not None:
            note = " (does not match)" if self.header_mismatch else ""
            lines.append(f"  header declares {self.header_count} rows{note}")
        if self.duplicates:
            lines.append(
                f"  {_count(self.duplicates, 'duplicate word')}, first kept: "
                f"{_examples(self.duplicate_examples)}"
            )
        if self.tokens_with_spaces:
            words = _count(self.tokens_with_spaces, "word")
            lines.append(
                f"  {words} containing spaces: "
                f"{_examples(self.tokens_with_spaces_examples)}"
            )
        if self.lines_skipped:
            blank = _count(self.lines_skipped, "blank line")
            lines.append(f"  {blank} skipped")
        if self.nonfinite:
            rows = _count(self.nonfinite, "row")
            lines.append(f"  {rows} with nan or inf values kept")
        if self.truncated:
            lines.append(f"  truncated: {self.truncated}")
        return "\n".join(lines)


def _count(number, noun):
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _examples(words):
    return ", ".join(repr(word) for word in words)
