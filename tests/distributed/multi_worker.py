"""One worker of a `MultiWorkerMirroredStrategy` run, or the reference run.

Run as `python -m tests.distributed.multi_worker` from the repository root,
once per worker, each with its own `TF_CONFIG` (the cluster's addresses and
this worker's index), exactly as on a real cluster. Without `TF_CONFIG` the
same code trains in one process: the reference the workers must match.

Keras 3's `model.fit` cannot run under this strategy with more than one
worker (it reduces the input batch with the strategy before building, which
fails for every model: keras-team/keras#20585), so the model trains in the
loop TensorFlow documents for multi-worker training: `strategy.run` of one
step, the loss averaged over the global batch, the Keras optimizer summing
the gradients of all replicas. The workers give up on a peer that stays
silent for `--timeout` seconds and exit when training is done; worker 0
saves the model (`--save`). Prints the run as one JSON line.
"""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--save", help="where worker 0 saves the model")
    parser.add_argument(
        "--optimizer", default="lazy_adam", choices=["lazy_adam", "adam"]
    )
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    # The strategy must exist before TensorFlow runs its first op.
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if resolver.cluster_spec().jobs:
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=args.timeout
        )
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver, communication_options=options
        )
    else:
        strategy = tf.distribute.get_strategy()

    from tests.distributed import common

    start = common.initial_weights()
    with strategy.scope():
        model = common.build_model()
        model.set_weights(start)
        optimizer = common.optimizer(args.optimizer)
        optimizer.build(model.trainable_variables)
    losses = train(tf, strategy, model, optimizer)
    if args.save and resolver.task_id in (0, None):
        model.save(args.save)  # every worker holds the same weights
    result = common.summary(model, losses)
    result["replicas"] = strategy.num_replicas_in_sync
    result["task"] = resolver.task_id if resolver.cluster_spec().jobs else None
    common.report(result)


def train(tf, strategy, model, optimizer):
    """Trains `model` on `common.data()`; returns the per-epoch losses."""
    import keras

    from tests.distributed import common

    ids, targets = common.data()
    dataset = tf.data.Dataset.from_tensor_slices((ids, targets))
    batches = strategy.experimental_distribute_dataset(
        dataset.batch(common.BATCH)
    )

    def replica_step(ids, targets):
        with tf.GradientTape() as tape:
            errors = keras.losses.mean_squared_error(targets, model(ids))
            loss = tf.nn.compute_average_loss(
                errors, global_batch_size=common.BATCH
            )
        variables = model.trainable_variables
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    @tf.function
    def step(batch):
        losses = strategy.run(replica_step, args=batch)
        return strategy.reduce("SUM", losses, axis=None)

    epoch_losses = []
    for _ in range(common.EPOCHS):
        step_losses = [float(step(batch)) for batch in batches]
        epoch_losses.append(sum(step_losses) / len(step_losses))
    return epoch_losses


if __name__ == "__main__":
    main()
