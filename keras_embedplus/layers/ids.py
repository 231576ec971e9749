"""What the layers share about their integer inputs.

Two things: the Keras 2 `input_length` argument (validated, turned into
the input shape that `Sequential.add` builds the model from, and enforced
on the inputs), and the check that every id lies in `[0, input_dim)`.

The check does not rely on the gather failing. TensorFlow's CPU gather raises
an error buried under "Graph execution error" and its GPU gather silently
returns zeros, so the ids are compared against the limits explicitly, which
gives the same error on CPU and GPU.

What a bad id does is the layer's `on_bad_id` policy. With `"raise"` (the
default) the check raises wherever it can: on TensorFlow it is in the
graph (eagerly, inside `tf.function`, `model.fit` and `model.predict`) and
raises `tf.errors.InvalidArgumentError`; on JAX outside Keras' trainer and
on PyTorch it runs on the concrete ids and raises a `ValueError` with the
same message. Where it cannot raise (TensorFlow under XLA, JAX under
`jax.jit`, and Keras' JAX trainer without jit: see `bad_id_record`) the
rows of bad ids are set to NaN rather than left to the gather, which would
clamp them (XLA), wrap negative ids (JAX) or give zeros (`one_hot`), and
the layer records the ids for `keras_embedplus.CheckIds`, which raises
after the step. `"nan"` and `"zero"` never raise: the rows of bad ids are
NaN, or zeros, on every path.
"""

import keras
from keras import ops

from keras_embedplus._distinct import distinct
from keras_embedplus._replicas import replica_shares
from keras_embedplus._shared_handle import shared_gather
from keras_embedplus._xla import in_xla_context
from keras_embedplus.layers.bad_id_record import layer_record
from keras_embedplus.vectors.arguments import check_integer

BAD_ID_POLICIES = ("raise", "nan", "zero")


def validate_input_length(input_length):
    """Returns `input_length` after checking it is `None` or a positive int."""
    return check_integer(
        "input_length", input_length, minimum=1, allow_none=True
    )


