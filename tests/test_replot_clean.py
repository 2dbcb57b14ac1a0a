"""A re-plot leaves a clean checkout clean: what `lr-lessons figures` writes into tracked
files (figures, `outputs.json`) depends only on the code and the committed results, never
on how long a cell took."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lr_lessons import cells

ROOT = Path(__file__).resolve().parents[1]


def test_recorded_outputs_keep_no_timings(tmp_path):
    records = [cells.CellOutput(3, "abc", stdout="hi\n", seconds=1.234)]
    path = cells.save_outputs(tmp_path, "01_x", records)
    saved = json.loads(path.read_text())["cells"]["3"]
    assert saved == {"hash": "abc", "stdout": "hi\n", "files": []}
    again = [cells.CellOutput(3, "abc", stdout="hi\n", seconds=9.9)]
    assert cells.save_outputs(tmp_path, "01_x", again).read_text() == path.read_text()
    assert cells.load_outputs(tmp_path, "01_x")[3].stdout == "hi\n"


@pytest.mark.slow
def test_a_replot_of_a_fresh_clone_changes_no_tracked_file(tmp_path):
    """`git clone`, then `lr-lessons figures` for two quick chapters against the committed
    results: `git status --porcelain` stays empty (no timings, no wall times printed)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LR_LESSONS_")}
    env["LR_LESSONS_MNIST"] = os.environ.get("LR_LESSONS_MNIST", "")
    run = subprocess.run(
        [sys.executable, "-m", "lr_lessons.cli", "figures", "--chapters", "0", "3"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    stale = "the committed results are stale: " + run.stdout[-800:]
    assert "0 studies trained" in run.stdout, stale
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout
    assert status == "", f"a re-plot changed tracked files:\n{status}"
