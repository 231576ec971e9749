"""The options of `read_vectors`, checked once where they enter."""

import codecs

from keras_embedplus.vectors.detect import FORMATS


def check_options(
    format, limit, encoding, progress, allow_nonfinite, truncation
):
    """Validates the options of `read_vectors` but the vocabulary.

    Returns the encoding's canonical name, "utf-8" for every spelling of
    UTF-8 (with or without "-sig": the readers skip a BOM for "utf-8").
    """
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
    if allow_nonfinite not in (True, False):
        raise ValueError(
            "`allow_nonfinite` must be True or False. "
            f"Received: allow_nonfinite={allow_nonfinite!r}"
        )
    if truncation not in ("raise", "warn"):
        raise ValueError(
            "`on_truncation` must be 'raise' or 'warn'. "
            f"Received: on_truncation={truncation!r}"
        )
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
