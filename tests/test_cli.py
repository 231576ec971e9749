"""The `keras-embedplus` command, run as a real subprocess."""

import os
import pathlib
import subprocess
import sys

import pytest

from tests.pictures import load_picture

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUBCOMMANDS = ["demo"]


def run_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "keras_embedplus.tools.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_user_error(done, *fragments):
    """A one-line error on stderr, exit status 1, no traceback."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in done.stderr


def test_help_lists_every_subcommand():
    done = run_cli("--help")
    assert done.returncode == 0
    for name in SUBCOMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name):
    done = run_cli(name, "--help")
    assert done.returncode == 0
    assert f"usage: keras-embedplus {name}" in done.stdout


def test_no_subcommand_or_an_unknown_one_is_a_usage_error():
    assert run_cli().returncode == 2
    done = run_cli("frobnicate")
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr


@pytest.mark.slow
def test_demo_prints_the_walkthrough_and_writes_pictures(tmp_path):
    done = run_cli("demo", "--out", tmp_path / "pics", "--epochs", "3")
    assert done.returncode == 0, done.stderr
    assert "model.output_shape = (None, 5, 2)" in done.stdout
    assert "rows bit-for-bit the same: [5, 6]" in done.stdout
    pictures = sorted((tmp_path / "pics").iterdir())
    assert [path.name for path in pictures] == [
        "one_hot_product.png",
        "table_after.png",
        "table_before.png",
        "training_trajectories.png",
    ]
    for path in pictures:
        load_picture(path)


def test_demo_default_output_directory(tmp_path):
    done = run_cli("demo", "--epochs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo_output" / "table_after.png").is_file()


def test_demo_refuses_zero_epochs():
    assert_user_error(
        run_cli("demo", "--epochs", "0"), "demo: error: --epochs must be"
    )
