"""What summing repeated ids in the lookup's gradient costs, on TensorFlow.

Since the lookups give the optimizer each looked-up row once (its
occurrences summed; see docs/performance.md), a lookup gathers from a
shared copy of the variable's handle, and the gradient numbers the distinct
ids of all the step's lookups of the table and sums each row's slices.
This script measures that against the plain gather the lookups used
before (`tf.gather` straight from the variable, one gradient slice per
occurrence), in the same run: `LookupEmbedding -> GlobalAveragePooling1D ->
Dense(1)`, batches of 256 x 50 random ids (Zipf-distributed, as words are,
with padding), forward pass and train step with SGD, Adam and LazyAdam.
Goal: at most 5% slower.

Each timing is the median over interleaved rounds (A, B, A, B, ...) so that
a noisy machine hurts both sides alike. Both the wall time and the CPU time
of the process (all of TensorFlow's threads) are given: on a machine shared
with other jobs the CPU time varies less.

    python benchmarks/sparse_gradients.py            # full run
    python benchmarks/sparse_gradients.py --quick    # a smaller, faster run
    python benchmarks/sparse_gradients.py --mirrored # 2 replicas
    python benchmarks/sparse_gradients.py --jit-compile  # under XLA
    python benchmarks/sparse_gradients.py --siamese  # one table, 2 lookups

With `--mirrored` the train steps run under `tf.distribute.MirroredStrategy`
over 2 logical CPU devices (each replica gets half of every batch), and a
third lookup is timed: each replica's rows summed but not exchanged with the
other replica's (the lookup before the exchange that makes a row looked up
on both replicas reach the optimizer once), so the exchange's own cost is
the ratio of "now" to it.

With `--siamese` the model looks its table up twice in one step, as a
Siamese model or an encoder shared by two inputs does: one layer called on
two batches of 256 x 50 ids (`[left, right] -> lookup -> pooled -> added ->
Dense(1)`). The shared handle then joins both lookups' rows into one
gradient, each row once; the plain gather hands the optimizer one slice per
occurrence in either batch, and `--per-lookup` (the design before, each
row once per lookup, so twice when both batches hold it) is what a model
calling the layer twice got from the lookup before the shared handle.
Two separate layers are not timed: they are another model (two tables, so
twice the optimizer's work for Adam), and the training they give is not
that of one shared table.
"""

import argparse
import contextlib
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_embedplus  # noqa: E402


class PlainGather(keras_embedplus.LookupEmbedding):
    """The lookup as it was: one gradient slice per occurrence of an id."""

    def _gather(self, ids):
        import tensorflow as tf

        return tf.gather(self._embeddings.value, ids)


class PerLookupSum(keras_embedplus.LookupEmbedding):
    """Each row once per lookup: the design before the shared handle."""

    def call(self, inputs, training=None):
        self._training = training
        return super().call(inputs, training=training)

    def _gather(self, ids):
        import tensorflow as tf

        from keras_embedplus.layers import ids as ids_lib

        # Before the shared handle, `predict` and `evaluate` skipped the
        # numbering.
        if self._training is False:
            return tf.gather(self._embeddings.value, ids)
        return ids_lib._gather_summed(self._embeddings.value, ids)


class PerReplicaSum(keras_embedplus.LookupEmbedding):
    """Each row once per replica, not exchanged between replicas."""

    def _gather(self, ids):
        import tensorflow as tf

        flat = tf.reshape(ids, [-1])
        distinct_ids, numbers = tf.unique(flat)
        rows = tf.gather(self._embeddings.value, distinct_ids)
        numbers = tf.reshape(numbers, tf.shape(ids))

        @tf.custom_gradient
        def spread(rows):
            def sum_positions(upstream):
                index = tf.expand_dims(numbers, -1)
                return tf.scatter_nd(index, upstream, tf.shape(rows))

            return tf.gather(rows, numbers), sum_positions

        return spread(rows)


OPTIMIZERS = {
    "SGD": lambda: keras.optimizers.SGD(0.1),
    "Adam": lambda: keras.optimizers.Adam(0.001),
    "LazyAdam": lambda: keras_embedplus.optimizers.LazyAdam(0.001),
}
LAYERS = {"plain gather (before)": PlainGather, "summed (now)": None}
MIRRORED_LAYERS = {
    "plain gather": PlainGather,
    "summed per replica": PerReplicaSum,
    "summed, exchanged (now)": None,
}


