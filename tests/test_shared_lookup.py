"""One table looked up several times in a step: each row once in its gradient.

TensorFlow's tape joins the lookups' row-sparse gradients by concatenating
them; the lookups of one variable gather from one shared handle whose
gradient sums the joined rows (`keras_embedplus._shared_handle`). These
tests take the gradient of two lookups under the tape arrangements a user
can build and compare it with a numpy formula.
"""

import keras
import numpy as np
import pytest

import keras_embedplus

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="row-sparse gradients are TensorFlow's",
)
FIRST = np.array([[1, 2, 1]], "int32")
SECOND = np.array([[1, 3, 0]], "int32")


def expected(weights_first, weights_second):
    gradient = np.zeros((6, 2), "float32")
    for ids, weight in ((FIRST, weights_first), (SECOND, weights_second)):
        for row in np.ravel(ids):
            gradient[row] += weight
    return gradient


def layer_and_table():
    layer = keras_embedplus.LookupEmbedding(6, 2)
    layer.build((None, 3))
    return layer, layer.embeddings.value


def loss(layer, first=2.0, second=3.0):
    import tensorflow as tf

    return tf.reduce_sum(layer(FIRST, training=True) * first) + tf.reduce_sum(
        layer(SECOND, training=True) * second
    )


def assert_rows_once(gradient, want, lookups=1):
    """Each row once, or at most once per lookup of the table (`lookups`).

    Lookups under several eager tapes at once are not joined (see
    `keras_embedplus._shared_handle`); each still sums its own rows.
    """
    import tensorflow as tf

    assert isinstance(gradient, tf.IndexedSlices)
    indices = gradient.indices.numpy()
    values = gradient.values.numpy()
    # Under XLA, padding repeats a looked-up row with zero slices.
    real = np.abs(values).sum(axis=1) > 0
    _, counts = np.unique(indices[real], return_counts=True)
    assert counts.max() <= lookups, indices
    np.testing.assert_allclose(tf.convert_to_tensor(gradient), want)


def one_tape(layer, table):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        value = loss(layer)
    return tape.gradient(value, table)


def lookup_before_the_tape(layer, table):
    import tensorflow as tf

    layer(FIRST, training=True)
    with tf.GradientTape() as tape:
        value = loss(layer)
    return tape.gradient(value, table)


def inner_tape_after_a_lookup(layer, table):
    import tensorflow as tf

    with tf.GradientTape():
        layer(FIRST, training=True)
        with tf.GradientTape() as inner:
            value = loss(layer)
        return inner.gradient(value, table)


def second_tape_in_sequence(layer, table):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss(layer, 5.0, 7.0)
    with tf.GradientTape() as tape:
        value = loss(layer)
    return tape.gradient(value, table)


