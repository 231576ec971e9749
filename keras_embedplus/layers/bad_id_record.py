"""The bad ids a layer saw in a step that could not raise.

Where a lookup cannot raise an error, the rows of bad ids are set to NaN
and the layer records here how many bad ids it saw and the worst one (the
farthest from the vocabulary; for float ids, one that is not a whole
number first); the `keras_embedplus.CheckIds` callback then raises the
error naming the layer, the id and `input_dim` after the step, outside
the compiled code. Those steps are:

- TensorFlow under XLA (`jit_compile=True`, Keras' default on GPUs): XLA
  compiles no assertion. The record is a `tf.Variable`, out of Keras'
  sight, that the compiled step updates.
- JAX under `jax.jit` (Keras' default for `fit`, `predict`, `evaluate`):
  the ids are abstract. The record is a non-trainable Keras variable that
  Keras carries as model state: the step reads it and returns it updated,
  as it does a `BatchNormalization` statistic (see `_carried_state`). A
  function with a host effect (`jax.debug.callback`) goes through JAX's
  slow dispatch at every call, about 0.3 ms a step even when no id is
  bad; a state update costs a few scalar operations. Only where the
  record is not carried (the layer called under a `jax.jit` of the user's
  own, outside Keras' `StatelessScope`; or inside a loop or branch traced
  within the step, such as the `lax.scan` in which Keras' JAX `RNN` runs
  its cell: see `_carries`) does a host callback record the ids, and
  only when a batch holds a bad id: an assignment there would leak the
  traced value into the variable, or into the step's state.
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
  re-attach them; it records the ids on the host instead, and `CheckIds`
  raises from a callback, after Keras has re-attached the values.

The record is deliberately not a Keras weight: `get_weights()`,
`set_weights()`, weight counts and the `.keras` file are those of
`keras.layers.Embedding`. On JAX it is one more entry of the model's
`variables` and `non_trainable_variables` (Keras' words for "all state",
random seeds included), which is what `model.stateless_call` takes and
returns.
"""

import keras
import numpy as np
from keras import ops

from keras_embedplus.layers.float_bits import bitcast
from keras_embedplus.layers.float_bits import float_badness
from keras_embedplus.layers.float_bits import float_badness_of
from keras_embedplus.layers.float_bits import widen


class BadIdRecord:
    """How many bad ids a layer saw where it could not raise, and the worst.

    Three values: the count; the worst integer id (largest magnitude; 0:
    none, id 0 is always in range); the worst float id (0.0: none). A
    float id is worse than another if it is not a whole number (NaN and
    infinities included) and the other is, or else if it is larger in
    magnitude; between two that are not whole numbers, the first stays.
    """

    def __init__(self):
        self._count = 0
        self._worst = 0
        self._worst_float = 0.0
        self._tf_variable = None
        self._state = None  # JAX: the variable Keras carries as state

    def add(self, count, worst, worst_float=0.0):
        """Adds `count` bad ids whose worst are `worst`, `worst_float`."""
        count = int(count)
        if not count:
            return
        self._count += count
        worst = int(worst)
        if abs(worst) > abs(self._worst):
            self._worst = worst
        worst_float = float(worst_float)
        if float_badness(worst_float) > float_badness(self._worst_float):
            self._worst_float = worst_float

    def take(self):
        """Returns `(count, worst, worst_float)` since the last `take`.

        Resets the record. On JAX, read it once Keras has put the model's
        state back (a callback's `self.model` does).
        """
        for variable in (self._tf_variable, self._state):
            values = _read(variable)
            if values is not None and values[0]:
                variable.assign(np.zeros_like(values))
                self.add(*_decode(values))
        taken = (self._count, self._worst, self._worst_float)
        self._count, self._worst, self._worst_float = 0, 0, 0.0
        return taken

    def record(self, flat_ids, input_dim):
        """Records the bad ids among the 1-D integer `flat_ids`, in a step
        that cannot raise (abstract ids, or Keras' JAX trainer)."""
        if keras.backend.backend() == "jax":
            count, worst = _summary_jax(flat_ids, input_dim)
        else:
            count, worst = _summary(flat_ids, input_dim)
        self._record(count, worst, None)

    def record_floats(self, flat_values, bad):
        """Records the bad float ids of 1-D `flat_values`, where `bad`."""
        count, worst_float = _float_summary(flat_values, bad)
        self._record(count, None, worst_float)

    def _record(self, count, worst, worst_float):
        """Adds a step's summary; `worst` or `worst_float` None: no such
        ids (the step then leaves that part of the record as it is)."""
        backend = keras.backend.backend()
        if backend == "tensorflow":
            self._record_tensorflow(count, worst, worst_float)
            return
        if worst is None:
            worst = ops.zeros((), "int32")
        if worst_float is None:
            worst_float = ops.zeros((), "float32")
        if backend == "jax" and _is_tracer(count):
            if self._state is not None and _carries(self._state.value, count):
                self._record_jax_state(count, worst, worst_float)
            else:
                self._record_jax_callback(count, worst, worst_float)
        else:
            self.add(
                *(ops.convert_to_numpy(v) for v in (count, worst, worst_float))
            )

    def _record_tensorflow(self, count, worst, worst_float):
        import tensorflow as tf

        if self._tf_variable is None:
            # Out of the function being traced, and untracked by Keras.
            with tf.init_scope():
                self._tf_variable = tf.Variable(
                    [0, 0, 0], dtype=tf.int64, trainable=False
                )
        old = self._tf_variable.read_value()
        self._tf_variable.assign(_merge(old, count, worst, worst_float))

    def _record_jax_state(self, count, worst, worst_float):
        # The variable's value is a tracer: Keras passed it into the traced
        # step as state (a StatelessScope maps it), so the assignment is
        # collected by that scope and returned by the step, never stored.
        old = self._state.value
        self._state.assign(_merge(old, count, worst, worst_float))

    def _record_jax_callback(self, count, worst, worst_float):
        import jax

        jax.lax.cond(
            count > 0,
            lambda *v: jax.debug.callback(self.add, *v),
            lambda *v: None,
            count,
            worst,
            worst_float,
        )


