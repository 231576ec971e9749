"""The same training on every backend: repeated ids reach the optimizer once.

On TensorFlow the lookups hand the optimizer a row-sparse gradient
(`tf.IndexedSlices`) that holds each looked-up row once, its occurrences
summed, as the dense gradient of JAX and PyTorch does. The TensorFlow run of
`make test` also trains in fresh JAX and PyTorch processes and compares
every Keras optimizer; the other runs check the one-step case in-process.
"""

import keras
import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_embedplus
from tests import sparse_parity
from tests.harness import load_benchmark
from tests.harness import results_on_other_backends
from tests.harness import run_python

BACKEND = keras.backend.backend()
ON_TF = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="row-sparse gradients are TensorFlow's"
)
# TensorFlow: eagerly, in tf.function (fit's default) and under XLA.
COMPILES = (
    [{"run_eagerly": True}, {}, {"jit_compile": True}]
    if BACKEND == "tensorflow"
    else [{}]
)
FLOAT32_NOISE = 1e-5


def lookup():
    return keras_embedplus.LookupEmbedding(4, 2, weights=np.zeros((4, 2)))


def pretrained():
    import gensim

    vectors = gensim.models.KeyedVectors(2)
    vectors.add_vectors(["a", "b"], np.ones((2, 2), "float32"))
    # "c" and "d" have no vector: their rows train, starting at zero.
    return keras_embedplus.PretrainedEmbedding.from_vectors(
        vectors, ["", "a", "c", "d"], oov="zeros", trainable_oov=True
    )


def table_of(layer):
    every_id = np.arange(4, dtype="int32")[None]
    return ops.convert_to_numpy(layer(every_id))[0]


@pytest.mark.parametrize("make_layer", [lookup, pretrained])
@pytest.mark.parametrize("compile_kwargs", COMPILES, ids=str)
def test_one_adam_step_moves_a_row_by_the_learning_rate(
    make_layer, compile_kwargs
):
    """Each id 4 times in a batch: Adam's first step is lr * sign(grad)."""
    layer = make_layer()
    model = keras.Sequential([keras.Input((4,), dtype="int32"), layer])
    model.compile(keras.optimizers.Adam(0.01), "mse", **compile_kwargs)
    before = table_of(layer)
    ids = np.array([[2, 2, 2, 2], [3, 3, 3, 3]], dtype="int32")
    model.train_on_batch(ids, np.full((2, 4, 2), 5.0, "float32"))
    moved = table_of(layer) - before
    np.testing.assert_allclose(moved[2:], 0.01, atol=FLOAT32_NOISE)
    np.testing.assert_array_equal(moved[:2], 0.0)


def gradient_of(layer, ids, weights, jit_compile=None):
    """Returns the row-sparse gradient of sum(weights * layer(ids))."""
    import tensorflow as tf

    if not layer.built:
        layer.build()
    table = layer.trainable_variables[0]

    def gradient(ids, weights):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(ids) * weights)
        slices = tape.gradient(loss, table.value)
        return slices.indices, slices.values

    if jit_compile is not None:
        gradient = tf.function(gradient, jit_compile=jit_compile)
    return gradient(ids, weights)


@ON_TF
@pytest.mark.parametrize("jit_compile", [None, False, True])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_gradient_holds_each_row_once_with_its_occurrences_summed(
    jit_compile, data
):
    """Against the dense gradient `one_hot(ids)^T @ weights`, in numpy."""
    input_dim = data.draw(st.integers(1, 12))
    shape = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    ids = data.draw(
        st.lists(
            st.integers(0, input_dim - 1),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        )
    )
    ids = np.array(ids, dtype="int32").reshape(shape)
    weights = np.random.default_rng(len(ids)).normal(size=(*shape, 3))
    weights = weights.astype("float32")
    layer = keras_embedplus.LookupEmbedding(input_dim, 3)
    indices, values = map(
        np.asarray, gradient_of(layer, ids, weights, jit_compile)
    )
    dense = np.zeros((input_dim, 3), "float32")
    np.add.at(dense, ids.reshape(-1), weights.reshape(-1, 3))
    if jit_compile:
        # Padded to the batch length with slices of zeros at row 0.
        assert len(indices) == ids.size
        real = np.any(values != 0, axis=1)
        indices, values = indices[real], values[real]
    assert len(set(indices.tolist())) == len(indices)
    if not jit_compile:
        assert sorted(indices.tolist()) == sorted(set(ids.flat))
    np.testing.assert_allclose(values, dense[indices], atol=FLOAT32_NOISE)
    rebuilt = np.zeros_like(dense)
    rebuilt[indices] = values
    np.testing.assert_allclose(rebuilt, dense, atol=FLOAT32_NOISE)


