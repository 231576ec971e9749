"""Trains the common model on one device, then under `MirroredStrategy`.

Run as `python -m tests.distributed.mirrored` from the repository root.
TensorFlow's one CPU is split into 2 logical devices before it starts, so
the strategy has 2 replicas; each replica gets half of every batch and the
gradients are summed across them. Prints both runs as one JSON line.
"""


def main():
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    tf.config.experimental.enable_op_determinism()

    from tests.distributed import common

    start = common.initial_weights()
    runs = {}
    for name, strategy in [
        ("one_device", tf.distribute.get_strategy()),
        ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
    ]:
        with strategy.scope():
            model = common.build_model()
            model.set_weights(start)
            common.compile_model(model)
        losses = common.fit(model)
        runs[name] = common.summary(model, losses)
        runs[name]["replicas"] = strategy.num_replicas_in_sync
    common.report(runs)


if __name__ == "__main__":
    main()
