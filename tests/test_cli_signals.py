"""`lr-lessons figures` under real signals and bad output folders, in real processes: a stop
signal reaches the chapter's process, which stops and keeps what finished; the command ends
with one line. Unwritable figures and the library's own `ValueError`s are one-line errors."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_cli_child import checkout, figures

SLOW_CHAPTER = """# %% [markdown]
# # A chapter stopped half-way

# %%
import os
import threading
import time
from pathlib import Path

from lr_lessons.files import write_text

out = Path(os.environ["LR_LESSONS_OUTPUT"])
write_text(out / "finished.txt", "a result finished before the signal")
print(f"chapter pid {os.getpid()}", flush=True)

# %%
print("working", flush=True)
with open(out / "half.txt", "w") as fh:  # a plain write the signal interrupts
    fh.write("started")
for _ in range(1200):
    time.sleep(0.05)
write_text(out / "late.txt", "written after the signal: must not exist")
"""


def start(root: Path) -> subprocess.Popen:
    env = {**os.environ, "LR_LESSONS_OUTPUT": str(root / "out"), "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    return subprocess.Popen(
        [sys.executable, "-m", "lr_lessons.cli", "figures"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )


def read_until(process: subprocess.Popen, marker: str, timeout: float = 120) -> str:
    """The command's output up to the line holding `marker`. A thread reads the lines: a
    `select` on the buffered pipe would miss lines already read into its buffer."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in iter(process.stdout.readline, "")],
        daemon=True,
    ).start()
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        try:
            seen += lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {timeout} s; so far:\n{seen}") from None
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    "how, signum",
    [
        ("kill -TERM to the command", signal.SIGTERM),
        ("kill -INT to the command", signal.SIGINT),
        ("Ctrl-C: SIGINT to the whole process group", signal.SIGINT),
    ],
)
def test_a_stop_signal_stops_the_chapter_keeps_what_finished_and_says_one_line(
    tmp_path, how, signum
):
    root = checkout(tmp_path, {"95_stopped": SLOW_CHAPTER})
    process = start(root)
    try:
        seen = read_until(process, "working")
        chapter_pid = int(re.search(r"chapter pid (\d+)", seen).group(1))
        assert chapter_pid != process.pid
        sent = time.monotonic()
        if how.startswith("Ctrl-C"):
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        process.wait(timeout=60)
        err = process.stderr.read()
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, err
    assert took < 30, f"the command took {took:.0f} s to stop (the chapter sleeps 60 s)"
    assert not alive(chapter_pid), "the chapter's process kept running"
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    name = signal.Signals(signum).name
    assert lines[-1].startswith(f"lr-lessons: stopped by {name} during chapter 95_stopped")
    assert "finished before it are kept" in lines[-1]
    outputs = root / "out"
    assert (outputs / "finished.txt").read_text() == "a result finished before the signal"
    assert not (outputs / "late.txt").exists(), "the chapter went on after the signal"
    assert not list(outputs.rglob("outputs.json")), "a stopped chapter recorded its outputs"
    assert not list(outputs.rglob("*.lrtmp")), "a temporary file was left behind"


MARKS = """# %%
print("the chapter ran")
"""


def test_unwritable_figures_folder_is_refused_before_any_chapter_runs(tmp_path):
    root = checkout(tmp_path, {"95_marks": MARKS})
    (root / "out").mkdir()
    (root / "out" / "figures").write_text("a file where the figures folder should be")
    done = figures(root)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if line.startswith("lr-lessons: error")
    ]
    assert re.search(r"lr-lessons: error: cannot write figures to .*figures", done.stderr)
    assert "the chapter ran" not in done.stdout and "Traceback" not in done.stderr


LIBRARY_VALUE_ERROR = """# %%
import numpy as np

from lr_lessons.lab.results import Results

Results("s", ["a"], [0], {"loss": np.zeros((2, 2, 2))})
print("not reached")
"""

CHAPTER_VALUE_ERROR = """# %%
raise ValueError("a mistake in the chapter's own code")
"""


def test_a_library_value_error_is_one_line_a_chapters_own_is_a_traceback(tmp_path):
    root = checkout(tmp_path, {"95_library": LIBRARY_VALUE_ERROR})
    done = figures(root)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("lr-lessons: error: chapter 95_library: metric 'loss' has shape")
    (tmp_path / "other").mkdir()
    other = checkout(tmp_path / "other", {"95_own": CHAPTER_VALUE_ERROR})
    done = figures(other)
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert "a mistake in the chapter's own code" in done.stderr
