"""What the layers do where the Keras backends differ.

`make test` runs this file under KERAS_BACKEND=tensorflow, jax and torch
(one process each); every test states what its backend must do. The
matrix it checks is in docs/scaling.md.
"""

import keras
import numpy as np
import pytest
from keras import ops

from keras_embedplus import CheckIds
from keras_embedplus import LookupEmbedding
from keras_embedplus import OneHotDense
from keras_embedplus import PretrainedEmbedding

BACKEND = keras.backend.backend()
TABLE = np.arange(10, dtype="float32").reshape(5, 2)


def lookup(**kwargs):
    return LookupEmbedding(5, 2, weights=TABLE, **kwargs)


def one_hot(**kwargs):
    return OneHotDense(5, 2, weights=TABLE, input_mode="ids", **kwargs)


def pretrained(**kwargs):
    # Row 3 had "no pretrained vector": it trains in its own variable.
    return PretrainedEmbedding(
        5, 2, weights=TABLE, trainable_oov=True, oov_ids=[3], **kwargs
    )


LAYERS = pytest.mark.parametrize(
    "make_layer", [lookup, one_hot, pretrained], ids=lambda f: f.__name__
)


def eager_id_error():
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.errors.InvalidArgumentError
    return ValueError


def model_of(layer, length=3):
    model = keras.Sequential([keras.Input((length,), dtype="int32"), layer])
    return model


@LAYERS
@pytest.mark.parametrize("bad", [5, -1])
def test_eager_bad_id_raises_the_backend_error_with_our_message(
    make_layer, bad
):
    layer = make_layer(name="words")
    with pytest.raises(eager_id_error()) as info:
        layer(np.array([[0, bad]]))
    if BACKEND != "tensorflow":
        assert type(info.value) is ValueError
    message = str(info.value)
    assert "`words`" in message
    assert f"received id {bad}," in message
    assert "input_dim=5" in message


@LAYERS
@pytest.mark.skipif(
    BACKEND == "torch", reason="torch.compile raises: see the next test"
)
def test_compiled_predict_turns_bad_rows_nan(make_layer):
    """XLA and jax.jit cannot raise: the rows of bad ids are NaN."""
    model = model_of(make_layer())
    model.compile("sgd", "mse", jit_compile=True)
    good = model.predict(np.array([[0, 4, 2]]), verbose=0)
    np.testing.assert_array_equal(good[0], TABLE[[0, 4, 2]])
    # JAX's gather would read row 4 for -1 and row 0 for -5; TF's under
    # XLA would clamp 7 to row 4; one_hot would give zeros.
    output = model.predict(np.array([[1, 7, -1], [2, -5, 4]]), verbose=0)
    np.testing.assert_array_equal(output[0, 0], TABLE[1])
    np.testing.assert_array_equal(output[1, [0, 2]], TABLE[[2, 4]])
    assert np.isnan(output[0, 1:]).all()
    assert np.isnan(output[1, 1]).all()


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile is PyTorch's")
def test_torch_compile_still_raises():
    # Dynamo runs the check outside the compiled graph, on concrete ids.
    model = model_of(lookup())
    model.compile("sgd", "mse", jit_compile=True)
    good = model.predict(np.array([[0, 4, 2]]), verbose=0)
    np.testing.assert_array_equal(good[0], TABLE[[0, 4, 2]])
    with pytest.raises(ValueError, match="received id 7,"):
        model.predict(np.array([[1, 7, -1]]), verbose=0)


@pytest.mark.skipif(BACKEND != "jax", reason="JAX compiles fit by default")
def test_jax_fit_with_bad_ids_turns_the_loss_nan():
    ids = np.array([[1, 2, 3], [0, 9, 4]])
    targets = np.zeros((2, 3, 2))
    model = model_of(lookup())
    model.compile("sgd", "mse")  # jit_compile="auto": compiled on JAX
    history = model.fit(
        ids,
        targets,
        epochs=3,
        verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN()],
    )
    assert len(history.history["loss"]) == 1
    assert np.isnan(history.history["loss"][0])
    # Run eagerly, the step does not raise either (an error raised inside
    # Keras' JAX trainer loses the model): CheckIds raises after it.
    model = model_of(lookup())
    model.compile("sgd", "mse", run_eagerly=True)
    with pytest.raises(ValueError, match=r"received id 9,.*input_dim=5"):
        model.fit(ids, targets, verbose=0, callbacks=[CheckIds()])
    assert len(model.get_weights()) == 1


