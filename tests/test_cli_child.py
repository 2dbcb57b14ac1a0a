"""`lr-lessons figures` runs the chapters in child processes, a fresh one after a chapter
that trained, and reports the peak memory of the command as the larger of its own and its
chapters' (no training here)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lr_lessons import cli

ROOT = Path(__file__).resolve().parents[1]

CHAPTER = """# %% [markdown]
# # A fake chapter

# %%
import os

import numpy as np

print(f"pid {{os.getpid()}} parent {{os.getppid()}}")
block = np.ones({megabytes} * 2**20 // 8)  # touched, so resident
print(f"held {{block.nbytes / 1e9:.2f}} GB")
{tail}
"""


def checkout(tmp_path: Path, chapters: dict[str, str]) -> Path:
    """A folder `lr-lessons figures` takes for a checkout: `chapters/` and `pyproject.toml`."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    folder = tmp_path / "chapters"
    folder.mkdir()
    for name, text in chapters.items():
        (folder / f"{name}.py").write_text(text)
    return tmp_path


def figures(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LR_LESSONS_OUTPUT": str(root / "out"), "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)  # the child must find the package by itself
    return subprocess.run(
        [sys.executable, "-m", "lr_lessons.cli", "figures", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def gigabytes(pattern: str, text: str) -> list[float]:
    return [float(x) for x in re.findall(pattern, text)]


TRAINS = """from lr_lessons.lab import runner

runner.record("fake_study", "trained, not cached", seconds=0.5)
"""


def test_a_chapter_that_trained_is_followed_by_a_fresh_process(tmp_path):
    root = checkout(
        tmp_path,
        {
            "96_reads": CHAPTER.format(megabytes=1, tail=""),
            "97_trains": CHAPTER.format(megabytes=50, tail=TRAINS),
            "98_large": CHAPTER.format(megabytes=400, tail=""),
        },
    )
    done = figures(root)
    assert done.returncode == 0, done.stderr[-3000:]
    pids = re.findall(r"pid (\d+) parent (\d+)", done.stdout)
    assert len(pids) == 3
    (reads, parent_a), (trains, parent_b), (large, parent_c) = pids
    assert reads == trains, "a chapter that only read results was not followed in its process"
    assert large != trains, "the chapter after one that trained ran in the same process"
    assert parent_a == parent_b == parent_c, "the chapters were not started by the command"
    assert int(parent_a) != os.getpid()
    assert "  fake_study: trained in 0.5 s, not saved" in done.stdout
    processes = re.findall(r"memory of its process \(#(\d)\)", done.stdout)
    assert processes == ["1", "1", "2"]
    # each chapter's process peak, then the largest so far
    peaks = gigabytes(r"GB at its end, peak ([0-9.]+) GB", done.stdout)
    largest = gigabytes(r"\(largest so far ([0-9.]+) GB\)", done.stdout)
    assert len(peaks) == len(largest) == 3
    assert peaks[2] >= 400 * 2**20 / 1e9  # the block it held
    assert largest == [max(peaks[: i + 1]) for i in range(3)]
    # the command's own process holds neither block nor Keras: the total is the largest
    # child's peak (and not the size of this test's process, which started the command)
    (total,) = gigabytes(r"peak memory ([0-9.]+) GB \(max resident set size", done.stdout)
    assert max(peaks) - 0.005 <= total <= max(peaks) + 0.1, (total, peaks)
    assert "96_reads: slowest cells: cell 1" in done.stdout
    assert (root / "out" / "figures" / "98_large" / "outputs.json").is_file()


def test_bad_input_in_a_chapter_is_one_line_and_other_errors_show_their_traceback(tmp_path):
    bad_input = (
        "from lr_lessons.checks import InputError\nraise InputError('x=3 is odd: give an even x')"
    )
    root = checkout(
        tmp_path,
        {
            "97_fine": CHAPTER.format(megabytes=1, tail=""),
            "98_bad": CHAPTER.format(megabytes=1, tail=bad_input),
        },
    )
    done = figures(root)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "lr-lessons: error: chapter 98_bad: x=3 is odd: give an even x"
    ]
    assert "97_fine: " in done.stdout and "wall time per chapter" not in done.stdout

    (root / "chapters" / "98_bad.py").write_text(
        CHAPTER.format(megabytes=1, tail="raise ValueError('cell one broke')")
    )
    failed = figures(root, "--chapters", "98")
    assert failed.returncode == 1
    assert "Traceback" in failed.stderr and "ValueError: cell one broke" in failed.stderr
    assert failed.stderr.strip().splitlines()[-1] == (
        "lr-lessons: error: chapter 98_bad failed (exit status 1); see the traceback above"
    )
    assert not (root / "out" / "figures" / "98_bad" / "outputs.json").exists()


@pytest.mark.parametrize("own, children", [(0.3, 2.0), (2.0, 0.3)])
def test_the_peak_is_the_larger_of_this_process_and_its_children(monkeypatch, own, children):
    def usage(who):
        assert who == resource.RUSAGE_CHILDREN, "this process's peak comes from memory_gb"
        return SimpleNamespace(ru_maxrss=children * 1e9 / unit)

    unit = 1 if sys.platform == "darwin" else 1024
    monkeypatch.setattr(resource, "getrusage", usage)
    monkeypatch.setattr(cli, "memory_gb", lambda: (0.1, own))
    assert cli.peak_memory_gb() == own
    assert cli.peak_memory_gb(children=True) == pytest.approx(max(own, children))


def test_the_memory_now_and_at_peak_are_read_for_this_process():
    import numpy as np

    _, before = cli.memory_gb()
    block = np.ones(300 * 2**20 // 8)  # touched, so resident
    current, peak = cli.memory_gb()
    assert before <= peak <= cli.peak_memory_gb()
    if sys.platform.startswith("linux"):
        assert current is not None and block.nbytes / 1e9 <= current <= peak
