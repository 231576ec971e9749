"""Writing vectors: word2vec text and binary, GloVe text, the projector.

The text formats hold each value in a short decimal form that reads back
to the same float (see `float_formatting`; numpy's float-to-string
conversion for float sizes other than 32 bits), formatted for a whole
chunk of rows at once, so a file written here and read by gensim or
`load_vectors` gives the very same vectors. Lines are assembled in
fixed-width byte buffers padded with NUL bytes, which are then removed in
one pass; tokens can therefore never contain NUL.

Which tokens a format can hold, so that what is written reads back the
same with `load_vectors` and with gensim:

- no spaces and no other whitespace that readers split at, in any format:
  word2vec readers split the token from the values at the first space
  (the C tool at tabs and newlines too), and so do gensim's and most GloVe
  readers. `load_vectors` does read GloVe tokens with inner spaces (the
  840B file has ". . ."), as the last `dim` fields of a line, but a token
  such as "at 5" is then read as "at" and a value: the writer refuses them
  rather than write a file readers disagree on. The cache holds any token.
- no line breaks of any kind, no NUL, no leading byte-order mark (readers
  strip it), no empty token, and only string keys.
- in word2vec binary files, no ASCII control character either: the reader
  takes one as the sign of a record misaligned by a space in the token
  before it.
"""

import bz2
import gzip
import os
import re

import numpy as np

from keras_embedplus.vectors import float_formatting

FORMATS = ("word2vec", "word2vec-binary", "glove")

# Values formatted per step (text formats) and rows per step (binary):
# small enough for the text buffers to stay in cache.
_CHUNK_VALUES = 1 << 16
_CHUNK_ROWS = 8192
# Line breaks of any convention (Unicode's too), NUL and the other ASCII
# whitespace that splitting readers cut at.
_NEVER = "\t\n\r\x0b\x0c\x00\x1c\x1d\x1e\x85\u2028\u2029"
_BAD_TOKEN = re.compile(f"[ {_NEVER}]|^\ufeff")
# In binary files, the reader takes a control byte in a token as the sign
# of a misaligned record (a space in the previous token), so none is written.
_BAD_BINARY_TOKEN = re.compile(f"[ {_NEVER}\x01-\x1f\x7f]|^\ufeff")


def write_vectors(vectors, path, format="word2vec", *, encoding="utf-8"):
    """Writes vectors to a file that gensim and `load_vectors` read back.

    Writes every key of `vectors` with its vector, in the order of
    `vectors.index_to_key`, in one of three formats: `"word2vec"` (text,
    with a `"<count> <dim>"` header line), `"word2vec-binary"` (the same
    header, then each token, a space and `dim` little-endian float32
    values, as the word2vec C tool writes) and `"glove"` (text without a
    header). Text values are written in a short form that reads back
    exactly. A path ending in `.gz` or `.bz2` is compressed.

    Tokens the format cannot hold raise an error naming the token and its
    row before anything is written: spaces and other whitespace, line
    breaks, NUL or an empty token (the cache,
    `keras_embedplus.vectors.save_cache`, holds any token). For
    fastText vectors, only the vectors of the words are written, not the
    subword n-grams.

    Args:
        vectors: `gensim.models.KeyedVectors` with string keys.
        path: String or path-like. The file to write; `.gz` / `.bz2`
            suffixes compress it.
        format: String, default `"word2vec"`. One of `"word2vec"`,
            `"word2vec-binary"` or `"glove"`.
        encoding: String, default `"utf-8"`. Encoding of the tokens.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from gensim.models import KeyedVectors
    >>> vectors = KeyedVectors(2)
    >>> vectors.add_vectors(["the", "cat"], np.array([[0.1, -2.], [3., 4.5]]))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vectors.txt"
    >>> keras_embedplus.vectors.write_vectors(vectors, path)
    >>> print(path.read_text())
    2 2
    the 0.1 -2.0
    cat 3.0 4.5
    >>> KeyedVectors.load_word2vec_format(path)["cat"]
    array([3. , 4.5], dtype=float32)
    """
    if format not in FORMATS:
        raise ValueError(
            f"`format` must be one of {', '.join(map(repr, FORMATS))}. "
            f"Received: format={format!r}"
        )
    table = _table(vectors)
    tokens = _encoded_tokens(vectors.index_to_key, format, encoding)
    with _open(path) as file:
        if format != "glove":
            file.write(f"{len(tokens)} {table.shape[1]}\n".encode("ascii"))
        if format == "word2vec-binary":
            _write_binary(file, tokens, table)
        else:
            prefixes = [token + b" " for token in tokens]
            _write_text(file, table, prefixes, b" ")


