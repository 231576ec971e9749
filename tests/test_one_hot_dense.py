import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

from keras_embedplus import LookupEmbedding
from keras_embedplus import OneHotDense
from tests.harness import id_error
from tests.harness import requires_tensorflow
from tests.harness import run_layer_test

IDS = np.array([[0, 1, 2, 3], [4, 0, 2, 1]], dtype="int32")
TABLE = np.arange(10, dtype="float32").reshape(5, 2)


@pytest.mark.parametrize(
    "kwargs, mask",
    [
        ({}, None),
        ({"mask_zero": True}, IDS != 0),
        ({"input_length": 4}, None),
    ],
    ids=["plain", "mask_zero", "input_length"],
)
def test_layer_harness_with_ids(kwargs, mask):
    run_layer_test(
        OneHotDense,
        {"input_dim": 5, "output_dim": 3, **kwargs},
        IDS,
        expected_output_shape=(2, 4, 3),
        expected_num_trainable_weights=1,
        expected_mask=mask,
    )


def test_layer_harness_with_probabilities():
    probabilities = np.full((2, 4, 5), 0.2, dtype="float32")
    run_layer_test(
        OneHotDense,
        {"input_dim": 5, "output_dim": 3, "mask_zero": True},
        probabilities,
        expected_output_shape=(2, 4, 3),
        expected_num_trainable_weights=1,
        expected_mask=None,
    )


def test_same_weight_as_the_lookup_gives_the_same_outputs():
    lookup = LookupEmbedding(5, 2)
    lookup.build()
    one_hot = OneHotDense(5, 2)
    one_hot.build()
    assert one_hot.embeddings.shape == lookup.embeddings.shape
    one_hot.set_weights(lookup.get_weights())
    np.testing.assert_array_equal(
        ops.convert_to_numpy(one_hot(IDS)), ops.convert_to_numpy(lookup(IDS))
    )


@settings(max_examples=25, deadline=None)
@given(
    input_dim=st.integers(1, 40),
    output_dim=st.integers(1, 6),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_lookup_equals_one_hot_times_table(input_dim, output_dim, shape, seed):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(input_dim, output_dim)).astype("float32")
    ids = rng.integers(0, input_dim, size=shape)
    expected = np.eye(input_dim, dtype="float32")[ids] @ table
    lookup = LookupEmbedding(input_dim, output_dim, weights=table)
    one_hot = OneHotDense(input_dim, output_dim, weights=table)
    np.testing.assert_allclose(
        ops.convert_to_numpy(lookup(ids)), expected, rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(one_hot(ids)), expected, rtol=1e-6, atol=1e-6
    )


def test_probabilities_mix_rows():
    layer = OneHotDense(5, 2, weights=TABLE)
    probabilities = np.array([[0.5, 0.0, 0.0, 0.0, 0.5]], dtype="float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(probabilities)),
        0.5 * TABLE[0:1] + 0.5 * TABLE[4:5],
    )


def test_softmax_output_feeds_the_layer_in_a_model():
    inputs = keras.Input((3,))
    logits = keras.layers.Dense(5)(inputs)
    probabilities = keras.layers.Softmax()(logits)
    outputs = OneHotDense(5, 2)(probabilities)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 2)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)


def test_input_mode_ids_reads_floats_as_ids():
    layer = OneHotDense(2, 2, input_mode="ids", weights=TABLE[:2])
    output = ops.convert_to_numpy(layer(np.array([[1.0, 0.0]])))
    np.testing.assert_array_equal(output, TABLE[[[1, 0]]])


def test_gradient_reaches_only_looked_up_rows():
    layer = OneHotDense(5, 2, weights=TABLE)
    model = keras.Sequential([keras.Input((2,), dtype="int32"), layer])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(np.array([[1, 3]]), np.zeros((1, 2, 2)), verbose=0)
    table = ops.convert_to_numpy(layer.embeddings)
    moved = np.any(table != TABLE, axis=1)
    np.testing.assert_array_equal(moved, [False, True, False, True, False])


@pytest.mark.parametrize("bad", [5, -1])
def test_bad_id_raises(bad):
    layer = OneHotDense(5, 2, name="onehot")
    with pytest.raises(id_error(), match=rf"`onehot`.*received id {bad},"):
        layer(np.array([[bad]]))


def test_quantize_is_refused_clearly():
    layer = OneHotDense(5, 2)
    layer.build()
    with pytest.raises(NotImplementedError, match="LookupEmbedding"):
        layer.quantize("int8")


