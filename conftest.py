"""What every test of the repository shares, docstring examples included."""

import keras
import numpy as np
import pytest

import keras_embedplus


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    """Docstring examples use `keras`, `keras_embedplus` and `np` as is.

    Here, at the root, so that the examples under `keras_embedplus/` get
    the names whichever tests ran before them (or none).
    """
    doctest_namespace.update(
        keras=keras, keras_embedplus=keras_embedplus, np=np
    )


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with default dtype policy and fresh layer names."""
    keras.config.set_dtype_policy("float32")
    # Without the full garbage collection Keras adds by default (about
    # 0.2 s a test); Python's own collector still runs as objects pile up.
    keras.backend.clear_session(free_memory=False)
    yield
    keras.config.set_dtype_policy("float32")
