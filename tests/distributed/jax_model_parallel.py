"""Trains the common model on JAX unsharded, then with its tables sharded.

Run as `python -m tests.distributed.jax_model_parallel` from the repository
root with `KERAS_BACKEND=jax` and
`XLA_FLAGS=--xla_force_host_platform_device_count=2`, which gives JAX 2 CPU
devices. The sharded run uses `keras.distribution.ModelParallel` on a
1 x 2 mesh ("batch" x "model"): a `LayoutMap` splits the rows of every
table over the "model" axis (each device holds half of the vocabulary)
and the batch is replicated. Prints both runs, and how the tables were
laid out, as one JSON line.
"""

TABLES = ("lookup/embeddings", "one_hot/embeddings", "pretrained/embeddings")


def main():
    import keras

    from tests.distributed import common

    devices = keras.distribution.list_devices("cpu")
    mesh = keras.distribution.DeviceMesh(
        shape=(1, 2), axis_names=("batch", "model"), devices=devices
    )
    layout_map = keras.distribution.LayoutMap(mesh)
    # Rows over "model", columns whole: each device holds half the ids.
    layout_map[".*embeddings"] = ("model", None)
    sharded = keras.distribution.ModelParallel(
        layout_map=layout_map, batch_dim_name="batch"
    )

    start = common.initial_weights()
    runs = {"devices": len(devices)}
    for name, distribution in [("unsharded", None), ("sharded", sharded)]:
        keras.distribution.set_distribution(distribution)
        model = common.build_model()
        model.set_weights(start)
        common.compile_model(model)
        losses = common.fit(model)
        runs[name] = common.summary(model, losses)
        runs[name]["layouts"] = layouts(model)
    common.report(runs)


def layouts(model):
    """How each table's value is split: the shapes of its device shards."""
    result = {}
    for variable in model.weights:
        if variable.path in TABLES:
            shards = variable.value.addressable_shards
            result[variable.path] = sorted(
                [list(shard.data.shape), str(shard.device)] for shard in shards
            )
    return result


if __name__ == "__main__":
    main()
