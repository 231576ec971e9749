"""Layer speed: LookupEmbedding against its peers, measured in one run.

Two tables:

1. `LookupEmbedding` (id check on) against `keras.layers.Embedding`:
   forward pass and train step on the same data. Goal: within 5%.
2. `OneHotDense` against `LookupEmbedding` as the vocabulary grows: why
   frameworks gather rows instead of multiplying one-hot vectors.

Each timing is the median over interleaved rounds (A, B, A, B, ...) so that
a noisy machine hurts both sides alike.

    python benchmarks/layers.py            # full run
    python benchmarks/layers.py --quick    # a smaller, faster run
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_embedplus  # noqa: E402


def build_model(layer, sequence_length):
    inputs = keras.Input((sequence_length,), dtype="int32")
    outputs = keras.layers.GlobalAveragePooling1D()(layer(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(outputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def time_calls(function, repeats):
    function()  # warm-up: tracing and first allocation
    function()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def compare(makers, ids, targets, repeats, rounds):
    """Median seconds per forward pass and per train step for each maker."""
    models = {name: build_model(make(), ids.shape[1]) for name, make in makers}
    forward = {name: [] for name in models}
    train = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            forward[name].append(
                time_calls(lambda m=model: m.predict_on_batch(ids), repeats)
            )
            train[name].append(
                time_calls(
                    lambda m=model: m.train_on_batch(ids, targets), repeats
                )
            )
    return (
        {name: statistics.median(times) for name, times in forward.items()},
        {name: statistics.median(times) for name, times in train.items()},
    )


def lookup_against_keras(args):
    rng = np.random.default_rng(0)
    vocabulary, dim = args.vocabulary, args.dim
    ids = rng.integers(0, vocabulary, (args.batch, args.length), dtype="int32")
    targets = rng.normal(size=(args.batch, 1)).astype("float32")
    makers = [
        (
            "keras.layers.Embedding",
            lambda: keras.layers.Embedding(vocabulary, dim),
        ),
        (
            "LookupEmbedding",
            lambda: keras_embedplus.LookupEmbedding(vocabulary, dim),
        ),
        (
            "LookupEmbedding(check_ids=False)",
            lambda: keras_embedplus.LookupEmbedding(
                vocabulary, dim, check_ids=False
            ),
        ),
    ]
    forward, train = compare(makers, ids, targets, args.repeats, args.rounds)
    base = "keras.layers.Embedding"
    print(
        f"\n### LookupEmbedding vs keras.layers.Embedding "
        f"({vocabulary:,} x {dim}, batch {args.batch} x {args.length})\n"
    )
    print("| layer | forward ms | ratio | train step ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in makers:
        print(
            f"| {name} | {forward[name] * 1e3:.2f} | "
            f"{forward[name] / forward[base]:.3f} | {train[name] * 1e3:.2f} | "
            f"{train[name] / train[base]:.3f} |"
        )


def one_hot_against_lookup(args):
    rng = np.random.default_rng(0)
    print(
        f"\n### OneHotDense vs LookupEmbedding "
        f"(dim {args.dim}, batch {args.small_batch} x {args.length})\n"
    )
    print(
        "| vocabulary | lookup fwd ms | one-hot fwd ms | fwd ratio | "
        "lookup train ms | one-hot train ms | train ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for vocabulary in args.vocabularies:
        ids = rng.integers(
            0, vocabulary, (args.small_batch, args.length), dtype="int32"
        )
        targets = rng.normal(size=(args.small_batch, 1)).astype("float32")
        makers = [
            (
                "lookup",
                lambda v=vocabulary: keras_embedplus.LookupEmbedding(
                    v, args.dim
                ),
            ),
            (
                "one-hot",
                lambda v=vocabulary: keras_embedplus.OneHotDense(v, args.dim),
            ),
        ]
        forward, train = compare(
            makers, ids, targets, max(1, args.repeats // 4), args.rounds
        )
        print(
            f"| {vocabulary:,} | {forward['lookup'] * 1e3:.2f} | "
            f"{forward['one-hot'] * 1e3:.2f} | "
            f"{forward['one-hot'] / forward['lookup']:.0f}x | "
            f"{train['lookup'] * 1e3:.2f} | {train['one-hot'] * 1e3:.2f} | "
            f"{train['one-hot'] / train['lookup']:.0f}x |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    args.vocabulary, args.dim = 50_000, 64
    args.batch, args.small_batch, args.length = 256, 64, 50
    args.repeats, args.rounds = 50, 7
    args.vocabularies = [500, 5_000, 50_000]
    if args.quick:
        args.repeats, args.rounds = 10, 3
        args.vocabularies = [500, 5_000]
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    lookup_against_keras(args)
    one_hot_against_lookup(args)


if __name__ == "__main__":
    main()