@ON_TF
def test_ragged_and_sparse_ids_give_summed_rows():
    import tensorflow as tf

    layer = keras_embedplus.LookupEmbedding(5, 2)
    ragged = tf.ragged.constant([[1, 1, 4], [4], [1, 2, 1, 1]])
    weights = tf.ones_like(tf.cast(layer(ragged), "float32"))
    indices, values = gradient_of(layer, ragged, weights)
    assert sorted(indices.numpy().tolist()) == [1, 2, 4]
    np.testing.assert_array_equal(
        values.numpy()[np.argsort(indices.numpy())], [[5, 5], [1, 1], [2, 2]]
    )
    # Sparse ids read missing entries as id 0, as Keras' lookup does.
    sparse = tf.sparse.from_dense(tf.constant([[3, 0, 3], [0, 3, 1]]))
    indices, values = gradient_of(layer, sparse, tf.ones((2, 3, 2)))
    order = np.argsort(indices.numpy())
    assert indices.numpy()[order].tolist() == [0, 1, 3]
    np.testing.assert_array_equal(
        values.numpy()[order], [[2] * 2, [1] * 2, [3] * 2]
    )


@ON_TF
def test_mixed_precision_gradient_is_summed_in_float32():
    layer = keras_embedplus.LookupEmbedding(4, 2, dtype="mixed_float16")
    ids = np.array([[1, 1, 1, 3]], dtype="int32")
    indices, values = gradient_of(layer, ids, np.ones((1, 4, 2), "float16"))
    assert values.dtype == "float32"
    assert sorted(indices.numpy().tolist()) == [1, 3]


def op_types(layer, **call_kwargs):
    import tensorflow as tf

    function = tf.function(lambda ids: layer(ids, **call_kwargs))
    spec = tf.TensorSpec((None, 3), tf.int32)
    graph = function.get_concrete_function(spec).graph
    return {op.type for op in graph.get_operations()}


def shares_the_handle(layer, **call_kwargs):
    """Whether the traced call gathers from a shared copy of the handle."""
    import tensorflow as tf

    function = tf.function(lambda ids: layer(ids, **call_kwargs))
    spec = tf.TensorSpec((None, 3), tf.int32)
    graph = function.get_concrete_function(spec).graph
    return any(
        op.type == "Identity" and op.outputs[0].dtype == tf.resource
        for op in graph.get_operations()
    )


@ON_TF
def test_no_shared_handle_where_no_gradient_is_taken():
    """Frozen tables gather from the variable; trainable ones never number.

    The numbering runs in the gradient only, so a trainable table's lookup
    gathers from the shared handle whatever `training` says (Keras'
    fine-tuning idiom trains a model called with `training=False`).
    """
    assert shares_the_handle(keras_embedplus.LookupEmbedding(4, 2))
    frozen = keras_embedplus.LookupEmbedding(4, 2, trainable=False)
    assert not shares_the_handle(frozen)
    layer = keras_embedplus.LookupEmbedding(4, 2)
    assert shares_the_handle(layer, training=False)
    assert shares_the_handle(layer, training=True)
    for training in (False, True):
        assert "Unique" not in op_types(layer, training=training)
    # PretrainedEmbedding's trainable OOV rows, the same way.
    vectors = KeyedVectors(2)
    vectors.add_vectors(["a", "b"], np.array([[1.0, 2.0], [3.0, 4.0]]))
    pretrained = keras_embedplus.PretrainedEmbedding.from_vectors(
        vectors, ["a", "b", "c", "d"], oov="zeros", trainable_oov=True
    )
    assert shares_the_handle(pretrained, training=False)
    assert shares_the_handle(pretrained, training=True)
    pretrained.trainable = False
    assert not shares_the_handle(pretrained, training=True)


