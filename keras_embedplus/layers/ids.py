"""What the layers share about their integer inputs.

Two things: the Keras 2 `input_length` argument (validated, and turned into
the input shape that `Sequential.add` builds the model from), and the check
that every id lies in `[0, input_dim)`.

The check does not rely on the gather failing. TensorFlow's CPU gather raises
an error buried under "Graph execution error" and its GPU gather silently
returns zeros, so the ids are compared against the limits explicitly, which
gives the same error on every device.

On TensorFlow the check is in the graph: it runs eagerly, inside
`tf.function`, `model.fit` and `model.predict`, and raises
`tf.errors.InvalidArgumentError`. On other backends it runs wherever the ids
are concrete values (eager JAX, PyTorch) and raises the same message as a
`ValueError`; under `jax.jit` the ids are abstract and cannot be checked, and
JAX's gather then fills out-of-range rows with NaN.
"""

import keras
import numpy as np
from keras import ops


def validate_input_length(input_length):
    """Returns `input_length` after checking it is `None` or a positive int."""
    if input_length is None:
        return None
    if (
        not isinstance(input_length, (int, np.integer))
        or isinstance(input_length, bool)
        or input_length <= 0
    ):
        raise ValueError(
            "`input_length` must be a positive integer or None. "
            f"Received: input_length={input_length!r}"
        )
    return int(input_length)


def is_integer_dtype(dtype):
    return "int" in keras.backend.standardize_dtype(dtype)


def id_error_message(layer, bad_id):
    return (
        f"Layer `{layer.name}` ({type(layer).__name__}) received id "
        f"{bad_id}, outside the vocabulary [0, {layer.input_dim}) "
        f"(input_dim={layer.input_dim}). Ids must be >= 0 and "
        f"< input_dim: enlarge `input_dim` or map unknown tokens to a "
        f"reserved id."
    )


def check_ids(layer, ids):
    """Returns `ids` once every id in it is known to be in range.

    Raises an error naming the layer, the offending id and `input_dim`
    when an id is negative or `>= layer.input_dim`. Ragged and sparse
    TensorFlow tensors are checked through their values.
    """
    if keras.backend.backend() == "tensorflow":
        return _check_ids_tensorflow(layer, ids)
    return _check_ids_concrete(layer, ids)


def _check_ids_tensorflow(layer, ids):
    import tensorflow as tf

    if isinstance(ids, tf.RaggedTensor):
        values = ids.flat_values
    elif isinstance(ids, tf.SparseTensor):
        values = ids.values
    else:
        values = ids
    values = tf.reshape(values, [-1])
    # Empty input: nothing to check (reduce_min of nothing is +inf).
    low = tf.reduce_min(tf.concat([values, tf.zeros([1], values.dtype)], 0))
    high = tf.reduce_max(tf.concat([values, tf.zeros([1], values.dtype)], 0))
    in_range = tf.logical_and(low >= 0, high < layer.input_dim)
    if tf.executing_eagerly():
        if not bool(in_range):
            bad = int(high) if int(high) >= layer.input_dim else int(low)
            raise tf.errors.InvalidArgumentError(
                None, None, id_error_message(layer, bad)
            )
        return ids
    bad = tf.where(high >= layer.input_dim, high, low)
    message = tf.strings.format(id_error_message(layer, "{}"), bad)
    assertion = tf.debugging.Assert(in_range, [message], name="check_ids")
    with tf.control_dependencies([assertion]):
        if isinstance(ids, tf.RaggedTensor):
            return ids.with_flat_values(tf.identity(ids.flat_values))
        if isinstance(ids, tf.SparseTensor):
            return tf.SparseTensor(
                ids.indices, tf.identity(ids.values), ids.dense_shape
            )
        return tf.identity(ids)


def _check_ids_concrete(layer, ids):
    try:
        values = ops.convert_to_numpy(ids)
    except Exception:
        # Abstract values (e.g. under jax.jit): nothing to check here.
        return ids
    if values.size and (values.min() < 0 or values.max() >= layer.input_dim):
        high = int(values.max())
        bad = high if high >= layer.input_dim else int(values.min())
        raise ValueError(id_error_message(layer, bad))
    return ids


def map_values(ids, rows, fn):
    """Applies `fn(ids, rows)` to the values of dense, ragged or sparse ids.

    `rows` is the lookup of `ids`; ragged ids give ragged rows (mapped on
    their flat values) and sparse ids give the rows of their dense form, as
    Keras' lookup does.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(ids, tf.RaggedTensor):
            return rows.with_flat_values(fn(ids.flat_values, rows.flat_values))
        if isinstance(ids, tf.SparseTensor):
            return fn(tf.sparse.to_dense(ids), rows)
    return fn(ids, rows)
