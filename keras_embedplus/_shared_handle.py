"""One gradient per table and step, however many lookups read it.

TensorFlow's tape joins the gradients that several ops hand one tensor by
adding them, and it adds row-sparse gradients (`tf.IndexedSlices`) by
concatenating them. So when a model looks a table up twice in one step (a
Siamese model, an encoder shared by two inputs, a decoder that feeds its
ids back through the table inside a loop), a row both lookups read reaches
the optimizer twice, even if each lookup's own gradient holds it once, and
Keras' non-linear updates (Adam's square) treat the two slices as two
gradients.

Here every lookup of one variable in one traced step gathers from the same
tensor: an identity of the variable's *handle* (no read of the table),
made once per (graph, variable) and kept while the tapes that record the
lookups record it. The tape joins the lookups' gradients at that tensor,
and its gradient function sees the joined slices: it numbers their
indices, sums the slices of each row, runs the exchange between replicas
(`_replicas.replica_shares`), and hands the variable each row once.

Lookups inside `tf.cond` branches and `tf.while_loop` bodies (Keras' RNN
layers loop with `tf.while_loop` on TensorFlow) gather from the shared
tensor of the graph the control flow sits in, captured into the branch or
body: TensorFlow's control-flow gradient hands it the branch's or the
loop's slices, and the tape joins them with the other lookups'.

What is not joined (the values stay right; a row may reach the optimizer
once per group): lookups in different `tf.function`s (a function's
gradient is computed apart from its caller's), lookups run eagerly
under a persistent tape or several tapes at once, and a function reloaded
with `tf.saved_model.load` (one slice per occurrence there).

TensorFlow's tape is reached through private modules, the way
`tf.custom_gradient` itself reaches it; `tf.custom_gradient` cannot be used
here, because it wraps the handle in an `IdentityN`, which TensorFlow's
automatic control dependencies do not see through: the gathers would no
longer be ordered with the optimizer's writes (AdamW's decay, written
before the gradient, then reached the forward pass). If those modules ever
move, `shared_gather` returns `None` and the caller sums each lookup on
its own (each lookup's rows once, lookups not joined).
"""

from keras_embedplus._distinct import distinct
from keras_embedplus._replicas import replica_shares

_MEMO = "_embedplus_shared_handles"
_JOIN = "EmbedplusJoinRows"


def shared_gather(variable, ids):
    """`tf.gather(variable, ids)`, its gradient joined with the other lookups'.

    Returns `None` when this TensorFlow lacks the private modules needed.

    Args:
        variable: a trainable float `tf.Variable` (or a `tf.distribute`
            variable, in a replica context).
        ids: int tensor of any shape.
    """
    tape = _tape_modules()
    if tape is None:  # pragma: no cover - TF moved its private modules
        return None
    import tensorflow as tf

    tape_lib, record, gradients_util, control_flow_graph, forwardprop = tape
    if tf.distribute.in_cross_replica_context():
        # Under a strategy's scope, outside `strategy.run` (Keras builds
        # and calls models there): a distributed variable has no one
        # handle, and the caller's gather reads it.
        return None
    owner, outer_graph = _owner(variable, control_flow_graph)
    if outer_graph is None:
        handle = variable.handle
    else:
        # In the graph around the branch or body: there a `tf.distribute`
        # variable knows its replica (in the body's own graph it does not).
        with outer_graph.as_default():
            handle = variable.handle
    if forwardprop.pack_tangents([handle]).tangents:
        # A `tf.autodiff.ForwardAccumulator` carries a tangent for the
        # variable: forward mode cannot pass it through the hand-recorded
        # identity of a handle (TensorFlow fails inside the gather), so
        # the caller sums each lookup on its own.
        return None
    # The tape watches a variable when an op reads it; a gather from the
    # shared handle reads nothing, so tell the tapes here, as a read does.
    tape_lib.variable_accessed(variable)
    shared = _shared_handle(handle, owner, outer_graph, record, gradients_util)
    return tf.raw_ops.ResourceGather(
        resource=shared, indices=ids, dtype=variable.dtype
    )


def _tape_modules():
    try:
        from tensorflow.python.eager import forwardprop_util
        from tensorflow.python.eager import record
        from tensorflow.python.eager import tape as tape_lib
        from tensorflow.python.ops import gradients_util
        from tensorflow.python.ops.control_flow_v2_func_graphs import (
            ControlFlowFuncGraph,
        )
    except ImportError:  # pragma: no cover - TF moved its private modules
        return None
    return (
        tape_lib,
        record,
        gradients_util,
        ControlFlowFuncGraph,
        forwardprop_util,
    )


