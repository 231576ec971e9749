import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_embedplus
from keras_embedplus import LookupEmbedding
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
        ({"embeddings_regularizer": "l2"}, None),
    ],
    ids=["plain", "mask_zero", "input_length", "regularizer"],
)
def test_layer_harness(kwargs, mask):
    run_layer_test(
        LookupEmbedding,
        {"input_dim": 5, "output_dim": 3, **kwargs},
        IDS,
        expected_output_shape=(2, 4, 3),
        expected_num_trainable_weights=1,
        expected_mask=mask,
    )


def test_layer_harness_with_lora():
    run_layer_test(
        LookupEmbedding,
        {"input_dim": 5, "output_dim": 3, "lora_rank": 2},
        IDS,
        expected_output_shape=(2, 4, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=1,
    )


def test_embedding_is_the_lookup():
    assert keras_embedplus.Embedding is LookupEmbedding
    assert issubclass(LookupEmbedding, keras.layers.Embedding)


def test_qa_code_runs_as_written_with_keras2_shapes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras.Sequential()
        model.add(keras_embedplus.Embedding(5, 2, input_length=5))
    assert model.built
    assert model.output_shape == (None, 5, 2)
    assert model.count_params() == 10
    summary = []
    model.summary(print_fn=lambda line, **_: summary.append(line))
    text = "\n".join(summary)
    assert "(None, 5, 2)" in text
    assert "unbuilt" not in text
    model.compile("rmsprop", "mse")
    output = model.predict(np.random.randint(5, size=(1, 5)), verbose=0)
    assert output.shape == (1, 5, 2)


def test_keras_own_embedding_still_drops_input_length():
    # The behaviour this package exists to fix; if Keras restores it, the
    # package's input_length handling should be revisited.
    with pytest.warns(UserWarning, match="input_length"):
        layer = keras.layers.Embedding(5, 2, input_length=5)
    model = keras.Sequential([layer])
    assert not model.built


def test_input_length_builds_the_layer_and_round_trips(tmp_path):
    layer = LookupEmbedding(7, 2, input_length=5)
    assert layer.built
    assert layer.get_config()["input_length"] == 5
    model = keras.Sequential([LookupEmbedding(7, 2, input_length=5)])
    path = tmp_path / "model.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    assert revived.output_shape == (None, 5, 2)
    ids = np.array([[0, 1, 2, 3, 4], [5, 1, 2, 3, 6]])
    np.testing.assert_array_equal(
        revived.predict(ids, verbose=0), model.predict(ids, verbose=0)
    )


def test_lookup_returns_rows_of_a_hand_set_table():
    layer = LookupEmbedding(5, 2, weights=TABLE)
    output = ops.convert_to_numpy(layer(IDS))
    np.testing.assert_array_equal(output, TABLE[IDS])


def test_float_ids_are_cast_as_in_keras():
    layer = LookupEmbedding(5, 2, weights=TABLE)
    output = ops.convert_to_numpy(layer(np.array([[4.0, 1.0]])))
    np.testing.assert_array_equal(output, TABLE[[[4, 1]]])


def test_initializer_and_constraint():
    layer = LookupEmbedding(
        5,
        2,
        embeddings_initializer=keras.initializers.Constant(-1.0),
        embeddings_constraint="non_neg",
    )
    layer.build()
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer.embeddings), -np.ones((5, 2))
    )
    model = keras.Sequential([keras.Input((4,), dtype="int32"), layer])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(IDS, np.zeros((2, 4, 2)), verbose=0)
    # The constraint clips the table after each update.
    assert ops.convert_to_numpy(layer.embeddings).min() >= 0


