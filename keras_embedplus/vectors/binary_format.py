"""The reader of word2vec binary files.

After a "count dim" text line, each record is a word, a space and `dim`
little-endian float32 values; the C tool writes a newline after each
vector, which ends up at the start of the next word and is dropped (as
gensim does). Records are located with one `bytes.find` each and the
vectors of the kept records copied out with one numpy gather per block.

The format cannot hold a word with a space: the reader would take the
rest of the word for the start of the vector. Such a misread shows in the
next record, whose word then starts inside the float bytes: it holds
control bytes, is not valid text, or breaks the file's newline rule (the
C tool's files have a newline before every word after the first, gensim's
before none). Each of those is an error, as are a file that ends before
the records its header declares and one that goes on after them.
"""

import numpy as np

from keras_embedplus.vectors.header import BOM
from keras_embedplus.vectors.header import declared
from keras_embedplus.vectors.header import parse_header
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.row_sink import RowSink
from keras_embedplus.vectors.row_sink import unknown_size_rows

BLOCK = 1 << 20
# A word longer than this is not a word: the file is not word2vec binary.
_MAX_WORD = 1 << 16
_CONTROL = bytes(range(32)) + b"\x7f"
_BLANK = b" \t\r\n\x0b\x0c"


def read_binary(opened, report, options, *, tick):
    """Reads a word2vec binary file into a `KeyedVectors`, filling `report`.

    Args:
        opened: `Opened` (of `source`): its stream is positioned after
            its `head`, and its `size` is None when unknown.
        report: `LoadReport` to fill in.
        options: `ReadOptions`.
        tick: callable taking the number of bytes read.
    """
    return _BinaryReader(opened, report, options, tick).read()