def _owner(variable, control_flow_graph):
    """Where the memo lives: the variable eagerly, else the traced graph.

    A `tf.cond` branch or a `tf.while_loop` body is a graph of its own;
    the memo lives on the graph that holds the control flow, whose shared
    tensor the branch captures.
    """
    import tensorflow as tf

    if tf.executing_eagerly():
        return variable, None
    graph = tf.compat.v1.get_default_graph()
    inner = graph
    while isinstance(graph, control_flow_graph):
        graph = graph.outer_graph
    return graph, (graph if graph is not inner else None)


def _shared_handle(handle, owner, outer_graph, record, gradients_util):
    import tensorflow as tf

    # {id(handle): (handle, shared tensor)}, on the graph (a
    # dictionary keyed by graphs would keep them alive through the
    # tensors), or eagerly on the variable.
    memo = getattr(owner, _MEMO, None)
    if memo is None:
        memo = {}
        object.__setattr__(owner, _MEMO, memo)
    # One entry per handle: under a strategy each replica has its own.
    entry = memo.get(id(handle))
    if entry is not None and entry[0] is handle:
        shared = entry[1]
        if _reusable(shared, handle, record, gradients_util):
            return shared
        if not tf.executing_eagerly() and _tapes(handle, gradients_util) == 2:
            # Several tapes (or a persistent one) watch the variable, and
            # TensorFlow tells only "several" for the shared tensor too: a
            # tape nested in two that already saw a lookup would not record
            # it. So record the identity again, on every tape that watches
            # the variable. (Only in a traced graph: eagerly, recording a
            # tensor again resets the tape's count of its uses, which the
            # tape relies on to free what eager code drops, and the kept
            # lookups then lost their gradient; a fresh shared tensor is
            # made there instead.)
            record.record_operation(_JOIN, [shared], [handle], _join_rows)
            return shared
    if outer_graph is None:
        shared = _identity_joining_rows(handle, record)
    else:
        with outer_graph.as_default():
            shared = _identity_joining_rows(handle, record)
    memo[id(handle)] = (handle, shared)
    return shared


def _reusable(shared, handle, record, gradients_util):
    """Whether every tape that watches the variable records `shared`.

    A tape started after `shared` was made does not trace the lookups'
    gradients back through it (its gradient would be `None`). TensorFlow
    tells how many tapes may record a tensor only as none, one or several
    (a persistent tape counts as several).
    """
    watching = _tapes(handle, gradients_util)
    if watching == 0:
        # No tape records (none started, or `stop_recording`); a gradient
        # computed from the graph's ops later still sums through `shared`.
        return True
    # The one tape that watches the variable is the one that records
    # `shared`: a tape that recorded it watched the variable then.
    return (
        watching == 1
        and record.should_record_backprop([shared])
        and _tapes(shared, gradients_util) == 1
    )


def _tapes(tensor, gradients_util):
    """0, 1 or 2: no tape, one tape, several (or persistent) tapes."""
    return gradients_util.PossibleTapeGradientTypes([tensor])


def _identity_joining_rows(handle, record):
    import tensorflow as tf

    # A plain Identity (see the module's docstring), recorded by hand for
    # the tapes. In a traced graph the op also carries the same join as its
    # own gradient function, for gradients computed from the graph's ops (a
    # `tf.function` called under a tape, `tf.gradients`). That function is
    # not a registered gradient, so a SavedModel does not save it: saved,
    # it would be traced for a dense gradient, and the reloaded function
    # would fail on the row-sparse one; reloaded, the op is an Identity.
    with record.stop_recording():
        shared = tf.identity(handle)
    if not tf.executing_eagerly():
        shared.op._gradient_function = _join_rows_of_op
    record.record_operation(_JOIN, [shared], [handle], _join_rows)
    return shared


def _join_rows_of_op(op, upstream):
    del op
    return _join_rows(upstream)


def _join_rows(upstream):
    """The lookups' joined gradient, each row once, its slices summed."""
    import tensorflow as tf

    if not isinstance(upstream, tf.IndexedSlices):
        return [upstream]
    ids, numbers = distinct(upstream.indices)
    values = upstream.values
    shape = tf.concat([tf.shape(ids)[:1], tf.shape(values)[1:]], 0)
    # scatter_nd sums repeats, about 20% faster than a segment sum.
    sums = tf.scatter_nd(tf.expand_dims(numbers, -1), values, shape)
    input_dim = tf.cast(upstream.dense_shape[0], tf.int32)
    sums = replica_shares(ids, numbers, sums, input_dim)
    return [tf.IndexedSlices(sums, ids, upstream.dense_shape)]
