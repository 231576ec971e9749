"""The `keras-embedplus` command: the demo and quick looks at vector files.

Run `keras-embedplus --help` (or `python -m keras_embedplus.tools.cli`)
for the subcommands. Mistakes in the input (a missing or malformed file, an
unknown word) are reported on stderr in one line, with exit status 1;
wrong arguments exit with status 2, as argparse does.
"""

import argparse
import sys

PROG = "keras-embedplus"


class UsageError(Exception):
    """A mistake in the user's input, reported without a traceback."""


def main(argv=None):
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except UsageError as error:
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
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    demo = commands.add_parser(
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
    demo.set_defaults(handler=_demo)
    return parser


def _demo(args):
    from keras_embedplus.tools import demo

    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    demo.run_demo(args.out, seed=args.seed, epochs=args.epochs)


if __name__ == "__main__":
    sys.exit(main())
