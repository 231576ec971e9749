import warnings

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_embedplus
from keras_embedplus import EmbeddingBag
from keras_embedplus import LookupEmbedding
from tests.harness import id_error
from tests.harness import requires_tensorflow
from tests.harness import results_on_other_backends
from tests.harness import run_layer_test

COMBINERS = ["sum", "mean", "sqrtn", "max"]
IDS = np.array([[1, 2, 0, 3], [4, 0, 0, 0], [0, 0, 0, 0]], dtype="int32")
TABLE = np.array(
    [[9.0, -9.0], [1.0, 2.0], [3.0, -4.0], [5.0, 0.5], [-2.0, 7.0]],
    dtype="float32",
)


def reference(table, ids, weights=None, combiner="mean", mask_zero=False):
    """The four formulas, one bag at a time, in float64."""
    ids = np.asarray(ids)
    table = np.asarray(table, "float64")
    if weights is None:
        weights = np.ones(ids.shape)
    weights = np.asarray(weights, "float64")
    flat_ids = ids.reshape(-1, ids.shape[-1])
    flat_weights = weights.reshape(flat_ids.shape)
    out = np.zeros((len(flat_ids), table.shape[1]))
    for b, (bag, w) in enumerate(zip(flat_ids, flat_weights, strict=True)):
        keep = [i for i in range(len(bag)) if not (mask_zero and bag[i] == 0)]
        if not keep:
            continue
        rows = table[bag[keep]]
        w = w[keep]
        if combiner == "max":
            out[b] = rows.max(axis=0)
            continue
        total = (w[:, None] * rows).sum(axis=0)
        denominator = {"sum": 1.0, "mean": w.sum(), "sqrtn": None}[combiner]
        if combiner == "sqrtn":
            denominator = np.sqrt((w * w).sum())
        out[b] = 0.0 if denominator == 0 else total / denominator
    return out.reshape(ids.shape[:-1] + (table.shape[1],))


def bag(combiner="mean", mask_zero=True, **kwargs):
    return EmbeddingBag(
        5, 2, combiner=combiner, mask_zero=mask_zero, weights=TABLE, **kwargs
    )


def numpy(x):
    return ops.convert_to_numpy(x)


# The shared harness: config, .keras save/load, fit step, mixed precision.


@pytest.mark.parametrize("combiner", COMBINERS)
@pytest.mark.parametrize("mask_zero", [False, True])
def test_layer_harness(combiner, mask_zero):
    run_layer_test(
        EmbeddingBag,
        {
            "input_dim": 5,
            "output_dim": 3,
            "combiner": combiner,
            "mask_zero": mask_zero,
        },
        IDS,
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=1,
        expected_mask=None,
    )


