"""The README's quick start: `make demo` and `make test` do what it says."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def make_plan(target):
    """The commands `make TARGET` would run (`make -n`), one a line."""
    plan = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stderr
    return plan.stdout.splitlines()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_runs_lint_docs_and_pytest():
    # `make test` cannot run inside the suite it runs: its plan can.
    plan = "\n".join(make_plan("test"))
    assert "ruff check" in plan
    assert "ruff format --check" in plan
    assert "mkdocs build --strict" in plan
    assert "-m pytest" in plan


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_tree_passes_make_lint():
    # The ruff commands of `make lint`, run with this environment's ruff.
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    commands = [line for line in make_plan("lint") if "ruff" in line]
    assert len(commands) == 2, commands
    for command in commands:
        words = command.split()
        assert words[0].endswith("/ruff"), command
        done = subprocess.run(
            [str(ruff), *words[1:]], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_runs_the_walkthrough(tmp_path):
    result = subprocess.run(
        ["make", "--no-print-directory", "demo", f"DEMO_OUT={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "looks up rows [5, 1, 2, 3, 6]" in result.stdout
    assert "Equal to table[[5, 1, 2, 3, 6]]: True" in result.stdout
    # Training on phrase 1 leaves the rows only phrase 2 uses untouched.
    assert "rows bit-for-bit the same: [5, 6]" in result.stdout
    pictures = sorted(path.name for path in tmp_path.glob("*.png"))
    assert pictures, "make demo wrote no pictures"
