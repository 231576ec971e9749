"""The cost of the bad-id signal on compiled steps, measured in one run.

Where a step is compiled (TensorFlow with `jit_compile=True`, JAX under
`jax.jit`) the layer cannot raise: it sets the rows of bad ids to NaN and
records them, and `keras_embedplus.CheckIds` reads the record after every
batch. This times a `fit` epoch and a `predict` pass, per batch, of the
same model several ways, all with clean ids:

- `check_ids=False`: no check, no record (the reference);
- `keras.layers.Embedding`: Keras' own layer (the peer);
- `on_bad_id="nan"`: the NaN guard, no record;
- the default (`on_bad_id="raise"`): NaN guard + record in the step (on
  JAX, state the step carries);
- the default + the `CheckIds` callback (checks at the end of a run);
- the default + `CheckIds()`, recording through a host callback (JAX:
  the mechanism before the record became carried state);
- the default + `CheckIds(every_batch=True)` (checks after every batch).

Goal: the default with `CheckIds()` within 2% of `on_bad_id="nan"`
(the record's own cost) and of `check_ids=False`. Each
timing is the median over interleaved rounds (A, B, C, A, B, C, ...).

    KERAS_BACKEND=tensorflow python benchmarks/bad_ids.py
    KERAS_BACKEND=jax python benchmarks/bad_ids.py
    python benchmarks/bad_ids.py --quick

On JAX it then times the jitted predict step alone, in a tight loop
(`stateless_call` as Keras' trainer calls it): no Keras loop around it,
so the record's own cost is not lost in the per-batch Python.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_embedplus  # noqa: E402


def build_model(args, layer_class=None, **layer_kwargs):
    inputs = keras.Input((args.length,), dtype="int32")
    layer_class = layer_class or keras_embedplus.LookupEmbedding
    layer = layer_class(args.vocabulary, args.dim, **layer_kwargs)
    pooled = keras.layers.GlobalAveragePooling1D()(layer(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(pooled))
    jit = {} if keras.backend.backend() == "jax" else {"jit_compile": True}
    model.compile(optimizer="sgd", loss="mse", **jit)
    return model


def host_callback_model(args):
    """The default, recording through a host callback as before: on JAX,
    the record's carried state unhooked (elsewhere, the default)."""
    from keras_embedplus.layers.bad_id_record import layer_record

    model = build_model(args)
    for layer in model.layers:
        if isinstance(layer, keras_embedplus.LookupEmbedding):
            layer_record(layer)._state = None
    return model


def time_jitted_steps(args, ids, rounds=15, calls=200):
    """JAX: the jitted predict step alone (`stateless_call`, as Keras'
    trainer runs it), without Keras' per-batch Python; in alternation."""
    import jax

    steps = {}
    for name, model in [
        ('on_bad_id="nan"', build_model(args, on_bad_id="nan")),
        ("default (record carried as state)", build_model(args)),
        ("default, host-callback record (before)", host_callback_model(args)),
    ]:
        state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
        )
        step = jax.jit(model.stateless_call)
        batch = jax.device_put(ids[: args.batch])
        jax.block_until_ready(step(*state, batch))
        steps[name] = (step, state, batch)
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (step, state, batch) in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                outputs = step(*state, batch)
            jax.block_until_ready(outputs)
            times[name].append(
                (
                    (time.perf_counter() - wall) / calls,
                    (time.process_time() - cpu) / calls,
                )
            )
    base = times['on_bad_id="nan"']
    print()
    print(f"The jitted predict step alone, {rounds} rounds x {calls} calls:")
    print(
        "| variant | us/step (wall / CPU) "
        "| per-round ratio, median (wall / CPU) |"
    )
    print("|---|---|---|")
    for name, runs in times.items():
        medians = [statistics.median(t[i] for t in runs) * 1e6 for i in (0, 1)]
        ratios = [
            statistics.median(
                t[i] / b[i] for t, b in zip(runs, base, strict=True)
            )
            for i in (0, 1)
        ]
        print(
            f"| {name} | {medians[0]:.0f} / {medians[1]:.0f} "
            f"| {ratios[0]:.3f}x / {ratios[1]:.3f}x |"
        )


