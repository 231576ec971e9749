"""The bad ids a layer saw in a step that could not raise.

Where a lookup cannot raise an error, the rows of bad ids are set to NaN
and the layer records here how many bad ids it saw and the worst one (the
farthest from the vocabulary); the `keras_embedplus.CheckIds` callback
then raises the error naming the layer, the id and `input_dim` after the
step, outside the compiled code. Those steps are:

- TensorFlow under XLA (`jit_compile=True`, Keras' default on GPUs): XLA
  compiles no assertion. The record is a `tf.Variable` that the compiled
  step updates.
- JAX under `jax.jit` (Keras' default for `fit`, `predict`, `evaluate`):
  the ids are abstract. A host callback (`jax.debug.callback`) records
  them, and runs only when a batch holds a bad id.
- JAX in `fit`, `predict` and `evaluate` without jit (`run_eagerly=True`,
  `jit_compile=False`): the ids are concrete, but raising there would
  cost the user the model. Keras 3.15.1's JAX trainer detaches the value
  of every variable of the model for the length of the loop (it sets
  `variable._value = None` to save memory; `_purge_model_variables`) and
  re-attaches them only when the loop ends normally, or when a callback
  reads `self.model`. An exception raised inside a step skips that, so
  afterwards `predict`, `get_weights()` and `save()` all fail with
  "'NoneType' object is not callable". The values live only in the
  trainer's local state, out of a layer's reach, so the package cannot
  re-attach them; it records the ids instead, and `CheckIds` raises from
  a callback, after Keras has re-attached the values.

The record is deliberately not a Keras weight: `get_weights()`,
`set_weights()`, weight counts and the `.keras` file are those of
`keras.layers.Embedding`, and Keras' JAX trainer never sees it.
"""

import keras
from keras import ops


class BadIdRecord:
    """How many bad ids a layer saw where it could not raise, and the worst.

    "Worst" is the id with the largest magnitude; 0 means none (id 0 is
    always in range).
    """

    def __init__(self):
        self._count = 0
        self._worst = 0
        self._tf_variable = None

    def add(self, count, worst):
        """Adds `count` bad ids whose worst is `worst` (host values)."""
        count, worst = int(count), int(worst)
        if count:
            self._count += count
            if abs(worst) > abs(self._worst):
                self._worst = worst

    def take(self):
        """Returns `(count, worst)` seen since the last `take`; resets."""
        if self._tf_variable is not None:
            count, worst = (int(v) for v in self._tf_variable.numpy())
            if count:
                self._tf_variable.assign([0, 0])
                self.add(count, worst)
        taken = (self._count, self._worst)
        self._count, self._worst = 0, 0
        return taken

    def record(self, flat_ids, input_dim):
        """Records the bad ids among the 1-D `flat_ids`, in the step.

        `flat_ids` are the ids of a step that cannot raise: abstract (XLA,
        `jax.jit`) or concrete (JAX's trainer without jit).
        """
        backend = keras.backend.backend()
        if backend == "tensorflow":
            self._record_tensorflow(flat_ids, input_dim)
        elif backend == "jax" and _is_tracer(flat_ids):
            self._record_jax_traced(flat_ids, input_dim)
        else:
            self.add(*_summary(flat_ids, input_dim))

    def _record_tensorflow(self, flat_ids, input_dim):
        import tensorflow as tf

        if self._tf_variable is None:
            # Out of the function being traced, and untracked by Keras.
            with tf.init_scope():
                self._tf_variable = tf.Variable(
                    [0, 0], dtype=tf.int64, trainable=False
                )
        count, worst = (
            tf.cast(v, tf.int64) for v in _summary(flat_ids, input_dim)
        )
        old = self._tf_variable.read_value()
        worst = tf.where(tf.abs(worst) > tf.abs(old[1]), worst, old[1])
        self._tf_variable.assign(tf.stack([old[0] + count, worst]))

    def _record_jax_traced(self, flat_ids, input_dim):
        import jax

        count, worst = _summary(flat_ids, input_dim)
        jax.lax.cond(
            count > 0,
            lambda c, w: jax.debug.callback(self.add, c, w),
            lambda c, w: None,
            count,
            worst,
        )


def _summary(flat_ids, input_dim):
    """Returns `(count, worst)` of the bad ids among `flat_ids`, as tensors."""
    # A zero appended keeps empty inputs valid (no argmax of nothing).
    ids = ops.concatenate([flat_ids, ops.zeros((1,), flat_ids.dtype)])
    bad = ops.logical_or(ops.less(ids, 0), ops.greater_equal(ids, input_dim))
    count = ops.sum(ops.cast(bad, "int32"))
    magnitude = ops.where(bad, ops.abs(ids), ops.cast(-1, ids.dtype))
    worst = ops.take(ids, ops.argmax(magnitude))
    return count, ops.where(count > 0, worst, ops.cast(0, ids.dtype))


def _is_tracer(value):
    import jax

    return isinstance(value, jax.core.Tracer)


def layer_record(layer):
    """Returns the `BadIdRecord` of `layer`, creating it on first use."""
    record = getattr(layer, "_bad_id_record", None)
    if record is None:
        record = BadIdRecord()
        # A plain object: neither Keras nor TensorFlow tracks it.
        object.__setattr__(layer, "_bad_id_record", record)
    return record
