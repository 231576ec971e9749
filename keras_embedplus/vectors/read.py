"""Reading vector files: `load_vectors` and `read_vectors`.

The formats and how `format="auto"` tells them apart are described in
`keras_embedplus.vectors.detect`; this module validates the arguments and
hands the file to the reader of its format.
"""

import codecs
import os
import sys

from keras_embedplus.vectors import cache
from keras_embedplus.vectors.binary_format import read_binary
from keras_embedplus.vectors.detect import FORMATS
from keras_embedplus.vectors.detect import Opened
from keras_embedplus.vectors.detect import check_source
from keras_embedplus.vectors.detect import detect_format
from keras_embedplus.vectors.fasttext_format import load_fasttext
from keras_embedplus.vectors.report import LoadReport
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.rows import make_keyed_vectors
from keras_embedplus.vectors.text_format import read_text

_TEXT = {"glove": False, "word2vec": True, "fasttext-vec": True}
# Progress bars appear by themselves for files at least this large.
_PROGRESS_BYTES = 16 << 20


def load_vectors(
    source,
    *,
    format="auto",
    vocabulary=None,
    limit=None,
    encoding="utf-8",
    allow_pickle=False,
    progress=None,
):
    """Loads pretrained word vectors from a file into gensim `KeyedVectors`.

    Reads GloVe, word2vec (text and binary), fastText (`.bin` with its
    subword vectors, and `.vec`), gensim's own saved files and the
    package's pickle-free cache, plain or gzip/bzip2 compressed, with the
    format detected from the content. Text files are parsed by a vectorized
    reader many times faster than gensim's, to exactly the same float32
    values. Real dumps' quirks are handled: words containing spaces (the
    vector is the last `dim` fields), repeated words (the first is kept),
    CRLF, a UTF-8 BOM, trailing spaces, blank lines, a header whose row
    count is wrong. A malformed file raises `VectorFileError` naming the
    file and line. Use `read_vectors` to also get the `LoadReport`.

    Args:
        source: String or path. The file, or a cache directory.
        format: String. "auto" (default) or one of "glove", "word2vec",
            "word2vec-binary", "fasttext-bin", "fasttext-vec", "cache",
            "gensim".
        vocabulary: Iterable of strings, `AnyCase`, or None. Keep only
            these words (with `AnyCase(words)`, in any case); the others
            are not parsed, so memory follows the vocabulary.
        limit: Integer or None. Read only the first `limit` vectors.
        encoding: String. Encoding of the words (ASCII-compatible).
        allow_pickle: Boolean. Allow gensim's pickled files, which can
            run arbitrary code when loaded. Default False.
        progress: Boolean or None. Show a tqdm progress bar; None (the
            default) shows it for files of 16 MiB or more when stderr is
            a terminal.

    Returns:
        A `gensim.models.KeyedVectors` (a `FastTextKeyedVectors` for
        fastText `.bin` files, which gives vectors to unseen words).

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("the 0.1 0.2\\ncat 0.3 0.4\\n")
    >>> kv = keras_embedplus.load_vectors(path)
    >>> kv["cat"]
    array([0.3, 0.4], dtype=float32)
    """
    kv, _ = read_vectors(
        source,
        format=format,
        vocabulary=vocabulary,
        limit=limit,
        encoding=encoding,
        allow_pickle=allow_pickle,
        progress=progress,
    )
    return kv


def read_vectors(
    source,
    *,
    format="auto",
    vocabulary=None,
    limit=None,
    encoding="utf-8",
    allow_pickle=False,
    progress=None,
):
    """Like `load_vectors`, and also returns what the file held.

    Args: as for `load_vectors`.

    Returns:
        A tuple `(KeyedVectors, LoadReport)`.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("the 0.1 0.2\\n. . . 0.5 0.6\\nthe 0.3 0.4\\n")
    >>> kv, report = keras_embedplus.vectors.read.read_vectors(path)
    >>> kv.index_to_key
    ['the', '. . .']
    >>> report.duplicates, report.tokens_with_spaces
    (1, 1)
    """
    path = check_source(source)
    wanted = _check_arguments(format, vocabulary, limit, encoding, progress)
    if format == "auto":
        format = detect_format(path)
    report = LoadReport(path, format)
    if format == "cache":
        kv = _subset(cache.load_cache(path), wanted, limit, report)
    elif format == "gensim":
        kv = _subset(_load_gensim(path, allow_pickle), wanted, limit, report)
    elif format == "fasttext-bin":
        kv = _load_fasttext(path, wanted, limit, encoding, report)
    else:
        kv = _read_stream(
            path, format, wanted, limit, encoding, progress, report
        )
    return kv, report


def _read_stream(path, format, wanted, limit, encoding, progress, report):
    with Opened(path) as opened:
        bar = _progress_bar(progress, opened, path)
        position = opened.raw.tell()

        def tick(_):
            nonlocal position
            if bar is not None:
                now = opened.raw.tell()
                bar.update(now - position)
                position = now

        arguments = dict(
            encoding=encoding,
            vocabulary=wanted,
            limit=limit,
            size=opened.size,
            tick=tick,
        )
        try:
            if format == "word2vec-binary":
                return read_binary(
                    opened.stream, opened.head, report, **arguments
                )
            return read_text(
                opened.stream,
                opened.head,
                report,
                header=_TEXT[format],
                **arguments,
            )
        finally:
            if bar is not None:
                bar.close()


