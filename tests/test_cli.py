"""The ``lr-lessons figures`` command: choosing chapters, running them, re-plotting from disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lr_lessons import cli

ROOT = Path(__file__).resolve().parents[1]


def test_chapters_are_found_in_order():
    chapters = cli.find_chapters(ROOT)
    names = [c.name for c in chapters]
    assert names == sorted(names) and "01_learning_rate.py" in names
    assert all(cli.CHAPTER_PATTERN.match(n) for n in names)


def test_chapters_are_chosen_by_number_or_name():
    chapters = cli.find_chapters(ROOT)
    picked = cli.select_chapters(chapters, ["3", "momentum"])
    assert [c.stem for c in picked] == ["02_momentum", "03_decay"]
    assert cli.select_chapters(chapters, None) == chapters


def test_an_unknown_chapter_is_named():
    with pytest.raises(SystemExit, match="no chapter matches 'nonsense'"):
        cli.select_chapters(cli.find_chapters(ROOT), ["nonsense"])


def test_bad_seed_count_is_refused():
    with pytest.raises(SystemExit, match="--seeds must be at least 1, got 0"):
        cli.main(["figures", "--seeds", "0", "--list"])


def run_cli(*args: str, output: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LR_LESSONS_OUTPUT": str(output), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "lr_lessons.cli", "figures", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_figures_then_replot_from_saved_results(tmp_path):
    first = run_cli("--quick", "--seeds", "2", "--chapters", "decay", output=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    figures = sorted(p.name for p in (tmp_path / "figures" / "03_decay").iterdir())
    assert {"accuracy_grid.png", "decay_rule.png", "claims.md"} <= set(figures)
    results = sorted((tmp_path / "results").glob("*.npz"))
    assert {p.name for p in results} == {"decay.npz", "momentum.npz"}
    stamps = {p: p.stat().st_mtime_ns for p in results}
    assert "wall time per chapter" in first.stdout and "03_decay" in first.stdout

    again = run_cli("--quick", "--seeds", "2", "--chapters", "3", output=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in results} == stamps, "the second run retrained"
    leftovers = [p for p in tmp_path.rglob(".*") if p.is_file()]
    assert not leftovers, f"temporary files left behind: {leftovers}"