def _summary(flat_ids, input_dim):
    """Returns `(count, worst)` of the bad ids among `flat_ids`, as tensors."""
    if flat_ids.shape[0] == 0:  # no min or max of nothing
        return ops.zeros((), "int32"), ops.zeros((), flat_ids.dtype)
    # No copy of the ids (as a zero appended would make): three reductions
    # over them are the record's whole cost in the step. (A batch of
    # unknown size that turns out empty, on TensorFlow, has a count of 0.)
    bad = ops.logical_or(
        ops.less(flat_ids, 0), ops.greater_equal(flat_ids, input_dim)
    )
    count = ops.sum(ops.cast(bad, "int32"))
    # The worst is the smallest or the largest id (no `abs`: the most
    # negative integer has none).
    low, high = ops.min(flat_ids), ops.max(flat_ids)
    worst = ops.where(
        ops.logical_or(ops.less(high, input_dim), _farther(low, high)),
        low,
        high,
    )
    return count, ops.where(count > 0, worst, ops.cast(0, flat_ids.dtype))


def _summary_jax(flat_ids, input_dim):
    """`_summary` in one pass over the ids, for JAX.

    XLA on CPU runs each reduction as its own loop, about 10 us for a
    batch of 12,800 ids: a tenth of the 2% a 1 ms step allows. One
    variadic reduction gives the count and the worst id together; the
    worst is the largest key, `2 * id` for ids >= 0 and `2 * (-1 - id)
    + 1` below 0 (unsigned: no overflow at the most negative integer).
    """
    import jax
    import jax.numpy as jnp

    if flat_ids.shape[0] == 0:
        return jnp.zeros((), "int32"), jnp.zeros((), flat_ids.dtype)
    ids = jnp.asarray(flat_ids)
    unsigned = jnp.dtype(ids.dtype.name.replace("int", "uint"))
    bad = (ids < 0) | (ids >= input_dim)
    one = jnp.ones((), unsigned)
    key = jnp.where(
        ids >= 0,
        ids.astype(unsigned) << one,
        ((~ids).astype(unsigned) << one) | one,
    )
    count, key = jax.lax.reduce(
        (bad.astype("int32"), jnp.where(bad, key, jnp.zeros((), unsigned))),
        (jnp.zeros((), "int32"), jnp.zeros((), unsigned)),
        lambda a, b: (a[0] + b[0], jnp.maximum(a[1], b[1])),
        (0,),
    )
    magnitude = (key >> one).astype(ids.dtype)
    return count, jnp.where((key & one) == one, ~magnitude, magnitude)


def _farther(a, b):
    """Whether `|a| > |b|`, without overflow at the most negative integer."""

    def minus_magnitude(x):
        return ops.where(ops.less(x, 0), x, ops.negative(x))

    return ops.less(minus_magnitude(a), minus_magnitude(b))


def _float_summary(flat_values, bad):
    """`(count, worst)` of the float ids of `flat_values` where `bad`."""
    values = ops.concatenate([flat_values, ops.zeros((1,), flat_values.dtype)])
    bad = ops.concatenate([bad, ops.zeros((1,), "bool")])
    count = ops.sum(ops.cast(bad, "int32"))
    badness = ops.where(bad, float_badness_of(values), -2.0)
    return count, ops.take(values, ops.argmax(badness))


