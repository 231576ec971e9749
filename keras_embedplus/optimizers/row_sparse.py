"""Row-sparse gradients: the one place that knows TensorFlow's IndexedSlices.

On TensorFlow the gradient of a table lookup is a `tf.IndexedSlices`: the
looked-up row indices (one per looked-up id, so repeated ids repeat) and the
gradient rows for them, summed when the slices are made dense. Keras passes
it on to the optimizer untouched. On the other backends gradients are always
dense arrays and nothing here applies: `is_row_sparse` is `False` and
TensorFlow is never imported.

Repeated indices are combined into per-position totals: every position of a
row holds the sum of all the row's slices. Only tensors shaped like the
batch are used (never the list of distinct rows, whose length depends on
the data), so the update also compiles with XLA, which
`jit_compile="auto"` picks on GPUs.
"""

import keras


def is_row_sparse(gradient):
    """Returns whether `gradient` is a TensorFlow `IndexedSlices`."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(gradient, tf.IndexedSlices)


def row_totals(gradient):
    """Returns `(indices, totals)` for a row-sparse gradient.

    `indices` are the gradient's indices, repeats kept; `totals[i]` is the
    whole gradient of row `indices[i]`, i.e. the sum of every slice for
    that row, so positions of the same row hold equal totals.
    """
    import tensorflow as tf

    rows, sums = _row_sums(gradient)
    return gradient.indices, tf.gather(sums, rows)


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
    """Reads rows `indices` of a variable (no read of the whole table)."""
    import tensorflow as tf

    if isinstance(variable, keras.Variable):
        variable = variable.value
    return tf.gather(variable, indices)


def rows_at(indices, rows):
    """Returns new `rows` for rows `indices`, for the optimizer's `assign`."""
    import tensorflow as tf

    return tf.IndexedSlices(rows, indices)


def _row_sums(gradient):
    """Returns `(rows, sums)`: `sums[rows[i]]` is the total of position i.

    `rows[i]` numbers the distinct index at position i; `sums` has one entry
    per position (the batch size, a static shape), the first ones being the
    totals of the distinct indices and the rest zeros.
    """
    import tensorflow as tf

    _, rows = tf.unique(gradient.indices)
    sums = tf.math.unsorted_segment_sum(
        gradient.values, rows, num_segments=tf.shape(rows)[0]
    )
    return rows, sums