def test_layer_harness_rank_3_with_lora_and_input_length():
    run_layer_test(
        EmbeddingBag,
        {"input_dim": 5, "output_dim": 3, "lora_rank": 2, "input_length": 4},
        np.stack([IDS, IDS[::-1]]),
        expected_output_shape=(2, 3, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=1,
    )


def test_is_a_lookup_embedding():
    assert issubclass(EmbeddingBag, LookupEmbedding)
    assert (
        keras.saving.get_registered_object("keras_embedplus>EmbeddingBag")
        is EmbeddingBag
    )


# The formulas on a hand-set table.


@pytest.mark.parametrize("combiner", COMBINERS)
@pytest.mark.parametrize("mask_zero", [False, True])
def test_combiners_match_the_formulas(combiner, mask_zero):
    output = numpy(bag(combiner, mask_zero)(IDS))
    expected = reference(TABLE, IDS, None, combiner, mask_zero)
    np.testing.assert_allclose(output, expected, rtol=1e-6)


def test_worked_example():
    ids = np.array([[1, 2, 0]])
    expected = {
        "sum": [[4.0, -2.0]],
        "mean": [[2.0, -1.0]],
        "sqrtn": [[4.0 / np.sqrt(2), -2.0 / np.sqrt(2)]],
        "max": [[3.0, 2.0]],
    }
    for combiner, value in expected.items():
        np.testing.assert_allclose(numpy(bag(combiner)(ids)), value, 1e-6)


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_weights_match_the_formulas(combiner):
    weights = np.array(
        [[2.0, 0.5, 7.0, 1.0], [3.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]],
        "float32",
    )
    output = numpy(bag(combiner)(IDS, weights=weights))
    expected = reference(TABLE, IDS, weights, combiner, mask_zero=True)
    np.testing.assert_allclose(output, expected, rtol=1e-6)


@pytest.mark.parametrize("combiner", COMBINERS)
def test_empty_bag_gives_zeros_and_finite_gradients(combiner):
    layer = bag(combiner)
    ids = np.zeros((2, 3), "int32")
    weights = None if combiner == "max" else np.ones((2, 3), "float32")
    output = numpy(layer(ids, weights=weights))
    np.testing.assert_array_equal(output, np.zeros((2, 2)))
    gradient = table_gradient(layer, ids, weights)
    assert np.all(np.isfinite(gradient))
    np.testing.assert_array_equal(gradient, 0.0)


@pytest.mark.parametrize("combiner", ["mean", "sqrtn"])
def test_weights_summing_to_zero_give_zeros_not_nan(combiner):
    weights = np.array([[0.0, 0.0, 0.0, 0.0]] * 3, "float32")
    output = numpy(bag(combiner)(IDS, weights=weights))
    np.testing.assert_array_equal(output, np.zeros((3, 2)))


def table_gradient(layer, ids, weights=None):
    """The dense gradient of sum(layer(ids) * 1..n) w.r.t. the table."""
    backend = keras.backend.backend()
    if not layer.built:
        layer.build()
    variable = layer.trainable_variables[0]
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = layer(ids, weights=weights)
            loss = tf.reduce_sum(out * tf.range(1.0, 1.0 + out.shape[-1]))
        grad = tape.gradient(loss, variable)
        return tf.convert_to_tensor(grad).numpy()
    if backend == "jax":
        import jax

        def loss(table):
            state = [v.value for v in layer.non_trainable_variables]
            out, _ = layer.stateless_call([table], state, ids, weights=weights)
            return (out * jax.numpy.arange(1.0, 1.0 + out.shape[-1])).sum()

        return np.asarray(jax.grad(loss)(variable.value))
    import torch

    layer.zero_grad()
    out = layer(ids, weights=weights)
    (out * torch.arange(1.0, 1.0 + out.shape[-1])).sum().backward()
    return variable.value.grad.numpy()


@pytest.mark.parametrize("combiner", COMBINERS)
def test_gradient_reaches_only_the_rows_of_bag_members(combiner):
    ids = np.array([[1, 1, 3, 0]], "int32")
    gradient = table_gradient(bag(combiner), ids)
    assert np.all(np.isfinite(gradient))
    touched = np.any(gradient != 0, axis=1)
    # Padding row 0 and rows 2 and 4, not in the bag, get nothing. With
    # "max", row 3 wins the first column (5 > 1), row 1 the second (2 > 0.5).
    np.testing.assert_array_equal(touched, [False, True, False, True, False])


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_one_adam_step_moves_a_repeated_row_by_the_learning_rate(combiner):
    """Ids repeated in and across bags: Adam's first step is lr * sign.

    On TensorFlow, a gradient holding one slice per occurrence (Keras' own
    gather) would move the rows by 2-4 times the learning rate.
    """
    layer = EmbeddingBag(
        5, 2, combiner=combiner, mask_zero=True, weights=np.zeros((5, 2))
    )
    model = keras.Sequential([keras.Input((4,), dtype="int32"), layer])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    ids = np.array([[2, 2, 3, 0], [3, 3, 2, 2]], "int32")
    model.train_on_batch(ids, np.full((2, 2), 5.0, "float32"))
    moved = numpy(layer.embeddings)
    np.testing.assert_allclose(moved[2:4], 0.01, atol=1e-5)
    np.testing.assert_array_equal(moved[[0, 1, 4]], 0.0)


def test_max_with_weights_is_refused():
    with pytest.raises(ValueError, match="combiner='max'.*weights"):
        bag("max")(IDS, weights=np.ones(IDS.shape, "float32"))


def test_weights_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="`weights` of the shape"):
        bag("sum")(IDS, weights=np.ones((3, 3), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"combiner": "avg"}, "`combiner` must be one of"),
        ({"combiner": None}, "`combiner` must be one of"),
        ({"output_dim": 0}, "`output_dim` must be a positive"),
        ({"check_ids": "yes"}, "check_ids"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EmbeddingBag(**{"input_dim": 5, "output_dim": 2, **kwargs})


@pytest.mark.parametrize("bad", [5, -1])
def test_bad_id_raises(bad):
    with pytest.raises(id_error(), match=f"received id {bad}"):
        bag()(np.array([[1, bad]], "int32"))


def test_rank_1_and_rank_3():
    np.testing.assert_allclose(
        numpy(bag("sum")(np.array([1, 2, 0]))), [4.0, -2.0]
    )
    ids = np.stack([IDS, IDS[::-1]])
    output = numpy(bag("mean")(ids))
    assert output.shape == (2, 3, 2)
    np.testing.assert_allclose(
        output, reference(TABLE, ids, None, "mean", True)
    )
    assert bag().compute_output_shape((None, 7, 9)) == (None, 7, 2)


def test_no_mask_comes_out():
    layer = bag()
    assert layer.compute_mask(IDS) is None
    inputs = keras.Input((4,), dtype="int32")
    assert getattr(layer(inputs), "_keras_mask", None) is None


def test_symbolic_call_with_weights_and_sequential():
    ids = keras.Input((4,), dtype="int32")
    weights = keras.Input((4,), dtype="float32")
    layer = bag("sqrtn")
    model = keras.Model([ids, weights], layer(ids, weights=weights))
    assert model.output_shape == (None, 2)
    w = np.full(IDS.shape, 2.0, "float32")
    np.testing.assert_allclose(
        model.predict([IDS, w], verbose=0),
        reference(TABLE, IDS, w, "sqrtn", True),
        rtol=1e-6,
    )
    model = keras.Sequential([bag("mean", input_length=4)])
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_quantize(mode, tmp_path):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(5, 8)).astype("float32")
    layer = EmbeddingBag(5, 8, combiner="sum", mask_zero=True, weights=table)
    model = keras.Sequential([keras.Input((4,), dtype="int32"), layer])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize(mode)
    assert not [w for w in caught if "EmbeddingBag" in str(w.message)]
    assert layer.quantization_mode == mode
    output = model.predict(IDS, verbose=0)
    tolerance = {"int8": 0.1, "int4": 1.0}[mode]
    np.testing.assert_allclose(
        output, reference(table, IDS, None, "sum", True), atol=tolerance
    )
    path = tmp_path / "quantized.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(revived.predict(IDS, verbose=0), output)