class _BinaryReader:
    def __init__(self, opened, report, options, tick):
        self.stream = opened.stream
        self.head = opened.head
        self.size = opened.size
        self.report = report
        self.path = report.path
        self.options = options
        self.encoding = options.encoding
        self.limit = options.limit
        self.tick = tick
        # Whether records after the first start with a newline.
        self.newline = None

    def read(self):
        head = data = self.head
        if self.encoding == "utf-8" and data.startswith(BOM):
            data = data[len(BOM) :]
        offset = len(head) - len(data)
        data, offset, count, dim = self._header(data, offset)
        self.report.header_count = count
        self.report.dim = dim
        self.sink = RowSink(
            dim, self.report, self.options, capacity=self._capacity(count, dim)
        )
        record_size = 4 * dim
        eof = False
        while True:
            room = count - self.report.rows
            if self.limit is not None:
                room = min(room, self.sink.room())
            raws, starts, used = self._records(data, record_size, room)
            self._keep(raws, starts, data, dim, offset)
            data = data[used:]
            offset += used
            if len(raws) >= room or eof:
                break
            more = self.stream.read(BLOCK)
            self.tick(len(more))
            eof = not more
            data += more
        rows = self.report.rows
        if self.limit is not None and rows >= self.limit:
            pass  # Stopped by the limit: the rest is not read.
        elif rows == count:
            self._check_end(data, offset, count)
        elif data.strip(b"\n"):
            self.options.cut_short(
                self.report,
                f"the file ends inside this record; the header declares "
                f"{declared(count, 'record')} of "
                f"{declared(dim, 'float32 value')}: it was "
                "probably cut short, e.g. by an interrupted download",
                f"the {rows:,} whole records before it",
                record=rows + 1,
                offset=offset,
            )
        else:
            self.options.cut_short(
                self.report,
                f"the header declares {declared(count, 'record')} but the "
                f"file ends after {rows:,}: it was probably cut short, "
                "e.g. by an interrupted download",
                f"the {rows:,} records it holds",
                record=rows + 1,
                offset=offset,
            )
        return self.sink.finish()

    def _header(self, data, offset):
        """The header's (count, dim) and the data and offset after it."""
        while b"\n" not in data.lstrip(_BLANK)[:4096]:
            more = self.stream.read(BLOCK)
            if not more or len(data) > 4096:
                raise VectorFileError(
                    self.path, "no word2vec header '<count> <dim>'", line=1
                )
            self.tick(len(more))
            data += more
        stripped = data.lstrip(_BLANK)
        # Blank lines before the header are skipped, as in text files.
        line = data[: len(data) - len(stripped)].count(b"\n") + 1
        offset += len(data) - len(stripped)
        end = stripped.index(b"\n") + 1
        header = parse_header(stripped[:end])
        if header is None or not header[1]:
            raise VectorFileError(
                self.path,
                f"{stripped[: end - 1][:40]!r} is not a word2vec header "
                "'<count> <dim>' with dim > 0",
                line=line,
            )
        return stripped[end:], offset + end, *header

    def _capacity(self, count, dim):
        """Records to reserve: never more than the file could hold."""
        if self.size is None:
            return min(count, unknown_size_rows(dim))
        return min(count, self.size // (4 * dim + 1) + 1)

    def _records(self, data, record_size, room):
        """Raw words, vector offsets and bytes used by the whole records."""
        raws = []
        starts = []
        position = 0
        end = len(data)
        find = data.find
        while len(raws) < room:
            space = find(b" ", position, position + _MAX_WORD + 2)
            start = space + 1
            if space < 0 or start + record_size > end:
                if space < 0 and end - position > _MAX_WORD + 1:
                    raise VectorFileError(
                        self.path,
                        f"no space within {_MAX_WORD:,} bytes: this is not "
                        "a word2vec binary record (is the header's dim "
                        "right?)",
                        record=self.report.rows + len(raws) + 1,
                        offset=position,
                    )
                break
            raws.append(data[position:space])
            starts.append(start)
            position = start + record_size
        return raws, starts, position

    def _keep(self, raws, starts, data, dim, offset):
        first = self.report.rows + 1
        words = [raw.lstrip(b"\n") for raw in raws]
        self._check_words(raws, words, first, starts, offset)
        try:
            words = [word.decode(self.encoding) for word in words]
        except UnicodeDecodeError:
            for i, word in enumerate(words):
                try:
                    word.decode(self.encoding)
                except UnicodeDecodeError as error:
                    raise VectorFileError(
                        self.path,
                        f"the word {word[:40]!r} is not valid "
                        f"{self.encoding} ({error.reason}); pass the file's "
                        "encoding, e.g. encoding='latin-1'. If the file's "
                        "words are valid, the previous record's word holds "
                        "a space, which this format cannot hold",
                        record=first + i,
                        offset=offset + starts[i] - len(raws[i]) - 1,
                    ) from None
        keep = self.sink.select(words)
        if not len(keep):
            return
        vectors = np.ndarray(
            shape=(len(data) - 4 * dim + 1,),
            dtype=f"V{4 * dim}",
            buffer=data,
            strides=(1,),
        )
        rows = vectors[np.asarray(starts)[keep]]
        rows = rows.view("<f4").reshape(len(keep), dim)
        bad = self.sink.append(rows)
        if bad is not None:
            i = int(keep[bad])
            column = int(np.flatnonzero(~np.isfinite(rows[bad]))[0])
            raise VectorFileError(
                self.path,
                f"value {column + 1} of the word {words[i]!r} is "
                f"{float(rows[bad, column])!r}. One nan or inf spreads into "
                "everything computed from the vectors (e.g. the mean behind "
                "oov='mean' or 'random'): fix the file, or pass "
                "allow_nonfinite=True to keep such records",
                record=first + i,
                offset=offset + starts[i] - len(raws[i]) - 1,
            )

    def _check_words(self, raws, words, first, starts, offset):
        """Refuses words that show a misread record (see the module)."""
        if not raws:
            return
        if self.newline is None and len(raws) > (first == 1):
            self.newline = raws[first == 1].startswith(b"\n")
        expected = int(bool(self.newline)) * (len(raws) - (first == 1))
        joined = b"".join(words)
        # Each word lost at most one newline (no "\n\n" in a raw word),
        # record 1 none, and the count is the one expected: all agree.
        if (
            sum(map(len, raws)) - len(joined) == expected
            and b"\n\n" not in b" ".join(raws)
            and not (first == 1 and raws[0].startswith(b"\n"))
            and len(joined.translate(None, _CONTROL)) == len(joined)
        ):
            return
        leads = [
            len(raw) - len(word) for raw, word in zip(raws, words, strict=True)
        ]
        expected = [int(bool(self.newline))] * len(raws)
        if first == 1:
            expected[0] = 0
        for i, (raw, word) in enumerate(zip(raws, words, strict=True)):
            number = first + i
            if word.translate(None, _CONTROL) != word:
                problem = "holds control bytes"
            elif leads[i] != expected[i]:
                problem = (
                    "has no newline before it, unlike the records before it"
                    if self.newline
                    else "has a newline before it, unlike the records before it"
                )
            else:
                continue
            raise VectorFileError(
                self.path,
                f"the word {raw[:40]!r} {problem}: the previous record's "
                "word probably holds a space, which the word2vec binary "
                "format cannot hold, or the file is damaged",
                record=number,
                offset=offset + starts[i] - len(raw) - 1,
            )

    def _check_end(self, rest, offset, count):
        """Refuses records after the `count` the header declares."""
        more = rest
        while not more.strip(_BLANK):
            chunk = self.stream.read(BLOCK)
            if not chunk:
                return
            self.tick(len(chunk))
            more = chunk
        raise VectorFileError(
            self.path,
            f"the header declares {declared(count, 'record')} and the file "
            "goes on after them. Fix the count in the header, or pass "
            f"limit={count} to read only the first {count:,}",
            record=count + 1,
            offset=offset,
        )
