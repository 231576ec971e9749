"""The `keras-embedplus` command: the demo and quick looks at vector files.

Run `keras-embedplus --help` (or `python -m keras_embedplus_cli`) for the
subcommands. The command starts through `keras_embedplus_cli`, which keeps
TensorFlow out of the subcommands that only read vector files. Whatever the
input, a failure is one line on stderr, `keras-embedplus COMMAND: error:
...`, with exit status 1 (wrong arguments exit with status 2, as argparse
does); `--debug`, or the environment variable `KERAS_EMBEDPLUS_DEBUG=1`,
shows the traceback instead.
"""

import argparse
import os
import sys

from keras_embedplus.tools import commands

PROG = "keras-embedplus"
DEBUG_VARIABLE = "KERAS_EMBEDPLUS_DEBUG"


class OutputFormats:
    """`convert --format`'s choices: the cache and the writer's formats.

    Read from `vectors.write` only when argparse checks a value or shows
    the help of `convert`, so that `--help` imports no vector module (and
    with them gensim).
    """

    def __iter__(self):
        from keras_embedplus.vectors.write import FORMATS

        return iter(("cache", *FORMATS))

    def __contains__(self, value):
        return value in tuple(self)


def main(argv=None):
    """Runs the command line; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        # Words (or argument bytes) the terminal cannot show are escaped,
        # not a crash; argparse's own messages included.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    try:
        args.handler(args)
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        if debug:
            raise
        _error(args.command, "interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the one place that reports
        if debug:
            raise
        _error(args.command, _one_line(error))
        return 1
    return 0


def _one_line(error):
    if isinstance(error, commands.UsageError):
        message = str(error)
    else:
        # Not a mistake we foresaw: say what it was, and how to see more.
        message = commands.describe(error)
        if not isinstance(error, (OSError, ValueError)):
            message = f"{type(error).__name__}: {message}"
        message += f" (--debug or {DEBUG_VARIABLE}=1 shows the traceback)"
    return " ".join(message.split()) or "failed"


def _error(command, message):
    print(f"{PROG} {command}: error: {message}", file=sys.stderr)


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Keras embedding layers made visible: the Q&A demo, and quick "
            "looks at word-vector files."
        ),
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=(
            "show the Python traceback of an error (also with "
            f"{DEBUG_VARIABLE}=1)"
        ),
    )
    # `--debug` also after the subcommand; SUPPRESS keeps the subcommand's
    # parser from resetting a `--debug` given before it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error",
    )
    subcommands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    demo = subcommands.add_parser(
        "demo",
        parents=[debug],
        help="walk through how an embedding layer works",
        description=(
            "Run the Q&A walkthrough: the question's Embedding(5, 2, "
            "input_length=5) code, then the 7-word example (table, lookup, "
            "one-hot product, training). Prints the tables and writes "
            "pictures."
        ),
    )
    demo.add_argument(
        "--out",
        default="demo_output",
        metavar="DIR",
        help="directory for the pictures (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument(
        "--epochs", type=int, default=20, help="length of the training run"
    )
    demo.set_defaults(handler=commands.demo)

    inspect = subcommands.add_parser(
        "inspect",
        parents=[debug],
        help="describe a vector file",
        description=(
            "Describe a vector file: its format, number of words, "
            "dimension, a few sample words, value statistics and quirks "
            "(repeated words, tokens with spaces)."
        ),
    )
    _add_input_arguments(inspect)
    inspect.add_argument(
        "--sample",
        type=int,
        default=10,
        metavar="N",
        help="how many words to show (default: %(default)s)",
    )
    inspect.set_defaults(handler=commands.inspect)

    coverage = subcommands.add_parser(
        "coverage",
        parents=[debug],
        help="how much of a vocabulary a vector file covers",
        description=(
            "Align a vector file to a vocabulary file (one word a line) "
            "and report how many words have a vector, naming the missing "
            "ones."
        ),
    )
    _add_input_arguments(coverage)
    coverage.add_argument(
        "--vocab",
        required=True,
        metavar="FILE",
        help="vocabulary file, one word a line (blank lines are skipped)",
    )
    coverage.add_argument(
        "--no-lowercase-fallback",
        dest="lowercase_fallback",
        action="store_false",
        help="do not use the vector of 'hope' for 'Hope'",
    )
    coverage.add_argument(
        "--missing",
        type=int,
        default=20,
        metavar="N",
        help="list at most N missing words, 0 for all (default: %(default)s)",
    )
    coverage.set_defaults(handler=commands.coverage)

    convert = subcommands.add_parser(
        "convert",
        parents=[debug],
        help="convert a vector file to the fast cache or another format",
        description=(
            "Read a vector file and write it again: by default to the "
            "pickle-free cache that loads fastest (a directory), or to a "
            "text or binary file other tools read."
        ),
    )
    _add_input_arguments(convert)
    convert.add_argument(
        "out",
        metavar="OUT",
        help=(
            "where to write: a directory for --format cache (new, empty, "
            "or a cache to replace), a file for the other formats"
        ),
    )
    convert.add_argument(
        "--format",
        choices=OutputFormats(),
        default="cache",
        # A metavar, or argparse would list the choices when building.
        metavar="FORMAT",
        help="output format: %(choices)s (default: %(default)s)",
    )
    convert.set_defaults(handler=commands.convert)

    neighbors = subcommands.add_parser(
        "neighbors",
        parents=[debug],
        help="nearest words by cosine similarity",
        description=(
            "List the words whose vectors are nearest to each WORD's."
        ),
    )
    _add_input_arguments(neighbors)
    neighbors.add_argument(
        "words", nargs="+", metavar="WORD", help="the words to look up"
    )
    neighbors.add_argument(
        "-k",
        type=int,
        default=10,
        metavar="N",
        help="how many neighbours (default: %(default)s)",
    )
    neighbors.set_defaults(handler=commands.neighbors)
    return parser


def _add_input_arguments(parser):
    parser.add_argument(
        "path",
        metavar="PATH",
        help=(
            "the vector file, a cache directory, or a projector vectors.tsv "
            "(read with the metadata.tsv beside it)"
        ),
    )
    parser.add_argument(
        "--input-format",
        default="auto",
        metavar="FORMAT",
        help="format of PATH (default: detected from the file)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of PATH (default: %(default)s)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="read only the first N vectors",
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help=(
            "allow reading pickled gensim models; only for files you "
            "trust, as unpickling can run any code"
        ),
    )
    parser.add_argument(
        "--allow-nonfinite",
        action="store_true",
        help="keep vectors holding nan or inf instead of refusing the file",
    )
    parser.add_argument(
        "--on-truncation",
        choices=("raise", "warn"),
        default="raise",
        help=(
            "what to do with a file cut short (fewer rows than its header "
            "declares): refuse it (default) or read what it holds, with a "
            "warning"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
