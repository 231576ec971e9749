"""The vector file formats, and how `format="auto"` tells them apart.

`format="auto"` looks at the content, using the file name only to name
what it finds. The rules, in order:

1. A directory (or its `header.json`) written by `save_cache`: "cache".
2. gzip (`1f 8b`) and bzip2 (`BZh`) content is decompressed on the fly,
   whatever the extension; the next rules look at the decompressed bytes.
3. A pickle (byte `0x80`, then protocol 2 to 5): "gensim", the files of
   `KeyedVectors.save` and `Word2Vec.save` (loaded only with
   `allow_pickle=True`).
4. The fastText magic number (int32 793712314): "fasttext-bin".
5. A first line of two integers "count dim" (after an optional UTF-8 BOM
   and blank lines): "word2vec" when the next non-blank line is text, a
   word and numbers ("fasttext-vec" when the name ends in `.vec`; the
   reader checks it has `dim` of them), "word2vec-binary" otherwise.
6. A first line made of a word and numbers: "glove" (also a header-like
   first line above rows of one value: `3 2`, `x 5`, `y 6`). When `dim`
   is 1 too (`3 1` above `4 1`), `read_vectors` reads the file as a
   header file if it holds the rows declared, else as GloVe.

Anything else is a `VectorFileError` asking for `format=`.
"""

import os

from keras_embedplus.vectors import cache
from keras_embedplus.vectors.fasttext_format import is_fasttext_bin
from keras_embedplus.vectors.header import BOM
from keras_embedplus.vectors.header import parse_header
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.source import HEAD
from keras_embedplus.vectors.source import Opened
from keras_embedplus.vectors.source import check_source
from keras_embedplus.vectors.text_lines import count_values
from keras_embedplus.vectors.text_lines import split_fields

FORMATS = (
    "glove",
    "word2vec",
    "word2vec-binary",
    "fasttext-bin",
    "fasttext-vec",
    "cache",
    "gensim",
)
_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
# Bytes that no text line holds (tab and CR may).
_CONTROL = bytes(set(range(32)) - {9, 13}) + b"\x7f"


def detect_format(source):
    """Names the format of a vector file by the rules of this module.

    Args:
        source: String or path.

    Returns:
        One of the format names accepted by `load_vectors`.
    """
    path = check_source(source)
    if cache.is_cache(path) or os.path.isdir(path):
        return "cache"  # A directory can be nothing else: load_cache says.
    with Opened(path) as opened:
        return _sniff(opened.head, path)


def _sniff(head, path):
    if head[:2] in _PICKLE_PROTOCOLS:
        return "gensim"
    if is_fasttext_bin(head):  # The magic number, or an older file's start.
        return "fasttext-bin"
    if head.startswith(b"\x93NUMPY"):
        raise VectorFileError(
            path,
            "is a numpy array; pass the cache directory that holds it "
            "(the one with header.json)",
        )
    text = head[len(BOM) :] if head.startswith(BOM) else head
    numbered = [
        (number, line)
        for number, line in enumerate(text.split(b"\n", 50), 1)
        if line.strip()
    ]
    lines = [line for _, line in numbered]
    if len(head) == HEAD and b"\n" not in text and lines:
        # A first line longer than the head: its last field may be cut.
        lines = [lines[0].rsplit(b" ", 1)[0]]
    if not lines:
        raise VectorFileError(path, "the file is empty", line=1)
    header = parse_header(lines[0])
    second = lines[1] if len(lines) > 1 else b""
    if header is not None:
        dim = header[1]
        if not second or (dim and _is_row(second, dim)):
            name = path.removesuffix(".gz").removesuffix(".bz2")
            return "fasttext-vec" if name.endswith(".vec") else "word2vec"
        if _is_text(second) and _is_row(second, 1):
            if dim != 1 and count_values(second) == 1:
                return "glove"  # Rows of one value, the first word a number.
            # A text row of another length: the reader says which line.
            name = path.removesuffix(".gz").removesuffix(".bz2")
            return "fasttext-vec" if name.endswith(".vec") else "word2vec"
        return "word2vec-binary"
    if count_values(lines[0]) >= 1 and _is_row(lines[0], 1):
        return "glove"
    raise VectorFileError(
        path,
        f"cannot tell the format: {lines[0][:40]!r} is neither a word2vec "
        "header '<count> <dim>' nor a word followed by numbers; pass "
        f"format= (one of {', '.join(FORMATS)})",
        line=numbered[0][0],
    )


def _is_text(line):
    """Whether a line is text: UTF-8 without control bytes but tabs/CR."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(line.translate(None, _CONTROL)) == len(line)


def _is_row(line, dim):
    """Whether a text line ends in `dim` numbers after at least a word."""
    parts = split_fields(line)
    if len(parts) < dim + 1:
        return False
    try:
        for part in parts[-dim:]:
            float(part)
    except ValueError:
        return False
    return True
