"""The fast reader of text vector files: GloVe, word2vec and fastText .vec.

GloVe files have no header; word2vec and fastText `.vec` files start with a
"count dim" line. The file is read in 256 KiB blocks of whole lines. In each
block numpy finds every byte <= 32 (the separators) and from them the
lines. A line whose separators are exactly `dim` spaces and its newline,
once trailing whitespace (and the CR of CRLF) is folded into the newline,
is *regular*: regular lines are read without Python work per line, their
words gathered and decoded in one call and their numbers parsed by
`float_fields`. Every other line (a word containing spaces, a ragged row,
tabs or control bytes) goes through `_odd_line`, a plain Python parser that
defines the semantics the fast path reproduces and raises the error for a
bad line. Blank lines are skipped and counted.
"""

import numpy as np

from keras_embedplus.vectors import float_fields
from keras_embedplus.vectors.detect import BOM
from keras_embedplus.vectors.detect import count_values
from keras_embedplus.vectors.detect import majority_dim
from keras_embedplus.vectors.detect import parse_header
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.rows import RowSink

BLOCK = 1 << 18
# float_fields reads the 16 bytes that end at each field's end.
_PAD = 16
_SAMPLE_LINES = 100
_NEWLINE = 10
_SPACE = 32


def read_text(stream, head, report, *, header, encoding, **sink_args):
    """Reads a text vector file into a `KeyedVectors`, filling `report`.

    Args:
        stream: binary file object positioned after `head`.
        head: bytes already read from the start of the file.
        report: `LoadReport` to fill in.
        header: Boolean. Whether line 1 is a "count dim" header.
        encoding: String. Encoding of the words (ASCII-compatible).
        **sink_args: `vocabulary`, `limit`, `size` (bytes, or None when
            unknown) and `tick` (called with the bytes read).
    """
    return _TextReader(
        stream, head, report, header, encoding, **sink_args
    ).read()


