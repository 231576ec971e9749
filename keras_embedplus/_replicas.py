"""Each looked-up row once across the replicas of a `tf.distribute` strategy.

A lookup's gradient holds each row it looked up once, its occurrences
summed (`layers/ids.py`). Under `MirroredStrategy` and
`MultiWorkerMirroredStrategy` Keras' optimizer then sums the replicas'
gradients with `ReplicaContext.all_reduce`, which *concatenates* row-sparse
gradients: a row that two replicas looked up would reach the optimizer as two
slices, and Keras' non-linear updates (Adam's square, Adagrad's root) would
treat them as two gradients. So the replicas first exchange their rows, and
each keeps, at its own indices, the total of the rows it is the first
replica to have looked up (lowest replica id), and zeros at the others. The
concatenated sum then holds each row's total once, the other slices of the
row are zeros, and every Keras optimizer maps a zero slice to nothing (its
row-sparse operations keep a gradient sparse only where they map zero to
zero). The indices stay the ones each replica looked up, so `LazyAdam` still
updates only those rows.

The exchange is one more all-reduce of what the optimizer's all-reduce
moves anyway (each replica's rows, plus one column for the replica id), run
inside the gradient function, where every replica runs the same ops in the
same order, as the optimizer's own all-reduce requires.
"""

from keras_embedplus._distinct import distinct


def replica_shares(ids, numbers, sums, input_dim):
    """Returns this replica's share of the summed rows `sums` of `ids`.

    Args:
        ids: 1-D int tensor: the distinct ids this replica looked up (under
            XLA, padded with repeats of a looked-up id; see `distinct`).
        numbers: int tensor: the number, among `ids`, of each position's id.
        sums: float tensor `(len(ids), ...)`: the gradient of each row of
            `ids` on this replica (zeros at the padding).
        input_dim: Integer. Rows of the table.

    Outside a replica context of `MirroredStrategy` or
    `MultiWorkerMirroredStrategy` with several replicas, returns `sums`.
    Otherwise, at each position of `ids`: the sum over all replicas of that
    row's gradient if this replica holds the row's share, else zeros. Every
    looked-up row's share is held by exactly one replica, at one position.
    """
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return sums
    strategies = (
        tf.distribute.MirroredStrategy,
        tf.distribute.MultiWorkerMirroredStrategy,
    )
    if not isinstance(context.strategy, strategies):
        return sums
    size = tf.shape(ids)[0]
    rows = tf.reshape(sums, [size, -1])
    width = tf.shape(rows)[1]
    # Positions past the distinct ids' count are XLA's padding.
    real = tf.range(size) < tf.reduce_max(numbers) + 1
    me = tf.cast(context.replica_id_in_sync_group, rows.dtype)
    nobody = tf.cast(context.num_replicas_in_sync, rows.dtype)
    tags = tf.where(real, me, nobody)[:, None]
    # The optimizer's own all-reduce: every replica's rows, concatenated.
    everyone = context.all_reduce(
        tf.distribute.ReduceOp.SUM,
        tf.IndexedSlices(
            tf.concat([rows, tags], 1),
            ids,
            tf.cast(tf.stack([input_dim, width + 1]), ids.dtype),
        ),
    )
    all_ids = tf.concat([ids, everyone.indices], 0)
    numbering = distinct(all_ids)[1]
    mine, theirs = numbering[:size], numbering[size:]
    count = tf.shape(all_ids)[0]
    values, holders = everyone.values[:, :width], everyone.values[:, width]
    totals = tf.math.unsorted_segment_sum(values, theirs, count)
    holder = tf.math.unsorted_segment_min(holders, theirs, count)
    holds = tf.logical_and(real, tf.equal(tf.gather(holder, mine), me))
    share = tf.where(holds[:, None], tf.gather(totals, mine), 0.0)
    return tf.reshape(share, tf.shape(sums))
