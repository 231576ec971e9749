"""What each `keras-embedplus` subcommand does, once its arguments are parsed.

Each function takes the `argparse.Namespace` of its subcommand, prints its
result on stdout, and raises `UsageError` for a mistake in the input, which
`keras_embedplus.tools.cli.main` reports on stderr with exit status 1.
"""

import os
import re
import stat

import numpy as np


class UsageError(Exception):
    """A mistake in the user's input, reported without a traceback."""


def demo(args):
    from keras_embedplus.tools.demo import run_demo

    _check_at_least("--epochs", args.epochs, 1)
    run_demo(args.out, seed=args.seed, epochs=args.epochs)


def inspect(args):
    _check_at_least("--sample", args.sample, 0)
    vectors, report = _read(args)
    matrix = vectors.vectors[: len(vectors.index_to_key)]
    stats = value_stats(matrix)
    sample = ", ".join(map(repr, vectors.index_to_key[: args.sample]))
    if args.sample < len(vectors.index_to_key):
        sample += ", ..."
    lines = [
        ("file", args.path),
        ("format", report.format),
        ("words", f"{len(vectors.index_to_key):,}"),
        ("dimension", f"{vectors.vector_size:,}"),
        ("sample", sample),
        ("values", stats["values"]),
        ("vector norms", stats["norms"]),
        ("zero vectors", f"{stats['zero_rows']:,}"),
        ("not finite", plural(stats["non_finite"], "value")),
    ]
    quirks = _quirks(report)
    lines.append(("quirks", quirks[0] if quirks else "none"))
    lines += [("", quirk) for quirk in quirks[1:]]
    width = max(len(name) for name, _ in lines) + 1
    for name, value in lines:
        label = f"{name}:" if name else ""
        print(f"{label:<{width}} {value}")


def coverage(args):
    from keras_embedplus.vectors.align import align_vectors

    _check_at_least("--missing", args.missing, 0)
    words = read_vocabulary_file(args.vocab)
    vectors, _ = _read(args)
    _, coverage = align_vectors(
        vectors,
        words,
        oov="zeros",
        lowercase_fallback=args.lowercase_fallback,
    )
    print(f"{args.vocab} against {args.path}")
    print(coverage)
    missing = list(coverage.missing)
    if not missing:
        return
    shown = missing if args.missing == 0 else missing[: args.missing]
    print(f"\nMissing words ({len(missing):,}):")
    for word in shown:
        print(f"  {word}")
    if len(shown) < len(missing):
        print(
            f"  ... and {len(missing) - len(shown):,} more "
            "(--missing 0 lists them all)"
        )


def convert(args):
    if _same_file(args.path, args.out):
        raise UsageError(f"OUT is PATH ({args.path}); write to another file")
    vectors, _ = _read(args)
    try:
        if args.format == "cache":
            from keras_embedplus.vectors.cache import save_cache

            save_cache(vectors, args.out)
        else:
            from keras_embedplus.vectors.write import write_vectors

            write_vectors(vectors, args.out, format=args.format)
    except (OSError, ValueError) as error:
        raise UsageError(describe(error)) from error
    print(
        f"wrote {plural(len(vectors.index_to_key), 'vector')} of dimension "
        f"{vectors.vector_size} to {args.out} ({args.format})"
    )


def neighbors(args):
    _check_at_least("-k", args.k, 1)
    vectors, _ = _read(args)
    # fastText vectors also answer for unseen words, from their n-grams.
    unknown = [word for word in args.words if word not in vectors]
    if unknown:
        hints = []
        for word in unknown:
            variants = {word.lower(), word.title(), word.upper()}
            known = sorted(v for v in variants if v in vectors.key_to_index)
            if known:
                hints.append((word, ", ".join(map(repr, known))))
        hint = ""
        if len(unknown) == 1 and hints:
            hint = f"; did you mean {hints[0][1]}?"
        elif hints:
            hint = "; did you mean " + "; ".join(
                f"{known} for {word!r}" for word, known in hints
            )
            hint += "?"
        names = ", ".join(map(repr, unknown))
        raise UsageError(
            f"{names} {'is' if len(unknown) == 1 else 'are'} not in "
            f"{args.path} ({plural(len(vectors.index_to_key), 'word')})"
            f"{hint}"
        )
    if len(vectors.index_to_key) < 2:
        raise UsageError(
            f"{args.path} holds {plural(len(vectors.index_to_key), 'word')}: "
            "no other word to compare with"
        )
    for number, word in enumerate(args.words):
        if number:
            print()
        _print_neighbors(vectors, word, args.k)


def _print_neighbors(vectors, word, k):
    source = ""
    if word not in vectors.key_to_index:
        source = " (not in the file: its vector is built from subwords)"
    if not np.any(vectors[word]):
        raise UsageError(
            f"the vector of {word!r} is all zeros (a row that had no "
            "vector, such as an OOV row exported with zeros): it has no "
            "direction, so no nearest words"
        )
    print(f"nearest to {word!r} by cosine similarity{source}:")
    # Zero vectors (no direction) have no cosine similarity: gensim gives
    # them NaN, with a numpy warning; they are left out.
    with np.errstate(divide="ignore", invalid="ignore"):
        neighbours = vectors.most_similar(word, topn=k)
    neighbours = [pair for pair in neighbours if not np.isnan(pair[1])]
    width = max([len(other) for other, _ in neighbours] + [4])
    for rank, (other, similarity) in enumerate(neighbours, 1):
        print(f"{rank:>4}  {other:<{width}}  {similarity:+.4f}")


