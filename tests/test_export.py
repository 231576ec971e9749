import keras
import numpy as np
import pytest

import keras_embedplus
from keras_embedplus.tools import export

TABLE = np.arange(12, dtype="float32").reshape(6, 2) / 10


def test_layer_table_is_the_lookup_of_every_id():
    layer = keras_embedplus.LookupEmbedding(6, 2, weights=TABLE)
    np.testing.assert_array_equal(export.layer_table(layer), TABLE)
    dense = keras_embedplus.OneHotDense(6, 2, weights=TABLE)
    np.testing.assert_array_equal(export.layer_table(dense), TABLE)
    keras_layer = keras.layers.Embedding(6, 2, weights=TABLE)
    np.testing.assert_array_equal(export.layer_table(keras_layer), TABLE)


def test_layer_table_merges_lora():
    layer = keras_embedplus.LookupEmbedding(6, 2, weights=TABLE)
    layer.enable_lora(1)
    layer.lora_embeddings_b.assign(np.ones((1, 2), "float32"))
    expected = np.asarray(layer(np.arange(6)))
    assert not np.array_equal(expected, TABLE)
    np.testing.assert_allclose(export.layer_table(layer), expected)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_layer_table_dequantizes(mode):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(20_000, 4)).astype("float32")
    layer = keras_embedplus.LookupEmbedding(20_000, 4, weights=table)
    layer.quantize(mode)
    exported = export.layer_table(layer)
    assert exported.dtype == np.float32
    np.testing.assert_allclose(exported, np.asarray(layer(np.arange(20_000))))
    tolerance = 0.05 if mode == "int8" else 0.5
    assert np.abs(exported - table).max() < tolerance


def test_layer_table_includes_trained_oov_rows():
    layer = keras_embedplus.PretrainedEmbedding(
        6, 2, weights=TABLE, trainable_oov=True, oov_ids=[4]
    )
    layer.oov_embeddings.assign(np.array([[9.0, 9.0]], "float32"))
    expected = TABLE.copy()
    expected[4] = 9.0
    np.testing.assert_array_equal(export.layer_table(layer), expected)
    np.testing.assert_array_equal(
        np.asarray(layer(np.arange(6))), export.layer_table(layer)
    )


def test_layer_table_refuses_other_layers_and_unbuilt_ones():
    with pytest.raises(TypeError, match="Received: Dense"):
        export.layer_table(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="'words' is not built"):
        export.layer_table(keras_embedplus.Embedding(6, 2, name="words"))