def test_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    layer = bag("sqrtn")
    output = layer(IDS, weights=np.ones(IDS.shape, "float32"))
    assert keras.backend.standardize_dtype(output.dtype) == "float16"
    np.testing.assert_allclose(
        numpy(output).astype("float32"),
        reference(TABLE, IDS, None, "sqrtn", True),
        rtol=2e-3,
    )


# The differential test: random bags, weights, padding, empty bags, ranks.


@st.composite
def bags(draw):
    rank = draw(st.integers(1, 3))
    shape = tuple(
        draw(st.integers(0 if i < rank - 1 else 1, 4)) for i in range(rank)
    )
    size = int(np.prod(shape))
    ids = draw(st.lists(st.integers(0, 6), min_size=size, max_size=size))
    weights = draw(
        st.lists(
            st.one_of(
                st.just(0.0),
                st.floats(0.125, 3, width=32),
                st.floats(-3, -0.125, width=32),
            ),
            min_size=size,
            max_size=size,
        )
    )
    ids = np.array(ids, "int32").reshape(shape)
    weights = np.array(weights, "float32").reshape(shape)
    return ids, weights


@settings(max_examples=60, deadline=None)
@given(
    bags(),
    st.sampled_from(COMBINERS),
    st.booleans(),
    st.booleans(),
)
def test_matches_numpy_reference(bag_and_weights, combiner, mask_zero, weigh):
    ids, weights = bag_and_weights
    if combiner == "max" or not weigh:
        weights = None
    elif combiner == "mean":
        # Weights of both signs can cancel to a float32 rounding error.
        weights = np.abs(weights)
    table = np.random.default_rng(ids.size).normal(size=(7, 3))
    layer = EmbeddingBag(
        7, 3, combiner=combiner, mask_zero=mask_zero, weights=table
    )
    output = numpy(layer(ids, weights=weights))
    expected = reference(table, ids, weights, combiner, mask_zero)
    assert output.shape == expected.shape
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)


# Ragged and sparse ids (TensorFlow).


@requires_tensorflow
@pytest.mark.parametrize("combiner", COMBINERS)
def test_ragged_ids_equal_the_padded_form(combiner):
    import tensorflow as tf

    rows = [[1, 2, 3], [4], [], [2, 2]]
    ragged = tf.ragged.constant(rows, dtype="int32")
    padded = np.array([r + [0] * (3 - len(r)) for r in rows], "int32")
    layer = bag(combiner)
    expected = reference(TABLE, padded, None, combiner, mask_zero=True)
    np.testing.assert_allclose(numpy(layer(ragged)), expected, rtol=1e-6)
    if combiner != "max":
        w = tf.ragged.constant([[1.0, 2.0, 3.0], [4.0], [], [0.5, 1.5]])
        padded_w = w.to_tensor().numpy()
        np.testing.assert_allclose(
            numpy(layer(ragged, weights=w)),
            reference(TABLE, padded, padded_w, combiner, mask_zero=True),
            rtol=1e-6,
        )


