"""Float inputs read as ids: whole numbers only.

`OneHotDense` reads a float input as ids when it cannot be probabilities.
Casting `2.5` to id 2 would silently give a wrong row, so a float id with a
fractional part (or NaN, or beyond int32) is an error wherever one can be
raised: eagerly on every backend, and inside TensorFlow graphs (`fit`,
`predict`). Under XLA and `jax.jit` the caller sets those rows to NaN.
"""

import keras
import numpy as np
from keras import ops

from keras_embedplus._xla import in_xla_context


def message(layer, value):
    return (
        f"Layer `{layer.name}` ({type(layer).__name__}) received the float "
        f"id {value}, which is not a whole number. Float inputs read as ids "
        "must hold whole numbers: cast them to integers yourself, or pass "
        f"probabilities of shape (..., {layer.input_dim}) with "
        "`input_mode='probabilities'`."
    )


def whole_ids(layer, inputs):
    """Returns `(int32 ids, whole)`; raises for a fractional id if it can.

    `whole` is a boolean tensor of the input's shape: `False` where the
    float was not a whole number in int32's range.
    """
    ids = ops.cast(inputs, "int32")
    whole = ops.equal(ops.cast(ids, inputs.dtype), inputs)
    if keras.backend.backend() == "tensorflow":
        return _checked_tensorflow(layer, inputs, ids, whole), whole
    try:
        values = ops.convert_to_numpy(inputs)
        flags = ops.convert_to_numpy(whole)
    except Exception:
        return ids, whole  # abstract values (jax.jit): NaN rows instead
    if not flags.all():
        raise ValueError(message(layer, values[~flags][0]))
    return ids, whole


def _checked_tensorflow(layer, inputs, ids, whole):
    import tensorflow as tf

    if tf.executing_eagerly():
        flags = whole.numpy()
        if not flags.all():
            bad = np.asarray(inputs)[~flags][0]
            raise tf.errors.InvalidArgumentError(
                None, None, message(layer, bad)
            )
        return ids
    if in_xla_context(if_unknown=True):
        return ids  # no assertion compiles: NaN rows instead
    # A whole 0 appended keeps empty inputs valid (no argmin of nothing).
    flat = tf.concat([tf.reshape(inputs, [-1]), tf.zeros([1], inputs.dtype)], 0)
    flags = tf.concat([tf.reshape(whole, [-1]), [True]], 0)
    bad = tf.gather(flat, tf.argmin(tf.cast(flags, tf.int32)))
    text = tf.strings.format(message(layer, "{}"), bad)
    assertion = tf.debugging.Assert(
        tf.reduce_all(whole), [text], name="whole_ids"
    )
    with tf.control_dependencies([assertion]):
        return tf.identity(ids)
