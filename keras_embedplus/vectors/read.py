"""Reading vector files: `load_vectors` and `read_vectors`.

The formats and how `format="auto"` tells them apart are described in
`detect`; this module validates the arguments (see `options`) and
hands the file to the reader of its format.
"""

import dataclasses
import os
import sys
import warnings

from keras_embedplus.vectors import cache
from keras_embedplus.vectors.binary_format import read_binary
from keras_embedplus.vectors.detect import detect_format
from keras_embedplus.vectors.fasttext_format import load_fasttext
from keras_embedplus.vectors.keyed_vectors import first_words
from keras_embedplus.vectors.options import read_options
from keras_embedplus.vectors.report import LoadReport
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.report import VectorFileWarning
from keras_embedplus.vectors.source import Opened
from keras_embedplus.vectors.source import check_source
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
    allow_nonfinite=False,
    on_truncation="raise",
):
    """Loads pretrained word vectors from a file into gensim `KeyedVectors`.

    Reads GloVe, word2vec (text and binary), fastText (`.bin` with its
    subword vectors, and `.vec`), gensim's own saved files and the
    package's pickle-free cache, plain or gzip/bzip2 compressed, with the
    format detected from the content. Text files are parsed by a vectorized
    reader many times faster than gensim's, to exactly the same float32
    values. Real dumps' quirks are handled: words containing spaces (the
    vector is the last `dim` fields), repeated words (the first is kept),
    CRLF, a UTF-8 BOM, trailing spaces, tabs, blank lines. Every file
    gives exactly the vectors it holds or raises `VectorFileError` naming
    the file, the line (byte offset in binary files) and what to do: a
    file cut short (fewer rows than its header declares, a last line or
    record cut in the middle) and nan or inf values are errors unless
    asked for. Use `read_vectors` to also get the `LoadReport`.

    Args:
        source: String or path. The file, or a cache directory.
        format: String. "auto" (default) or one of "glove", "word2vec",
            "word2vec-binary", "fasttext-bin", "fasttext-vec", "cache",
            "gensim".
        vocabulary: Iterable of strings, `AnyCase`, or None. Keep only
            these words (with `AnyCase(words)`, in any case); the others
            are not parsed, so memory follows the vocabulary.
        limit: Integer or None. Read only the first `limit` vectors.
        encoding: String. Encoding of the words (ASCII-compatible). With
            any spelling of UTF-8 ("utf-8", "utf8", "utf-8-sig", ...) a
            BOM at the start of the file is skipped.
        allow_pickle: Boolean. Allow gensim's pickled files, which can
            run arbitrary code when loaded. Default False.
        progress: Boolean or None. Show a tqdm progress bar; None (the
            default) shows it for files of 16 MiB or more when stderr is
            a terminal.
        allow_nonfinite: Boolean. Keep rows holding nan or inf (or
            values beyond float32) in text and word2vec binary files.
            Default False: such a row raises `VectorFileError`, since
            one nan spreads into all that is computed from the vectors.
        on_truncation: String. "raise" (default) or "warn". A file cut
            short raises `VectorFileError`; with "warn" the whole rows
            before the cut are loaded, and a `VectorFileWarning` and the
            report's `truncated` say what is missing.

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
        allow_nonfinite=allow_nonfinite,
        on_truncation=on_truncation,
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
    allow_nonfinite=False,
    on_truncation="raise",
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
    >>> kv, report = keras_embedplus.vectors.read_vectors(path)
    >>> kv.index_to_key
    ['the', '. . .']
    >>> report.duplicates, report.tokens_with_spaces
    (1, 1)
    """
    path = check_source(source)
    options = read_options(
        format,
        vocabulary,
        limit,
        encoding,
        allow_pickle,
        progress,
        allow_nonfinite,
        on_truncation,
    )
    auto = format == "auto"
    if auto:
        format = detect_format(path)
    report = LoadReport(path, format)
    if format == "cache":
        kv = _subset(cache.load_cache(path), options, report)
    elif format == "gensim":
        kv = _subset(_load_gensim(path, allow_pickle), options, report)
    elif format == "fasttext-bin":
        with Opened(path) as opened:
            kv = load_fasttext(opened, path, options.encoding)
        kv = _subset(kv, options, report)
    elif auto and format in ("word2vec", "fasttext-vec"):
        return _read_header_or_glove(path, format, options)
    else:
        kv = _read_stream(path, format, report, options)
    return kv, report


def _read_header_or_glove(path, format, options):
    """Reads a file that `format="auto"` found to start with a header.

    "3 1" above rows of one value may also be a GloVe row whose word is a
    number: the file is then read the way under which it is consistent
    (as a header file when its row count is right, else as GloVe). The
    file is read once as a header file: with `on_truncation="warn"`, the
    warnings of a file cut short are held until GloVe is ruled out.
    """
    strict = dataclasses.replace(options, on_truncation="raise")
    first = strict if options.on_truncation == "raise" else options
    first = dataclasses.replace(first, held=[])
    report = LoadReport(path, format)
    try:
        kv = _read_stream(path, format, report, first)
    except VectorFileError:
        if _glove_too(report):
            glove = LoadReport(path, "glove")
            try:
                return _read_stream(path, "glove", glove, strict), glove
            except VectorFileError:
                pass
        raise
    if report.truncated is not None and _glove_too(report):
        glove = LoadReport(path, "glove")
        try:
            return _read_stream(path, "glove", glove, strict), glove
        except VectorFileError:
            pass
    for message in first.held:
        warnings.warn(message, VectorFileWarning, stacklevel=3)
    return kv, report


def _glove_too(report):
    """Whether a header file's rows of one value may be GloVe rows."""
    return report.dim == 1 and report.header_count is not None


def _read_stream(path, format, report, options):
    with Opened(path) as opened:
        bar = _progress_bar(options.progress, opened, path)
        position = opened.raw.tell()

        def tick(_):
            nonlocal position
            if bar is not None:
                now = opened.raw.tell()
                bar.update(now - position)
                position = now

        try:
            if format == "word2vec-binary":
                return read_binary(opened, report, options, tick=tick)
            return read_text(
                opened, report, options, header=_TEXT[format], tick=tick
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
            "then save it once with keras_embedplus.vectors.save_cache("
            "kv, directory) to reload it pickle-free.",
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


def _subset(kv, options, report):
    """The first `limit` vectors of `kv` whose words are wanted."""
    keys = kv.index_to_key
    limit = options.limit
    count = len(keys) if limit is None else min(limit, len(keys))
    report.rows = count
    report.dim = kv.vector_size
    kv = first_words(kv, count, options.vocabulary)
    report.kept = len(kv)
    return kv
