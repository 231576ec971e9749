"""A few training steps of `EmbeddingBag`, with each combiner, on any backend.

`tests/test_embedding_bag.py` runs `train_all` in this process on
TensorFlow and, through `python -m tests.bag_parity OUT.npz`, in fresh JAX
and PyTorch processes, then compares the trained tables, as
`tests/sparse_parity.py` does for the plain lookups (whose ids and
optimizers it reuses). The bags repeat ids, pad with id 0 and include an
empty bag.
"""

import sys

import keras
import numpy as np

import keras_embedplus
from tests import sparse_parity

# Repeats within and across bags, padding, and one empty bag.
IDS = np.concatenate([sparse_parity.IDS[:8], sparse_parity.EVERY_ROW_IDS[:8]])
WEIGHTS = np.random.default_rng(3).uniform(0.5, 2.0, IDS.shape)
WEIGHTS = WEIGHTS.astype("float32")
# Non-linear updates, where slices summed too late would show.
OPTIMIZERS = ("adam", "rmsprop", "adagrad", "sgd_momentum")
LAYERS = ("sum", "mean", "sqrtn", "max", "weighted_mean", "weighted_sqrtn")


def layers():
    table = sparse_parity.table().reshape(
        sparse_parity.INPUT_DIM, sparse_parity.OUTPUT_DIM
    )
    return {
        name: keras_embedplus.EmbeddingBag(
            sparse_parity.INPUT_DIM,
            sparse_parity.OUTPUT_DIM,
            combiner=name.replace("weighted_", ""),
            mask_zero=True,
            weights=table,
        )
        for name in LAYERS
    }


def train(name, jit_compile=False, run_eagerly=False):
    """Returns `{layer name: table after training}` for one optimizer."""
    optimizer = sparse_parity.optimizers()[name]()
    ids = keras.Input((IDS.shape[1],), dtype="int32")
    weights = keras.Input((IDS.shape[1],), dtype="float32")
    named = layers()
    outputs = [
        layer(ids, weights=weights)
        if name.startswith("weighted")
        else layer(ids)
        for name, layer in named.items()
    ]
    model = keras.Model([ids, weights], outputs)
    model.compile(
        optimizer, "mse", jit_compile=jit_compile, run_eagerly=run_eagerly
    )
    rng = np.random.default_rng(0)
    targets = [
        rng.normal(size=(len(IDS), sparse_parity.OUTPUT_DIM)).astype("float32")
        for _ in outputs
    ]
    model.fit(
        [IDS, WEIGHTS],
        targets,
        batch_size=sparse_parity.BATCH_SIZE,
        shuffle=False,
        verbose=0,
    )
    return {
        name: keras.ops.convert_to_numpy(layer.embeddings)
        for name, layer in named.items()
    }


def train_all(**compile_kwargs):
    """Returns `{"optimizer/layer": trained table}` for every optimizer."""
    results = {}
    for name in OPTIMIZERS:
        for layer_name, table in train(name, **compile_kwargs).items():
            results[f"{name}/{layer_name}"] = table
    return results


if __name__ == "__main__":
    np.savez(sys.argv[1], **train_all())
