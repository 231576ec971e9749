"""The sparse-gradients benchmark's Siamese case times what it says.

`benchmarks/sparse_gradients.py --siamese` times one layer called on two
batches of ids in each step. Here its code path runs at a tiny size, and
the model it times is checked: one table looked up by both inputs, the
lookup "now" handing the optimizer each row once for both lookups, the
plain gather one slice per occurrence, and both the same gradient.
"""

import argparse

import keras
import numpy as np
import pytest

from tests.harness import load_benchmark

ON_TF = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the benchmark times TensorFlow's row-sparse gradients",
)


def tiny_args(**changes):
    return argparse.Namespace(
        **{
            "dim": 4,
            "batch": 8,
            "length": 6,
            "repeats": 1,
            "rounds": 1,
            "jit_compile": False,
            "siamese": True,
            **changes,
        }
    )


def table_gradient(model, ids):
    import tensorflow as tf

    (table,) = [w for w in model.trainable_weights if len(w.shape) == 2][:1]
    targets = np.ones((len(ids[0]), 1), "float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum((model(ids, training=True) - targets) ** 2)
    return tape.gradient(loss, table.value)


@ON_TF
def test_siamese_case_times_every_step_of_both_lookups():
    benchmark = load_benchmark("sparse_gradients")
    distinct, times = benchmark.measure(100, tiny_args())
    # Two batches of 8 x 6 ids.
    assert 0 < distinct <= 2 * 48
    assert len(times) == 2 * (1 + len(benchmark.OPTIMIZERS))


@ON_TF
@pytest.mark.parametrize("jit_compile", [False, True])
def test_siamese_model_looks_one_table_up_twice(jit_compile):
    import tensorflow as tf

    benchmark = load_benchmark("sparse_gradients")
    args = tiny_args(jit_compile=jit_compile)
    rng = np.random.default_rng(1)
    ids = [benchmark.batch(20, args, rng) for _ in "lr"]
    gradients = {}
    for name, layer_class in benchmark.LAYERS.items():
        keras.utils.set_random_seed(0)  # the same weights in both models
        model = benchmark.build_model(
            layer_class, 20, args, keras.optimizers.SGD()
        )
        lookups = [
            layer
            for layer in model.layers
            if isinstance(layer, keras_embedplus_lookup())
        ]
        assert len(lookups) == 1, "one layer, called on both inputs"
        assert len(lookups[0]._inbound_nodes) == 2
        gradient = tf.function(table_gradient, jit_compile=jit_compile)(
            model, ids
        )
        assert isinstance(gradient, tf.IndexedSlices)
        gradients[name] = gradient
    plain, now = (gradients[name] for name in benchmark.LAYERS)
    # The plain gather: one slice per occurrence in either batch.
    assert plain.indices.shape[0] == 2 * args.batch * args.length
    # Now: each row of either batch once. Under XLA the distinct ids are
    # padded to a fixed length with zero slices at a looked-up row, so
    # there each row has one slice that is not zero.
    looked_up = np.unique(np.concatenate(ids, axis=None))
    rows, values = now.indices.numpy(), now.values.numpy()
    if jit_compile:
        rows = rows[np.any(values != 0, axis=1)]
    assert sorted(rows) == list(looked_up)
    np.testing.assert_allclose(
        tf.convert_to_tensor(now), tf.convert_to_tensor(plain), atol=1e-6
    )


def keras_embedplus_lookup():
    import keras_embedplus

    return keras_embedplus.LookupEmbedding