def test_regularizer_adds_a_loss():
    layer = LookupEmbedding(5, 2, embeddings_regularizer="l2", weights=TABLE)
    layer(IDS)
    expected = 0.01 * np.sum(TABLE**2)
    loss = ops.convert_to_numpy(sum(layer.losses))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def assert_lora_trains_only_the_update_and_reloads(layer, tmp_path):
    """One fit step keeps the table; the saved model predicts the same."""
    model = keras.Sequential([keras.Input((4,), dtype="int32"), layer])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(IDS, np.zeros((2, 4, 2)), verbose=0)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer._embeddings), TABLE
    )
    assert not np.array_equal(ops.convert_to_numpy(layer.embeddings), TABLE)
    path = tmp_path / "lora.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    # Keras saves the table with the low-rank update merged in, so the
    # revived layer sums in another order: equal up to float32 rounding.
    np.testing.assert_allclose(
        revived.predict(IDS, verbose=0),
        model.predict(IDS, verbose=0),
        rtol=1e-6,
    )


def test_lora_trains_only_the_low_rank_update(tmp_path):
    layer = LookupEmbedding(5, 2, weights=TABLE)
    layer.enable_lora(1)
    assert_lora_trains_only_the_update_and_reloads(layer, tmp_path)


def test_lora_rank_and_weights_together(tmp_path):
    # keras.layers.Embedding refuses this pair; the lookup takes it.
    layer = LookupEmbedding(5, 2, weights=TABLE, lora_rank=1, lora_alpha=2.0)
    assert layer.lora_enabled and layer.lora_rank == 1
    assert layer.lora_alpha == 2.0
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.embeddings), TABLE)
    assert [w.name for w in layer.trainable_weights] == [
        "lora_embeddings_a",
        "lora_embeddings_b",
    ]
    config = layer.get_config()
    assert (config["lora_rank"], config["lora_alpha"]) == (1, 2.0)
    assert_lora_trains_only_the_update_and_reloads(layer, tmp_path)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_quantize_really_quantizes(mode, tmp_path):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(5, 8)).astype("float32")
    model = keras.Sequential(
        [keras.Input((4,), dtype="int32"), LookupEmbedding(5, 8, weights=table)]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize(mode)
    # Keras warns for each layer it skips; the embedding must not be one.
    skipped = [str(w.message) for w in caught if "Embedding" in str(w.message)]
    assert not skipped
    layer = model.layers[0]
    assert layer.quantization_mode == mode
    assert layer._embeddings.dtype == "int8"
    output = model.predict(IDS, verbose=0)
    tolerance = {"int8": 0.05, "int4": 0.5}[mode]
    np.testing.assert_allclose(output, table[IDS], atol=tolerance)
    path = tmp_path / "quantized.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(revived.predict(IDS, verbose=0), output)
    with pytest.raises(id_error(), match="received id 5"):
        layer(np.array([[5]]))


def test_mixed_precision_policy_keeps_float32_table():
    keras.config.set_dtype_policy("mixed_float16")
    layer = LookupEmbedding(5, 2, weights=TABLE)
    output = layer(IDS)
    assert keras.backend.standardize_dtype(output.dtype) == "float16"
    assert layer.embeddings.dtype == "float32"


# Bad ids: the error names the layer, the id and input_dim.


@pytest.mark.parametrize("bad", [5, 7, -1, -30])
def test_bad_id_raises_eagerly(bad):
    layer = LookupEmbedding(5, 2, name="words")
    with pytest.raises(id_error()) as info:
        layer(np.array([[0, bad, 1]]))
    message = str(info.value)
    assert "`words`" in message
    assert f"received id {bad}," in message
    assert "input_dim=5" in message


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="JAX runs predict/fit under jax.jit, where bad rows turn NaN "
    "(tests/test_backends.py)",
)
def test_bad_id_raises_inside_predict_and_fit():
    model = keras.Sequential([LookupEmbedding(5, 2, input_length=3)])
    model.compile("sgd", "mse")
    bad = np.array([[0, 1, 2], [3, 9, 4]])
    with pytest.raises(id_error(), match=r"received id \D*9\D.*input_dim=5"):
        model.predict(bad, verbose=0)
    with pytest.raises(id_error(), match=r"received id \D*9\D.*input_dim=5"):
        model.fit(bad, np.zeros((2, 3, 2)), verbose=0)


