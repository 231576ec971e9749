"""Models that look one table up several times per step, trained with Adam.

Run as `python -m tests.shared_lookup_training` with `KERAS_BACKEND` set;
prints one line per (case, mode): the case, the mode and the trained
weights, for `tests/test_shared_lookup_cases.py` to compare TensorFlow's
runs with JAX's. On TensorFlow each case trains eagerly, in `tf.function`,
under XLA and under `MirroredStrategy` on 2 logical CPUs; on JAX once.
"""

import contextlib
import os
import sys
import tempfile

TENSORFLOW = os.environ.get("KERAS_BACKEND") == "tensorflow"
if TENSORFLOW:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    STRATEGY = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import keras_embedplus  # noqa: E402

VOCABULARY = 6
COMPILES = {
    "function": {},
    "eager": {"run_eagerly": True},
    "xla": {"jit_compile": True},
    "mirrored": {},
}


@keras.saving.register_keras_serializable(package="shared_lookup_training")
class FeedbackCell(keras.layers.Layer):
    """An RNN cell that looks up its input id and an id derived from it.

    The ids it feeds back ((id * 2 + 1) mod V) go through the same table:
    a decoder that reads its own previous token, without an argmax whose
    ties could differ between backends.
    """

    def __init__(self, lookup, **kwargs):
        super().__init__(**kwargs)
        self.lookup = lookup
        self.state_size = 2
        self.output_size = 2

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(4, 2), name="kernel")

    def call(self, inputs, states):
        ids = ops.cast(inputs[:, 0], "int32")
        fed_back = (ids * 2 + 1) % VOCABULARY
        rows = ops.concatenate([self.lookup(ids), self.lookup(fed_back)], -1)
        state = ops.tanh(ops.matmul(rows, self.kernel) + states[0])
        return state, [state]


def siamese():
    first = keras.Input((3,), dtype="int32")
    second = keras.Input((3,), dtype="int32")
    lookup = keras_embedplus.LookupEmbedding(VOCABULARY, 2, name="table")
    flat = keras.layers.Flatten()
    joined = keras.layers.Concatenate()(
        [flat(lookup(first)), flat(lookup(second)), flat(lookup(first))]
    )
    return keras.Model([first, second], keras.layers.Dense(1)(joined))


def siamese_data():
    first = np.array(
        [[1, 2, 1], [1, 3, 0], [4, 1, 1], [5, 5, 2], [0, 1, 3], [2, 2, 1]]
    )
    second = np.array(
        [[1, 3, 0], [1, 1, 2], [0, 4, 4], [1, 5, 3], [3, 3, 1], [1, 0, 2]]
    )
    return [first, second], np.linspace(-1, 1, 6).reshape(6, 1)


def decoder(check_ids=False):
    """The table read outside the RNN and by the cell at every step.

    `check_ids=False` by default; case "rnn_checked" turns it on (on JAX
    the bad-id record once leaked a tracer out of the RNN's scan).
    """
    ids = keras.Input((4, 1), dtype="float32")
    lookup = keras_embedplus.LookupEmbedding(
        VOCABULARY, 2, name="table", check_ids=check_ids
    )
    encoded = keras.layers.Flatten()(lookup(ops.cast(ids[:, :, 0], "int32")))
    decoded = keras.layers.RNN(FeedbackCell(lookup))(ids)
    joined = keras.layers.Concatenate()([encoded, decoded])
    return keras.Model(ids, keras.layers.Dense(1)(joined))