def _merge(old, count, worst, worst_float):
    """The record `old` (3 integers) with a step's summary added; a part
    whose worst is None stays as it is (no work in the step)."""
    int_dtype = old.dtype
    count = ops.cast(count, int_dtype)
    # Saturates instead of wrapping round to a negative count.
    limit = np.iinfo(keras.backend.standardize_dtype(int_dtype)).max
    total = ops.minimum(old[0], limit - count) + count
    if worst is None:
        worst = old[1]
    else:
        worst = ops.cast(worst, int_dtype)
        worst = ops.where(_farther(worst, old[1]), worst, old[1])
    if worst_float is None:
        return ops.stack([total, worst, old[2]])
    float_dtype = "float64" if "64" in str(int_dtype) else "float32"
    worst_float = widen(worst_float, float_dtype)
    old_float = bitcast(old[2], float_dtype)
    worst_float = ops.where(
        float_badness_of(worst_float) > float_badness_of(old_float),
        worst_float,
        old_float,
    )
    return ops.stack([total, worst, bitcast(worst_float, int_dtype)])


def _read(variable):
    """The record's three integers, or None (no record, or detached)."""
    if variable is None:
        return None
    if keras.backend.backend() == "jax" and variable._value is None:
        return None  # detached by Keras' JAX trainer: read after a sync
    return np.asarray(ops.convert_to_numpy(variable))


def _decode(values):
    """`(count, worst, worst_float)` from the record's three integers."""
    float_dtype = np.float64 if values.dtype.itemsize == 8 else np.float32
    return (
        int(values[0]),
        int(values[1]),
        float(values[2:].view(float_dtype)[0]),
    )


def _is_tracer(value):
    import jax

    return isinstance(value, jax.core.Tracer)


def _carries(state, count):
    """Whether the traced record `state` may take the traced `count`.

    Only if `count` belongs to the trace that Keras passed `state` into
    (or to a differentiation of it, which Keras' train step returns the
    state through). Not inside a `lax.scan`, `cond` or `while_loop` body
    traced within that step (Keras' JAX `RNN` runs its cell in a `scan`
    and shares the step's `StatelessScope`): a count of the body assigned
    to the step's state would leak the body's tracer. JAX 0.10 names a
    tracer's trace `_trace` and a trace's parent `parent_trace`; if that
    changes, this reads False and the host callback records instead.
    """
    if not (_is_tracer(state) and _is_tracer(count)):
        return False
    target = getattr(state, "_trace", None)
    trace = getattr(count, "_trace", None)
    while trace is not None and trace is not target:
        if type(trace).__name__ not in ("JVPTrace", "LinearizeTrace"):
            return False
        trace = getattr(trace, "parent_trace", None)
    return trace is not None


def layer_record(layer):
    """Returns the `BadIdRecord` of `layer`, creating it on first use."""
    record = getattr(layer, "_bad_id_record", None)
    if record is None:
        record = BadIdRecord()
        # A plain object: neither Keras nor TensorFlow tracks it.
        object.__setattr__(layer, "_bad_id_record", record)
    return record


def carry_record(layer):
    """On JAX, makes the layer's record state that Keras' steps carry.

    Call from the layer's `build`, where Keras still takes new state.
    Elsewhere a no-op.
    """
    if keras.backend.backend() != "jax":
        return
    record = layer_record(layer)
    if record._state is None:
        holder = _carried_state(layer)
        layer._bad_id_state = holder  # Keras tracks it (see below)
        record._state = holder.state


def _carried_state(layer):
    """A variable Keras carries through its JAX steps, not a weight.

    Keras 3.15.1: `Layer.variables`, and so `non_trainable_variables`,
    `stateless_call` and the JAX trainer's state, include the `state`
    variable of every `keras.random.SeedGenerator` the layer holds;
    `Layer.weights` (`get_weights`, `set_weights`, weight counts,
    `save_own_variables` and the `.keras` file) do not. Public classes
    and documented behaviour ("`variables` ... including
    `SeedGenerator`s"), but a SeedGenerator that draws no seed: if a
    later Keras stops collecting them, `tests/test_bad_ids.py` fails (the
    record must be in `non_trainable_variables`, not in `weights`), and
    the layer falls back to its host callback meanwhile.
    """
    import jax

    dtype = "int64" if jax.config.jax_enable_x64 else "int32"
    return _CarriedRecord(f"{layer.name}_bad_id_record", dtype)


class _CarriedRecord(keras.random.SeedGenerator):
    """Holds the record's variable where Keras collects a seed's state."""

    def __init__(self, name, dtype):
        # Not SeedGenerator.__init__: no seed, only the variable.
        self.name = name
        self._initial_seed = None
        # An initializer, not an array: a layer built lazily inside a
        # `StatelessScope` (an RNN cell's first call on JAX) may only
        # create variables that Keras initializes later.
        self.state = keras.Variable(
            keras.initializers.Zeros(),
            shape=(3,),
            dtype=dtype,
            trainable=False,
            name="bad_id_record",
        )

    def next(self, ordered=True):
        raise TypeError("The bad-id record draws no random seeds.")

    def get_config(self):
        raise TypeError("The bad-id record is not serialized.")
