"""Starts the `keras-embedplus` command without TensorFlow when it can.

`import keras_embedplus` imports the layers, and with them Keras and
TensorFlow (about 4 s), so that `keras.saving.load_model` finds the layers
registered. The subcommands that look at vector files need neither, so
this launcher asks the package, before it is first imported, to import its
Keras half only when a name from it is used; `demo` imports the layers
when it runs.
"""

import sys

DEFER_KERAS = False


def main(argv=None):
    """Runs `keras_embedplus.tools.cli.main`; returns the exit status."""
    global DEFER_KERAS
    DEFER_KERAS = True
    from keras_embedplus.tools import cli

    return cli.main(argv)


if __name__ == "__main__":
    # Run as `python -m keras_embedplus_cli`: this file is `__main__`, and
    # the package looks for its flag under the module's own name.
    import keras_embedplus_cli

    sys.exit(keras_embedplus_cli.main())