def batch(rows, args, rng):
    """Zipf-like ids (frequent words repeat) with a padded tail of zeros."""
    ids = rng.zipf(1.2, (args.batch, args.length)) % rows
    lengths = rng.integers(args.length // 2, args.length + 1, args.batch)
    ids[np.arange(args.length)[None, :] >= lengths[:, None]] = 0
    return ids.astype("int32")


def build_model(layer_class, rows, args, optimizer):
    layer_class = layer_class or keras_embedplus.LookupEmbedding
    lookup = layer_class(rows, args.dim)
    pooling = keras.layers.GlobalAveragePooling1D()
    if getattr(args, "siamese", False):
        # One layer, two inputs: the table looked up twice in a step.
        inputs = [keras.Input((args.length,), dtype="int32") for _ in "lr"]
        pooled = keras.layers.Add()([pooling(lookup(side)) for side in inputs])
    else:
        inputs = keras.Input((args.length,), dtype="int32")
        pooled = pooling(lookup(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(pooled))
    model.compile(
        optimizer=optimizer,
        loss="mse",
        jit_compile=True if args.jit_compile else "auto",
    )
    return model


def time_calls(function, repeats):
    """Returns (wall seconds, CPU seconds) per call."""
    function()  # warm-up: tracing and first allocation
    function()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        function()
    wall = time.perf_counter() - start
    return wall / repeats, (time.process_time() - cpu_start) / repeats


def measure(rows, args, layers=LAYERS, strategy=None):
    """Median ms per call: {(task, layer): ms}, tasks forward and train."""
    rng = np.random.default_rng(0)
    ids = batch(rows, args, rng)
    if getattr(args, "siamese", False):
        ids = [ids, batch(rows, args, rng)]
    targets = rng.normal(size=(args.batch, 1)).astype("float32")
    models = {}
    for layer_name, layer_class in layers.items():
        for opt_name, make in OPTIMIZERS.items():
            keras.utils.set_random_seed(0)
            with strategy.scope() if strategy else contextlib.nullcontext():
                models[opt_name, layer_name] = build_model(
                    layer_class, rows, args, make()
                )
    times = {}
    for _ in range(args.rounds):
        for (opt_name, layer_name), model in models.items():
            if opt_name == "SGD" and strategy is None:
                times.setdefault(("forward", layer_name), []).append(
                    time_calls(
                        lambda m=model: m.predict_on_batch(ids), args.repeats
                    )
                )
            times.setdefault((opt_name, layer_name), []).append(
                time_calls(
                    lambda m=model: m.train_on_batch(ids, targets),
                    args.repeats,
                )
            )
    distinct = len(np.unique(np.concatenate(ids, axis=None)))
    return distinct, {
        key: [
            statistics.median(column) * 1e3
            for column in zip(*values, strict=True)
        ]
        for key, values in times.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mirrored", action="store_true")
    parser.add_argument(
        "--per-lookup",
        action="store_true",
        help="compare with each lookup summing its own rows (the design "
        "before the shared handle) instead of the plain gather",
    )
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the steps with XLA (Keras' default on a GPU)",
    )
    parser.add_argument(
        "--siamese",
        action="store_true",
        help="call one layer on two batches of ids in each step (a shared "
        "encoder), so the table is looked up twice",
    )
    args = parser.parse_args()
    if args.mirrored and args.siamese:
        parser.error("--siamese is not timed under --mirrored")
    args.dim, args.batch, args.length = 64, 256, 50
    args.repeats, args.rounds = 10, 5
    args.vocabularies = [50_000, 1_000_000]
    if args.quick:
        args.repeats, args.rounds = 3, 3
        args.vocabularies = [50_000]
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"jit_compile={args.jit_compile}, siamese={args.siamese}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.mirrored:
        return main_mirrored(args)
    layers = LAYERS
    if args.per_lookup:
        layers = {
            "per-lookup sum (before)": PerLookupSum,
            "shared handle (now)": None,
        }
    before, now = layers
    for rows in args.vocabularies:
        distinct, times = measure(rows, args, layers)
        batches = "2 batches" if args.siamese else "batch"
        print(
            f"\n### {rows:,} x {args.dim}, {batches} {args.batch} x "
            f"{args.length} ({distinct:,} distinct ids)\n"
        )
        print(
            f"| step | {before} ms | {now} ms | ratio | "
            "CPU ms before | CPU ms now | CPU ratio |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for task in ["forward", *OPTIMIZERS]:
            (old, old_cpu), (new, new_cpu) = (
                times[task, before],
                times[task, now],
            )
            label = "predict" if task == "forward" else f"train, {task}"
            print(
                f"| {label} | {old:.2f} | {new:.2f} | {new / old:.3f} | "
                f"{old_cpu:.2f} | {new_cpu:.2f} | {new_cpu / old_cpu:.3f} |"
            )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


def main_mirrored(args):
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    plain, per_replica, now = MIRRORED_LAYERS
    for rows in args.vocabularies:
        distinct, times = measure(rows, args, MIRRORED_LAYERS, strategy)
        print(
            f"\n### MirroredStrategy, 2 replicas: {rows:,} x {args.dim}, "
            f"batch {args.batch} x {args.length} ({distinct:,} distinct "
            "ids)\n"
        )
        print(
            f"| train step | {plain} ms | {per_replica} ms | {now} ms | "
            "now / per replica | CPU now / per replica |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for task in OPTIMIZERS:
            (old, _), (mid, mid_cpu), (new, new_cpu) = (
                times[task, plain],
                times[task, per_replica],
                times[task, now],
            )
            print(
                f"| {task} | {old:.2f} | {mid:.2f} | {new:.2f} | "
                f"{new / mid:.3f} | {new_cpu / mid_cpu:.3f} |"
            )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