def test_check_ids_false_leaves_bad_ids_to_the_backend():
    """What the backend's own gather does, documented in docs/scaling.md."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        # On the CPU; a GPU gather returns zeros instead.
        with tf.device("/CPU:0"):
            layer = lookup(check_ids=False)
            for bad in (7, -1):
                with pytest.raises(tf.errors.InvalidArgumentError) as info:
                    layer(np.array([[bad]]))
                assert "input_dim" not in str(info.value)
        return
    layer = lookup(check_ids=False)
    # Negative ids wrap around, as numpy indexing does.
    wrapped = ops.convert_to_numpy(layer(np.array([[-1]])))
    np.testing.assert_array_equal(wrapped[0, 0], TABLE[4])
    if BACKEND == "jax":
        too_large = ops.convert_to_numpy(layer(np.array([[7]])))
        assert np.isnan(too_large).all()
    else:
        with pytest.raises(IndexError, match="index out of range"):
            layer(np.array([[7]]))


@LAYERS
@pytest.mark.parametrize(
    "dtype", ["uint8", "int16", "int32", "int64", "float32"]
)
def test_every_id_dtype_gives_the_same_rows(make_layer, dtype):
    ids = np.array([[4, 1, 0], [2, 2, 4]]).astype(dtype)
    output = ops.convert_to_numpy(make_layer()(ids))
    np.testing.assert_array_equal(output, TABLE[ids.astype("int64")])


@LAYERS
def test_mask_reaches_the_next_layer(make_layer):
    inputs = keras.Input((4,), dtype="int32")
    vectors = make_layer(mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(vectors))
    ids = np.array([[1, 2, 0, 0], [4, 0, 0, 0]])
    expected = np.stack([TABLE[[1, 2]].mean(0), TABLE[4]])
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected)


def test_mixed_precision_one_hot_equals_the_lookup():
    keras.config.set_dtype_policy("mixed_float16")
    ids = np.array([[4, 1, 3]])
    by_lookup = lookup()(ids)
    by_one_hot = one_hot()(ids)
    assert keras.backend.standardize_dtype(by_one_hot.dtype) == "float16"
    np.testing.assert_array_equal(
        ops.convert_to_numpy(by_one_hot), ops.convert_to_numpy(by_lookup)
    )


def table_gradient(layer, ids):
    """The gradient of sum(layer(ids)) with respect to the table."""
    table = layer.trainable_variables[0]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(ids))
        return tape.gradient(loss, table)
    if BACKEND == "jax":
        import jax

        def loss(values):
            # The layer's non-trainable state: its bad-id record on JAX.
            state = [v.value for v in layer.non_trainable_variables]
            outputs, _ = layer.stateless_call(values, state, ids)
            return ops.sum(outputs)

        return jax.grad(loss)([table.value])[0]
    ops.sum(layer(ids)).backward()
    return table.value.grad


def test_table_gradient_is_row_sparse_only_on_tensorflow():
    layer = lookup()
    ids = np.array([[1, 3, 3]])
    gradient = table_gradient(layer, ids)
    expected = np.zeros_like(TABLE)
    expected[1], expected[3] = 1.0, 2.0
    if BACKEND == "tensorflow":
        import tensorflow as tf

        # Only the looked-up rows travel (what LazyAdam updates), each
        # once with its occurrences summed, as in the dense gradient.
        assert isinstance(gradient, tf.IndexedSlices)
        assert sorted(gradient.indices.numpy().tolist()) == [1, 3]
        gradient = tf.convert_to_tensor(gradient)
    else:
        # A dense table-shaped gradient, zeros in the other rows.
        assert tuple(gradient.shape) == TABLE.shape
    np.testing.assert_array_equal(ops.convert_to_numpy(gradient), expected)


def test_sparse_ids():
    """TF SparseTensor and JAX BCOO ids read missing entries as id 0."""
    expected = TABLE[[[3, 0], [0, 4]]]
    if BACKEND == "torch":
        with pytest.raises(ValueError, match="not supported with the torch"):
            keras.Input((2,), dtype="int32", sparse=True)
        return
    if BACKEND == "tensorflow":
        import tensorflow as tf

        sparse = tf.SparseTensor([[0, 0], [1, 1]], [3, 4], dense_shape=[2, 2])
        bad = tf.SparseTensor([[0, 0]], [8], dense_shape=[1, 2])
    else:
        from jax.experimental import sparse as jax_sparse

        sparse = jax_sparse.BCOO(
            (np.array([3, 4], "int32"), np.array([[0, 0], [1, 1]])),
            shape=(2, 2),
        )
        bad = jax_sparse.BCOO(
            (np.array([8], "int32"), np.array([[0, 0]])), shape=(1, 2)
        )
    inputs = keras.Input((2,), dtype="int32", sparse=True)
    model = keras.Model(inputs, lookup()(inputs))
    np.testing.assert_array_equal(model.predict(sparse, verbose=0), expected)
    with pytest.raises(eager_id_error(), match="received id 8,"):
        lookup()(bad)


def test_ragged_ids_are_tensorflow_only():
    if BACKEND == "tensorflow":
        import tensorflow as tf

        output = lookup()(tf.ragged.constant([[1, 2], [4]]))
        assert isinstance(output, tf.RaggedTensor)
        return
    # Elsewhere: pad to a rectangle and use mask_zero=True.
    with pytest.raises(ValueError, match="`ragged=True` is not supported"):
        keras.Input((None,), dtype="int32", ragged=True)
