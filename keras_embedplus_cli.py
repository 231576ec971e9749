"""Starts the `keras-embedplus` command without TensorFlow when it can.

`import keras_embedplus` imports the layers, and with them Keras and
TensorFlow (about 4 s), so that `keras.saving.load_model` finds the layers
registered. `--help` and the subcommands that look at vector files need
neither, so this launcher sets `KERAS_EMBEDPLUS_BARE_IMPORT=1` while it
first imports the package, which then imports none of its modules: each
subcommand imports those it uses (`demo` the layers, when it runs). The
variable is removed again at once, so no process the command starts
inherits it.
"""

import os
import sys

BARE_IMPORT = "KERAS_EMBEDPLUS_BARE_IMPORT"


def main(argv=None):
    """Runs `keras_embedplus.tools.cli.main`; returns the exit status."""
    before = os.environ.get(BARE_IMPORT)
    os.environ[BARE_IMPORT] = "1"
    try:
        from keras_embedplus.tools import cli
    finally:
        if before is None:
            del os.environ[BARE_IMPORT]
        else:
            os.environ[BARE_IMPORT] = before
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
