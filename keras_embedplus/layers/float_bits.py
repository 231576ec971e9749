"""Float values bit by bit, for float ids and the bad-id record.

A float id is a whole number or a bad id; the record keeps the worst bad
float id exactly, in an integer variable. Both need what a cast or a
comparison on CPU hides: XLA (and TensorFlow) flush subnormal floats to
zero, so their bits tell them apart.
"""

import keras
import numpy as np
from keras import ops


def float_badness(value):
    """How bad a float id is: -1 for 0.0 (none), its magnitude if whole,
    inf if not (fractions, NaN, infinities)."""
    if value == 0.0:
        return -1.0
    if not np.isfinite(value) or value != np.floor(value):
        return np.inf
    return abs(value)


def whole_numbers(values):
    """Where the floats `values` are whole numbers (finite, no fraction).

    Subnormal floats are fractions, but XLA on CPU flushes them to zero
    before any comparison: their bits tell them apart instead.
    """
    whole = ops.logical_and(
        ops.isfinite(values), ops.equal(ops.floor(values), values)
    )
    return ops.logical_and(whole, ops.logical_not(_subnormal(values)))


# Per float dtype: integers of its width, and the bits of its smallest
# normal number (below it, and above 0, the magnitudes are subnormal).
_NORMAL_BITS = {
    "float16": ("int16", 0x0400),
    "bfloat16": ("int16", 0x0080),
    "float32": ("int32", 0x00800000),
    "float64": ("int64", 0x0010000000000000),
}


def _subnormal(values):
    int_dtype, smallest_normal = _NORMAL_BITS[
        keras.backend.standardize_dtype(values.dtype)
    ]
    magnitude = ops.bitwise_and(
        bitcast(values, int_dtype), np.iinfo(int_dtype).max
    )
    return ops.logical_and(
        ops.greater(magnitude, 0), ops.less(magnitude, smallest_normal)
    )


def float_badness_of(values):
    """`float_badness` of a tensor: -1 for 0.0, inf if not whole."""
    badness = ops.where(whole_numbers(values), ops.abs(values), float("inf"))
    zero = ops.logical_and(
        ops.equal(values, 0.0), ops.logical_not(_subnormal(values))
    )
    return ops.where(zero, -1.0, badness)


def bitcast(values, dtype):
    """`values` read as `dtype` of the same width, bit for bit.

    Keras' `ops.view` needs a static last axis on TensorFlow, which a
    batch of ids does not have.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.bitcast(values, tf.as_dtype(dtype))
    if backend == "jax":
        import jax

        return jax.lax.bitcast_convert_type(values, dtype)
    return ops.view(values, dtype)


# The smallest subnormal of each float dtype, narrower than float64.
_SUBNORMAL_STEP = {
    "float16": 2.0**-24,
    "bfloat16": 2.0**-133,
    "float32": 2.0**-149,
}


def widen(values, dtype):
    """`values` cast to the wider float `dtype`, subnormals included.

    A cast on CPU flushes subnormal inputs to zero; their integer bits,
    times the smallest subnormal, give their exact value instead.
    """
    source = keras.backend.standardize_dtype(values.dtype)
    if source == dtype:
        return values
    int_dtype, _ = _NORMAL_BITS[source]
    bits = bitcast(values, int_dtype)
    magnitude = ops.bitwise_and(bits, np.iinfo(int_dtype).max)
    tiny = ops.cast(magnitude, dtype) * _SUBNORMAL_STEP[source]
    tiny = ops.where(ops.less(bits, 0), ops.negative(tiny), tiny)
    return ops.where(_subnormal(values), tiny, ops.cast(values, dtype))
