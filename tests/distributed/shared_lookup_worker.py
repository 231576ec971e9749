"""One worker of a `MultiWorkerMirroredStrategy` run of a shared encoder.

The model looks one table up twice per example (the two halves of the
ids), so a row both halves read must reach Keras' Adam once per step,
across the lookups and across the workers. Run as
`python -m tests.distributed.shared_lookup_worker` once per worker, each
with its own `TF_CONFIG`; on JAX (`KERAS_BACKEND=jax`, no `TF_CONFIG`) the
same model trains with `fit` in one process, with a dense gradient: the
reference. Prints the run as one JSON line.
"""

import argparse
import os


def build_model():
    import keras

    import keras_embedplus
    from tests.distributed import common

    ids = keras.Input((common.LENGTH,), dtype="int32", name="ids")
    half = common.LENGTH // 2
    lookup = keras_embedplus.LookupEmbedding(
        common.VOCABULARY, common.DIM, name="table"
    )
    flat = keras.layers.Flatten()
    joined = keras.layers.Concatenate()(
        [flat(lookup(ids[:, :half])), flat(lookup(ids[:, half:]))]
    )
    return keras.Model(ids, keras.layers.Dense(1, name="head")(joined))


def start_weights(model):
    import numpy as np

    rng = np.random.default_rng(0)
    return [rng.normal(size=w.shape).astype("float32") for w in model.weights]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args()

    if os.environ.get("KERAS_BACKEND") == "jax":
        import keras

        from tests.distributed import common

        model = build_model()
        model.set_weights(start_weights(model))
        model.compile(keras.optimizers.Adam(0.02), "mse")
        result = common.summary(model, common.fit(model))
        result["replicas"], result["task"] = 1, None
        common.report(result)
        return

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=args.timeout
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver, communication_options=options
    )
    import keras

    from tests.distributed import common
    from tests.distributed import multi_worker

    with strategy.scope():
        model = build_model()
        model.set_weights(start_weights(model))
        optimizer = keras.optimizers.Adam(0.02)
        optimizer.build(model.trainable_variables)
    losses = multi_worker.train(tf, strategy, model, optimizer)
    result = common.summary(model, losses)
    result["replicas"] = strategy.num_replicas_in_sync
    result["task"] = resolver.task_id
    common.report(result)


if __name__ == "__main__":
    main()