@requires_tensorflow
def test_bad_id_raises_inside_tf_function_without_gather_error():
    import tensorflow as tf

    layer = LookupEmbedding(5, 2, name="words")
    layer.build()

    @tf.function
    def lookup(ids):
        return layer(ids)

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        lookup(tf.constant([[1, -2]]))
    message = str(info.value)
    assert "`words`" in message and "input_dim=5" in message
    # The explicit check fires before the gather would.
    assert "GatherV2" not in message


@requires_tensorflow
def test_check_ids_false_leaves_the_gather_to_fail():
    import tensorflow as tf

    layer = LookupEmbedding(5, 2, check_ids=False)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        layer(np.array([[7]]))
    assert "input_dim" not in str(info.value)


@requires_tensorflow
def test_ragged_inputs():
    import tensorflow as tf

    layer = LookupEmbedding(5, 2, weights=TABLE)
    ragged = tf.ragged.constant([[1, 2, 3], [4]])
    output = layer(ragged)
    assert isinstance(output, tf.RaggedTensor)
    np.testing.assert_array_equal(
        output.flat_values.numpy(), TABLE[[1, 2, 3, 4]]
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="received id 6"):
        layer(tf.ragged.constant([[1], [6, 2]]))


@requires_tensorflow
def test_ragged_inputs_in_a_compiled_model():
    import tensorflow as tf

    inputs = keras.Input((None,), dtype="int32", ragged=True)
    layer = LookupEmbedding(5, 2, weights=TABLE)
    model = keras.Model(inputs, layer(inputs))
    ragged = tf.ragged.constant([[1, 2, 3], [4]])
    output = model.predict(ragged, verbose=0)
    np.testing.assert_array_equal(output.flat_values, TABLE[[1, 2, 3, 4]])


@requires_tensorflow
def test_sparse_inputs():
    import tensorflow as tf

    layer = LookupEmbedding(5, 2, weights=TABLE)
    reference = keras.layers.Embedding(5, 2, weights=TABLE)
    sparse = tf.SparseTensor([[0, 0], [1, 1]], [3, 4], dense_shape=[2, 2])
    # Same result as Keras' own layer: missing entries read as id 0.
    np.testing.assert_array_equal(layer(sparse), reference(sparse))
    np.testing.assert_array_equal(layer(sparse), TABLE[[[3, 0], [0, 4]]])
    bad = tf.SparseTensor([[0, 0]], [8], dense_shape=[1, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="received id 8"):
        layer(bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_dim": 0, "output_dim": 2}, "`input_dim` must be a positive"),
        ({"input_dim": 5, "output_dim": -1}, "`output_dim` must be a positive"),
        ({"input_dim": 5.0, "output_dim": 2}, "`input_dim` must be a positive"),
        ({"input_dim": 5, "output_dim": 2, "input_length": 0}, "input_length"),
        (
            {"input_dim": 5, "output_dim": 2, "input_length": "5"},
            "input_length",
        ),
        (
            {"input_dim": 5, "output_dim": 2, "input_length": True},
            "input_length",
        ),
        ({"input_dim": 5, "output_dim": 2, "check_ids": "yes"}, "check_ids"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LookupEmbedding(**kwargs)


def test_weights_with_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="shape"):
        LookupEmbedding(5, 2, weights=np.zeros((4, 2)))


@requires_tensorflow
@pytest.mark.parametrize(
    "layer_cls", [LookupEmbedding, keras_embedplus.OneHotDense]
)
def test_xla_cannot_raise_so_bad_rows_turn_nan(layer_cls):
    model = keras.Sequential(
        [keras.Input((3,), dtype="int32"), layer_cls(5, 2, weights=TABLE)]
    )
    model.compile("sgd", "mse", jit_compile=True)
    good = model.predict(np.array([[0, 4, 2]]), verbose=0)
    np.testing.assert_array_equal(good[0], TABLE[[0, 4, 2]])
    # XLA drops assertions and would clamp id 7 to row 4: NaN instead.
    output = model.predict(np.array([[1, 7, -1]]), verbose=0)
    np.testing.assert_array_equal(output[0, 0], TABLE[1])
    assert np.isnan(output[0, 1:]).all()
    loss = model.evaluate(np.array([[1, 7, 2]]), np.zeros((1, 3, 2)), verbose=0)
    assert np.isnan(loss)