def _progress_bar(progress, opened, path):
    total = os.fstat(opened.raw.fileno()).st_size
    if progress is None:
        progress = sys.stderr.isatty() and total >= _PROGRESS_BYTES
    if not progress:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=os.path.basename(path),
    )
    bar.update(opened.raw.tell())
    return bar


def _load_gensim(path, allow_pickle):
    if not allow_pickle:
        raise VectorFileError(
            path,
            "is a gensim pickle (written by KeyedVectors.save or a model's "
            "save). Unpickling can run arbitrary code, so it is refused by "
            "default: pass allow_pickle=True only if you trust the file, "
            "then save it once with keras_embedplus.vectors.cache."
            "save_cache(kv, directory) to reload it pickle-free.",
        )
    from gensim.models import KeyedVectors
    from gensim.utils import SaveLoad

    loaded = SaveLoad.load(path)
    kv = getattr(loaded, "wv", loaded)
    if not isinstance(kv, KeyedVectors):
        raise VectorFileError(
            path,
            f"holds a {type(loaded).__name__}, not KeyedVectors or a "
            "model with word vectors (.wv)",
        )
    return kv


def _load_fasttext(path, wanted, limit, encoding, report):
    with Opened(path) as opened:
        kv = load_fasttext(opened, path, encoding)
    return _subset(kv, wanted, limit, report)


def _subset(kv, wanted, limit, report):
    """The first `limit` vectors of `kv` whose words are `wanted`.

    fastText vectors keep their whole subword table, so that the words
    left out still get vectors from their character n-grams.
    """
    from gensim.models.fasttext import FastTextKeyedVectors

    keys = kv.index_to_key
    count = len(keys) if limit is None else min(limit, len(keys))
    report.rows = count
    report.dim = kv.vector_size
    if wanted is None and count == len(keys):
        report.kept = count
        return kv
    if wanted is None:
        rows = slice(0, count)  # A view: a memory-mapped cache stays so.
    else:
        rows = [i for i in range(count) if keys[i] in wanted]
    if isinstance(kv, FastTextKeyedVectors):
        kv = _subset_fasttext(kv, rows)
    else:
        kv = make_keyed_vectors(_take(keys, rows), kv.vectors[rows])
    report.kept = len(kv)
    return kv


def _subset_fasttext(kv, rows):
    """`kv` (fastText) with only the whole words `rows`, n-grams intact."""
    kv.index_to_key = _take(kv.index_to_key, rows)
    kv.key_to_index = {key: i for i, key in enumerate(kv.index_to_key)}
    kv.vectors = kv.vectors[rows]
    kv.vectors_vocab = kv.vectors_vocab[rows]
    if kv.buckets_word is not None:
        kv.buckets_word = _take(kv.buckets_word, rows)
    kv.expandos = {name: values[rows] for name, values in kv.expandos.items()}
    kv.next_index = len(kv.index_to_key)
    kv.norms = None
    return kv


def _take(items, rows):
    if isinstance(rows, slice):
        return list(items[rows])
    return [items[i] for i in rows]


def _check_arguments(format, vocabulary, limit, encoding, progress):
    """Validates the arguments; returns the vocabulary as a set or None."""
    if format != "auto" and format not in FORMATS:
        raise ValueError(
            f"`format` must be 'auto' or one of {', '.join(FORMATS)}. "
            f"Received: format={format!r}"
        )
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or limit < 1
    ):
        raise ValueError(
            "`limit` must be a positive integer or None. "
            f"Received: limit={limit!r}"
        )
    if progress not in (None, True, False):
        raise ValueError(
            "`progress` must be True, False or None. "
            f"Received: progress={progress!r}"
        )
    try:
        ascii_compatible = (
            codecs.encode("09 .-+eE\n", encoding) == b"09 .-+eE\n"
        )
    except LookupError:
        raise ValueError(
            f"Unknown `encoding`. Received: encoding={encoding!r}"
        ) from None
    if not ascii_compatible:
        raise ValueError(
            "`encoding` must be ASCII-compatible (the numbers and separators "
            f"are read as ASCII bytes). Received: encoding={encoding!r}"
        )
    if vocabulary is None:
        return None
    if isinstance(vocabulary, AnyCase):
        return vocabulary
    return set(_words("vocabulary", vocabulary))


def _words(name, words):
    """`words`, refused with an error if it is a single string."""
    if isinstance(words, (str, bytes)):
        raise ValueError(
            f"`{name}` must be an iterable of words, not a single string. "
            f"Received: {name}={words[:40]!r}"
        )
    return words


class AnyCase:
    """A `vocabulary` filter that keeps its words in any case.

    `load_vectors(path, vocabulary=AnyCase(["iphone"]))` keeps "iphone",
    "iPhone" and "IPHONE" wherever the file has them, so that aligning the
    loaded vectors with a case fallback finds what it would find in the
    whole file. Words are compared by `str.lower()`.

    Args:
        words: Iterable of strings.

    Example:

    >>> from keras_embedplus.vectors.read import AnyCase
    >>> "iPhone" in AnyCase(["iphone"]), "phone" in AnyCase(["iphone"])
    (True, False)
    """

    def __init__(self, words):
        self.words = frozenset(_words("words", words))
        self.lowered = frozenset(word.lower() for word in self.words)

    def __contains__(self, word):
        if word in self.words:
            return True
        return isinstance(word, str) and word.lower() in self.lowered

    def __iter__(self):
        return iter(self.words)

    def __len__(self):
        return len(self.words)
