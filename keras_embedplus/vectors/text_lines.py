"""Lines of a text vector file: how they come, and the rules of one line.

The rules: runs of spaces and tabs separate fields; trailing whitespace
and the CR of CRLF end the line; the values are the last `dim` fields and
the word is everything before the whitespace that precedes them (so it
may hold spaces, but never ends in one). A line whose extra fields are
all numbers is a ragged row, not a word with spaces. `split_fields` and
`count_values` apply them to a line (format detection uses them too);
`LineRules` reads one line by them: the reader's fast path reproduces it
for the regular lines and hands it every other line.
"""

import collections
import re

import numpy as np

from keras_embedplus.vectors import float_parsing
from keras_embedplus.vectors.report import VectorFileError

# float_parsing reads the 16 bytes that end at each field's end.
PAD = 16
NEWLINE = 10
SPACE = 32
BLOCK = 1 << 18
# No real field is this long: a longer run without a separator is not a
# vector file, and reading on would hold it all in memory.
_MAX_FIELD = 1 << 20
# Runs of spaces and tabs separate fields.
_SEPARATORS = re.compile(rb"[ \t]+")
# Whitespace that ends a line: space, tab, CR, vertical tab, form feed.
TRAILING = b" \t\r\x0b\x0c"


def split_fields(line):
    """The fields of a text line (without its newline).

    Runs of spaces and tabs separate fields; trailing whitespace (and the
    CR of CRLF) ends the line; leading whitespace leaves an empty first
    field (an empty word).
    """
    return _SEPARATORS.split(line.rstrip(TRAILING))


def count_values(line):
    """Number of values on a text line: its fields after the first."""
    return len(split_fields(line)) - 1


def majority_dim(lines):
    """Most common value count of the non-blank `lines`, or None."""
    counts = collections.Counter(
        count_values(line) for line in lines if line.strip()
    )
    return counts.most_common(1)[0][0] if counts else None


def blocks(stream, head, tick, where):
    """Yields (uint8 array, lo, hi, terminated): whole lines in
    `array[lo:hi]`; a last line without a newline comes alone, with
    one added and `terminated` False."""
    buf = bytearray(PAD + max(BLOCK, len(head)) + 1)
    fill = PAD + len(head)
    buf[PAD:fill] = head
    eof = False
    while True:
        # One spare byte for a newline missing at the end of the file.
        while fill < len(buf) - 1 and not eof:
            with memoryview(buf) as view:
                n = stream.readinto(view[fill : len(buf) - 1])
            eof = not n
            fill += n or 0
            tick(n or 0)
        cut = buf.rfind(b"\n", PAD, fill) + 1
        terminated = True
        if not cut:
            if not eof:  # A line longer than the buffer.
                _check_long_line(buf, fill, where)
                bigger = bytearray(2 * len(buf))
                bigger[:fill] = buf[:fill]
                buf = bigger
                continue
            if fill == PAD:
                return
            buf[fill] = NEWLINE
            fill += 1
            cut = fill
            terminated = False
        yield np.frombuffer(buf, dtype=np.uint8), PAD, cut, terminated
        rest = fill - cut
        buf[PAD : PAD + rest] = buf[cut:fill]
        fill = PAD + rest
        if eof and not rest:
            return


def _check_long_line(buf, fill, where):
    """Refuses a line whose fields are too long to be a vector's."""
    array = np.frombuffer(buf, dtype=np.uint8, count=fill)[PAD:]
    seps = np.flatnonzero(array <= SPACE)
    bounds = np.concatenate([[-1], seps, [len(array)]])
    longest = int(np.diff(bounds).max()) - 1
    if longest > _MAX_FIELD:
        path, line = where()
        raise VectorFileError(
            path,
            f"a field of more than {_MAX_FIELD:,} bytes without a space "
            "or line break: this is not a text vector file (pass "
            "format= if it is another kind)",
            line=line,
        )


