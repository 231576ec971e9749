"""Keras `fit` of models that look one table up several times per step.

TensorFlow trains them in fresh processes (eagerly, under XLA, under
`MirroredStrategy` on 2 logical CPUs, with two `MultiWorkerMirroredStrategy`
workers) and must end with JAX's weights: JAX's gradient is dense, so a row
the lookups share reaches Keras' Adam once. The models and modes are in
`tests/shared_lookup_training.py` and
`tests/distributed/shared_lookup_worker.py`.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

pytestmark = [
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="row-sparse gradients are TensorFlow's",
    ),
    pytest.mark.slow,
]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_training(backend, *cases):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]),
        "KERAS_BACKEND": backend,
        "JAX_PLATFORMS": "cpu",
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.shared_lookup_training", *cases],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tables(process):
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    results = {}
    for line in stdout.splitlines():
        case, mode, *values = line.split()
        if values[0] == "error":
            results[case, mode] = " ".join(values)
        else:
            results[case, mode] = np.array([float(v) for v in values])
    return results


@pytest.fixture(scope="module")
def trained_tables():
    # Both at once: each process mostly waits on its own start-up.
    tensorflow = start_training("tensorflow")
    jax = start_training("jax")
    return tables(tensorflow), tables(jax)


@pytest.mark.parametrize(
    "case",
    [
        # A custom RNN cell looks the table up (and ids fed back) at every
        # step of the while loop; the model also looks it up outside.
        "rnn",
        "steps_per_execution",
        "accumulation",
        # One epoch, `.keras` save and load, one more epoch.
        "reload",
        "clipnorm",
        "adamw_ema",
        # A trainable model called with training=False in fit (Keras'
        # fine-tuning idiom).
        "training_false",
    ],
)
def test_fit_trains_as_on_jax(trained_tables, case):
    tensorflow, jax = trained_tables
    modes = [mode for (name, mode) in tensorflow if name == case]
    assert modes
    for mode in modes:
        got = tensorflow[case, mode]
        assert not isinstance(got, str), (mode, got)
        np.testing.assert_allclose(
            got, jax[case, "function"], atol=1e-5, err_msg=mode
        )


def test_rnn_cell_with_checked_ids_trains_on_jax(trained_tables):
    # The bad-id record once leaked a tracer out of the RNN's scan.
    _, jax = trained_tables
    checked = jax["rnn_checked", "function"]
    assert not isinstance(checked, str), checked
    np.testing.assert_allclose(checked, jax["rnn", "function"], atol=1e-6)


def test_multi_worker_adam_trains_a_shared_encoder_as_on_jax(tmp_path):
    """2 worker processes, each looking the table up twice per example."""
    from tests import test_distribution as distribution

    module = "tests.distributed.shared_lookup_worker"
    ports = distribution.free_loopback_ports(2)
    cluster = {"worker": [f"{distribution.LOOPBACK}:{p}" for p in ports]}
    names = ["worker0", "worker1", "jax"]
    processes = []
    try:
        for index in range(2):
            config = {
                "cluster": cluster,
                "task": {"type": "worker", "index": index},
            }
            env = distribution.subprocess_env(
                "tensorflow", TF_CONFIG=json.dumps(config)
            )
            processes.append(
                distribution.start(
                    module, env, tmp_path, names[index], "--timeout", "120"
                )
            )
        env = distribution.subprocess_env("jax")
        processes.append(distribution.start(module, env, tmp_path, "jax"))
    except BaseException:
        for process in processes:
            process.kill()
            process.wait()
        raise
    *workers, jax = distribution.finish(processes, tmp_path, names)
    assert [w["replicas"] for w in workers] == [2, 2]
    assert workers[0]["weights"] == workers[1]["weights"]
    for path, value in jax["weights"].items():
        np.testing.assert_allclose(
            workers[0]["weights"][path], value, atol=1e-5, err_msg=path
        )


@pytest.mark.parametrize(
    "arrangement",
    [
        "flat",
        pytest.param(
            "nested",
            marks=pytest.mark.xfail(
                strict=True,
                reason="the replicas' exchange (an all-reduce) runs in the "
                "gradient of a tf.function nested in strategy.run: "
                "TensorFlow raises '`merge_call` called while defining a new "
                "graph' (main too; a plain tf.gather trains)",
            ),
        ),
    ],
)
def test_strategy_run_trains_as_one_device(trained_tables, arrangement):
    """Custom loop: `strategy.run` of a tape step, Adam, 2 replicas."""
    tensorflow, _ = trained_tables
    got = tensorflow[f"replica_{arrangement}", "function"]
    assert not isinstance(got, str), got
    np.testing.assert_allclose(
        got, tensorflow["replica_reference", "function"], atol=1e-6
    )
