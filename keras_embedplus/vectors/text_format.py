"""The fast reader of text vector files: GloVe, word2vec and fastText .vec.

GloVe files have no header; word2vec and fastText `.vec` files start with a
"count dim" line. The file is read in 256 KiB blocks of whole lines. In each
block numpy finds every byte <= 32 (the separators) and from them the
lines. A line whose separators are exactly `dim` spaces and its newline,
once trailing whitespace (and the CR of CRLF) is folded into the newline,
is *regular*: regular lines are read without Python work per line, their
words gathered and decoded in one call and their numbers parsed by
`float_parsing`. Every other line (a word containing spaces, a ragged row,
tabs, runs of spaces or control bytes) goes through `LineRules.odd_line`,
a plain Python parser that defines the semantics the fast path reproduces
and raises the error for a bad line. Blank lines are skipped and counted.

The rules of one line are in `text_lines`, with how lines come from the
stream.

A header's row count must match the rows read, and a last line without a
newline must be a whole row: otherwise the file was cut short, which is
an error unless `on_truncation="warn"` (then the rows before the cut are
kept, and a warning and the report say what was lost).
"""

import numpy as np

from keras_embedplus.vectors.header import BOM
from keras_embedplus.vectors.header import declared
from keras_embedplus.vectors.header import parse_header
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.row_sink import RowSink
from keras_embedplus.vectors.row_sink import unknown_size_rows
from keras_embedplus.vectors.text_lines import NEWLINE
from keras_embedplus.vectors.text_lines import SPACE
from keras_embedplus.vectors.text_lines import TRAILING
from keras_embedplus.vectors.text_lines import LineRules
from keras_embedplus.vectors.text_lines import blocks
from keras_embedplus.vectors.text_lines import count_values
from keras_embedplus.vectors.text_lines import fold_trailing_whitespace
from keras_embedplus.vectors.text_lines import majority_dim
from keras_embedplus.vectors.text_lines import nonfinite_problem
from keras_embedplus.vectors.text_lines import short

_SAMPLE_LINES = 100


def read_text(opened, report, options, *, header, tick):
    """Reads a text vector file into a `KeyedVectors`, filling `report`.

    Args:
        opened: `Opened` (of `source`): its stream is positioned after
            its `head`, and its `size` is None when unknown.
        report: `LoadReport` to fill in.
        options: `ReadOptions`.
        header: Boolean. Whether the first line is a "count dim" header.
        tick: callable taking the number of bytes read.
    """
    return _TextReader(opened, report, options, header, tick).read()