def is_index_dtype(dtype):
    """Whether every backend's gather takes ids of `dtype` as they are.

    TensorFlow's gather from a variable takes only int32 and int64, so
    other ids (uint8, int16, floats) are cast to int32, as Keras does.
    """
    return keras.backend.standardize_dtype(dtype) in ("int32", "int64")


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
    when an id is negative or `>= layer.input_dim`, if the layer's policy
    is `"raise"` and the step can raise. Ragged and sparse TensorFlow
    tensors are checked through their values.
    """
    if on_bad_id(layer) != "raise" or cannot_raise(layer, ids):
        return ids  # `guard_rows` sets the rows of bad ids.
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
    # A zero appended keeps empty inputs valid (no min of nothing).
    values = tf.concat(
        [tf.reshape(values, [-1]), tf.zeros([1], values.dtype)], 0
    )
    low = tf.reduce_min(values)
    high = tf.reduce_max(values)
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


def guard_rows(layer, ids, rows):
    """Returns `rows` with the rows of bad ids set by the layer's policy.

    `"nan"` and `"zero"`: NaN or zeros, everywhere. `"raise"`: NaN, and
    the ids recorded for `keras_embedplus.CheckIds`, only where
    `check_ids` cannot raise (TensorFlow under XLA, JAX under `jax.jit` or
    in Keras' trainer); everywhere else `check_ids` has already raised for
    such ids, and this returns `rows` untouched at no cost.
    """
    policy = on_bad_id(layer)
    if policy == "raise":
        if not cannot_raise(layer, ids):
            return rows
        layer_record(layer).record(
            ops.reshape(_flat_values(ids), (-1,)), layer.input_dim
        )
    fill = 0.0 if policy == "zero" else float("nan")

    def poison(flat_ids, flat_rows):
        in_range = ops.logical_and(
            ops.greater_equal(flat_ids, 0),
            ops.less(flat_ids, layer.input_dim),
        )
        value = ops.cast(fill, flat_rows.dtype)
        return ops.where(ops.expand_dims(in_range, -1), flat_rows, value)

    return map_values(ids, rows, poison)


def gather_ids(layer, ids):
    """Returns `ids` safe to gather with: bad ids read row 0.

    Only with the `"nan"` and `"zero"` policies, where no check has raised
    and a gather would fail on them (TensorFlow's and PyTorch's do);
    `guard_rows` then overwrites their rows. Otherwise returns `ids`.
    """
    if not getattr(layer, "check_ids", True) or on_bad_id(layer) == "raise":
        return ids

    def clamp(values):
        in_range = ops.logical_and(
            ops.greater_equal(values, 0), ops.less(values, layer.input_dim)
        )
        return ops.where(in_range, values, ops.zeros_like(values))

    return _map_flat(ids, clamp)


def on_bad_id(layer):
    """The layer's policy for bad ids (`"raise"` for foreign layers)."""
    return getattr(layer, "on_bad_id", "raise")


def validate_on_bad_id(value):
    """Returns `value` after checking it is one of `BAD_ID_POLICIES`."""
    if value not in BAD_ID_POLICIES:
        raise ValueError(
            f"`on_bad_id` must be one of {BAD_ID_POLICIES}. "
            f"Received: on_bad_id={value!r}"
        )
    return value


def check_input_length(layer, shape):
    """Raises unless `shape` has length `layer.input_length` on axis 1.

    As in Keras 2: a layer built for `input_length` takes `(batch,
    input_length, ...)` inputs only, so its output shape (and the model's
    `summary()`) is the shape it really outputs. Unknown lengths pass.
    """
    length = getattr(layer, "input_length", None)
    if length is None or shape is None:
        return
    shape = tuple(shape)
    # The axis `input_length` measures: 1 for sequences, -1 for bags.
    axis = getattr(layer, "_input_length_axis", 1)
    if len(shape) >= 2 and (shape[axis] is None or shape[axis] == length):
        return
    received = shape[axis] if len(shape) >= 2 else None
    raise ValueError(
        f"Layer `{layer.name}` ({type(layer).__name__}) was built for "
        f"inputs of length {length} (`input_length={length}`), but "
        f"received inputs of shape {shape}"
        + (f", of length {received}" if received is not None else "")
        + ". Pass inputs of shape (batch, input_length), or set "
        "`input_length` to their length (or to None)."
    )


def gather_rows(table, ids):
    """Returns `take(table, ids, axis=0)`, with the gradient Keras expects.

    On TensorFlow, `ops.take` reads the whole variable into a tensor, and
    the optimizer's next in-place update must then copy the whole table;
    gathering straight from the variable reads only the looked-up rows.

    The gradient of a trainable TensorFlow variable is then row-sparse (a
    `tf.IndexedSlices`), and it holds each looked-up row once, with the
    gradients of all its occurrences summed: the rows of the dense gradient
    that JAX and PyTorch hand the optimizer. TensorFlow's own gather gives
    one slice per occurrence instead, and Keras' optimizers apply their
    non-linear updates (squares, roots, quotients) to each slice before the
    slices are summed, so a repeated id would train differently than on the
    other backends (see docs/performance.md). All lookups of one variable
    in a step (a layer called twice: Siamese models, shared encoders)
    gather from one shared copy of the variable's handle, where TensorFlow's
    tape joins their gradients; its gradient function numbers the joined
    rows (a `tf.unique`, a sort under XLA) and sums the slices of each row
    (see `keras_embedplus._shared_handle`); the forward pass is a plain
    gather, so this holds whatever `training` says (Keras' fine-tuning
    idiom trains a model called with `training=False`). A frozen table is
    gathered from the variable. Under `MirroredStrategy` and
    `MultiWorkerMirroredStrategy` the replicas also exchange their rows
    there, so that a row several replicas looked up reaches the optimizer's
    all-reduce (which concatenates row-sparse gradients) once, with its
    total (see `keras_embedplus._replicas`).

    Ids may have any shape; ragged ids give ragged rows, and sparse ids the
    rows of their dense form (missing entries read as id 0, as in Keras).
    A layer that reduces bags of ids should pass the `values` of its sparse
    ids (or ragged ids) rather than let missing entries become row 0.
    """
    if keras.backend.backend() == "tensorflow" and isinstance(
        table, keras.Variable
    ):
        import tensorflow as tf

        if isinstance(ids, tf.RaggedTensor):
            rows = gather_rows(table, ids.flat_values)
            return ids.with_flat_values(rows)
        if isinstance(ids, tf.SparseTensor):
            # Keras' lookup reads missing entries of sparse ids as id 0.
            return gather_rows(table, tf.sparse.to_dense(ids))
        ids = tf.convert_to_tensor(ids)
        if table.trainable and "float" in table.dtype:
            rows = _gather_joined(table, ids)
            if rows is not None:
                return rows
            return _gather_summed(table.value, ids)
        return tf.gather(table.value, ids)
    return ops.take(table, ids, axis=0)


def _gather_joined(table, ids):
    """The lookup through the variable's shared handle, or `None`.

    `None` when TensorFlow lacks the private modules the shared handle
    needs, or when `table` holds no `tf.Variable`.
    """
    import tensorflow as tf

    value = table.value
    if isinstance(value, tf.Variable):
        return shared_gather(value, ids)
    # Under a mixed dtype policy, a layer called outside a model gets a
    # cast copy of the whole table from Keras (its `__call__` opens an
    # autocast scope there, though `Embedding` turns autocasting off).
    # Gather from the stored variable and cast the rows instead: the
    # lookups stay joined and the table is not copied. Keras has no public
    # way to the stored variable, so this reads its private attribute,
    # and falls back to the copy if that ever moves.
    stored = getattr(table, "_value", None)
    if not isinstance(stored, tf.Variable):  # pragma: no cover - Keras moved it
        return None
    rows = shared_gather(stored, ids)
    return None if rows is None else tf.cast(rows, value.dtype)


def _gather_summed(variable, ids):
    """`tf.gather(variable, ids)` whose gradient has each row once.

    Each distinct id's row is read once, then spread to the positions of
    the id; the gradient of the spreading sums the positions of a row, so
    the variable's gradient gets one slice per distinct id. Under XLA the
    distinct ids are padded to the batch length with a looked-up id (see
    `keras_embedplus._distinct`); their slices are zeros.

    (A `tf.custom_gradient` around the variable's own gather would need no
    numbering in the forward pass, but it reads the whole variable as an
    input, a copy of the table at every step once the optimizer has
    scattered into it.)
    """
    import tensorflow as tf

    flat = tf.reshape(ids, [-1])
    distinct_ids, numbers = distinct(flat)
    rows = tf.gather(variable, distinct_ids)
    numbers = tf.reshape(numbers, tf.shape(ids))
    return _spread(rows, numbers, distinct_ids, variable.shape[0])


def _spread(rows, numbers, distinct_ids, input_dim):
    import tensorflow as tf

    @tf.custom_gradient
    def spread(rows):
        def sum_positions(upstream):
            # scatter_nd sums repeats, about 20% faster than a segment sum.
            sums = tf.scatter_nd(
                tf.expand_dims(numbers, -1), upstream, tf.shape(rows)
            )
            return replica_shares(distinct_ids, numbers, sums, input_dim)

        return tf.gather(rows, numbers), sum_positions

    return spread(rows)


def cannot_raise(layer, ids):
    """Whether `check_ids` cannot raise for `ids`.

    TensorFlow under XLA and JAX under `jax.jit` compile no error; in
    Keras' JAX trainer an error would cost the model (`bad_id_record`).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return in_xla_context(if_unknown=False)
    if backend == "jax":
        import jax

        values = _flat_values(ids)  # JAX's sparse BCOO ids: dense
        return isinstance(values, jax.core.Tracer) or _jax_trainer_detached(
            layer
        )
    return False


def _jax_trainer_detached(layer):
    """Whether Keras' JAX trainer has detached the layer's variables.

    Keras 3.15.1 sets `variable._value = None` for the length of `fit`,
    `predict` and `evaluate`, and re-attaches the values only when the
    loop ends normally. If a later Keras stops detaching them, this reads
    `False` and the check raises again, as it should.
    """
    return any(
        getattr(variable, "_value", False) is None
        for variable in layer.variables[:1]
    )


def _check_ids_concrete(layer, ids):
    try:
        values = ops.convert_to_numpy(ids)
    except Exception:
        # Abstract values (e.g. under jax.jit): nothing to check here.
        return ids
    if values.size:
        low, high = int(values.min()), int(values.max())
        if high >= layer.input_dim:
            raise ValueError(id_error_message(layer, high))
        if low < 0:
            raise ValueError(id_error_message(layer, low))
    return ids


def _flat_values(ids):
    """The values of dense, ragged (flat values) or sparse ids."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(ids, tf.RaggedTensor):
            return ids.flat_values
        if isinstance(ids, tf.SparseTensor):
            return ids.values
    return ops.convert_to_tensor(ids, sparse=False)


def _map_flat(ids, fn):
    """Applies `fn` to the values of ids, keeping them ragged or sparse."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(ids, tf.RaggedTensor):
            return ids.with_flat_values(fn(ids.flat_values))
        if isinstance(ids, tf.SparseTensor):
            return tf.SparseTensor(ids.indices, fn(ids.values), ids.dense_shape)
    return fn(ops.convert_to_tensor(ids, sparse=False))


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
    return fn(ops.convert_to_tensor(ids, sparse=False), rows)


def map_ids(ids, fn):
    """Applies `fn` to dense ids: ragged through their flat values, sparse
    ids densified first (missing entries read as id 0, as Keras' lookup
    reads them)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(ids, tf.RaggedTensor):
            return ids.with_flat_values(fn(ids.flat_values))
        if isinstance(ids, tf.SparseTensor):
            return fn(tf.sparse.to_dense(ids))
    return fn(ops.convert_to_tensor(ids, sparse=False))