def time_per_batch(run, batches):
    """Wall and CPU seconds per batch of `run()`, after a warm-up run.

    CPU time (of this process, every thread) suffers less than wall time
    from other jobs on a shared machine.
    """
    run()  # warm-up: tracing and compilation
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return (
        (time.perf_counter() - wall) / batches,
        (time.process_time() - cpu) / batches,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--record-only",
        action="store_true",
        help='only on_bad_id="nan" and default + CheckIds() (both records)',
    )
    args = parser.parse_args()
    if args.quick:
        args.batches, args.rounds = 10, 3
    rng = np.random.default_rng(0)
    size = args.batch * args.batches
    ids = rng.integers(0, args.vocabulary, (size, args.length), "int32")
    targets = rng.normal(size=(size, 1)).astype("float32")
    variants = {
        "check_ids=False": (build_model(args, check_ids=False), []),
        "keras.layers.Embedding": (
            build_model(args, keras.layers.Embedding),
            [],
        ),
        'on_bad_id="nan"': (build_model(args, on_bad_id="nan"), []),
        "default": (build_model(args), []),
        "default + CheckIds()": (
            build_model(args),
            [keras_embedplus.CheckIds()],
        ),
        "default + CheckIds(), host-callback record (before)": (
            host_callback_model(args),
            [keras_embedplus.CheckIds()],
        ),
        "default + CheckIds(every_batch=True)": (
            build_model(args),
            [keras_embedplus.CheckIds(every_batch=True)],
        ),
    }
    if args.record_only:
        variants = {
            name: variant
            for name, variant in variants.items()
            if name == 'on_bad_id="nan"'
            or name.startswith("default + CheckIds()")
        }
    times = {(name, kind): [] for name in variants for kind in ("fit", "pr")}
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, (model, callbacks) in variants.items():
            times[name, "fit"].append(
                time_per_batch(
                    lambda m=model, c=callbacks: m.fit(
                        ids,
                        targets,
                        batch_size=args.batch,
                        verbose=0,
                        callbacks=c,
                        shuffle=False,
                    ),
                    args.batches,
                )
            )
            times[name, "pr"].append(
                time_per_batch(
                    lambda m=model, c=callbacks: m.predict(
                        ids, batch_size=args.batch, verbose=0, callbacks=c
                    ),
                    args.batches,
                )
            )
    load = os.getloadavg()[0]
    print(
        f"backend={keras.backend.backend()} V={args.vocabulary} "
        f"dim={args.dim} batch={args.batch}x{args.length} compiled, "
        f"{args.rounds} rounds, load average {load_before:.1f} -> {load:.1f}"
    )
    print(
        "| variant | fit ms/batch (wall / CPU) | ratio (wall / CPU) "
        "| predict ms/batch (wall / CPU) | ratio (wall / CPU) |"
    )
    print("|---|---|---|---|---|")

    def median(name, kind, clock):
        return statistics.median(t[clock] for t in times[name, kind])

    for name in variants:
        row = []
        for kind in ("fit", "pr"):
            wall, cpu = median(name, kind, 0), median(name, kind, 1)
            base = next(iter(variants))  # check_ids=False, or "nan"
            base_wall = median(base, kind, 0)
            base_cpu = median(base, kind, 1)
            row.append(f"{wall * 1e3:.2f} / {cpu * 1e3:.2f}")
            row.append(f"{wall / base_wall:.3f}x / {cpu / base_cpu:.3f}x")
        print(f"| {name} | " + " | ".join(row) + " |")
    print()
    print('Per-round CPU-time ratios to on_bad_id="nan" (A/B in each round):')
    for name in variants:
        if not name.startswith("default + CheckIds()"):
            continue
        for kind in ("fit", "pr"):
            ratios = [
                new[1] / old[1]
                for new, old in zip(
                    times[name, kind],
                    times['on_bad_id="nan"', kind],
                    strict=True,
                )
            ]
            print(
                f"  {name}, {kind}: median {statistics.median(ratios):.3f}x ("
                + ", ".join(f"{r:.3f}" for r in ratios)
                + ")"
            )
    if keras.backend.backend() == "jax":
        time_jitted_steps(args, ids)


if __name__ == "__main__":
    main()
