"""The layers train on the engines users already run: tf.distribute, JAX.

Each engine must be configured before TensorFlow or JAX starts, so every
run happens in a fresh Python process (the scripts in tests/distributed/)
that prints its results as one JSON line. All of them run on this machine's
CPU: 2 logical TensorFlow devices, 2 worker processes talking over the
loopback interface only, or 2 JAX host devices.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from tests.distributed import common

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
TIMEOUT = 240  # seconds for a whole run, start-up of TensorFlow included

pytestmark = pytest.mark.slow


def subprocess_env(backend, **extra):
    """This process' environment for a run on `backend`, on the CPU only."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CONFIG", "XLA_FLAGS")
    }
    python_path = [str(REPO), env.get("PYTHONPATH", "")]
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, python_path)),
        KERAS_BACKEND=backend,
        CUDA_VISIBLE_DEVICES="",  # same numbers on a machine with a GPU
        JAX_PLATFORMS="cpu",
        TF_CPP_MIN_LOG_LEVEL="2",
        **extra,
    )
    return env


def start(module, env, log_dir, name, *args):
    """Starts `python -m module`; its output goes to files, never pipes.

    Files, because a worker blocked on a full pipe would stall its peer.
    """
    stdout = open(log_dir / f"{name}.out", "w")
    stderr = open(log_dir / f"{name}.err", "w")
    with stdout, stderr:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )


def finish(processes, log_dir, names):
    """Waits for all `processes` within `TIMEOUT`; returns their JSON lines.

    Fails as soon as one process fails (its peers would only wait for it),
    and whatever happens, no process outlives this call.
    """
    deadline = time.monotonic() + TIMEOUT
    try:
        while any(process.poll() is None for process in processes):
            for process, name in zip(processes, names, strict=True):
                code = process.poll()
                assert code in (None, 0), (
                    f"{name} exited with {code}:\n" + log_tail(log_dir, name)
                )
            if time.monotonic() > deadline:
                late = [
                    name
                    for process, name in zip(processes, names, strict=True)
                    if process.poll() is None
                ]
                pytest.fail(
                    f"{late} did not finish within {TIMEOUT}s:\n"
                    + log_tail(log_dir, late[0])
                )
            time.sleep(0.2)
        for process, name in zip(processes, names, strict=True):
            assert process.returncode == 0, (
                f"{name} exited with {process.returncode}:\n"
                + log_tail(log_dir, name)
            )
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [read_result(log_dir, name) for name in names]


def run(module, env, log_dir, name="run", args=()):
    process = start(module, env, log_dir, name, *args)
    return finish([process], log_dir, [name])[0]


def log_tail(log_dir, name):
    return (log_dir / f"{name}.err").read_text()[-4000:]


def read_result(log_dir, name):
    lines = (log_dir / f"{name}.out").read_text().splitlines()
    assert lines, f"{name} printed nothing:\n" + log_tail(log_dir, name)
    return json.loads(lines[-1])


def free_loopback_ports(count):
    """Ports free on 127.0.0.1 now; all held open together so they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def assert_same_training(actual, expected, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(actual["losses"], expected["losses"], rtol=rtol)
    assert actual["weights"].keys() == expected["weights"].keys()
    for path, value in expected["weights"].items():
        np.testing.assert_allclose(
            actual["weights"][path], value, rtol=rtol, atol=atol, err_msg=path
        )
    np.testing.assert_allclose(
        actual["predictions"], expected["predictions"], rtol=rtol, atol=atol
    )


def assert_trained(result):
    """Losses fell, the OOV rows moved and the pretrained rows did not."""
    losses = result["losses"]
    assert losses[-1] < losses[0], losses
    weights = result["weights"]
    np.testing.assert_array_equal(
        weights["pretrained/embeddings"], common.pretrained_table()
    )
    assert np.all(np.abs(weights["pretrained/oov_embeddings"]) > 0)


def test_mirrored_strategy_trains_as_one_device(tmp_path):
    result = run(
        "tests.distributed.mirrored", subprocess_env("tensorflow"), tmp_path
    )
    one, mirrored = result["one_device"], result["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)
    assert_trained(one)
    assert_same_training(mirrored, one)


@pytest.mark.parametrize("optimizer", ["lazy_adam", "adam"])
def test_multi_worker_mirrored_strategy_over_loopback(optimizer, tmp_path):
    """2 workers train as one process, with LazyAdam and Keras' Adam.

    Adam checks that a row both workers looked up reaches the optimizer
    once (the all-reduce concatenates row-sparse gradients).
    """
    cluster = {
        "worker": [f"{LOOPBACK}:{port}" for port in free_loopback_ports(2)]
    }
    names = ["worker0", "worker1"]
    workers = []
    try:
        for index, name in enumerate(names):
            tf_config = {
                "cluster": cluster,
                "task": {"type": "worker", "index": index},
            }
            env = subprocess_env("tensorflow", TF_CONFIG=json.dumps(tf_config))
            workers.append(
                start(
                    "tests.distributed.multi_worker",
                    env,
                    tmp_path,
                    name,
                    "--timeout",
                    str(TIMEOUT // 2),
                    "--save",
                    str(tmp_path / "model.keras"),
                    "--optimizer",
                    optimizer,
                )
            )
    except BaseException:
        for worker in workers:
            worker.kill()
            worker.wait()
        raise
    results = finish(workers, tmp_path, names)
    reference = run(
        "tests.distributed.multi_worker",
        subprocess_env("tensorflow"),
        tmp_path,
        name="reference",
        args=["--optimizer", optimizer],
    )
    assert [r["task"] for r in results] == [0, 1]
    assert [r["replicas"] for r in results] == [2, 2]
    assert reference["replicas"] == 1
    # All-reduce gives every worker the very same update.
    assert results[0]["losses"] == results[1]["losses"]
    assert results[0]["weights"] == results[1]["weights"]
    assert_trained(results[0])
    assert_same_training(results[0], reference)
    # Worker 0's saved model reloads, without the cluster, as it trained.
    revived = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    ids, _ = common.data()
    np.testing.assert_array_equal(
        ops.convert_to_numpy(revived(ids)), results[0]["predictions"]
    )


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason='JAX is not installed (pip install -e ".[backends]")',
)
def test_jax_model_parallel_shards_rows_and_trains_as_unsharded(tmp_path):
    env = subprocess_env(
        "jax", XLA_FLAGS="--xla_force_host_platform_device_count=2"
    )
    result = run("tests.distributed.jax_model_parallel", env, tmp_path)
    assert result["devices"] == 2
    unsharded, sharded = result["unsharded"], result["sharded"]
    half = common.VOCABULARY // 2
    for table, shards in sharded["layouts"].items():
        assert [shape for shape, _ in shards] == [[half, common.DIM]] * 2
        assert len({device for _, device in shards}) == 2, table
    for shards in unsharded["layouts"].values():
        assert [shape for shape, _ in shards] == [
            [common.VOCABULARY, common.DIM]
        ]
    assert_trained(unsharded)
    assert_same_training(sharded, unsharded)