class LineRules:
    """The rules of one line, with the file's path, encoding and dim."""

    def __init__(self, path, encoding, dim, dim_source):
        self.path = path
        self.encoding = encoding
        self.dim = dim
        self.dim_source = dim_source

    def odd_line(self, raw, number):
        """(word, value fields, whether the word holds separators) of a
        line that is not regular, or `VectorFileError` if it has too few
        or too many values. `raw` is the line without its newline and
        trailing whitespace; the values are parsed by `values`."""
        dim = self.dim
        parts = split_fields(raw)
        n_values = len(parts) - 1
        word_parts = parts[: len(parts) - dim]
        if n_values < dim or (
            len(word_parts) > 1 and all(map(is_number, word_parts[1:]))
        ):
            raise VectorFileError(
                self.path,
                f"has {n_values} values; expected {dim} ({self.dim_source})",
                line=number,
            )
        # The word ends where the whitespace before the values starts.
        runs = list(_SEPARATORS.finditer(raw))
        word = self.decode(raw[: runs[len(word_parts) - 1].start()], number)
        return word, parts[-dim:], len(word_parts) > 1

    def values(self, fields, number):
        """float64 values of the value fields of an odd line."""
        texts = [self.decode(field, number) for field in fields]
        try:
            return float_parsing.to_float64(texts)
        except ValueError:
            bad = float_parsing.first_bad_number(texts)
            raise VectorFileError(
                self.path,
                f"value {bad + 1} ({texts[bad]!r}) is not a number",
                line=number,
            ) from None

    def numbers(self, buf, rows, numbers):
        """float64 values of the fields between the separators `rows` of
        regular lines, whose 1-based line numbers are `numbers`."""
        starts = rows[:, :-1] + 1
        ends = rows[:, 1:]
        fallback = {}

        def texts_of(flat):
            fallback["flat"] = flat
            fallback["texts"] = [
                self.decode(buf[s:e].tobytes(), int(numbers[i // self.dim]))
                for i, s, e in zip(
                    flat.tolist(),
                    starts.ravel()[flat].tolist(),
                    ends.ravel()[flat].tolist(),
                    strict=True,
                )
            ]
            return fallback["texts"]

        try:
            return float_parsing.parse_fields(buf, starts, ends, texts_of)
        except VectorFileError:
            raise
        except ValueError:
            if "texts" not in fallback:
                raise
            bad = float_parsing.first_bad_number(fallback["texts"])
            flat = fallback["flat"][bad]
            raise VectorFileError(
                self.path,
                f"value {flat % self.dim + 1} "
                f"({fallback['texts'][bad]!r}) is not a number",
                line=int(numbers[flat // self.dim]),
            ) from None

    def decode(self, raw, number):
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as error:
            raise VectorFileError(
                self.path,
                f"{raw[:40]!r} is not valid {self.encoding} "
                f"({error.reason}); pass the file's encoding, e.g. "
                "encoding='latin-1'",
                line=number,
            ) from None


def fold_trailing_whitespace(seps, kinds, newlines):
    """Moves each line's end back over trailing whitespace (and CR).

    Returns the separators without those whitespace bytes, their kinds,
    the newlines' indices among them, and each line's end, which also
    replaces the newline's position in the separators so that the last
    value of a line ends there.
    """
    ends = seps[newlines]
    previous = newlines - 1
    dropped = []
    while True:
        at = np.maximum(previous, 0)
        kind = kinds[at]
        trailing = (
            (previous >= 0)
            & (seps[at] == ends - 1)
            & ((kind == SPACE) | ((kind >= 9) & (kind <= 13) & (kind != 10)))
        )
        if not trailing.any():
            break
        ends[trailing] = seps[at[trailing]]
        dropped.append(at[trailing])
        previous -= trailing
    if dropped:
        keep = np.ones(len(seps), dtype=bool)
        keep[np.concatenate(dropped)] = False
        seps = seps[keep]
        kinds = kinds[keep]
        newlines = np.flatnonzero(kinds == NEWLINE)
    seps[newlines] = ends
    return seps, kinds, newlines, ends


def nonfinite_problem(values):
    """Says which of `values` (float64) is nan or inf as float32."""
    with np.errstate(over="ignore"):
        column = int(np.flatnonzero(~np.isfinite(values.astype("f4")))[0])
    value = values[column]
    what = repr(float(value))
    if np.isfinite(value):
        what += ", beyond the float32 range (it would be read as inf)"
    return (
        f"value {column + 1} is {what}. One nan or inf spreads into "
        "everything computed from the vectors (e.g. the mean behind "
        "oov='mean' or 'random'): fix the file, or pass "
        "allow_nonfinite=True to keep such rows"
    )


def is_number(raw):
    try:
        float(raw)
    except ValueError:
        return False
    return True


def short(raw, limit=40):
    text = raw.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")