@requires_tensorflow
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 6), max_size=5), min_size=1, max_size=5),
    st.sampled_from(COMBINERS),
    st.booleans(),
    st.booleans(),
)
def test_ragged_and_sparse_match_numpy_reference(
    bags_of_ids, combiner, mask_zero, weigh
):
    """Each bag its own length; the sparse form has the same members."""
    import tensorflow as tf

    table = np.random.default_rng(len(bags_of_ids)).normal(size=(7, 3))
    rng = np.random.default_rng(sum(map(len, bags_of_ids)))
    bag_weights = [rng.uniform(0.25, 2.0, len(b)).tolist() for b in bags_of_ids]
    if combiner == "max" or not weigh:
        bag_weights = None
    expected = np.stack(
        [
            reference(
                table,
                [b],
                None if bag_weights is None else [bag_weights[i]],
                combiner,
                mask_zero,
            )[0]
            if b
            else np.zeros(3)
            for i, b in enumerate(bags_of_ids)
        ]
    )
    layer = EmbeddingBag(
        7, 3, combiner=combiner, mask_zero=mask_zero, weights=table
    )
    ragged = tf.ragged.constant(bags_of_ids, dtype="int32", ragged_rank=1)
    ragged_w = (
        None
        if bag_weights is None
        else tf.ragged.constant(bag_weights, dtype="float32", ragged_rank=1)
    )
    output = numpy(layer(ragged, weights=ragged_w))
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)
    positions = [
        [i, j] for i, b in enumerate(bags_of_ids) for j in range(len(b))
    ]
    width = max(1, max(map(len, bags_of_ids)))
    shape = [len(bags_of_ids), width]
    sparse = tf.SparseTensor(
        tf.constant(positions, "int64", shape=[len(positions), 2]),
        tf.constant([i for b in bags_of_ids for i in b], "int32"),
        shape,
    )
    sparse_w = (
        None
        if bag_weights is None
        else tf.SparseTensor(
            sparse.indices,
            tf.constant([w for b in bag_weights for w in b], "float32"),
            shape,
        )
    )
    output = numpy(layer(sparse, weights=sparse_w))
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)


@requires_tensorflow
def test_ragged_rank_3_and_in_a_model():
    import tensorflow as tf

    ragged = tf.ragged.constant([[[1, 2], [3]], [[4, 4, 4]]], dtype="int32")
    output = bag("sum")(ragged)
    assert isinstance(output, tf.RaggedTensor)
    np.testing.assert_allclose(
        output.flat_values.numpy(), [[4.0, -2.0], [5.0, 0.5], [-6.0, 21.0]]
    )
    inputs = keras.Input((None,), dtype="int32", ragged=True)
    model = keras.Model(inputs, bag("mean")(inputs))
    out = model.predict(tf.ragged.constant([[1, 2, 3], [4]]), verbose=0)
    np.testing.assert_allclose(out, [[3.0, -0.5], [-2.0, 7.0]], rtol=1e-6)


