import keras
import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with default dtype policy and fresh layer names."""
    keras.config.set_dtype_policy("float32")
    # Without the full garbage collection Keras adds by default (about
    # 0.2 s a test); Python's own collector still runs as objects pile up.
    keras.backend.clear_session(free_memory=False)
    yield
    keras.config.set_dtype_policy("float32")