def write_projector(vectors, directory, *, metadata=None):
    """Writes files for TensorBoard's Embedding Projector.

    Writes `vectors.tsv` (one vector a line, values separated by tabs),
    `metadata.tsv` (one label a line) and a `projector_config.pbtxt` that
    points at both, so that `tensorboard --logdir DIRECTORY` shows the
    vectors under the Projector tab; the two TSV files can also be loaded
    into https://projector.tensorflow.org.

    The labels are the keys of `vectors`, or `metadata`: a sequence of
    labels, one per vector, or a dict column name -> sequence for several
    columns (written with a header line, which the projector expects for
    more than one column). Tabs, newlines and carriage returns in labels
    are written as `\\t`, `\\n`, `\\r`, and a label that is empty or
    only whitespace (such as the padding token `""`) as its Python repr
    (`''`), since the projector skips blank lines and would then pair
    labels with the wrong vectors.

    Args:
        vectors: `gensim.models.KeyedVectors`, or a 2-D array of shape
            `(count, dim)` with `dim >= 2`.
        directory: String or path-like. Created if missing.
        metadata: Optional sequence of labels or dict column name ->
            sequence of values, each of length `count`. Default: the keys
            of `vectors`; none for an array.

    Returns:
        A tuple `(vectors_path, metadata_path)` of strings;
        `metadata_path` is `None` when no labels were written.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> vectors_path, metadata_path = (
    ...     keras_embedplus.vectors.write_projector(
    ...         np.array([[0., 1.], [2., 3.]]), tempfile.mkdtemp(),
    ...         metadata=["", "cat"]))
    >>> print(pathlib.Path(vectors_path).read_text())
    0.0	1.0
    2.0	3.0
    >>> print(pathlib.Path(metadata_path).read_text())
    ''
    cat
    """
    if hasattr(vectors, "index_to_key"):
        table = _table(vectors)
        if metadata is None:
            metadata = [str(key) for key in vectors.index_to_key]
    else:
        table = np.asarray(vectors)
        if table.ndim != 2 or table.dtype.kind not in "fiu":
            raise ValueError(
                "`vectors` must be a KeyedVectors or a 2-D numeric array. "
                f"Received: array of shape {table.shape}, dtype {table.dtype}"
            )
        if table.dtype.kind != "f":
            table = table.astype(np.float64)
    if table.shape[1] < 2:
        raise ValueError(
            "The Embedding Projector needs vectors of at least 2 "
            f"dimensions. Received: dim={table.shape[1]}"
        )
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    vectors_path = os.path.join(directory, "vectors.tsv")
    with open(vectors_path, "wb") as file:
        _write_text(file, table, None, b"\t")
    metadata_path = None
    if metadata is not None:
        metadata_path = os.path.join(directory, "metadata.tsv")
        with open(metadata_path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(_metadata_lines(metadata, len(table)))
    config = 'embeddings {\n  tensor_name: "embedding"\n'
    config += '  tensor_path: "vectors.tsv"\n'
    if metadata_path:
        config += '  metadata_path: "metadata.tsv"\n'
    config += "}\n"
    with open(os.path.join(directory, "projector_config.pbtxt"), "w") as f:
        f.write(config)
    return vectors_path, metadata_path


def _table(vectors):
    if not hasattr(vectors, "index_to_key") or not hasattr(vectors, "vectors"):
        raise TypeError(
            "`vectors` must be a gensim `KeyedVectors`. Received: "
            f"vectors of type {type(vectors).__name__}"
        )
    if not len(vectors.index_to_key):
        raise ValueError("`vectors` holds no vectors: nothing to write.")
    return vectors.vectors[: len(vectors.index_to_key)]


def _encoded_tokens(keys, format, encoding):
    """The tokens as bytes, once each is known to be writable."""
    for row, key in enumerate(keys):
        if not isinstance(key, str):
            hint = ""
            if key is None:
                hint = (
                    " gensim's `KeyedVectors(dim, count=n)` makes n rows "
                    "with the key None before any `add_vectors`; create it "
                    "with `KeyedVectors(dim)` instead."
                )
            raise ValueError(
                f"Only string keys can be written; row {row} has the key "
                f"{key!r} of type {type(key).__name__}.{hint}"
            )
        bad = _BAD_BINARY_TOKEN if format == "word2vec-binary" else _BAD_TOKEN
        match = bad.search(key)
        if match or not key:
            raise ValueError(
                f"Cannot write the token {key!r} (row {row}) in the "
                f"{format} format: it {_fault(match)}, which readers "
                "(gensim's, or load_vectors) would not read back as the "
                "same token. Rename the key, or save to the cache "
                "(keras_embedplus.vectors.save_cache, or "
                "`keras-embedplus convert`), which holds any token."
            )
    try:
        return [key.encode(encoding) for key in keys]
    except UnicodeEncodeError as error:
        raise ValueError(
            f"Cannot encode the token {error.object!r} in {encoding}: "
            f"{error.reason}. Use encoding='utf-8'."
        ) from None


def _fault(match):
    if match is None:
        return "is empty"
    found = match.group()
    if found == "\ufeff":
        return "starts with a byte-order mark"
    if found == " ":
        return "contains a space"
    return f"contains {found!r}"


def _open(path):
    path = os.fspath(path)
    if path.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=6)
    if path.endswith(".bz2"):
        return bz2.open(path, "wb")
    return open(path, "wb")


