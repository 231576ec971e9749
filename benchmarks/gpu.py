"""Runs every benchmark on the GPU when TensorFlow sees one; else skips.

The benchmarks are the same scripts, with the same code paths, as on the
CPU: TensorFlow places the layers' ops on the first GPU by itself. What
changes is Keras' default for `jit_compile="auto"`: with a GPU present,
`fit` and `predict` are compiled with XLA (see docs/scaling.md).

Exits 0 with "no GPU found, skipping" when TensorFlow sees no GPU (the CPU
build, `tensorflow-cpu`, never does: install the GPU build with
`pip install "keras-embedplus[gpu]"`). Otherwise prints the GPU and runs
each benchmark in turn, failing if one fails.

    python benchmarks/gpu.py
"""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("layers.py", "lazy_adam.py")


def main():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print(
            "no GPU found, skipping the GPU benchmarks (TensorFlow "
            f"{tf.__version__} sees no GPU; the GPU build installs with "
            '`pip install "keras-embedplus[gpu]"`)'
        )
        return 0
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        print(f"{gpu.name}: {details.get('device_name', 'unknown GPU')}")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    for name in BENCHMARKS:
        print(f"\n## benchmarks/{name} on {gpus[0].name}", flush=True)
        subprocess.run([sys.executable, str(HERE / name)], env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
