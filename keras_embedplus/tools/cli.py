"""The `keras-embedplus` command: the demo and quick looks at vector files.

Run `keras-embedplus --help` (or `python -m keras_embedplus_cli`) for the
subcommands. The command starts through `keras_embedplus_cli`, which keeps
TensorFlow out of the subcommands that only read vector files. Mistakes in
the input (a missing or malformed file, an unknown word) are reported on
stderr in one line, with exit status 1; wrong arguments exit with status 2,
as argparse does.
"""

import argparse
import sys

from keras_embedplus.tools import commands

PROG = "keras-embedplus"
OUTPUT_FORMATS = ("cache", "word2vec", "word2vec-binary", "glove")


def main(argv=None):
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except commands.UsageError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Keras embedding layers made visible: the Q&A demo, and quick "
            "looks at word-vector files."
        ),
    )
    subcommands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    demo = subcommands.add_parser(
        "demo",
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
        help="convert a vector file to the fast cache or another format",
        description=(
            "Read a vector file and write it again: by default to the "
            "pickle-free cache that loads fastest, or to a text or binary "
            "format other tools read."
        ),
    )
    _add_input_arguments(convert)
    convert.add_argument("out", metavar="OUT", help="file to write")
    convert.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default="cache",
        help="output format (default: %(default)s)",
    )
    convert.set_defaults(handler=commands.convert)

    neighbors = subcommands.add_parser(
        "neighbors",
        help="nearest words by cosine similarity",
        description="List the words whose vectors are nearest to WORD's.",
    )
    _add_input_arguments(neighbors)
    neighbors.add_argument("word", metavar="WORD", help="the word to look up")
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
    parser.add_argument("path", metavar="PATH", help="the vector file")
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


if __name__ == "__main__":
    sys.exit(main())
