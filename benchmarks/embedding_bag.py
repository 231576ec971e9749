"""EmbeddingBag against the Keras chain and PyTorch's fused kernel, on CPU.

The mean of each sentence's word vectors, padding left out, three ways:

- `keras.layers.Embedding(mask_zero=True)` + `GlobalAveragePooling1D`, the
  chain Keras users write today (TensorFlow backend);
- `keras_embedplus.EmbeddingBag(combiner="mean", mask_zero=True)`
  (TensorFlow backend);
- `torch.nn.EmbeddingBag(mode="mean", padding_idx=0, sparse=True)`, the
  fused kernel, on the same padded ids.

Batches of 256 x 50 Zipf-distributed ids with a padded tail, 64 dimensions,
vocabularies of 50k and 1M rows. Forward: the layers alone, without
gradient. Train step: the layers, a squared error against random targets,
its gradient and an SGD update of the table (row-sparse everywhere:
`tf.IndexedSlices` for Keras, `sparse=True` for torch), each framework in
its own compiled form (`tf.function`; torch eager, which is how its
kernel runs). The times are medians over interleaved rounds, wall and CPU
time of the process; both frameworks run on `--threads` threads (default
1: on a shared 2-core machine, PyTorch's OpenMP threads wait for each
other and its train step takes 10-30x longer with 2). Peak memory: each
contender runs alone in a fresh process that imports only its framework;
"peak RSS" is its high-water mark (`VmHWM`) over building the table and 20
forward passes and train steps, "table and steps" that peak minus the
memory before the table was built (the table itself is 12 MiB at 50k rows,
244 MiB at 1M).

    python benchmarks/embedding_bag.py            # full run
    python benchmarks/embedding_bag.py --quick    # 50k only, fewer rounds
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

DIM, BATCH, LENGTH = 64, 256, 50
CONTENDERS = ("keras chain", "EmbeddingBag", "torch EmbeddingBag")


def batch(rows, rng):
    """Zipf-like ids (frequent words repeat) with a padded tail of zeros."""
    ids = rng.zipf(1.2, (BATCH, LENGTH)) % (rows - 1) + 1
    lengths = rng.integers(LENGTH // 2, LENGTH + 1, BATCH)
    ids[np.arange(LENGTH)[None, :] >= lengths[:, None]] = 0
    return ids.astype("int32")


def keras_contender(name, rows):
    """Returns (forward, train step) callables for a Keras contender."""
    import keras
    import tensorflow as tf

    import keras_embedplus

    keras.utils.set_random_seed(0)
    if name == "keras chain":
        embedding = keras.layers.Embedding(rows, DIM, mask_zero=True)
        pooling = keras.layers.GlobalAveragePooling1D()

        def layers(ids, training):
            vectors = embedding(ids, training=training)
            return pooling(vectors, mask=embedding.compute_mask(ids))

        table = embedding
    else:
        bag = keras_embedplus.EmbeddingBag(
            rows, DIM, combiner="mean", mask_zero=True
        )

        def layers(ids, training):
            return bag(ids, training=training)

        table = bag
    table.build((None, LENGTH))
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(table.trainable_variables)

    @tf.function
    def forward(ids):
        return layers(ids, False)

    @tf.function
    def train(ids, targets):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layers(ids, True) - targets))
        variables = table.trainable_variables
        gradients = tape.gradient(loss, variables)
        optimizer.apply(gradients, variables)
        return loss

    def run_forward(ids, targets):
        return forward(ids).numpy()

    def run_train(ids, targets):
        return train(ids, targets).numpy()

    return run_forward, run_train


def torch_contender(rows):
    import torch

    torch.manual_seed(0)
    bag = torch.nn.EmbeddingBag(
        rows, DIM, mode="mean", padding_idx=0, sparse=True
    )
    optimizer = torch.optim.SGD(bag.parameters(), lr=0.1)

    def run_forward(ids, targets):
        with torch.no_grad():
            return bag(ids).numpy()

    def run_train(ids, targets):
        optimizer.zero_grad()
        loss = torch.mean(torch.square(bag(ids) - targets))
        loss.backward()
        optimizer.step()
        return loss.item()

    return run_forward, run_train


def contender(name, rows, ids, targets):
    """Returns (forward, train, ids, targets) in the contender's types."""
    if name.startswith("torch"):
        import torch

        forward, train = torch_contender(rows)
        return forward, train, torch.from_numpy(ids), torch.from_numpy(targets)
    forward, train = keras_contender(name, rows)
    return forward, train, ids, targets


