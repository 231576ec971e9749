"""The GPU path: the benchmark runner's skip, and bad ids on a real GPU."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_embedplus import LookupEmbedding
from keras_embedplus import OneHotDense

REPO = Path(__file__).resolve().parents[1]


def tensorflow_gpus():
    if keras.backend.backend() != "tensorflow":
        return []
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


@pytest.mark.slow
def test_bench_gpu_skips_cleanly_without_a_gpu():
    # CUDA_VISIBLE_DEVICES="" hides any GPU, so this is the skip path on
    # every machine.
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("no GPU found, skipping")
    assert 'pip install "keras-embedplus[gpu]"' in result.stdout
    assert "|" not in result.stdout  # no benchmark table was printed


@pytest.mark.skipif(not tensorflow_gpus(), reason="TensorFlow sees no GPU")
@pytest.mark.parametrize("layer_cls", [LookupEmbedding, OneHotDense])
def test_bad_ids_on_the_gpu(layer_cls):
    """The GPU gather would return zeros; the check raises or gives NaN."""
    import tensorflow as tf

    table = np.arange(10, dtype="float32").reshape(5, 2)
    with tf.device("/GPU:0"):
        layer = layer_cls(5, 2, weights=table)
        with pytest.raises(tf.errors.InvalidArgumentError, match="id 7,"):
            layer(np.array([[1, 7]]))
    model = keras.Sequential([keras.Input((2,), dtype="int32"), layer])
    model.compile("sgd", "mse", jit_compile=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="id 7,"):
        model.predict(np.array([[1, 7]]), verbose=0)
    # With a GPU, jit_compile="auto" means XLA: NaN rows instead.
    model.compile("sgd", "mse")
    output = model.predict(np.array([[1, 7]]), verbose=0)
    np.testing.assert_array_equal(output[0, 0], table[1])
    assert np.isnan(output[0, 1]).all()
