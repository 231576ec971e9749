"""The options of `read_vectors`, checked once where they enter.

`read_options` validates them and returns one `ReadOptions`, which is
what the readers receive; a file cut short is handled by its `cut_short`.
"""

import codecs
import dataclasses
import warnings

from keras_embedplus.vectors.arguments import check_integer
from keras_embedplus.vectors.detect import FORMATS
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.report import VectorFileWarning
from keras_embedplus.vectors.report import where
from keras_embedplus.vectors.vocabulary import AnyCase
from keras_embedplus.vectors.vocabulary import check_words


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """The checked options of a read (see `load_vectors` for each).

    `vocabulary` is a set, an `AnyCase` or None; `encoding` the codec's
    canonical name ("utf-8" for every spelling of UTF-8). `held`, when a
    list, collects the warnings of a file cut short instead of giving
    them, for a read that may be discarded.
    """

    vocabulary: object
    limit: int | None
    encoding: str
    allow_pickle: bool
    progress: bool | None
    allow_nonfinite: bool
    on_truncation: str
    held: list | None = None

    def cut_short(self, report, problem, what, **location):
        """A file cut short: raises, or records it in `report` and warns.

        Args:
            report: `LoadReport` of the read.
            problem: String. What shows that the file was cut short.
            what: String. What is loaded nevertheless ("the rows before
                it"), for the message.
            **location: `line`, or `record` and `offset`, as for
                `VectorFileError`.
        """
        if self.on_truncation == "raise":
            raise VectorFileError(
                report.path,
                f"{problem}. Download it again, or pass "
                f"on_truncation='warn' to load {what}",
                **location,
            )
        place = where(**location)
        if report.truncated is None:
            report.truncated = f"{place}: {problem}"
        message = f"{report.path}, {place}: {problem}; loaded {what}."
        if self.held is not None:
            self.held.append(message)
        else:
            warnings.warn(message, VectorFileWarning, stacklevel=2)


def read_options(
    format,
    vocabulary,
    limit,
    encoding,
    allow_pickle,
    progress,
    allow_nonfinite,
    on_truncation,
):
    """Validates the options of `read_vectors`; returns `ReadOptions`."""
    if format != "auto" and format not in FORMATS:
        raise ValueError(
            f"`format` must be 'auto' or one of {', '.join(FORMATS)}. "
            f"Received: format={format!r}"
        )
    limit = check_integer("limit", limit, minimum=1, allow_none=True)
    if progress not in (None, True, False):
        raise ValueError(
            "`progress` must be True, False or None. "
            f"Received: progress={progress!r}"
        )
    if allow_nonfinite not in (True, False):
        raise ValueError(
            "`allow_nonfinite` must be True or False. "
            f"Received: allow_nonfinite={allow_nonfinite!r}"
        )
    if on_truncation not in ("raise", "warn"):
        raise ValueError(
            "`on_truncation` must be 'raise' or 'warn'. "
            f"Received: on_truncation={on_truncation!r}"
        )
    encoding = _canonical_encoding(encoding)
    if vocabulary is not None and not isinstance(vocabulary, AnyCase):
        vocabulary = set(check_words("vocabulary", vocabulary))
    return ReadOptions(
        vocabulary=vocabulary,
        limit=limit,
        encoding=encoding,
        allow_pickle=allow_pickle,
        progress=progress,
        allow_nonfinite=allow_nonfinite,
        on_truncation=on_truncation,
    )


def _canonical_encoding(encoding):
    """The codec's name, "utf-8" for every spelling of UTF-8 (with or
    without "-sig": the readers skip a BOM for "utf-8")."""
    received = encoding
    try:
        encoding = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(
            f"Unknown `encoding`. Received: encoding={received!r}"
        ) from None
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    ascii_compatible = codecs.encode("09 .-+eE\n", encoding) == b"09 .-+eE\n"
    if not ascii_compatible:
        raise ValueError(
            "`encoding` must be ASCII-compatible (the numbers and separators "
            f"are read as ASCII bytes). Received: encoding={received!r}"
        )
    return encoding
