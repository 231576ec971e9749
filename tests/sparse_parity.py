"""A few training steps with every Keras optimizer, on any backend.

`tests/test_sparse_gradients.py` runs `train_all` in this process on
TensorFlow and, through `python -m tests.sparse_parity OUT.npz`, in fresh
JAX and PyTorch processes (Keras picks its backend once per process), then
compares the trained tables. The batches repeat ids within and across
rows, and pad with id 0, as NLP batches do.

`python -m tests.sparse_parity OUT.npz --mirrored MODE` trains on
TensorFlow under `tf.distribute.MirroredStrategy` over 2 logical CPUs
instead, eagerly or in `tf.function` (a `MIRRORED_MODES` name): each
replica gets 2 rows of every batch of 4, so ids repeat within a replica and
across the two.
"""

import contextlib
import sys

import keras
import numpy as np

import keras_embedplus

VOCABULARY = ["", "the", "cat", "sat", "on", "mat", "zyzzyva", "qwxz"]
INPUT_DIM = len(VOCABULARY)
OUTPUT_DIM = 3
# Four steps of 4 x 6 ids: repeats in a row, across rows, and padding.
IDS = np.array(
    [
        [1, 1, 1, 2, 0, 0],
        [2, 6, 1, 6, 7, 0],
        [3, 3, 3, 3, 0, 0],
        [6, 6, 6, 7, 7, 0],
    ]
    * 2
    + [
        [4, 5, 4, 5, 4, 0],
        [1, 2, 3, 0, 0, 0],
        [7, 7, 7, 7, 7, 7],
        [5, 1, 5, 1, 0, 0],
    ]
    * 2,
    dtype="int32",
)
# LazyAdam leaves the rows a batch did not look up as they were (Adam
# moves them on their momentum), so it is compared on batches of 4 rows
# that look up every row: there it computes exactly what Adam computes.
EVERY_ROW_IDS = np.array(
    [
        [1, 1, 2, 3, 0, 0],
        [4, 5, 6, 7, 7, 0],
        [1, 2, 2, 2, 0, 0],
        [3, 3, 3, 0, 0, 0],
        [7, 7, 7, 7, 7, 7],
        [6, 5, 4, 3, 2, 1],
        [0, 0, 0, 0, 0, 0],
        [5, 5, 1, 5, 1, 0],
    ]
    * 2,
    dtype="int32",
)
BATCH_SIZE = 4
LAZY = ("lazy_adam",)
# Compile arguments of the MirroredStrategy runs, by name.
MIRRORED_MODES = {"eager": {"run_eagerly": True}, "function": {}}


def optimizers():
    """Name -> a fresh optimizer; learning rates that move rows visibly."""
    opt = keras.optimizers
    return {
        "sgd": lambda: opt.SGD(0.1),
        "sgd_momentum": lambda: opt.SGD(0.1, momentum=0.9),
        "sgd_nesterov": lambda: opt.SGD(0.1, momentum=0.9, nesterov=True),
        "adam": lambda: opt.Adam(0.05),
        "adamw": lambda: opt.AdamW(0.05, weight_decay=0.1),
        "adamax": lambda: opt.Adamax(0.05),
        "nadam": lambda: opt.Nadam(0.05),
        "rmsprop": lambda: opt.RMSprop(0.05, momentum=0.5),
        "adagrad": lambda: opt.Adagrad(0.1),
        "adadelta": lambda: opt.Adadelta(1.0),
        "ftrl": lambda: opt.Ftrl(0.1, l1_regularization_strength=0.01),
        "lion": lambda: opt.Lion(0.01),
        "lamb": lambda: opt.Lamb(0.05),
        "lazy_adam": lambda: keras_embedplus.optimizers.LazyAdam(0.05),
    }


def table():
    return np.linspace(-1.0, 1.0, INPUT_DIM * OUTPUT_DIM, dtype="float32")


def layers():
    """Name -> a fresh layer holding `table()` (OOV rows: their mean).

    `"bag"` sums its bags (the rows of an input), padding included.
    """
    import gensim

    matrix = table().reshape(INPUT_DIM, OUTPUT_DIM)
    # Words 6 and 7 have no vector: PretrainedEmbedding trains only them.
    vectors = gensim.models.KeyedVectors(OUTPUT_DIM)
    vectors.add_vectors(VOCABULARY[1:6], matrix[1:6])
    return {
        "lookup": keras_embedplus.LookupEmbedding(
            INPUT_DIM, OUTPUT_DIM, weights=matrix
        ),
        "pretrained": keras_embedplus.PretrainedEmbedding.from_vectors(
            vectors, VOCABULARY, oov="mean", trainable_oov=True
        ),
        "one_hot": keras_embedplus.OneHotDense(
            INPUT_DIM, OUTPUT_DIM, weights=matrix, input_mode="ids"
        ),
        "bag": keras_embedplus.EmbeddingBag(
            INPUT_DIM, OUTPUT_DIM, combiner="sum", weights=matrix
        ),
    }


def table_of(layer):
    """The table `layer` computes with, one row per id."""
    every_id = np.arange(INPUT_DIM, dtype="int32")
    if isinstance(layer, keras_embedplus.EmbeddingBag):
        return keras.ops.convert_to_numpy(layer(every_id[:, None]))
    return keras.ops.convert_to_numpy(layer(every_id[None]))[0]


def targets(outputs):
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(len(IDS), *output.shape[1:])).astype("float32")
        for output in outputs
    ]


def train(name, jit_compile=False, run_eagerly=False, strategy=None):
    """Returns `{layer name: table after training}` for one optimizer.

    With a `tf.distribute` strategy, the model is made and compiled in its
    scope, and `fit` splits each batch across its replicas.
    """
    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope:
        optimizer = optimizers()[name]()
        inputs = keras.Input((IDS.shape[1],), dtype="int32")
        named = layers()
        outputs = [named[name](inputs) for name in named]
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer, "mse", jit_compile=jit_compile, run_eagerly=run_eagerly
        )
    ids = EVERY_ROW_IDS if name in LAZY else IDS
    model.fit(
        ids,
        targets(outputs),
        batch_size=BATCH_SIZE,
        shuffle=False,
        verbose=0,
    )
    return {name: table_of(layer) for name, layer in named.items()}


def train_all(**kwargs):
    """Returns `{"optimizer/layer": trained table}` for every optimizer."""
    results = {}
    for name in optimizers():
        trained = train(name, **kwargs)
        for layer_name, trained_table in trained.items():
            results[f"{name}/{layer_name}"] = trained_table
    return results


def train_mirrored(mode):
    """`train_all` under MirroredStrategy, compiled as `MIRRORED_MODES[mode]`.

    Splits TensorFlow's CPU into 2 logical devices, so it must run before
    TensorFlow has started (in a fresh process).
    """
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    return train_all(strategy=strategy, **MIRRORED_MODES[mode])


if __name__ == "__main__":
    if sys.argv[2:3] == ["--mirrored"]:
        np.savez(sys.argv[1], **train_mirrored(sys.argv[3]))
    else:
        np.savez(sys.argv[1], **train_all())