def tape_nested_in_two_that_saw_a_lookup(layer, table):
    import tensorflow as tf

    with tf.GradientTape():
        with tf.GradientTape() as middle:
            seen = tf.reduce_sum(layer(FIRST, training=True))
            with tf.GradientTape() as inner:
                value = loss(layer)
            inner_gradient = inner.gradient(value, table)
            total = seen + value
        middle_gradient = middle.gradient(total, table)
    return inner_gradient, middle_gradient


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_three_nested_tapes(mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    run = tape_nested_in_two_that_saw_a_lookup
    if mode != "eager":
        run = tf.function(run, jit_compile=mode == "xla")
    inner, middle = run(layer, table)
    # Eagerly, lookups under several tapes are not joined.
    eager = mode == "eager"
    assert_rows_once(inner, expected(2.0, 3.0), 2 if eager else 1)
    assert_rows_once(
        middle, expected(2.0, 3.0) + expected(1.0, 0.0), 3 if eager else 1
    )


@pytest.mark.parametrize(
    "arrangement",
    [
        one_tape,
        lookup_before_the_tape,
        inner_tape_after_a_lookup,
        second_tape_in_sequence,
    ],
)
@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_two_lookups_give_each_row_once(arrangement, mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    run = arrangement
    if mode != "eager":
        run = tf.function(arrangement, jit_compile=mode == "xla")
    # Eagerly, lookups under several tapes are not joined.
    several = mode == "eager" and arrangement is inner_tape_after_a_lookup
    assert_rows_once(run(layer, table), expected(2.0, 3.0), 2 if several else 1)


def test_outer_tape_sees_lookups_after_the_inner_one_ends():
    import tensorflow as tf

    layer, table = layer_and_table()
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = loss(layer)
        inner_gradient = inner.gradient(value, table)
        total = value + tf.reduce_sum(layer(SECOND, training=True))
    # Eagerly, lookups under several tapes are not joined.
    assert_rows_once(inner_gradient, expected(2.0, 3.0), 2)
    assert_rows_once(outer.gradient(total, table), expected(2.0, 4.0), 3)


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_mixed_precision_joins_the_lookups_in_float32(mode):
    import tensorflow as tf

    layer = keras_embedplus.LookupEmbedding(6, 2, dtype="mixed_float16")
    layer.build((None, 3))
    table = layer.embeddings.value

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer)
        return tape.gradient(value, table)

    if mode != "eager":
        gradient = tf.function(gradient, jit_compile=mode == "xla")
    result = gradient()
    assert result.values.dtype == tf.float32
    assert_rows_once(result, expected(2.0, 3.0))


def test_eager_lookups_dropped_under_nested_tapes_keep_the_gradient():
    # Recording the shared tensor's identity again resets the tape's count
    # of its uses; eagerly, dropping two earlier lookups then took the
    # tensor off the tape and the kept lookup's gradient was None.
    import gc

    import tensorflow as tf

    layer, table = layer_and_table()
    with tf.GradientTape():
        with tf.GradientTape() as inner:
            dropped = [layer(FIRST, training=True) for _ in range(2)]
            value = tf.reduce_sum(layer(SECOND, training=True) * 3.0)
            del dropped
            gc.collect()
        gradient = inner.gradient(value, table)
    assert_rows_once(gradient, expected(0.0, 3.0))


@pytest.mark.parametrize("mode", ["function", "xla"])
def test_lookups_in_a_cond_branch_are_joined(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.function(jit_compile=mode == "xla")
    def gradient(flag):
        with tf.GradientTape() as tape:
            first = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            second = tf.cond(
                flag,
                lambda: tf.reduce_sum(layer(SECOND, training=True) * 3.0),
                lambda: tf.reduce_sum(layer(FIRST, training=True) * 5.0),
            )
            value = first + second
        return tape.gradient(value, table)

    assert_rows_once(gradient(tf.constant(True)), expected(2.0, 3.0))
    assert_rows_once(gradient(tf.constant(False)), expected(7.0, 0.0))


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_lookups_in_a_while_loop_get_each_row_once(mode):
    # TensorFlow's loop gradient hands a variable read in the body a dense
    # gradient: each row once, as on the other backends.
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            first = tf.reduce_sum(layer(FIRST, training=True) * 2.0)

            def body(step, total):
                rows = layer(SECOND, training=True)
                return [step + 1, total + tf.reduce_sum(rows * 1.5)]

            _, second = tf.while_loop(
                lambda step, total: step < 2,
                body,
                [tf.constant(0), tf.constant(0.0)],
                maximum_iterations=2,
            )
            value = first + second
        return tape.gradient(value, table)

    if mode != "eager":
        gradient = tf.function(gradient, jit_compile=mode == "xla")
    result = tf.convert_to_tensor(gradient())
    np.testing.assert_allclose(result, expected(2.0, 3.0))


def test_this_tensorflow_has_what_the_shared_handle_needs():
    # If a TensorFlow upgrade moves the private modules, the lookups fall
    # back to summing each lookup on its own; this says so loudly.
    from keras_embedplus import _shared_handle

    assert _shared_handle._tape_modules() is not None


def test_without_the_private_modules_each_lookup_sums_its_own_rows(
    monkeypatch,
):
    import tensorflow as tf

    from keras_embedplus import _shared_handle

    monkeypatch.setattr(_shared_handle, "_tape_modules", lambda: None)
    layer, table = layer_and_table()
    with tf.GradientTape() as tape:
        value = loss(layer)
    assert_rows_once(tape.gradient(value, table), expected(2.0, 3.0), 2)


def test_a_reloaded_saved_model_takes_gradients(tmp_path):
    # A registered gradient for the shared identity was saved traced for a
    # dense gradient, and calling the reloaded model under a tape failed.
    # Reloaded, the identity is a plain one: values right, rows repeated.
    import tensorflow as tf

    layer, table = layer_and_table()
    module = tf.Module()
    module.table = table
    module.forward = tf.function(
        lambda first, second: (
            tf.reduce_sum(layer(first) * 2.0)
            + tf.reduce_sum(layer(second) * 3.0)
        ),
        input_signature=[tf.TensorSpec((None, 3), tf.int32)] * 2,
    )
    with tf.GradientTape() as tape:
        value = module.forward(FIRST, SECOND)
    assert_rows_once(tape.gradient(value, table), expected(2.0, 3.0))
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    with tf.GradientTape() as tape:
        value = loaded.forward(FIRST, SECOND)
    gradient = tape.gradient(value, loaded.table)
    assert_rows_once(gradient, expected(2.0, 3.0), lookups=6)