class _TextReader:
    def __init__(
        self,
        stream,
        head,
        report,
        header,
        encoding,
        vocabulary,
        limit,
        size,
        tick,
    ):
        self.stream = stream
        self.head = head
        self.report = report
        self.header = header
        self.encoding = encoding
        self.vocabulary = vocabulary
        self.limit = limit
        self.size = size
        self.tick = tick
        self.sink = None
        self.dim = None
        self.dim_source = ""
        self.line_base = 0
        self.done = False

    def read(self):
        for buf, lo, hi in self._blocks():
            if self.sink is None:
                lo = self._start(buf, lo, hi)
            self._block(buf, lo, hi)
            if self.done:
                break
        if self.sink is None or not (
            self.report.rows or self.report.header_count is not None
        ):
            raise VectorFileError(self.report.path, "the file is empty", line=1)
        return self.sink.finish()

    def _blocks(self):
        """Yields (uint8 array, lo, hi): whole lines in `array[lo:hi]`."""
        buf = bytearray(_PAD + max(BLOCK, len(self.head)) + 1)
        fill = _PAD + len(self.head)
        buf[_PAD:fill] = self.head
        eof = False
        while True:
            # One spare byte for a newline missing at the end of the file.
            while fill < len(buf) - 1 and not eof:
                with memoryview(buf) as view:
                    n = self.stream.readinto(view[fill : len(buf) - 1])
                eof = not n
                fill += n or 0
                self.tick(n or 0)
            cut = buf.rfind(b"\n", _PAD, fill) + 1
            if not cut:
                if not eof:  # A line longer than the buffer.
                    bigger = bytearray(2 * len(buf))
                    bigger[:fill] = buf[:fill]
                    buf = bigger
                    continue
                if fill == _PAD:
                    return
                buf[fill] = _NEWLINE
                fill += 1
                cut = fill
            yield np.frombuffer(buf, dtype=np.uint8), _PAD, cut
            rest = fill - cut
            buf[_PAD : _PAD + rest] = buf[cut:fill]
            fill = _PAD + rest
            if eof and not rest:
                return

    def _start(self, buf, lo, hi):
        """Reads the BOM, header and dimension; returns where rows begin."""
        path = self.report.path
        if self.encoding.replace("_", "-").lower().startswith("utf-8"):
            if buf[lo : lo + 3].tobytes() == BOM:
                lo += 3
        text = buf[lo:hi].tobytes()
        first = text[: text.index(b"\n")]
        declared = parse_header(first)
        if self.header:
            if declared is None:
                raise VectorFileError(
                    path,
                    f"{_short(first)} is not a word2vec header "
                    "'<count> <dim>'; for a file without one use "
                    "format='glove' (or 'auto')",
                    line=1,
                )
            count, dim = declared
            if not dim:
                raise VectorFileError(
                    path, "the header declares dimension 0", line=1
                )
            self.report.header_count = count
            self.dim_source = "declared by the header on line 1"
            self.line_base = 1
            lo += len(first) + 1
        else:
            sample = text.split(b"\n", _SAMPLE_LINES)[:_SAMPLE_LINES]
            # A header-like first line does not vote.
            dim = majority_dim(sample[1:] if declared else sample)
            if dim is None:
                dim = max(count_values(first), 1)
            if declared is not None and count_values(first) != dim:
                raise VectorFileError(
                    path,
                    f"{_short(first)} looks like a word2vec header, so this "
                    "is not a GloVe file; use format='word2vec' (or 'auto')",
                    line=1,
                )
            self.dim_source = "the count on most of the first lines"
        self.dim = dim
        # Rows expected, from the first block's line length; the matrix
        # grows (in place on Linux) if the guess was short.
        lines = text.count(b"\n") + 1
        if self.size:
            capacity = int(1.1 * self.size * lines / len(text)) + 1024
        else:
            capacity = max(self.report.header_count or 0, 1 << 16)
        self.sink = RowSink(
            dim,
            self.report,
            vocabulary=self.vocabulary,
            limit=self.limit,
            capacity=capacity,
        )
        return lo

    def _block(self, buf, lo, hi):
        dim = self.dim
        seps = np.flatnonzero(buf[lo:hi] <= _SPACE)
        seps += lo
        kinds = buf[seps]
        newlines = np.flatnonzero(kinds == _NEWLINE)
        starts = np.empty_like(newlines)
        starts[0] = lo
        starts[1:] = seps[newlines[:-1]] + 1
        seps, kinds, newlines, ends = _fold_trailing_whitespace(
            seps, kinds, newlines
        )
        counts = np.diff(newlines, prepend=-1)
        blank = ends == starts
        regular = (counts == dim + 1) & ~blank
        odd = np.flatnonzero((kinds != _SPACE) & (kinds != _NEWLINE))
        if len(odd):
            regular[np.searchsorted(newlines, odd)] = False
        n_lines = len(newlines)
        room = self.sink.room()
        if room is not None:
            data = np.flatnonzero(~blank)
            if len(data) >= room:
                n_lines = data[room - 1] + 1 if room else 0
                self.done = True
        blank = blank[:n_lines]
        regular = regular[:n_lines]
        first_sep = np.empty(n_lines, dtype=np.intp)
        first_sep[:1] = 0
        first_sep[1:] = newlines[: n_lines - 1] + 1
        self.report.lines_skipped += int(blank.sum())

        lines = np.flatnonzero(~blank)
        reg = np.flatnonzero(regular)
        words = self._words(buf, starts[reg], seps[first_sep[reg]], reg)
        odd_values = {}
        if len(reg) < len(lines):
            words, odd_values = self._merge_odd_lines(
                buf, lines, reg, words, starts, ends
            )
        keep = self.sink.select(words)
        kept_lines = lines[keep]
        if len(reg) == n_lines and len(keep) == n_lines:
            rows = seps[: n_lines * (dim + 1)].reshape(n_lines, dim + 1)
            values = self._numbers(buf, rows, kept_lines)
        else:
            is_reg = regular[kept_lines]
            values = np.empty((len(keep), dim))
            rows = seps[
                first_sep[kept_lines[is_reg]][:, None] + np.arange(dim + 1)
            ]
            values[is_reg] = self._numbers(buf, rows, kept_lines[is_reg])
            for j in np.flatnonzero(~is_reg):
                values[j] = odd_values[keep[j]]
        self.sink.append(values)
        self.line_base += n_lines

    def _merge_odd_lines(self, buf, lines, reg, reg_words, starts, ends):
        """Words of all data lines in order, and the odd lines' values."""
        words = [None] * len(lines)
        for position, word in zip(
            np.searchsorted(lines, reg).tolist(), reg_words, strict=True
        ):
            words[position] = word
        odd_values = {}
        odd = np.setdiff1d(lines, reg, assume_unique=True)
        for line, position in zip(
            odd.tolist(), np.searchsorted(lines, odd).tolist(), strict=True
        ):
            raw = buf[starts[line] : ends[line]].tobytes()
            word, values = self._odd_line(raw, self.line_base + line + 1)
            words[position] = word
            odd_values[position] = values
        return words, odd_values

    def _words(self, buf, starts, ends, lines):
        """Decoded words `buf[starts[i]:ends[i]]`, in one decode call."""
        if not len(starts):
            return []
        lengths = ends - starts + 1  # With the separator after each word.
        offsets = np.cumsum(lengths) - lengths
        index = np.arange(offsets[-1] + lengths[-1])
        index += np.repeat(starts - offsets, lengths)
        joined = buf[index]
        joined[offsets + lengths - 1] = _NEWLINE
        try:
            words = joined.tobytes().decode(self.encoding).split("\n")
        except UnicodeDecodeError:
            words = None
        if words is None or len(words) != len(starts) + 1:
            words = [
                self._decode(buf[s:e].tobytes(), self.line_base + line + 1)
                for s, e, line in zip(
                    starts.tolist(), ends.tolist(), lines.tolist(), strict=True
                )
            ]
            words.append("")
        words.pop()
        return words

    def _numbers(self, buf, rows, lines):
        """float64 values of the fields between the separators `rows`."""
        starts = rows[:, :-1] + 1
        ends = rows[:, 1:]
        fallback = {}

        def texts_of(flat):
            fallback["flat"] = flat
            fallback["texts"] = [
                self._decode(
                    buf[s:e].tobytes(),
                    self.line_base + lines[i // self.dim] + 1,
                )
                for i, s, e in zip(
                    flat.tolist(),
                    starts.ravel()[flat].tolist(),
                    ends.ravel()[flat].tolist(),
                    strict=True,
                )
            ]
            return fallback["texts"]

        try:
            return float_fields.parse_fields(buf, starts, ends, texts_of)
        except VectorFileError:
            raise
        except ValueError:
            if "texts" not in fallback:
                raise
            bad = float_fields.first_bad_number(fallback["texts"])
            flat = fallback["flat"][bad]
            raise VectorFileError(
                self.report.path,
                f"value {flat % self.dim + 1} "
                f"({fallback['texts'][bad]!r}) is not a number",
                line=self.line_base + lines[flat // self.dim] + 1,
            ) from None

    def _odd_line(self, raw, number):
        """(word, float64 values) of a line that is not regular."""
        dim = self.dim
        parts = raw.rstrip().split(b" ")
        n_values = len(parts) - 1
        word_parts = parts[: len(parts) - dim]
        if n_values < dim or (
            len(word_parts) > 1 and all(map(_is_number, word_parts[1:]))
        ):
            raise VectorFileError(
                self.report.path,
                f"has {n_values} values; expected {dim} ({self.dim_source})",
                line=number,
            )
        word = self._decode(b" ".join(word_parts), number)
        texts = [self._decode(part, number) for part in parts[-dim:]]
        try:
            values = float_fields.to_float64(texts)
        except ValueError:
            bad = float_fields.first_bad_number(texts)
            raise VectorFileError(
                self.report.path,
                f"value {bad + 1} ({texts[bad]!r}) is not a number",
                line=number,
            ) from None
        if len(word_parts) > 1:
            self.report.add_token_with_spaces(word)
        return word, values

    def _decode(self, raw, number):
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as error:
            raise VectorFileError(
                self.report.path,
                f"{raw[:40]!r} is not valid {self.encoding} "
                f"({error.reason}); pass the file's encoding, e.g. "
                "encoding='latin-1'",
                line=number,
            ) from None


def _fold_trailing_whitespace(seps, kinds, newlines):
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
            & ((kind == _SPACE) | ((kind >= 9) & (kind <= 13) & (kind != 10)))
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
        newlines = np.flatnonzero(kinds == _NEWLINE)
    seps[newlines] = ends
    return seps, kinds, newlines, ends


def _is_number(raw):
    try:
        float(raw)
    except ValueError:
        return False
    return True


def _short(raw, limit=40):
    text = raw.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")