@keras.saving.register_keras_serializable(package="shared_lookup_training")
class InferenceMode(keras.layers.Layer):
    """Calls `layer` with training=False: Keras' fine-tuning idiom.

    (The transfer-learning guide keeps BatchNorm in inference mode so; in
    a functional model Keras 3's `fit` passes training=True through a
    nested model called with training=False, so the idiom is a `call`.)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        self.layer.build(input_shape)

    def call(self, inputs):
        return self.layer(inputs, training=False)


def fine_tuned():
    ids = keras.Input((3,), dtype="int32")
    lookup = keras_embedplus.LookupEmbedding(VOCABULARY, 2, name="table")
    rows = InferenceMode(lookup)(ids)
    return keras.Model(ids, keras.layers.Dense(1)(keras.layers.Flatten()(rows)))


def fine_tuned_data():
    inputs, targets = siamese_data()
    return inputs[0], targets


def decoder_data():
    ids = np.array(
        [[1, 2, 1, 1], [3, 1, 0, 1], [4, 4, 1, 2], [5, 1, 1, 1]], "float32"
    )
    return ids[..., None], np.linspace(-1, 1, 4).reshape(4, 1)


def start_weights(model):
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.normal(size=w.shape).astype("float32") for w in model.weights]
    )


def table(model):
    """The embeddings of the layer named "table", wherever it is nested."""
    (weights,) = [
        w for w in model.weights if w.path.endswith("table/embeddings")
    ]
    return ops.convert_to_numpy(weights)


def trained(make, data, mode, optimizer=None, **compile_kwargs):
    """`make()` trained 2 epochs; `optimizer()` makes the optimizer."""
    scope = contextlib.nullcontext()
    if mode == "mirrored":
        scope = STRATEGY.scope()
    with scope:
        model = make()
        model.compile(
            (optimizer or (lambda: keras.optimizers.Adam(0.05)))(),
            "mse",
            **COMPILES[mode],
            **compile_kwargs,
        )
    start_weights(model)
    inputs, targets = data()
    model.fit(inputs, targets, epochs=2, batch_size=2, shuffle=False, verbose=0)
    return model


def reloaded(make, data, mode):
    """One epoch, a `.keras` round trip, one more epoch."""
    model = trained(make, data, mode)
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    scope = STRATEGY.scope() if mode == "mirrored" else contextlib.nullcontext()
    with scope:
        model = keras.saving.load_model(path, safe_mode=True)
    inputs, targets = data()
    model.fit(inputs, targets, epochs=1, batch_size=2, shuffle=False, verbose=0)
    return model


CASES = {
    "rnn": lambda mode: trained(decoder, decoder_data, mode),
    "rnn_checked": lambda mode: trained(
        lambda: decoder(check_ids=True), decoder_data, mode
    ),
    "steps_per_execution": lambda mode: trained(
        siamese, siamese_data, mode, steps_per_execution=3
    ),
    "accumulation": lambda mode: trained(
        siamese,
        siamese_data,
        mode,
        lambda: keras.optimizers.Adam(0.05, gradient_accumulation_steps=2),
    ),
    "reload": lambda mode: reloaded(siamese, siamese_data, mode),
    # Clipping by norm reads the whole gradient: a row twice changes it.
    "clipnorm": lambda mode: trained(
        siamese,
        siamese_data,
        mode,
        lambda: keras.optimizers.Adam(0.05, clipnorm=0.5),
    ),
    "adamw_ema": lambda mode: trained(
        siamese,
        siamese_data,
        mode,
        lambda: keras.optimizers.AdamW(0.05, weight_decay=0.1, use_ema=True),
    ),
    "training_false": lambda mode: trained(fine_tuned, fine_tuned_data, mode),
}


# The modes each case trains in on TensorFlow. Under `MirroredStrategy`,
# Keras' `fit` fails for `keras.layers.Embedding` too with
# `steps_per_execution` ("while/cond/Placeholder" not fed) and with
# `gradient_accumulation_steps` (`merge_call` inside Keras' `Cond`).
TENSORFLOW_MODES = {
    # In tf.function and under XLA Keras' RNN loop hands the table a dense
    # gradient; eagerly the loop is Python's, and under MirroredStrategy
    # the replicas' exchange runs in the loop's gradient.
    "rnn": ["eager", "xla", "mirrored"],
    "rnn_checked": [],
    "steps_per_execution": ["function"],
    "accumulation": ["function"],
    "reload": ["function"],
    "training_false": ["function"],
    "clipnorm": ["function"],
    "adamw_ema": ["function"],
}


def replica_steps(arrangement):
    """Two Adam steps of a table looked up twice (TensorFlow only).

    "flat": both lookups in the replica function of `strategy.run`;
    "nested": one of them in a `tf.function` the replica function calls;
    "reference": one device, the gradient made dense before Adam.
    """
    distributed = arrangement != "reference"
    scope = STRATEGY.scope() if distributed else contextlib.nullcontext()
    with scope:
        lookup = keras_embedplus.LookupEmbedding(VOCABULARY, 2, name="table")
        lookup.build((None, 3))
        optimizer = keras.optimizers.Adam(0.05)
        optimizer.build([lookup.embeddings])
    start_weights(lookup)
    table = lookup.embeddings.value

    def inner(ids):
        return tf.reduce_sum(lookup(ids, training=True) * 2.0)

    forward = tf.function(inner) if arrangement == "nested" else inner

    def replica_step(ids):
        with tf.GradientTape() as tape:
            value = forward(ids) + tf.reduce_sum(lookup(ids, training=True))
        gradient = tape.gradient(value, table)
        if not distributed:
            gradient = tf.convert_to_tensor(gradient)
        optimizer.apply([gradient], [lookup.embeddings])

    @tf.function
    def step(ids):
        if distributed:
            STRATEGY.run(replica_step, args=(ids,))
        else:
            replica_step(ids)

    ids = siamese_data()[0][0].astype("int32")
    batches = tf.data.Dataset.from_tensor_slices(ids).batch(2).take(2)
    if distributed:
        batches = STRATEGY.experimental_distribute_dataset(batches)
    for batch in batches:
        step(batch)
    return lookup


# TensorFlow only, compared with "replica_reference".
TENSORFLOW_CASES = {
    f"replica_{arrangement}": lambda mode, arrangement=arrangement: (
        replica_steps(arrangement)
    )
    for arrangement in ("reference", "flat", "nested")
}


def main():
    cases = dict(CASES, **TENSORFLOW_CASES) if TENSORFLOW else CASES
    for case in sys.argv[1:] or list(cases):
        modes = ["function"]
        if TENSORFLOW and case in TENSORFLOW_MODES:
            modes = TENSORFLOW_MODES[case]
        for mode in modes:
            try:
                values = table(cases[case](mode)).ravel()
            except Exception as error:  # reported, not hidden
                print(case, mode, "error", repr(error).replace("\n", " ")[:300])
                continue
            print(case, mode, " ".join(map(repr, values.tolist())), flush=True)


if __name__ == "__main__":
    main()
