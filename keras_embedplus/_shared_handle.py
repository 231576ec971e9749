"""One gradient per table and step, however many lookups read it (PROTOTYPE).

TensorFlow's tape joins the gradients that several ops hand one tensor by
adding them, and it adds row-sparse gradients (`tf.IndexedSlices`) by
concatenating them. So when a model looks a table up twice in one step (a
Siamese model, an encoder shared by two inputs), a row both lookups read
reaches the optimizer twice, even if each lookup's own gradient holds it
once, and Keras' non-linear updates (Adam's square) treat the two slices as
two gradients.

Here every lookup of one variable in one traced step gathers from the same
tensor: an identity of the variable's *handle* (no read of the table),
made once per (graph, variable) and kept while a tape records it. The tape
then joins the lookups' gradients at that tensor, and its gradient function
sees the joined slices: it numbers their indices, sums the slices of each
row, runs the exchange between replicas (`_replicas.replica_shares`), and
hands the variable each row once.
"""

from keras_embedplus._distinct import distinct
from keras_embedplus._replicas import replica_shares

_MEMO = "_embedplus_shared_handles"


def shared_gather(variable, ids):
    """`tf.gather(variable, ids)`, its gradient joined with the other lookups'.

    Args:
        variable: a trainable float `tf.Variable` (or a `tf.distribute`
            variable, in a replica context).
        ids: int tensor of any shape.
    """
    import tensorflow as tf
    from tensorflow.python.eager import tape as tape_lib

    # The tape watches a variable when an op reads it; a gather from the
    # shared handle reads nothing, so tell the tapes here, as a read does.
    tape_lib.variable_accessed(variable)
    handle = _shared_handle(variable)
    return tf.raw_ops.ResourceGather(
        resource=handle, indices=ids, dtype=variable.dtype
    )


def _shared_handle(variable):
    import tensorflow as tf
    from tensorflow.python.eager import record

    handle = variable.handle
    # {id(handle): (handle, shared tensor)}, on the graph (it goes with
    # the graph: a dictionary keyed by graphs would keep them alive through
    # the tensors), or eagerly on the variable.
    owner = variable
    if not tf.executing_eagerly():
        owner = tf.compat.v1.get_default_graph()
    memo = getattr(owner, _MEMO, None)
    if memo is None:
        memo = {}
        object.__setattr__(owner, _MEMO, memo)
    # One entry per handle: under a strategy each replica has its own.
    entry = memo.get(id(handle))
    if entry is not None and entry[0] is handle:
        shared = entry[1]
        # Kept only while the tapes that watch the variable record it: a
        # tape started after it was made would not trace the lookups'
        # gradients back to the variable (its gradient would be None).
        # TensorFlow tells only "no tape", "one" or "several": with several,
        # the identity is recorded again, so that a tape nested in two that
        # already saw a lookup records it too (PROTOTYPE: checked by tests,
        # not against the C++ tape's bookkeeping of a re-recorded tensor).
        if record.should_record_backprop([shared]) and _tapes(shared) == _tapes(
            handle
        ):
            if _tapes(handle) == 2:
                record.record_operation(
                    "EmbedplusJoinRows", [shared], [handle], entry[2]
                )
            return shared
    shared, join = _identity_joining_rows(handle, variable.shape[0])
    memo[id(handle)] = (handle, shared, join)
    return shared


def _tapes(tensor):
    from tensorflow.python.ops import gradients_util

    return gradients_util.PossibleTapeGradientTypes([tensor])


def _identity_joining_rows(handle, input_dim):
    import tensorflow as tf
    from tensorflow.python.eager import record

    # A plain Identity, recorded by hand: `tf.custom_gradient` would make an
    # IdentityN, which TensorFlow's automatic control dependencies do not
    # see through, so the gathers from it would no longer be ordered with
    # the optimizer's writes to the variable (AdamW's decay, applied before
    # the gradient, then reached the forward pass's reads).
    with record.stop_recording():
        shared = tf.identity(handle)

    def join_rows(upstream):
        if not isinstance(upstream, tf.IndexedSlices):
            return [upstream]
        ids, numbers = distinct(upstream.indices)
        count = tf.shape(ids)[0]
        sums = tf.math.unsorted_segment_sum(upstream.values, numbers, count)
        sums = replica_shares(ids, numbers, sums, input_dim)
        return [tf.IndexedSlices(sums, ids, upstream.dense_shape)]

    record.record_operation("EmbedplusJoinRows", [shared], [handle], join_rows)
    return shared, join_rows
