"""Float inputs read as ids: whole numbers in the vocabulary only.

`OneHotDense` reads a float input as ids when it cannot be probabilities.
Casting `2.5` to id 2 would silently give a wrong row, so a float id that
is not a whole number (`2.5`, NaN, an infinity) is a bad id, like a whole
one outside `[0, input_dim)` (`7.0`, `-1.0`, `1e10`). Bad float ids follow
the layer's `on_bad_id`, as bad integer ids do (see `ids`): `"raise"`
raises wherever the step can raise (eagerly, in TensorFlow graphs, on
PyTorch), and elsewhere (TensorFlow under XLA, JAX) gives NaN rows and
records the id for `keras_embedplus.CheckIds`; `"nan"` and `"zero"` give
NaN or zero rows. With `check_ids=False` whole ids are not checked
against the vocabulary, but a float that is not a whole number (or
beyond int32) is still an error where one can be raised and a NaN row
elsewhere, recorded nowhere.
"""

import keras
import numpy as np
from keras import ops

from keras_embedplus.layers import ids as ids_lib
from keras_embedplus.layers.bad_id_record import layer_record
from keras_embedplus.layers.float_bits import float_badness
from keras_embedplus.layers.float_bits import float_badness_of
from keras_embedplus.layers.float_bits import whole_numbers

# Floats whose integer part int32 holds exactly, and the cast keeps.
_INT32_BOUND = 2.0**31


def message(layer, value):
    """The error for the bad float id `value` (a host number)."""
    value = float(value)
    if np.isfinite(value) and value == np.floor(value):
        return ids_lib.id_error_message(layer, int(value))
    return _fraction_message(layer, value)


def _fraction_message(layer, value):
    return (
        f"Layer `{layer.name}` ({type(layer).__name__}) received the float "
        f"id {value}, which is not a whole number. Float inputs read as ids "
        "must hold whole numbers: cast them to integers yourself, or pass "
        f"probabilities of shape (..., {layer.input_dim}) with "
        "`input_mode='probabilities'`."
    )


def whole_ids(layer, inputs):
    """Returns `(int32 ids, good)` for the float ids `inputs`.

    `good` is a boolean tensor of the input's shape, `False` at bad ids,
    whose `ids` are 0: the caller sets their rows by `fill_value`. Raises
    for a bad id where the layer's policy is `"raise"` and the step can
    raise; records it where it cannot.
    """
    good = _good(layer, inputs)
    ids = ops.cast(ops.where(good, inputs, ops.zeros_like(inputs)), "int32")
    checks = layer.check_ids
    if checks and ids_lib.on_bad_id(layer) != "raise":
        return ids, good  # NaN or zero rows, never an error
    if ids_lib.cannot_raise(layer, inputs):
        if checks:
            layer_record(layer).record_floats(
                ops.reshape(inputs, (-1,)),
                ops.reshape(ops.logical_not(good), (-1,)),
            )
        return ids, good
    if keras.backend.backend() == "tensorflow":
        return _checked_tensorflow(layer, inputs, ids, good), good
    values = ops.convert_to_numpy(inputs)
    flags = ops.convert_to_numpy(good)
    if not flags.all():
        raise ValueError(message(layer, _worst(values[~flags])))
    return ids, good


def fill_value(layer):
    """The value of the rows of bad float ids: 0 for `"zero"`, else NaN."""
    if layer.check_ids and ids_lib.on_bad_id(layer) == "zero":
        return 0.0
    return float("nan")


def _good(layer, inputs):
    whole = whole_numbers(inputs)
    if not layer.check_ids:
        return ops.logical_and(whole, ops.less(ops.abs(inputs), _INT32_BOUND))
    in_range = ops.logical_and(
        ops.greater_equal(inputs, 0), ops.less(inputs, layer.input_dim)
    )
    return ops.logical_and(whole, in_range)


def _worst(values):
    """The worst of the bad float ids `values` (as `BadIdRecord` keeps)."""
    return max(values.ravel().tolist(), key=float_badness)


def _checked_tensorflow(layer, inputs, ids, good):
    import tensorflow as tf

    if tf.executing_eagerly():
        flags = good.numpy()
        if not flags.all():
            bad = _worst(np.asarray(inputs)[~flags])
            raise tf.errors.InvalidArgumentError(
                None, None, message(layer, bad)
            )
        return ids
    flat = tf.reshape(inputs, [-1])
    bad = tf.logical_not(tf.reshape(good, [-1]))
    # A good 0 appended keeps empty inputs valid (no argmax of nothing).
    flat = tf.concat([flat, tf.zeros([1], flat.dtype)], 0)
    bad = tf.concat([bad, [False]], 0)
    badness = tf.where(bad, float_badness_of(flat), -2.0)
    worst = tf.gather(flat, tf.argmax(badness))
    whole = whole_numbers(worst)
    as_id = tf.cast(tf.where(whole, worst, 0), tf.int64)
    text = tf.where(
        whole,
        tf.strings.format(ids_lib.id_error_message(layer, "{}"), as_id),
        tf.strings.format(_fraction_message(layer, "{}"), worst),
    )
    assertion = tf.debugging.Assert(
        tf.reduce_all(good), [text], name="whole_ids"
    )
    with tf.control_dependencies([assertion]):
        return tf.identity(ids)
