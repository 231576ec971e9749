"""Row-sparse gradients: the one place that knows TensorFlow's IndexedSlices.

On TensorFlow the gradient of a table lookup is a `tf.IndexedSlices`: the
looked-up row indices (one per looked-up id, so repeated ids repeat) and the
gradient rows for them, summed when the slices are made dense. Keras passes
it on to the optimizer untouched. On the other backends gradients are always
dense arrays and nothing here applies: `is_row_sparse` is `False` and
TensorFlow is never imported.

Repeated indices are combined into totals, the sum of all of a row's slices.
In TensorFlow graphs and eagerly, each distinct row is read, updated and
written once, and only the slices of rows that repeat (few, in a big table)
are summed. XLA, which `jit_compile="auto"` picks on GPUs, cannot compile
tensors whose length depends on the data (the list of distinct rows), so
under XLA only tensors shaped like the batch are used: every position of a
row holds that row's total.
"""

import keras

from keras_embedplus._distinct import distinct
from keras_embedplus._xla import in_xla_context


def is_row_sparse(gradient):
    """Returns whether `gradient` is a TensorFlow `IndexedSlices`."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(gradient, tf.IndexedSlices)


def row_totals(gradient):
    """Returns `(indices, totals)` for a row-sparse gradient.

    `totals[i]` is the whole gradient of row `indices[i]`, the sum of
    every slice for that row. Outside XLA, `indices` are the distinct rows
    of the gradient. Under XLA they are the gradient's indices, repeats
    kept, and positions of the same row hold equal totals. Either way,
    rows computed from the totals can be written with a scatter update.
    """
    if in_xla_context(if_unknown=True):
        import tensorflow as tf

        rows, sums = _row_sums(gradient)
        return gradient.indices, tf.gather(sums, rows)
    return _distinct_row_totals(gradient)


def combine_duplicates(gradient):
    """Returns the `IndexedSlices` with each row's slices summed.

    The total of a row sits at its first position and repeats hold zeros, so
    the slices still sum to the same dense gradient while their values have
    the norm and the elements of that dense gradient (what clipping needs).
    """
    import tensorflow as tf

    rows, sums = _row_sums(gradient)
    positions = tf.range(tf.shape(rows)[0])
    first = tf.math.unsorted_segment_min(
        positions, rows, num_segments=tf.shape(rows)[0]
    )
    is_first = tf.equal(tf.gather(first, rows), positions)
    totals = tf.gather(sums, rows)
    mask = tf.reshape(is_first, [-1] + [1] * (len(totals.shape) - 1))
    values = tf.where(mask, totals, tf.zeros_like(totals))
    return tf.IndexedSlices(values, gradient.indices, gradient.dense_shape)


def values(gradient):
    """Returns the values of a row-sparse gradient, or the dense gradient."""
    return gradient.values if is_row_sparse(gradient) else gradient


def with_values(gradient, new_values):
    """Returns `gradient` with its values (or dense array) replaced."""
    if not is_row_sparse(gradient):
        return new_values
    import tensorflow as tf

    return tf.IndexedSlices(new_values, gradient.indices, gradient.dense_shape)


def gather_rows(variable, indices):
    """Reads rows `indices` of a variable (no read of the whole table).

    Outside XLA, `gather_nd` with one index per row reads the rows of a
    variable about a quarter faster than `gather` on CPU (TensorFlow 2.21);
    XLA compiles only `gather` from a variable.
    """
    import tensorflow as tf

    if isinstance(variable, keras.Variable):
        variable = variable.value
    if in_xla_context(if_unknown=True):
        return tf.gather(variable, indices)
    return tf.gather_nd(variable, tf.expand_dims(indices, -1))


def rows_at(indices, rows):
    """Returns new `rows` for rows `indices`, for the optimizer's `assign`."""
    import tensorflow as tf

    return tf.IndexedSlices(rows, indices)


def _distinct_row_totals(gradient):
    """Returns `(rows, totals)`: the distinct rows, each with its total.

    The lookups of `keras_embedplus` give each row once already, and then
    the gradient is returned as it is. Otherwise (a table looked up by two
    layers, `keras.layers.Embedding`, replicas' gradients put together)
    most rows of a big table occur once in a batch and their total is their
    only slice; only the slices of rows that repeat (few) are summed. One
    stitch then writes each row's slice, or its sum where it repeats.
    """
    import tensorflow as tf

    rows, numbers, counts = tf.unique_with_counts(gradient.indices)

    def summed():
        repeats = tf.where(tf.gather(counts, numbers) > 1)
        repeated, numbering = tf.unique(tf.gather_nd(numbers, repeats))
        sums = tf.math.unsorted_segment_sum(
            tf.gather_nd(gradient.values, repeats),
            numbering,
            num_segments=tf.shape(repeated)[0],
        )
        # Where an index is given twice, `dynamic_stitch` keeps the later.
        totals = tf.dynamic_stitch([numbers, repeated], [gradient.values, sums])
        return rows, totals

    distinct = tf.equal(tf.size(rows), tf.size(gradient.indices))
    return tf.cond(
        distinct, lambda: (gradient.indices, gradient.values), summed
    )


def _row_sums(gradient):
    """Returns `(rows, sums)`: `sums[rows[i]]` is the total of position i.

    `rows[i]` numbers the distinct index at position i; `sums` has one entry
    per position (the batch size, a static shape), the first ones being the
    totals of the distinct indices and the rest zeros.
    """
    import tensorflow as tf

    rows = distinct(gradient.indices)[1]
    sums = tf.math.unsorted_segment_sum(
        gradient.values, rows, num_segments=tf.shape(rows)[0]
    )
    return rows, sums
