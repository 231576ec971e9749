"""The reader of word2vec binary files.

After a "count dim" text line, each record is a word, a space and `dim`
little-endian float32 values; the C tool writes a newline after each
vector, which ends up at the start of the next word and is dropped (as
gensim does). Records are located with one `bytes.find` each and the
vectors of the kept records copied out with one numpy gather per block.
"""

import numpy as np

from keras_embedplus.vectors.detect import BOM
from keras_embedplus.vectors.detect import parse_header
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.rows import RowSink

BLOCK = 1 << 20


def read_binary(
    stream, head, report, *, encoding, vocabulary, limit, size, tick
):
    """Reads a word2vec binary file into a `KeyedVectors`, filling `report`.

    Args:
        stream: binary file object positioned after `head`.
        head: bytes already read from the start of the file.
        report: `LoadReport` to fill in.
        encoding: String. Encoding of the words.
        vocabulary: Set of words to keep, or None for all.
        limit: Integer or None. Read at most this many records.
        size: Integer or None. File size in bytes, when known.
        tick: callable taking the number of bytes read.
    """
    path = report.path
    data = head[len(BOM) :] if head.startswith(BOM) else head
    offset = len(head) - len(data)
    while b"\n" not in data[:4096]:
        more = stream.read(BLOCK)
        if not more or len(data) > 4096:
            raise VectorFileError(
                path, "no word2vec header '<count> <dim>'", line=1
            )
        tick(len(more))
        data += more
    end = data.index(b"\n") + 1
    header = parse_header(data[:end])
    if header is None or not header[1]:
        raise VectorFileError(
            path,
            f"{data[: end - 1][:40]!r} is not a word2vec header "
            "'<count> <dim>' with dim > 0",
            line=1,
        )
    count, dim = header
    report.header_count = count
    record_size = 4 * dim
    capacity = count if size is None else min(count, size // record_size) + 1
    sink = RowSink(
        dim, report, vocabulary=vocabulary, limit=limit, capacity=capacity
    )
    data = data[end:]
    offset += end
    eof = False
    while True:
        room = sink.room()
        words, starts, used = _records(data, record_size, room)
        _keep(sink, words, starts, data, dim, encoding, report, offset)
        if room is not None and len(words) >= room:
            break
        data = data[used:]
        offset += used
        if eof:
            if data.strip():
                raise VectorFileError(
                    path,
                    "the file ends inside this record (truncated?); the "
                    f"header declares {count} records of {dim} float32 "
                    "values",
                    record=report.rows + 1,
                    offset=offset,
                )
            break
        more = stream.read(BLOCK)
        tick(len(more))
        eof = not more
        data += more
    return sink.finish()


def _records(data, record_size, room):
    """Words, vector offsets and bytes used by the whole records in data."""
    words = []
    starts = []
    position = 0
    end = len(data)
    find = data.find
    while room is None or len(words) < room:
        space = find(b" ", position)
        start = space + 1
        if space < 0 or start + record_size > end:
            break
        words.append(data[position:space].lstrip(b"\n"))
        starts.append(start)
        position = start + record_size
    return words, starts, position


def _keep(sink, raw_words, starts, data, dim, encoding, report, offset):
    words = []
    for i, raw in enumerate(raw_words):
        try:
            words.append(raw.decode(encoding))
        except UnicodeDecodeError as error:
            raise VectorFileError(
                report.path,
                f"the word {raw[:40]!r} is not valid {encoding} "
                f"({error.reason}); pass the file's encoding, e.g. "
                "encoding='latin-1'",
                record=report.rows + i + 1,
                offset=offset + starts[i] - len(raw) - 1,
            ) from None
    keep = sink.select(words)
    if not len(keep):
        sink.append(np.empty((0, dim), dtype=np.float32))
        return
    vectors = np.ndarray(
        shape=(len(data) - 4 * dim + 1,),
        dtype=f"V{4 * dim}",
        buffer=data,
        strides=(1,),
    )
    rows = vectors[np.asarray(starts)[keep]]
    sink.append(rows.view("<f4").reshape(len(keep), dim))
