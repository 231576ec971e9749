"""Reducing bags of looked-up rows: the combiners of `EmbeddingBag`.

A bag is the last axis of the ids. Dense ids (every backend) are reduced
along that axis; ragged and sparse TensorFlow ids are reduced by segment
over their values, so only the ids present are looked up (no padding is
gathered) and the gradient reaches only their rows.

The formulas, with the padding entries left out and `wᵢ = 1` without
weights: sum = Σ wᵢ·rowᵢ, mean = Σ wᵢ·rowᵢ / Σ wᵢ, sqrtn = Σ wᵢ·rowᵢ /
√(Σ wᵢ²), max = the element-wise maximum. A bag whose denominator is zero
(no member, or weights summing to zero) gives zeros, and the divisions and
the square root never see a zero, so no gradient turns NaN.
"""

import keras
from keras import ops


def reduce_bags(
    ids, weights, rows_of, *, combiner, mask_zero, layer_name, dtype
):
    """Returns the combined rows of the bags of `ids` (checked ids).

    Args:
        ids: Dense ids, or on TensorFlow a ragged or sparse tensor.
        weights: `None`, or per-id weights of the same structure as `ids`.
        rows_of: Callable mapping dense ids to their rows (`ids.shape +
            (output_dim,)`), in `dtype`.
        combiner: "sum", "mean", "sqrtn" or "max".
        mask_zero: Boolean. Whether id 0 is padding, left out of the bags.
        layer_name: String, for error messages.
        dtype: The compute dtype.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        composite = (tf.RaggedTensor, tf.SparseTensor)
        if isinstance(ids, composite) or isinstance(weights, composite):
            weights = _same_structure(ids, weights, layer_name)
            if isinstance(ids, tf.RaggedTensor):
                return _reduce_ragged(
                    ids, weights, rows_of, combiner, mask_zero, dtype
                )
            return _reduce_sparse(
                ids, weights, rows_of, combiner, mask_zero, dtype
            )
    elif not mask_zero and _is_jax_sparse(ids):
        raise ValueError(
            f"Layer `{layer_name}` (EmbeddingBag) received sparse ids with "
            "mask_zero=False. On JAX they are made dense, and their missing "
            "entries would join the bags as id 0, where a sparse bag holds "
            "only its stored ids. Pass mask_zero=True (id 0 is then "
            "padding, left out of every bag, as the missing entries are), "
            "or dense ids."
        )
    return _reduce_dense(
        ids, weights, rows_of, combiner, mask_zero, layer_name, dtype
    )


def _is_jax_sparse(ids):
    if keras.backend.backend() != "jax":
        return False
    from jax.experimental import sparse

    return isinstance(ids, sparse.JAXSparse)


def _reduce_dense(ids, weights, rows_of, combiner, mask_zero, name, dtype):
    ids = ops.convert_to_tensor(ids, sparse=False)
    if weights is not None:
        weights = ops.convert_to_tensor(weights, sparse=False)
        weights = ops.cast(weights, dtype)
        if not _shapes_agree(ids.shape, weights.shape):
            raise ValueError(
                f"Layer `{name}` (EmbeddingBag) needs `weights` of the shape "
                f"of its ids. Received: ids.shape={tuple(ids.shape)}, "
                f"weights.shape={tuple(weights.shape)}"
            )
    rows = rows_of(ids)
    bag_len = ids.shape[-1]
    if 0 in ids.shape:
        # No bag, or bags of no entry (static shapes): Keras' max refuses
        # an empty tensor on TensorFlow and PyTorch.
        return ops.zeros(ops.shape(rows)[:-2] + (rows.shape[-1],), dtype)
    member = ops.not_equal(ids, 0) if mask_zero else None

    def sum_of(values):
        return ops.sum(values, axis=-1)

    def sum_of_rows(values, weights=None):
        if weights is None:
            return ops.sum(values, axis=-2)
        # (..., 1, L) @ (..., L, D): no weighted copy of the rows, about
        # 15% less time than a product and a sum on TensorFlow's CPU.
        weighted = ops.matmul(ops.expand_dims(weights, -2), values)
        return ops.squeeze(weighted, -2)

    def max_of_rows(values):
        return ops.max(values, axis=-2)

    count = None if member is not None else bag_len
    return _combine(
        rows,
        weights,
        member,
        combiner,
        sum_of,
        sum_of_rows,
        max_of_rows,
        count,
    )


def _combine(
    rows, weights, member, combiner, sum_of, sum_of_rows, max_of_rows, count
):
    """The combiners, for dense bags and for segments alike.

    `sum_of_rows(rows, weights)` is the weighted sum of the rows of each
    bag (`weights=None`: the plain sum); `sum_of` the sum of a value per
    entry. `member` is `None` (every entry is in its bag) or a boolean per
    entry;
    `count` is the number of entries per bag when `member` is `None` (a
    Python int for dense bags, a tensor for segments).
    """
    dtype = rows.dtype
    if combiner == "max":
        if member is None and isinstance(count, int):
            return max_of_rows(rows)
        if member is None:
            member = ops.ones(ops.shape(rows)[:-1], "bool")
        lowest = ops.cast(float("-inf"), dtype)
        top = max_of_rows(ops.where(ops.expand_dims(member, -1), rows, lowest))
        nonempty = ops.greater(sum_of(ops.cast(member, dtype)), 0)
        return ops.where(ops.expand_dims(nonempty, -1), top, 0)
    if member is not None:
        zero = ops.zeros((), dtype)
        weights = (
            ops.cast(member, dtype)
            if weights is None
            else ops.where(member, weights, zero)
        )
    total = sum_of_rows(rows, weights)
    if combiner == "sum":
        return total
    if weights is None:
        if isinstance(count, int):  # dense bags without padding
            scale = 1.0 / count if combiner == "mean" else count**-0.5
            return total * ops.cast(scale, dtype)
        denominator = ops.cast(count, dtype)
    elif combiner == "mean":
        denominator = sum_of(weights)
    else:
        denominator = sum_of(weights * weights)
    empty = ops.equal(denominator, 0)
    # Never divide by (or take the root of) zero: no NaN, not even in the
    # gradient of the branch that `where` discards.
    denominator = ops.where(empty, ops.ones((), dtype), denominator)
    if combiner == "sqrtn":
        denominator = ops.sqrt(denominator)
    result = total / ops.expand_dims(denominator, -1)
    return ops.where(ops.expand_dims(empty, -1), ops.zeros((), dtype), result)


def _shapes_agree(a, b):
    if len(a) != len(b):
        return False
    return all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def _same_structure(ids, weights, name):
    """Returns `weights` after checking it is structured like `ids`."""
    import tensorflow as tf

    if weights is None:
        return None
    if type(weights) is not type(ids) and (
        isinstance(ids, (tf.RaggedTensor, tf.SparseTensor))
        or isinstance(weights, (tf.RaggedTensor, tf.SparseTensor))
    ):
        raise ValueError(
            f"Layer `{name}` (EmbeddingBag) received ids as a "
            f"{type(ids).__name__} and `weights` as a "
            f"{type(weights).__name__}: pass weights of the same kind, with "
            "one weight per id (for ragged ids, the same row lengths; for "
            "sparse ids, the same indices)."
        )
    if isinstance(ids, tf.RaggedTensor):
        if ids.ragged_rank != weights.ragged_rank:
            raise ValueError(
                f"Layer `{name}` (EmbeddingBag) needs ragged `weights` with "
                f"the ragged rank of its ids. Received: ids.ragged_rank="
                f"{ids.ragged_rank}, weights.ragged_rank={weights.ragged_rank}"
            )
        checks = [
            tf.debugging.assert_equal(
                a,
                b,
                message=f"Layer `{name}`: `weights` and ids differ "
                "in their row lengths",
            )
            for a, b in zip(
                ids.nested_row_splits, weights.nested_row_splits, strict=True
            )
        ]
        with tf.control_dependencies(checks):
            return weights.with_flat_values(tf.identity(weights.flat_values))
    check = tf.debugging.assert_equal(
        ids.indices,
        weights.indices,
        message=f"Layer `{name}`: `weights` and ids differ in their indices",
    )
    with tf.control_dependencies([check]):
        return tf.SparseTensor(
            weights.indices, tf.identity(weights.values), weights.dense_shape
        )


def _reduce_ragged(ids, weights, rows_of, combiner, mask_zero, dtype):
    import tensorflow as tf

    flat_weights = None if weights is None else weights.flat_values
    if ids.flat_values.shape.rank > 1:
        # The ragged axes are outer ones; the bags are dense inner rows.
        reduced = _reduce_dense(
            ids.flat_values,
            flat_weights,
            rows_of,
            combiner,
            mask_zero,
            "EmbeddingBag",
            dtype,
        )
        return ids.with_flat_values(reduced)
    bags = ids
    while isinstance(bags.values, tf.RaggedTensor):
        bags = bags.values
    reduced = _reduce_segments(
        ids.flat_values,
        flat_weights,
        bags.value_rowids(),
        bags.nrows(),
        rows_of,
        combiner,
        mask_zero,
        dtype,
    )
    if ids.ragged_rank == 1:
        return reduced
    return tf.RaggedTensor.from_nested_row_splits(
        reduced, ids.nested_row_splits[:-1], validate=False
    )


def _reduce_sparse(ids, weights, rows_of, combiner, mask_zero, dtype):
    import tensorflow as tf

    outer = ids.dense_shape[:-1]
    strides = tf.math.cumprod(outer, exclusive=True, reverse=True)
    segments = tf.reduce_sum(ids.indices[:, :-1] * strides, axis=1)
    reduced = _reduce_segments(
        ids.values,
        None if weights is None else weights.values,
        segments,
        tf.reduce_prod(outer),
        rows_of,
        combiner,
        mask_zero,
        dtype,
    )
    output_dim = reduced.shape[-1]
    reduced = tf.reshape(reduced, tf.concat([outer, [output_dim]], 0))
    reduced.set_shape(ids.shape[:-1].concatenate([output_dim]))
    return reduced


def _reduce_segments(
    values, weights, segments, n_bags, rows_of, combiner, mask_zero, dtype
):
    """Reduces the rows of `values` into `n_bags` bags by `segments`."""
    import tensorflow as tf

    if weights is not None:
        weights = tf.cast(weights, dtype)
    rows = rows_of(values)
    member = tf.not_equal(values, 0) if mask_zero else None

    def sum_of(x, weights=None):
        if weights is not None:
            x = x * tf.expand_dims(weights, -1)
        return tf.math.unsorted_segment_sum(x, segments, n_bags)

    def max_of_rows(x):
        return tf.math.unsorted_segment_max(x, segments, n_bags)

    count = None
    if member is None and (weights is None or combiner == "max"):
        count = sum_of(tf.ones_like(values, dtype))
        if combiner == "max":
            member = tf.ones_like(values, tf.bool)
    return _combine(
        rows, weights, member, combiner, sum_of, sum_of, max_of_rows, count
    )