def test_invalid_input_mode():
    with pytest.raises(ValueError, match="`input_mode` must be one of"):
        OneHotDense(5, 2, input_mode="dense")


@requires_tensorflow
def test_ragged_and_sparse_ids_read_as_the_lookup_reads_them():
    import tensorflow as tf

    one_hot = OneHotDense(5, 2, weights=TABLE)
    lookup = LookupEmbedding(5, 2, weights=TABLE)
    ragged = tf.ragged.constant([[1, 2, 3], [4]])
    output = one_hot(ragged)
    assert isinstance(output, tf.RaggedTensor)
    np.testing.assert_array_equal(
        output.flat_values.numpy(), lookup(ragged).flat_values.numpy()
    )
    sparse = tf.SparseTensor([[0, 0], [1, 1]], [3, 4], dense_shape=[2, 2])
    np.testing.assert_array_equal(one_hot(sparse), lookup(sparse))
    with pytest.raises(id_error(), match="received id 9"):
        one_hot(tf.ragged.constant([[1], [9]]))


def test_auto_reads_floats_that_cannot_be_ids_as_probabilities():
    # Built for ids of shape (None, 5): a float (1, 5, 7) batch can only be
    # probabilities over the 7 ids.
    table = np.arange(14, dtype="float32").reshape(7, 2)
    layer = OneHotDense(7, 2, input_length=5, weights=table)
    probabilities = np.eye(7, dtype="float32")[[[0, 1, 2, 3, 6]]]
    output = ops.convert_to_numpy(layer(probabilities))
    np.testing.assert_array_equal(output, table[[[0, 1, 2, 3, 6]]])
    assert layer.compute_mask(probabilities) is None
    # Float ids of the built shape are still ids.
    ids = np.array([[1.0, 2.0, 0.0, 6.0, 6.0]], dtype="float32")
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer(ids)), table[[[1, 2, 0, 6, 6]]]
    )


def test_auto_remembers_the_shape_of_the_first_ids():
    layer = OneHotDense(3, 2, weights=TABLE[:3])
    layer(np.array([[0, 1, 2]], dtype="int32"))  # ids of shape (None, 3)
    # (1, 3) floats fit those ids: ids, not one probability vector.
    output = ops.convert_to_numpy(layer(np.array([[2.0, 1.0, 0.0]])))
    np.testing.assert_array_equal(output, TABLE[[[2, 1, 0]]])
    # (1, 3, 3) floats do not: probabilities.
    mixed = ops.convert_to_numpy(layer(np.full((1, 3, 3), 1 / 3, "float32")))
    np.testing.assert_allclose(mixed, np.full((1, 3, 2), TABLE[:3].mean(0)))


@pytest.mark.parametrize("bad", [2.5, -0.5, float("nan"), float("inf")])
def test_fractional_float_ids_are_an_error(bad):
    layer = OneHotDense(5, 2, input_mode="ids", name="onehot")
    with pytest.raises(id_error(), match=r"`onehot`.*float id .*whole"):
        layer(np.array([[1.0, bad]], dtype="float32"))


def test_whole_float_ids_beyond_int32_are_out_of_the_vocabulary():
    # A whole number, not a fraction: the error of any id too large.
    layer = OneHotDense(5, 2, input_mode="ids", name="onehot")
    with pytest.raises(id_error(), match=r"received id 10000000000,"):
        layer(np.array([[1.0, 1e10]], dtype="float32"))


@requires_tensorflow
def test_fractional_float_ids_in_graphs_and_under_xla():
    import tensorflow as tf

    layer = OneHotDense(5, 2, input_mode="ids", weights=TABLE)
    ids = np.array([[1.0, 2.5]], dtype="float32")
    with pytest.raises(tf.errors.InvalidArgumentError, match="float id 2.5"):
        tf.function(layer)(ids)
    rows = tf.function(layer, jit_compile=True)(ids).numpy()
    np.testing.assert_array_equal(rows[0, 0], TABLE[1])
    assert np.isnan(rows[0, 1]).all()
    whole = tf.function(layer, jit_compile=True)(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(whole.numpy(), TABLE[[[1, 2]]])


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="fit/predict run under jax.jit"
)
def test_fractional_float_ids_under_jax_jit_give_nan_rows():
    layer = OneHotDense(5, 2, input_mode="ids", weights=TABLE)
    model = keras.Sequential([keras.Input((2,)), layer])
    rows = model.predict(np.array([[1.0, 2.5]], "float32"), verbose=0)
    np.testing.assert_array_equal(rows[0, 0], TABLE[1])
    assert np.isnan(rows[0, 1]).all()
