"""Numbering the distinct ids of a batch, on TensorFlow, XLA included.

The layers (to hand the optimizer one gradient slice per looked-up row)
and the optimizer (to sum the slices of a row it is given several times)
both need, for a 1-D tensor of ids, the distinct ids and, at each
position, the number of its id among them. Outside XLA that is
`tf.unique`. XLA compiles no tensor whose length depends on the data, and
its `unique` is slow (about 8 ms for 12,800 ids on CPU), so under XLA the
numbers come from a sort (about 2.5 ms) and the distinct ids are padded to
the length of the input.
"""

from keras_embedplus._xla import in_xla_context


def distinct(indices):
    """Returns `(ids, numbers)` for a 1-D int tensor `indices`.

    `indices[i] == ids[numbers[i]]` for every position `i`, and positions
    with the same index get the same number. Outside XLA, `ids` are the
    distinct indices in order of first appearance (`tf.unique`). Under XLA
    `ids` has the static length of `indices`: its first entries are the
    distinct indices in increasing order, and the rest repeat the smallest
    index, numbered by no position.
    """
    import tensorflow as tf

    if not in_xla_context(if_unknown=True):
        return tf.unique(indices)
    size = tf.shape(indices)[0]
    order = tf.argsort(indices)
    ordered = tf.gather(indices, order)
    # Where the sorted indices change, a new number starts.
    starts = tf.concat([tf.ones([1], tf.bool), ordered[1:] != ordered[:-1]], 0)[
        :size
    ]
    sorted_numbers = tf.cumsum(tf.cast(starts, tf.int32)) - 1
    numbers = tf.scatter_nd(order[:, None], sorted_numbers, [size])
    # Only the first position of each number adds its index: no clash.
    ids = tf.scatter_nd(
        sorted_numbers[:, None],
        tf.where(starts, ordered, tf.zeros_like(ordered)),
        [size],
    )
    # The padding repeats the smallest index, a row the batch looked up:
    # a zero slice there changes nothing, where one at row 0 would make a
    # lazy optimizer (LazyAdam) update a row the batch never touched.
    count = tf.reduce_sum(tf.cast(starts, tf.int32))
    ids = tf.where(tf.range(size) < count, ids, tf.reduce_min(indices))
    return ids, numbers