@ON_TF
@pytest.mark.parametrize("compile_kwargs", COMPILES, ids=str)
def test_lazy_adam_sums_slices_it_was_not_given_summed(compile_kwargs):
    """`keras.layers.Embedding` still gives a slice per occurrence."""
    rng = np.random.default_rng(2)
    table = rng.uniform(-1, 1, (50, 2)).astype("float32")
    batches = [rng.integers(0, 50, (4, 30)).astype("int32") for _ in range(3)]
    targets = rng.normal(size=(4, 30, 2)).astype("float32")
    trained = []
    for layer in [
        keras_embedplus.LookupEmbedding(50, 2, weights=table),
        keras.layers.Embedding(50, 2, weights=table),
    ]:
        model = keras.Sequential([keras.Input((30,), dtype="int32"), layer])
        optimizer = keras_embedplus.optimizers.LazyAdam(0.05)
        model.compile(optimizer, "mse", **compile_kwargs)
        for ids in batches:
            model.train_on_batch(ids, targets)
        trained.append(model.get_weights()[0])
    np.testing.assert_allclose(trained[0], trained[1], atol=FLOAT32_NOISE)
    assert np.abs(trained[0] - table).max() > 0.05


@pytest.fixture(scope="module")
def other_backends(tmp_path_factory):
    """Every optimizer's trained tables on JAX and PyTorch, fresh processes."""
    return results_on_other_backends(
        "tests.sparse_parity", tmp_path_factory.mktemp("parity")
    )


def untrained():
    return {
        name: sparse_parity.table_of(layer)
        for name, layer in sparse_parity.layers().items()
    }


def assert_same_training(name, trained, other_backends, label="TensorFlow"):
    start = untrained()
    for layer_name, table in trained.items():
        key = f"{name}/{layer_name}"
        # The batches move the rows far more than float32 noise.
        assert np.abs(table - start[layer_name]).max() > 100 * FLOAT32_NOISE
        for backend, results in other_backends.items():
            np.testing.assert_allclose(
                table,
                results[key],
                atol=FLOAT32_NOISE,
                err_msg=f"{key}: {label} against {backend}",
            )


# Under XLA the distinct ids are padded with zero slices: Adam, Ftrl (the
# most involved update) and LazyAdam, which sums rows again, each compiled
# once (the gradient itself is checked under XLA above).
XLA_OPTIMIZERS = ("adam", "ftrl", "lazy_adam")


@ON_TF
@pytest.mark.slow
def test_every_optimizer_trains_as_on_jax_and_pytorch(other_backends):
    """One test, so that `pytest -n 2` starts the other backends once."""
    for name in sparse_parity.optimizers():
        assert_same_training(name, sparse_parity.train(name), other_backends)
    for name in XLA_OPTIMIZERS:
        trained = sparse_parity.train(name, jit_compile=True)
        assert_same_training(name, trained, other_backends)


@ON_TF
def test_benchmark_measures_both_lookups():
    """The benchmark's plain gather still overrides the lookup's gather."""
    import argparse

    benchmark = load_benchmark("sparse_gradients")
    args = argparse.Namespace(
        dim=4, batch=8, length=6, repeats=1, rounds=1, jit_compile=False
    )
    distinct, times = benchmark.measure(100, args)
    assert 0 < distinct <= 48
    assert len(times) == 2 * (1 + len(benchmark.OPTIMIZERS))
    plain = benchmark.PlainGather(10, 2)
    assert "Unique" not in op_types(plain, training=True)
    # The --mirrored baseline still sums each replica's rows.
    per_replica = benchmark.PerReplicaSum(10, 2)
    assert "Unique" in op_types(per_replica, training=True)