def _write_binary(file, tokens, table):
    dim = table.shape[1]
    for start in range(0, len(tokens), _CHUNK_ROWS):
        chunk = table[start : start + _CHUNK_ROWS].astype("<f4").tobytes()
        width = 4 * dim
        parts = []
        for i, token in enumerate(tokens[start : start + _CHUNK_ROWS]):
            parts += (token, b" ", chunk[i * width : (i + 1) * width], b"\n")
        file.write(b"".join(parts))


def _write_text(file, table, prefixes, separator):
    """Writes rows of `prefix values...` with short exact floats.

    Each chunk of values becomes fixed-width, NUL-padded text in one
    vectorized step (`float_formatting` for float32, numpy's conversion
    for other float sizes), is laid out with the prefixes and separators
    in a byte buffer, and is written once its NUL bytes are removed.
    """
    rows, dim = table.shape
    step = max(1, _CHUNK_VALUES // dim)
    for start in range(0, rows, step):
        values = table[start : start + step]
        count = len(values)
        if values.dtype == np.float32:
            text = float_formatting.format_float32(values)
        else:
            # Longest shortest-repr: "-2.2250738585072014e-308", 24 bytes.
            width = 24 if values.dtype.itemsize <= 8 else 48
            text = values.astype(f"S{width}").view(np.uint8)
            text = text.reshape(count, dim, width)
        width = text.shape[-1]
        cells = np.empty((count, dim, width + 1), dtype=np.uint8)
        cells[:, :, :width] = text
        cells[:, :, width] = separator[0]
        cells[:, -1, width] = ord("\n")
        cells = cells.reshape(count, -1)
        if prefixes is not None:
            chunk_prefixes = np.array(prefixes[start : start + count])
            prefix = chunk_prefixes.view(np.uint8).reshape(count, -1)
            cells = np.concatenate([prefix, cells], 1)
        file.write(cells.tobytes().replace(b"\x00", b""))


def _metadata_lines(metadata, count):
    if isinstance(metadata, dict):
        columns = {str(name): list(values) for name, values in metadata.items()}
    else:
        columns = {"label": list(metadata)}
    for name, values in columns.items():
        if len(values) != count:
            raise ValueError(
                f"The metadata column {name!r} has {len(values)} values for "
                f"{count} vectors; it needs one per vector."
            )
    lines = zip(
        *[map(_label, values) for values in columns.values()], strict=True
    )
    if len(columns) > 1:
        yield "\t".join(map(_label, columns)) + "\n"
    for line in lines:
        yield "\t".join(line) + "\n"


def _label(value):
    label = str(value)
    if not label.strip():
        return repr(label)
    return label.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