@requires_tensorflow
@pytest.mark.parametrize("combiner", COMBINERS)
def test_sparse_missing_entries_are_not_members(combiner):
    import tensorflow as tf

    # Without mask_zero, an explicit id 0 is a member; a missing one is not.
    sparse = tf.SparseTensor(
        [[0, 0], [0, 2], [1, 1], [3, 0]], [1, 0, 4, 3], dense_shape=[4, 3]
    )
    layer = bag(combiner, mask_zero=False)
    expected = np.stack(
        [
            reference(TABLE, [[1, 0]], None, combiner)[0],
            reference(TABLE, [[4]], None, combiner)[0],
            np.zeros(2),
            reference(TABLE, [[3]], None, combiner)[0],
        ]
    )
    np.testing.assert_allclose(numpy(layer(sparse)), expected, rtol=1e-6)
    if combiner != "max":
        w = tf.SparseTensor(sparse.indices, [2.0, 3.0, 1.0, 0.5], [4, 3])
        expected_w = np.stack(
            [
                reference(TABLE, [[1, 0]], [[2.0, 3.0]], combiner)[0],
                reference(TABLE, [[4]], [[1.0]], combiner)[0],
                np.zeros(2),
                reference(TABLE, [[3]], [[0.5]], combiner)[0],
            ]
        )
        np.testing.assert_allclose(
            numpy(layer(sparse, weights=w)), expected_w, rtol=1e-6
        )


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="JAX's sparse BCOO tensors"
)
@pytest.mark.parametrize("combiner", COMBINERS)
def test_jax_sparse_ids_without_mask_zero_are_refused(combiner):
    # Made dense, the missing entries of [[1, _, 2]] would become members
    # with id 0, where a sparse bag (TensorFlow's) holds only the stored
    # ids: refuse rather than give the mean of rows 1, 0 and 2.
    from jax.experimental import sparse

    dense = np.array([[1, 0, 2], [0, 3, 0]])
    ids = sparse.BCOO.fromdense(dense)
    layer = bag(combiner, mask_zero=False, name="bags")
    with pytest.raises(ValueError, match="`bags`.*sparse.*mask_zero=True"):
        layer(ids)
    # With mask_zero=True the missing entries are padding, left out, as in
    # TensorFlow's sparse bags: the answer of the stored ids alone.
    members = bag(combiner, mask_zero=True)
    expected = [
        reference(TABLE, [[1, 2]], None, combiner)[0],
        reference(TABLE, [[3]], None, combiner)[0],
    ]
    np.testing.assert_allclose(numpy(members(ids)), expected, rtol=1e-6)
    if combiner != "max":
        weights = sparse.BCOO.fromdense(np.array([[2.0, 0, 0.5], [0, 3, 0]]))
        expected = [
            reference(TABLE, [[1, 2]], [[2.0, 0.5]], combiner)[0],
            reference(TABLE, [[3]], [[3.0]], combiner)[0],
        ]
        np.testing.assert_allclose(
            numpy(members(ids, weights=weights)), expected, rtol=1e-6
        )


@requires_tensorflow
def test_ragged_and_sparse_bad_ids_and_mismatched_weights():
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match="received id 9"):
        bag()(tf.ragged.constant([[1], [9, 2]]))
    with pytest.raises(ValueError, match="same kind"):
        bag("sum")(tf.ragged.constant([[1], [3, 2]]), weights=np.ones((2, 2)))
    with pytest.raises(ValueError, match="same kind"):
        bag("sum")(np.array([[1, 2]]), weights=tf.ragged.constant([[1.0, 1.0]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="row lengths"):
        bag("sum")(
            tf.ragged.constant([[1], [3, 2]]),
            weights=tf.ragged.constant([[1.0, 1.0], [3.0]]),
        )


@requires_tensorflow
def test_row_sparse_gradient_holds_each_looked_up_row_once():
    import tensorflow as tf

    layer = bag("mean", mask_zero=False)
    layer.build()
    ids = np.array([[1, 1, 3], [3, 3, 1]], "int32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(ids, training=True))
    gradient = tape.gradient(loss, layer.trainable_variables[0])
    assert isinstance(gradient, tf.IndexedSlices)
    assert sorted(gradient.indices.numpy().tolist()) == [1, 3]


def test_public_name():
    assert keras_embedplus.EmbeddingBag is EmbeddingBag


# Training equality across backends: Adam and friends on repeated ids.

FLOAT32_NOISE = 1e-5


@pytest.fixture(scope="module")
def bags_on_other_backends(tmp_path_factory):
    """Trained tables from fresh JAX and PyTorch processes."""
    return results_on_other_backends(
        "tests.bag_parity", tmp_path_factory.mktemp("bag_parity")
    )


@requires_tensorflow
@pytest.mark.slow
def test_bags_train_as_on_jax_and_pytorch(bags_on_other_backends):
    from tests import bag_parity

    start = bag_parity.layers()["sum"]
    start.build()
    start = numpy(start.embeddings)
    for compile_kwargs in [{"run_eagerly": True}, {}, {"jit_compile": True}]:
        trained = bag_parity.train_all(**compile_kwargs)
        for key, table in trained.items():
            # Rows move far more than float32 noise; padding row 0 never.
            assert np.abs(table - start).max() > 100 * FLOAT32_NOISE, key
            np.testing.assert_array_equal(table[0], start[0], err_msg=key)
            for backend, results in bags_on_other_backends.items():
                np.testing.assert_allclose(
                    table,
                    results[key],
                    atol=FLOAT32_NOISE,
                    err_msg=f"{key} {compile_kwargs}: TF against {backend}",
                )
