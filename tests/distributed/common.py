"""The model and data that every distributed run trains.

The scripts beside this file run in their own processes (the engines must
be configured before TensorFlow or JAX start) and print their results as
one JSON line; tests/test_distribution.py compares them.
"""

import json

import gensim
import keras
import numpy as np
from keras import ops

import keras_embedplus

VOCABULARY = 32  # even, so the rows split over 2 devices
DIM = 4
LENGTH = 6
TOKENS = [f"word{i}" for i in range(VOCABULARY)]
OOV_IDS = (3, 9, 17, 30)  # the words without a pretrained vector
SAMPLES = 64
BATCH = 16
EPOCHS = 3


def build_model():
    """All three layers side by side, pooled into one regression output."""
    inputs = keras.Input((LENGTH,), dtype="int32", name="ids")
    lookup = keras_embedplus.LookupEmbedding(
        VOCABULARY, DIM, mask_zero=True, name="lookup"
    )
    one_hot = keras_embedplus.OneHotDense(VOCABULARY, DIM, name="one_hot")
    pretrained = keras_embedplus.PretrainedEmbedding.from_vectors(
        pretrained_vectors(),
        TOKENS,
        oov="zeros",
        trainable_oov=True,
        name="pretrained",
    )
    vectors = keras.layers.Concatenate()(
        [lookup(inputs), one_hot(inputs), pretrained(inputs)]
    )
    pooled = keras.layers.GlobalAveragePooling1D()(vectors)
    outputs = keras.layers.Dense(1, name="head")(pooled)
    return keras.Model(inputs, outputs)


def pretrained_table():
    """The table the pretrained layer starts from: zeros for OOV rows."""
    rng = np.random.default_rng(7)
    table = rng.normal(size=(VOCABULARY, DIM)).astype("float32")
    table[list(OOV_IDS)] = 0.0
    return table


def pretrained_vectors():
    """Small pretrained vectors: every token of `TOKENS` but the OOV ones."""
    found = [i for i in range(VOCABULARY) if i not in OOV_IDS]
    vectors = gensim.models.KeyedVectors(DIM)
    vectors.add_vectors([TOKENS[i] for i in found], pretrained_table()[found])
    return vectors


def data():
    """Ids (some padding zeros) and regression targets, always the same."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCABULARY, (SAMPLES, LENGTH)).astype("int32")
    ids[:, -1] = 0  # padding, masked by the lookup
    targets = rng.normal(size=(SAMPLES, 1)).astype("float32")
    return ids, targets


def initial_weights():
    """The starting weights every run loads, made once with a fixed seed."""
    keras.utils.set_random_seed(0)
    return build_model().get_weights()


def optimizer(name="lazy_adam"):
    """LazyAdam (row-sparse updates) or Keras' Adam (dense updates).

    On TensorFlow both are handed the replicas' row-sparse gradients
    concatenated by the all-reduce; Adam's update is not linear in them.
    """
    if name == "adam":
        return keras.optimizers.Adam(0.02)
    return keras_embedplus.optimizers.LazyAdam(0.02)


def compile_model(model):
    model.compile(optimizer=optimizer(), loss="mse")


def fit(model):
    """Trains `model` on `data()`; returns the per-epoch losses."""
    ids, targets = data()
    history = model.fit(
        ids,
        targets,
        batch_size=BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
    )
    return history.history["loss"]


def summary(model, losses):
    """What a run reports: its losses, final weights and predictions."""
    ids, _ = data()
    return {
        "losses": [float(loss) for loss in losses],
        "weights": {
            w.path: ops.convert_to_numpy(w).tolist() for w in model.weights
        },
        "predictions": ops.convert_to_numpy(model(ids)).tolist(),
    }


def report(result):
    """Prints `result` as the last line of stdout, for the test to read."""
    print(json.dumps(result), flush=True)