def read_vocabulary_file(path):
    """Reads one word a line, skipping blank lines; refuses repeats."""
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory, not a vocabulary file")
    _check_readable(path)
    words = {}
    try:
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                word = line.strip()
                if not word:
                    continue
                if word in words:
                    raise UsageError(
                        f"{path} line {number}: {word!r} repeats line "
                        f"{words[word]}; each word must appear once"
                    )
                words[word] = number
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text: {error}") from error
    except OSError as error:
        raise UsageError(describe(error)) from error
    if not words:
        raise UsageError(f"{path} holds no words")
    return list(words)


def value_stats(matrix, chunk_rows=65536):
    """Summarises the values and row norms of a matrix, chunk by chunk.

    Returns:
        A dict of printable `values` and `norms` summaries and the counts
        `zero_rows` and `non_finite`.
    """
    count, total, squares = 0, 0.0, 0.0
    low, high = np.inf, -np.inf
    norms = []
    non_finite = 0
    for start in range(0, len(matrix), chunk_rows):
        block = np.asarray(matrix[start : start + chunk_rows], "float64")
        finite = np.isfinite(block)
        non_finite += int(block.size - finite.sum())
        values = block[finite]
        if values.size:
            count += values.size
            total += values.sum()
            squares += np.square(values).sum()
            low, high = min(low, values.min()), max(high, values.max())
        norms.append(np.linalg.norm(np.where(finite, block, 0.0), axis=1))
    norms = np.concatenate(norms) if norms else np.zeros(0)
    if not count:
        return {
            "values": "none",
            "norms": "none",
            "zero_rows": int((norms == 0).sum()),
            "non_finite": non_finite,
        }
    mean = total / count
    std = np.sqrt(max(squares / count - mean**2, 0.0))
    return {
        "values": (
            f"min {low:.4g}, max {high:.4g}, mean {mean:.4g}, std {std:.4g}"
        ),
        "norms": (
            f"min {norms.min():.4g}, mean {norms.mean():.4g}, "
            f"max {norms.max():.4g}"
        ),
        "zero_rows": int((norms == 0).sum()),
        "non_finite": non_finite,
    }


def _read(args):
    from keras_embedplus.tools import projector_reader
    from keras_embedplus.vectors.read import read_vectors

    if args.limit is not None:
        _check_at_least("--limit", args.limit, 1)
    _check_readable(args.path)
    try:
        if args.input_format == projector_reader.FORMAT or (
            args.input_format == "auto"
            and projector_reader.is_projector(args.path)
        ):
            return projector_reader.read_projector(args.path, args.limit)
        options = {}
        # Passed only when asked for: a reader without them still reads.
        if args.allow_nonfinite:
            options["allow_nonfinite"] = True
        if args.on_truncation != "raise":
            options["on_truncation"] = args.on_truncation
        return read_vectors(
            args.path,
            format=args.input_format,
            limit=args.limit,
            encoding=args.encoding,
            allow_pickle=args.allow_pickle,
            **options,
        )
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(describe(error)) from error


def _check_readable(path):
    """Refuses what is not a file or a directory (a pipe, /dev/zero)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as error:
        raise UsageError(describe(error)) from error
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UsageError(
            f"{path} is not a regular file or a directory; save the vectors "
            "to a file first"
        )


def _quirks(report):
    quirks = []
    if report.duplicates:
        quirks.append(
            f"{plural(report.duplicates, 'repeated word')}, the first kept "
            f"(e.g. {_examples(report.duplicate_examples)})"
        )
    if report.tokens_with_spaces:
        quirks.append(
            f"{plural(report.tokens_with_spaces, 'word')} containing spaces "
            f"(e.g. {_examples(report.tokens_with_spaces_examples)})"
        )
    if report.header_mismatch:
        quirks.append(
            f"the header declares {plural(report.header_count, 'row')}, "
            f"the file holds {report.rows:,}"
        )
    if report.lines_skipped:
        quirks.append(f"{plural(report.lines_skipped, 'blank line')} skipped")
    return quirks


def plural(count, noun):
    """`"1 word"`, `"2 words"`, with thousands separators."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _examples(words):
    return ", ".join(map(repr, words))


# The readers' advice names Python arguments and calls: say the command
# line's flags and subcommands.
_FLAGS = [
    (
        re.compile(r"save it once with [\w.]*save_cache\(kv, directory\)"),
        "convert it once to a cache (keras-embedplus convert PATH OUT "
        "--allow-pickle)",
    ),
    (re.compile(r"\ballow_pickle=True"), "--allow-pickle"),
    (re.compile(r"\ballow_nonfinite=True"), "--allow-nonfinite"),
    (re.compile(r"\bon_truncation='(\w+)'"), r"--on-truncation \1"),
    (re.compile(r"\bencoding='([^']+)'"), r"--encoding \1"),
    (re.compile(r"\bformat='([^']+)'"), r"--input-format \1"),
    (re.compile(r"\blimit=(\d+)"), r"--limit \1"),
]


def describe(error):
    """The message of `error`, in the command line's words."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    message = str(error) or type(error).__name__
    for pattern, flag in _FLAGS:
        message = pattern.sub(flag, message)
    if "format=" in message:
        message += " (on the command line: --input-format FORMAT)"
    return message


def _same_file(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _check_at_least(flag, value, minimum):
    if value < minimum:
        raise UsageError(f"{flag} must be at least {minimum}, got {value}")
