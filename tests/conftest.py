import keras
import numpy as np
import pytest

import keras_embedplus


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    """Docstring examples use `keras`, `keras_embedplus` and `np` as is."""
    doctest_namespace.update(
        keras=keras, keras_embedplus=keras_embedplus, np=np
    )


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with default dtype policy and fresh layer names."""
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()
    yield
    keras.config.set_dtype_policy("float32")
