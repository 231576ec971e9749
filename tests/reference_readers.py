"""Deliberately simple readers of text and word2vec binary vector files.

They state the rules of docs/loading.md ("What happens with a broken
file") one line or record at a time, with no buffers, batches or fast
paths, so that the fuzz tests can compare the package's readers with
them: both give the same vectors, or both refuse the file.
"""

import collections
import re

import numpy as np

BOM = b"\xef\xbb\xbf"
TRAILING = b" \t\r\x0b\x0c"
SEPARATORS = re.compile(rb"[ \t]+")


class Refused(Exception):
    """The reference reader refuses the file."""


def _fields(line):
    return SEPARATORS.split(line.rstrip(TRAILING))


def _is_number(raw):
    try:
        float(raw)
    except ValueError:
        return False
    return True


def _header(line):
    parts = line.split()
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        return tuple(min(int(part[:19]), 10**18) for part in parts)
    return None


def _row(line, dim, encoding):
    """(word, float32 values) of one non-blank line, or Refused.

    Every row is parsed and checked, repeats included (the first row of
    a word is kept by `_first_of_each`).
    """
    fields = _fields(line)
    if len(fields) - 1 < dim:
        raise Refused("too few values")
    before = fields[: len(fields) - dim]
    if len(before) > 1 and all(_is_number(field) for field in before[1:]):
        raise Refused("too many values")
    word = line.rstrip(TRAILING)
    for _ in range(dim):  # Drop a value, then the whitespace before it.
        word = re.sub(rb"[^ \t]+\Z", b"", word)
        word = re.sub(rb"[ \t]+\Z", b"", word)
    try:
        word = word.decode(encoding)
    except UnicodeDecodeError:
        raise Refused("not the encoding") from None
    try:
        texts = [field.decode(encoding) for field in fields[-dim:]]
        values = [float(text) for text in texts]
    except (UnicodeDecodeError, ValueError):
        raise Refused("not a number") from None
    with np.errstate(over="ignore"):
        row = np.array(values, dtype=np.float64).astype(np.float32)
    if not np.isfinite(row).all():
        raise Refused("nan or inf")
    return word, row


def read_text(data, *, header, encoding="utf-8"):
    """(words, float32 matrix) of a GloVe (`header=False`) or word2vec
    text file, the first row of a repeated word kept; raises Refused."""
    if encoding == "utf-8" and data.startswith(BOM):
        data = data[len(BOM) :]
    lines = data.split(b"\n")
    cut = lines.pop()  # b"" when the file ends with a newline.
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    # The first 100 lines from the first non-blank one vote for the
    # dimension; a last line without a newline votes only if alone.
    window = lines[start : start + 100] if start is not None else [cut]
    lines = [line for line in lines if line.strip()]
    if cut.strip():
        lines.append(cut)
    if not lines:
        raise Refused("empty")
    declared = _header(lines[0])
    if header:
        if declared is None or not declared[1]:
            raise Refused("no header")
        count, dim = declared
        lines = lines[1:]
        if len(lines) != count:
            raise Refused("row count")
    else:
        first = lines[0]
        voters = [line for line in window if line.strip()]
        voters = voters[1:] if declared else voters
        counts = collections.Counter(len(_fields(line)) - 1 for line in voters)
        dim = counts.most_common(1)[0][0] if counts else None
        if not dim:
            dim = max(len(_fields(first)) - 1, 1)
        if declared is not None and len(_fields(first)) - 1 != dim:
            raise Refused("header in a GloVe file")
    if cut.strip() and lines:  # A last row without a newline must be whole.
        _row(lines[-1], dim, encoding)
    return _first_of_each(dim, [_row(line, dim, encoding) for line in lines])


def read_binary(data, *, encoding="utf-8"):
    """(words, float32 matrix) of a word2vec binary file; raises Refused."""
    if encoding == "utf-8" and data.startswith(BOM):
        data = data[len(BOM) :]
    data = data.lstrip(b" \t\r\n\x0b\x0c")
    end = data.find(b"\n")
    declared = _header(data[:end]) if end >= 0 else None
    if declared is None or not declared[1]:
        raise Refused("no header")
    count, dim = declared
    position = end + 1
    newline = None
    rows = []
    for number in range(count):
        space = data.find(b" ", position)
        if space < 0:
            raise Refused("cut")
        raw = data[position:space]
        word = raw.lstrip(b"\n")
        lead = len(raw) - len(word)
        if number == 1:
            newline = lead > 0
        if lead != (1 if number and newline else 0):
            raise Refused("newline rule")
        if any(byte < 32 or byte == 127 for byte in word):
            raise Refused("control bytes")
        vector = data[space + 1 : space + 1 + 4 * dim]
        if len(vector) < 4 * dim:
            raise Refused("cut")
        try:
            word = word.decode(encoding)
        except UnicodeDecodeError:
            raise Refused("not the encoding") from None
        row = np.frombuffer(vector, dtype="<f4").astype(np.float32)
        if not np.isfinite(row).all():
            raise Refused("nan or inf")
        rows.append((word, row))
        position = space + 1 + 4 * dim
    if data[position:].strip(b" \t\r\n\x0b\x0c"):
        raise Refused("goes on")
    return _first_of_each(dim, rows)


def _first_of_each(dim, rows):
    first = {}
    for word, row in rows:
        if row is not None:
            first.setdefault(word, row)
    matrix = np.array(list(first.values()), dtype=np.float32)
    return list(first), matrix.reshape(len(first), dim)
