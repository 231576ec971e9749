"""LazyAdam against keras.optimizers.Adam and SGD, measured in one run.

A model `LookupEmbedding -> GlobalAveragePooling1D -> Dense(1)` on a big
table (default 1,000,000 x 64) trains on batches of 256 x 50 random ids with
each optimizer; the script prints the median milliseconds per train step and
the ratios between optimizers measured in the same run (absolute times
depend on the machine and its load, the ratios much less).

Goals (issue 5): LazyAdam at least 5x faster than Adam and within 1.5x of
SGD. The script also checks that LazyAdam computes what Adam computes when
every row of the table is looked up once in every batch.

The train step is the one `model.fit` compiles (`train_on_batch`). With
`--jit-compile auto` (the default, as in `model.compile`) Keras picks XLA
only when a GPU is present; `--jit-compile on` forces XLA.

Random rows of big tables cost a TLB miss each with 4 KiB memory pages, so
the script prints whether the process may use transparent huge pages. On
Linux with THP in "madvise" mode, glibc (2.35 or later) backs big
allocations with huge pages when started with
`GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (see docs/performance.md).

    python benchmarks/lazy_adam.py                       # full run
    python benchmarks/lazy_adam.py --rows 100000 --steps 5   # quick run
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 python benchmarks/lazy_adam.py
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_embedplus  # noqa: E402

OPTIMIZERS = {
    "SGD": lambda: keras.optimizers.SGD(0.01),
    "Adam": lambda: keras.optimizers.Adam(0.001),
    "LazyAdam": lambda: keras_embedplus.optimizers.LazyAdam(0.001),
}


def build_model(rows, dim, length, optimizer, jit_compile):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((length,), dtype="int32")
    table = keras_embedplus.LookupEmbedding(rows, dim)
    pooled = keras.layers.GlobalAveragePooling1D()(table(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(pooled))
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
    return model


def time_steps(model, batches, steps):
    """Seconds per train step over `steps` steps, after two warm-up steps."""
    for ids, targets in batches[:2]:
        model.train_on_batch(ids, targets)
    start = time.perf_counter()
    for step in range(steps):
        ids, targets = batches[step % len(batches)]
        model.train_on_batch(ids, targets)
    return (time.perf_counter() - start) / steps


def speed(args, jit_compile):
    rng = np.random.default_rng(0)
    batches = [
        (
            rng.integers(0, args.rows, (args.batch, args.length), "int32"),
            rng.normal(size=(args.batch, 1)).astype("float32"),
        )
        for _ in range(8)
    ]
    models = {
        name: build_model(args.rows, args.dim, args.length, make(), jit_compile)
        for name, make in OPTIMIZERS.items()
    }
    times = {name: [] for name in models}
    # Interleaved rounds, so that load on the machine hurts all alike.
    for _ in range(args.rounds):
        for name, model in models.items():
            times[name].append(time_steps(model, batches, args.steps))
    compiled = "/".join(sorted({str(m.jit_compile) for m in models.values()}))
    rounds = [
        lazy / sgd
        for lazy, sgd in zip(times["LazyAdam"], times["SGD"], strict=True)
    ]
    medians = {name: statistics.median(t) for name, t in times.items()}
    return medians, compiled, rounds


def huge_pages():
    """How this process may get transparent huge pages, in words."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as file:
            mode = file.read().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        return "transparent huge pages: unknown (not Linux?)"
    tunable = "glibc.malloc.hugetlb=1" in os.environ.get("GLIBC_TUNABLES", "")
    if mode == "always":
        used = "yes"
    elif mode == "madvise" and tunable:
        used = "yes (glibc.malloc.hugetlb=1)"
    elif mode == "madvise":
        used = "no (madvise only)"
    else:
        used = "no"
    return f"transparent huge pages: {mode}; big tables on huge pages: {used}"


def print_speed_table(args, ms, compiled, rounds):
    print(
        f"\n### Train step, {args.rows:,} x {args.dim} table, batch "
        f"{args.batch} x {args.length} (jit_compile={compiled})\n"
    )
    print("| optimizer | ms/step | vs SGD | Adam / this |")
    print("|---|---:|---:|---:|")
    for name, seconds in ms.items():
        print(
            f"| {name} | {seconds * 1e3:.1f} | {seconds / ms['SGD']:.2f}x | "
            f"{ms['Adam'] / seconds:.2f}x |"
        )
    faster = ms["Adam"] / ms["LazyAdam"]
    near_sgd = ms["LazyAdam"] / ms["SGD"]
    print(
        f"\nLazyAdam is {faster:.1f}x faster than Adam (goal >= 5x: "
        f"{'met' if faster >= 5 else 'NOT met'}) and {near_sgd:.2f}x SGD "
        f"(goal <= 1.5x: {'met' if near_sgd <= 1.5 else 'NOT met'})."
    )
    print(
        "LazyAdam / SGD round by round: "
        + ", ".join(f"{ratio:.2f}x" for ratio in rounds)
    )


def every_row_check(args):
    """Max |LazyAdam - Adam| over the weights when every row is touched.

    The table has `batch * length` rows and every batch is a permutation of
    all of them, so each row is looked up exactly once per step.
    """
    rows = args.batch * args.length
    rng = np.random.default_rng(1)
    batches = [
        (
            rng.permutation(rows).reshape(args.batch, args.length),
            rng.normal(size=(args.batch, 1)).astype("float32"),
        )
        for _ in range(args.check_steps)
    ]
    weights = {}
    for name in ("Adam", "LazyAdam"):
        model = build_model(
            rows, args.dim, args.length, OPTIMIZERS[name](), "auto"
        )
        for ids, targets in batches:
            model.train_on_batch(ids, targets)
        weights[name] = model.get_weights()
    diff = max(
        float(np.abs(a - b).max())
        for a, b in zip(weights["Adam"], weights["LazyAdam"], strict=True)
    )
    print(
        f"\nEvery row touched once per step ({rows:,} rows, "
        f"{args.check_steps} steps): max |LazyAdam - Adam| = {diff:.2e} "
        f"({'equal' if diff < 1e-5 else 'DIFFERENT'} to float tolerance)."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check-steps", type=int, default=5)
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "on", "off"],
        default="auto",
        help="XLA for the train step: as Keras picks (default), on, off.",
    )
    args = parser.parse_args()
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"load average {os.getloadavg()[0]:.2f} at start\n{huge_pages()}"
    )
    jit_compile = {"auto": "auto", "on": True, "off": False}[args.jit_compile]
    ms, compiled, rounds = speed(args, jit_compile)
    print_speed_table(args, ms, compiled, rounds)
    every_row_check(args)
    print(f"\nLoad average {os.getloadavg()[0]:.2f} at end.")


if __name__ == "__main__":
    main()
