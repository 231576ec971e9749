"""Getting a trained table out of a layer: as an array, vectors or files."""

import keras
import numpy as np
from keras import ops

from keras_embedplus.layers.pretrained_embedding import PretrainedEmbedding

# Quantized tables are read through the layer, this many ids at a time.
_CHUNK = 8192


def layer_table(layer):
    """Returns the table a layer looks rows up in, as a float32 array.

    Row `i` is the vector the layer outputs for id `i`: LoRA updates are
    merged in, int8/int4 quantized tables are dequantized, and the trained
    OOV rows of a `PretrainedEmbedding` replace their pretrained values.

    Args:
        layer: A built `keras.layers.Embedding` (`LookupEmbedding`,
            `OneHotDense`, `PretrainedEmbedding` or Keras' own).

    Returns:
        A numpy array of shape `(input_dim, output_dim)`.
    """
    if not isinstance(layer, keras.layers.Embedding):
        raise TypeError(
            "Expected an embedding layer (a `keras.layers.Embedding` such "
            "as `keras_embedplus.LookupEmbedding`). "
            f"Received: {type(layer).__name__}"
        )
    if not layer.built:
        raise ValueError(
            f"Layer '{layer.name}' is not built yet, so it has no table: "
            "call it on some ids, build its model, or give it "
            "`input_length`."
        )
    if layer.quantization_mode is None:
        if isinstance(layer, PretrainedEmbedding):
            return np.asarray(layer.full_table(), "float32")
        return np.asarray(ops.convert_to_numpy(layer.embeddings), "float32")
    chunks = [
        ops.convert_to_numpy(
            layer(np.arange(start, min(start + _CHUNK, layer.input_dim)))
        )
        for start in range(0, layer.input_dim, _CHUNK)
    ]
    return np.concatenate(chunks).astype("float32")