@ON_TF
@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(sparse_parity.MIRRORED_MODES))
def test_every_optimizer_trains_under_mirrored_strategy_as_on_one_device(
    mode, other_backends, tmp_path
):
    """2 replicas, ids repeated within and across them, against JAX's.

    Keras' optimizer sums the replicas' row-sparse gradients by
    concatenating them; a row looked up on both replicas used to reach
    Adam as two gradients (0.06 off after 4 steps; RMSprop 0.18).
    """
    path = str(tmp_path / "mirrored.npz")
    run_python(
        "import sys, runpy\n",
        f"sys.argv = ['tests.sparse_parity', {path!r}, '--mirrored', "
        f"{mode!r}]\n",
        "runpy.run_module('tests.sparse_parity', run_name='__main__')\n",
        KERAS_BACKEND="tensorflow",
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    with np.load(path) as stored:
        results = dict(stored)
    assert len(results) == len(sparse_parity.optimizers()) * len(untrained())
    for name in sparse_parity.optimizers():
        trained = {
            key.split("/")[1]: table
            for key, table in results.items()
            if key.split("/")[0] == name
        }
        label = f"MirroredStrategy ({mode})"
        assert_same_training(name, trained, other_backends, label)


MIRRORED_SCRIPT = """
import json
import tensorflow as tf

(cpu,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras
import numpy as np

import keras_embedplus
from keras_embedplus._replicas import replica_shares

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
# Replica 0 gets the first 2 samples of a batch, replica 1 the last 2.
# First batch: rows 1, 2 on replica 0 and 2, 3 on replica 1; second: rows 4
# and 5 on both, rows 0-3 nowhere.
BATCHES = [
    [[1, 1, 2, 2], [1, 2, 1, 2], [2, 3, 3, 3], [3, 3, 2, 2]],
    [[4, 4, 5, 4], [4, 4, 4, 4], [5, 5, 5, 5], [5, 5, 4, 5]],
]
with strategy.scope():
    layer = keras_embedplus.LookupEmbedding(6, 2)
    layer.build()


def replica_gradient(ids):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(ids))
    slices = tape.gradient(loss, layer.trainable_variables[0].value)
    return slices.indices, slices.values[:, 0]


def padded_shares():
    # What the lookup hands `replica_shares` under XLA: the distinct ids
    # sorted, padded with the smallest, zero rows at the padding.
    first = tf.distribute.get_replica_context().replica_id_in_sync_group == 0
    ids = tf.where(first, [1, 2, 1, 1], [2, 3, 2, 2])
    numbers = tf.constant([0, 1, 0, 1, 1])
    sums = tf.where(first, [[1.0], [2.0], [0], [0]], [[4.0], [8.0], [0], [0]])
    return replica_shares(ids, numbers, sums, 6)[:, 0]


def local(values):
    replicas = strategy.experimental_local_results(values)
    return [v.numpy().tolist() for v in replicas]


def train(make, mode):
    with strategy.scope():
        layer = keras_embedplus.LookupEmbedding(6, 2, weights=np.zeros((6, 2)))
        model = keras.Sequential([keras.Input((4,), dtype="int32"), layer])
        model.compile(make(0.01), "mse", run_eagerly=mode == "eager")
    tables = []
    for ids in BATCHES:
        model.fit(np.array(ids), np.ones((4, 4, 2)), batch_size=4, verbose=0)
        tables.append(layer.get_weights()[0][:, 0].tolist())
    return tables


result = {}
first = next(iter(strategy.experimental_distribute_dataset(
    tf.data.Dataset.from_tensor_slices(np.array(BATCHES[0])).batch(4)
)))
runs = {"eager": strategy.run, "function": tf.function(strategy.run)}
for mode, run in runs.items():
    indices, values = run(replica_gradient, args=(first,))
    result[mode] = {
        "gradients": [
            dict(zip(i, v)) for i, v in zip(local(indices), local(values))
        ],
        "padded": local(run(padded_shares)),
        "adam": train(keras.optimizers.Adam, mode),
        "lazy_adam": train(keras_embedplus.optimizers.LazyAdam, mode),
    }
print(json.dumps(result))
"""


@ON_TF
@pytest.mark.slow
def test_mirrored_strategy_replicas_hold_each_row_once_between_them():
    """Each replica keeps its indices; one of them holds a shared row's sum.

    Eagerly and in `tf.function`: the gradients each replica hands the
    all-reduce, XLA's padded distinct ids, one Adam step (the learning rate,
    as on one device) and LazyAdam leaving rows no replica looked up.
    """
    import json

    lines = run_python(
        MIRRORED_SCRIPT,
        KERAS_BACKEND="tensorflow",
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    result = json.loads(lines[-1])
    for mode, run in result.items():
        # Row 2, looked up 4 times on replica 0 and 3 on replica 1: its sum
        # on replica 0 (the lower id), a zero slice on replica 1.
        assert run["gradients"] == [
            {"1": 4.0, "2": 7.0},
            {"2": 0.0, "3": 5.0},
        ], mode
        # The padding holds zeros; row 2's 2 + 4 on replica 0 only.
        assert run["padded"] == [[1.0, 6.0, 0.0, 0.0], [0.0, 8.0, 0.0, 0.0]]
        looked_up = [0.0, 0.01, 0.01, 0.01, 0.0, 0.0]
        for name in ("adam", "lazy_adam"):
            np.testing.assert_allclose(run[name][0], looked_up, atol=1e-6)
        # Second batch, rows 4 and 5 only: Adam moves rows 1-3 on their
        # momentum, LazyAdam leaves rows 0-3 exactly as they were.
        adam, lazy = run["adam"], run["lazy_adam"]
        moved = np.abs(np.subtract(adam[1], adam[0]))
        assert moved[1:4].min() > 1e-3, mode
        assert lazy[1][:4] == lazy[0][:4], mode
        # Their first update, at step 2 of the bias correction.
        second = 0.01 * (1 + 0.999) ** 0.5 / (1 + 0.9)
        np.testing.assert_allclose(lazy[1][4:], second, atol=1e-6)


@ON_TF
@pytest.mark.parametrize("compile_kwargs", COMPILES, ids=str)
def test_lazy_adam_leaves_rows_the_batches_never_looked_up(compile_kwargs):
    """Row 0 is looked up once, then never: it must not move again.

    (TensorFlow only: on JAX and PyTorch gradients are dense and LazyAdam
    is Adam, which moves every row with momentum.)

    Under XLA the distinct ids are padded to the batch length; padding
    with row 0 made LazyAdam update row 0 at every step.
    """
    table = np.full((6, 2), 0.5, "float32")
    layer = keras_embedplus.LookupEmbedding(6, 2, weights=table)
    inputs = keras.Input((3,), dtype="int32")
    model = keras.Model(inputs, layer(inputs))
    model.compile(
        optimizer=keras_embedplus.optimizers.LazyAdam(0.1),
        loss="mse",
        **compile_kwargs,
    )
    target = np.zeros((1, 3, 2), "float32")
    model.train_on_batch(np.array([[0, 1, 4]], "int32"), target)
    row_0 = ops.convert_to_numpy(layer.embeddings)[0].copy()
    for _ in range(2):
        model.train_on_batch(np.array([[5, 5, 2]], "int32"), target)
    after = ops.convert_to_numpy(layer.embeddings)
    np.testing.assert_array_equal(after[0], row_0)
    np.testing.assert_array_equal(after[1], row_0)
    assert np.abs(after[5] - 0.5).max() > 0.05


SHARES_SCRIPT = """
import json
import tensorflow as tf

(cpu,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import numpy as np

from keras_embedplus._distinct import distinct
from keras_embedplus._replicas import replica_shares

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
INPUT_DIM = 7


def shares(ids, weights, pad):
    def replica(ids, weights):
        distinct_ids, numbers = distinct(ids)
        count = tf.shape(distinct_ids)[0]
        sums = tf.math.unsorted_segment_sum(weights, numbers, count)
        if pad:  # as under XLA: padded to the ids' length, zero rows
            size = tf.shape(ids)[0]
            smallest = tf.reduce_min(tf.concat([ids, [0]], 0))
            filler = tf.fill([size - count], smallest)
            distinct_ids = tf.concat([distinct_ids, filler], 0)
            sums = tf.concat([sums, tf.zeros([size - count, 2])], 0)
        share = replica_shares(distinct_ids, numbers, sums, INPUT_DIM)
        return distinct_ids, share

    def value(values):
        return lambda context: values[context.replica_id_in_sync_group]

    per_replica = [
        strategy.experimental_distribute_values_from_function(value(v))
        for v in (ids, weights)
    ]
    held = strategy.run(replica, args=per_replica)
    return [
        [t.numpy().tolist() for t in strategy.experimental_local_results(h)]
        for h in held
    ]


rng = np.random.default_rng(0)
cases = []
for case in range(12):
    lengths = rng.integers(0, 6, 2) if case % 3 else [0, 4]
    ids = [
        tf.constant(rng.integers(0, INPUT_DIM, n), tf.int32) for n in lengths
    ]
    weights = [
        tf.constant(rng.uniform(0.5, 2.0, (n, 2)), tf.float32)
        for n in lengths
    ]
    cases.append({
        "ids": [i.numpy().tolist() for i in ids],
        "weights": [w.numpy().tolist() for w in weights],
        "unique": shares(ids, weights, pad=False),
        "padded": shares(ids, weights, pad=True),
    })
print(json.dumps(cases))
"""


@ON_TF
@pytest.mark.slow
def test_replica_shares_sum_to_the_dense_gradient_each_row_held_once():
    """Random ids per replica (some empty), distinct or padded as by XLA.

    Against numpy: the replicas' shares add up to the dense gradient, each
    looked-up row's total sits at one position of the lowest replica that
    looked it up, and every other position holds zeros.
    """
    import json

    lines = run_python(
        SHARES_SCRIPT,
        KERAS_BACKEND="tensorflow",
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    for case in json.loads(lines[-1]):
        dense = np.zeros((7, 2))
        for ids, weights in zip(case["ids"], case["weights"], strict=True):
            if ids:
                np.add.at(dense, ids, weights)
        for form in ("unique", "padded"):
            held_ids, held = case[form]
            rebuilt = np.zeros((7, 2))
            holders = {}
            for replica, (ids, rows) in enumerate(
                zip(held_ids, held, strict=True)
            ):
                for row_id, row in zip(ids, rows, strict=True):
                    rebuilt[row_id] += row
                    if np.any(row):
                        assert row_id not in holders, (form, case)
                        holders[row_id] = replica
                        np.testing.assert_allclose(row, dense[row_id], 1e-6)
            np.testing.assert_allclose(rebuilt, dense, rtol=1e-6)
            first = {}
            for replica, ids in enumerate(case["ids"]):
                for row_id in ids:
                    first.setdefault(row_id, replica)
            assert holders == first, (form, case)


# One table looked up twice in a step: a Siamese model, tied encoders. The
# tape joins the two lookups' gradients; a row both looked up must still
# reach the optimizer once, as in JAX's dense gradient.
SHARED_LOOKUP_OPTIMIZERS = [
    "sgd",
    "adam",
    "adagrad",
    "rmsprop",
    "nadam",
    "ftrl",
    "lion",
    "lazy_adam",
]
# Under MirroredStrategy (2 logical CPUs) each replica gets one example;
# row 1 is looked up by both calls on both replicas.
SHARED_LOOKUP_MODES = [
    "function",
    "eager",
    "xla",
    "mirrored",
    "mirrored_eager",
]
SHARED_LOOKUP = """
import contextlib
import os

if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    # One strategy for both modes: a second one's collectives would clash.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
import keras
import numpy as np
import keras_embedplus

tensorflow = keras.backend.backend() == "tensorflow"
modes = MODES if tensorflow else ["function"]
compiles = {"function": {}, "eager": {"run_eagerly": True},
            "xla": {"jit_compile": True}, "mirrored": {},
            "mirrored_eager": {"run_eagerly": True}}
for optimizer in OPTIMIZERS:
    for mode in modes:
        scope = contextlib.nullcontext()
        if mode.startswith("mirrored"):
            scope = strategy.scope()
        scope.__enter__()
        first = keras.Input((3,), dtype="int32")
        second = keras.Input((3,), dtype="int32")
        lookup = keras_embedplus.Embedding(6, 2)
        flat = keras.layers.Flatten()
        joined = keras.layers.Concatenate()(
            [flat(lookup(first)), flat(lookup(second))]
        )
        dense = keras.layers.Dense(1)
        model = keras.Model([first, second], dense(joined))
        model.compile(keras.optimizers.get(optimizer), "mse", **compiles[mode])
        scope.__exit__(None, None, None)
        rng = np.random.default_rng(0)
        lookup.set_weights([rng.normal(size=(6, 2)).astype("float32")])
        dense.set_weights(
            [rng.normal(size=(12, 1)).astype("float32"), np.zeros(1, "float32")]
        )
        ids = [
            np.array([[1, 2, 1], [1, 3, 0]]),
            np.array([[1, 2, 2], [4, 1, 0]]),
        ]
        model.fit(
            ids, np.ones((2, 1)), epochs=3, batch_size=2, verbose=0,
            shuffle=False,
        )
        table = lookup.get_weights()[0].ravel().tolist()
        print(optimizer, mode, " ".join(map(repr, table)))
"""


def shared_lookup_tables(backend):
    lines = run_python(
        f"OPTIMIZERS = {SHARED_LOOKUP_OPTIMIZERS!r}\n"
        f"MODES = {SHARED_LOOKUP_MODES!r}\n",
        SHARED_LOOKUP,
        KERAS_BACKEND=backend,
        JAX_PLATFORMS="cpu",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    tables = {}
    for line in lines:
        optimizer, mode, *values = line.split()
        if optimizer in SHARED_LOOKUP_OPTIMIZERS:
            tables[optimizer, mode] = np.array([float(v) for v in values])
    return tables


@ON_TF
def test_a_table_looked_up_twice_trains_as_on_jax():
    tensorflow = shared_lookup_tables("tensorflow")
    jax = shared_lookup_tables("jax")
    for optimizer in SHARED_LOOKUP_OPTIMIZERS:
        for mode in SHARED_LOOKUP_MODES:
            np.testing.assert_allclose(
                tensorflow[optimizer, mode],
                jax[optimizer, "function"],
                atol=FLOAT32_NOISE,
                err_msg=f"{optimizer}, {mode}",
            )