def time_calls(function, args, repeats):
    """Returns (wall seconds, CPU seconds) per call."""
    function(*args)  # warm-up: tracing and first allocation
    function(*args)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        function(*args)
    wall = time.perf_counter() - start
    return wall / repeats, (time.process_time() - cpu_start) / repeats


def inputs(rows):
    rng = np.random.default_rng(0)
    ids = batch(rows, rng)
    targets = rng.normal(size=(BATCH, DIM)).astype("float32")
    return ids, targets


def measure(rows, args):
    """Median (wall ms, CPU ms): {(task, contender): (ms, cpu ms)}."""
    ids, targets = inputs(rows)
    runs = {name: contender(name, rows, ids, targets) for name in CONTENDERS}
    times = {}
    for _ in range(args.rounds):
        for name, (forward, train, x, y) in runs.items():
            for task, function in (("forward", forward), ("train", train)):
                times.setdefault((task, name), []).append(
                    time_calls(function, (x, y), args.repeats)
                )
    return len(np.unique(ids)), {
        key: [statistics.median(c) * 1e3 for c in zip(*values, strict=True)]
        for key, values in times.items()
    }


def memory_mib(field):
    """A field of /proc/self/status (`VmHWM`: the peak, `VmRSS`: now)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_memory(name, rows, threads, steps=20):
    """Runs one contender alone in this process; prints its memory."""
    on_torch = name.startswith("torch")
    set_threads(threads, torch=on_torch, tensorflow=not on_torch)
    ids, targets = inputs(rows)
    before = memory_mib("VmRSS")  # the framework imported, no table yet
    forward, train, x, y = contender(name, rows, ids, targets)
    for _ in range(steps):
        forward(x, y)
        train(x, y)
    peak = memory_mib("VmHWM")
    print(json.dumps({"peak": peak, "added": peak - before}))


def set_threads(threads, torch=True, tensorflow=True):
    if tensorflow and not torch:
        import keras  # noqa: F401 (imports TensorFlow, as a model would)
    if tensorflow:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if torch:
        import torch

        torch.set_num_threads(threads)


def memory_of(name, rows, threads):
    command = [sys.executable, __file__, "--memory", name, str(rows)]
    done = subprocess.run(
        [*command, "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory", nargs=2, metavar=("CONTENDER", "ROWS"))
    args = parser.parse_args()
    if args.memory:
        peak_memory(args.memory[0], int(args.memory[1]), args.threads)
        return
    set_threads(args.threads)
    args.repeats, args.rounds = 20, 5
    vocabularies = [50_000, 1_000_000]
    if args.quick:
        args.repeats, args.rounds = 5, 3
        vocabularies = [50_000]
    import keras
    import torch

    print(
        f"keras {keras.__version__}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {args.threads} thread(s) each, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for rows in vocabularies:
        distinct, times = measure(rows, args)
        memory = {
            name: memory_of(name, rows, args.threads) for name in CONTENDERS
        }
        print(
            f"\n### {rows:,} x {DIM}, batch {BATCH} x {LENGTH} "
            f"({distinct:,} distinct ids)\n"
        )
        print(
            "| contender | forward ms | CPU ms | CPU vs EmbeddingBag | "
            "train step ms | CPU ms | CPU vs EmbeddingBag | peak RSS MiB | "
            "table and steps MiB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        ours = {
            task: times[task, "EmbeddingBag"] for task in ("forward", "train")
        }
        for name in CONTENDERS:
            cells = []
            for task in ("forward", "train"):
                wall, cpu = times[task, name]
                cells += [
                    f"{wall:.2f}",
                    f"{cpu:.2f}",
                    f"{cpu / ours[task][1]:.2f}x",
                ]
            peak, added = memory[name]["peak"], memory[name]["added"]
            print(
                f"| {name} | {' | '.join(cells)} | {peak:.0f} | {added:.0f} |"
            )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
