"""The README's quick start: two commands, and both do what it says."""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines()]


def test_quick_start_is_make_demo_and_make_test():
    assert quick_start_commands() == ["make demo", "make test"]


def test_make_test_runs_lint_docs_and_pytest():
    plan = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stderr
    assert "ruff check" in plan.stdout
    assert "mkdocs build --strict" in plan.stdout
    assert "-m pytest" in plan.stdout


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