class _TextReader:
    def __init__(self, opened, report, options, header, tick):
        self.stream = opened.stream
        self.head = opened.head
        self.size = opened.size
        self.report = report
        self.options = options
        self.encoding = options.encoding
        self.header = header
        self.tick = tick
        self.sink = None
        self.dim = None
        self.dim_source = ""
        self.header_line = None
        self.line_base = 0
        self.at_start = True
        self.done = False

    def read(self):
        for buf, lo, hi, terminated in blocks(
            self.stream, self.head, self.tick, self._where
        ):
            if self.sink is None:
                lo = self._start(buf, lo, hi)
                if lo is None:
                    continue
            if not terminated and not self._whole_last_line(buf, lo, hi):
                break
            self._block(buf, lo, hi)
            if self.done:
                break
        if self.sink is None:
            raise VectorFileError(self.report.path, "the file is empty", line=1)
        self._check_count()
        return self.sink.finish()

    def _where(self):
        return self.report.path, self.line_base + 1

    def _start(self, buf, lo, hi):
        """Reads the BOM, header and dimension; returns where rows begin,
        or None when the lines so far were all blank."""
        path = self.report.path
        if self.at_start and self.encoding == "utf-8":
            if buf[lo : lo + 3].tobytes() == BOM:
                lo += 3
        self.at_start = False
        text = buf[lo:hi].tobytes()
        lines = text.split(b"\n")[:-1]
        blank = 0
        while blank < len(lines) and not lines[blank].strip():
            blank += 1
        self.report.lines_skipped += blank
        self.line_base += blank
        if blank == len(lines):
            return None
        lo += sum(len(line) + 1 for line in lines[:blank])
        lines = lines[blank:]
        first = lines[0]
        declared = parse_header(first)
        if self.header:
            if declared is None:
                raise VectorFileError(
                    path,
                    f"{short(first)} is not a word2vec header "
                    "'<count> <dim>'; for a file without one use "
                    "format='glove' (or 'auto')",
                    line=self.line_base + 1,
                )
            count, dim = declared
            if not dim:
                raise VectorFileError(
                    path,
                    "the header declares dimension 0",
                    line=self.line_base + 1,
                )
            self.report.header_count = count
            self.line_base += 1
            self.header_line = self.line_base
            self.dim_source = (
                f"declared by the header on line {self.header_line}"
            )
            lo += len(first) + 1
            lines = lines[1:]
        else:
            sample = lines[:_SAMPLE_LINES]
            # A header-like first line does not vote.
            dim = majority_dim(sample[1:] if declared else sample)
            if not dim:  # No line, or most lines without values.
                dim = max(count_values(first), 1)
            if declared is not None and count_values(first) != dim:
                raise VectorFileError(
                    path,
                    f"{short(first)} looks like a word2vec header, so this "
                    "is not a GloVe file; use format='word2vec' (or 'auto')",
                    line=self.line_base + 1,
                )
            self.dim_source = "the count on most of the first lines"
        self.dim = self.report.dim = dim
        self.rules = LineRules(path, self.encoding, dim, self.dim_source)
        self.sink = RowSink(
            dim, self.report, self.options, capacity=self._capacity(lines)
        )
        return lo

    def _capacity(self, lines):
        """Rows to reserve: never more than the file could hold.

        A row of `dim` values takes at least `2 * dim` bytes (a separator
        and a digit each), which bounds the rows of a file of known size;
        the first block's lines give the likelier count. Without a size
        (compressed), a few MiB are reserved and the matrix grows.
        """
        dim = self.dim
        rows = sum(1 for line in lines if line.strip())
        if self.size is None:
            bound = unknown_size_rows(dim)
            return min(self.report.header_count or bound, bound)
        most = self.size // (2 * dim) + 1
        length = sum(len(line) + 1 for line in lines)
        if not rows or not length:
            return min(most, 1024)
        return min(most, int(1.1 * self.size * rows / length) + 1024)

    def _whole_last_line(self, buf, lo, hi):
        """Whether the last line, which has no newline, is a whole row.

        A file cut short (an interrupted download) most often ends inside
        a line. That line is an error, or with `on_truncation="warn"` it is
        dropped (False is returned) with a warning.
        """
        raw = buf[lo : hi - 1].tobytes().rstrip(TRAILING)
        if not raw:
            return True
        number = self.line_base + 1
        try:
            _, fields, _ = self.rules.odd_line(raw, number)
            self.rules.values(fields, number)
        except VectorFileError as error:
            self.options.cut_short(
                self.report,
                f"the file ends inside line {number}, which has no newline "
                f"and is not a whole row ({error.problem}): it was probably "
                "cut short, e.g. by an interrupted download",
                "the rows before it",
                line=number,
            )
            return False
        return True

    def _check_count(self):
        count = self.report.header_count
        rows = self.report.rows
        if count is None or self.done or rows >= count:
            return
        self.options.cut_short(
            self.report,
            f"the header on line {self.header_line} declares "
            f"{declared(count, 'row')} but the file holds {rows:,}: it was "
            "probably cut short, e.g. "
            "by an interrupted download",
            f"the {rows:,} rows it holds",
            line=self.header_line,
        )

    def _block(self, buf, lo, hi):
        if lo >= hi:
            return
        dim = self.dim
        seps = np.flatnonzero(buf[lo:hi] <= SPACE)
        seps += lo
        kinds = buf[seps]
        newlines = np.flatnonzero(kinds == NEWLINE)
        starts = np.empty_like(newlines)
        starts[0] = lo
        starts[1:] = seps[newlines[:-1]] + 1
        seps, kinds, newlines, ends = fold_trailing_whitespace(
            seps, kinds, newlines
        )
        counts = np.diff(newlines, prepend=-1)
        blank = ends == starts
        regular = (counts == dim + 1) & ~blank
        odd = np.flatnonzero((kinds != SPACE) & (kinds != NEWLINE))
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
        self._check_extra_rows(lines)
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
            values = self.rules.numbers(
                buf, rows, self.line_base + kept_lines + 1
            )
        else:
            is_reg = regular[kept_lines]
            values = np.empty((len(keep), dim))
            rows = seps[
                first_sep[kept_lines[is_reg]][:, None] + np.arange(dim + 1)
            ]
            values[is_reg] = self.rules.numbers(
                buf, rows, self.line_base + kept_lines[is_reg] + 1
            )
            for j in np.flatnonzero(~is_reg):
                values[j] = self.rules.values(*odd_values[keep[j]])
        bad = self.sink.append(values)
        if bad is not None:
            raise VectorFileError(
                self.report.path,
                nonfinite_problem(values[bad]),
                line=self.line_base + kept_lines[bad] + 1,
            )
        self.line_base += n_lines

    def _check_extra_rows(self, lines):
        """Refuses a row beyond the count the header declares."""
        count = self.report.header_count
        rows = self.report.rows
        if count is None or rows + len(lines) <= count:
            return
        raise VectorFileError(
            self.report.path,
            f"the header on line {self.header_line} declares "
            f"{declared(count, 'row')} and this is row {count + 1:,}. Fix the "
            "count in the header, or "
            f"pass limit={count} to read only the first {count:,}",
            line=self.line_base + lines[count - rows] + 1,
        )

    def _merge_odd_lines(self, buf, lines, reg, reg_words, starts, ends):
        """Words of all data lines in order, and the odd lines' value
        fields and line numbers (parsed only for the lines kept)."""
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
            number = self.line_base + line + 1
            word, fields, spaces = self.rules.odd_line(raw, number)
            if spaces:
                self.report.add_token_with_spaces(word)
            words[position] = word
            odd_values[position] = fields, number
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
        joined[offsets + lengths - 1] = NEWLINE
        try:
            words = joined.tobytes().decode(self.encoding).split("\n")
        except UnicodeDecodeError:
            words = None
        if words is None or len(words) != len(starts) + 1:
            words = [
                self.rules.decode(buf[s:e].tobytes(), self.line_base + line + 1)
                for s, e, line in zip(
                    starts.tolist(), ends.tolist(), lines.tolist(), strict=True
                )
            ]
            words.append("")
        words.pop()
        return words
