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


def assert_rows_once(gradient, want):
    import tensorflow as tf

    assert isinstance(gradient, tf.IndexedSlices)
    indices = gradient.indices.numpy()
    values = gradient.values.numpy()
    # Under XLA, padding repeats a looked-up row with zero slices.
    real = np.abs(values).sum(axis=1) > 0
    assert len(set(indices[real])) == real.sum(), indices
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
    assert_rows_once(inner, expected(2.0, 3.0))
    assert_rows_once(middle, expected(2.0, 3.0) + expected(1.0, 0.0))


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
    assert_rows_once(run(layer, table), expected(2.0, 3.0))


def test_outer_tape_sees_lookups_after_the_inner_one_ends():
    import tensorflow as tf

    layer, table = layer_and_table()
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = loss(layer)
        inner_gradient = inner.gradient(value, table)
        total = value + tf.reduce_sum(layer(SECOND, training=True))
    assert_rows_once(inner_gradient, expected(2.0, 3.0))
    assert_rows_once(outer.gradient(total, table), expected(2.0, 4.0))


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
