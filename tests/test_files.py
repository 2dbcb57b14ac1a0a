"""Atomic writes: temporary names no reader matches, stale leftovers removed, kill -9 safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lr_lessons import files
from lr_lessons.lab.results import Results

ROOT = Path(__file__).resolve().parents[1]


def small_results(value: float) -> Results:
    metrics = {"loss": np.full((2, 1, 3), value)}
    return Results("tiny", ["a", "b"], [0], metrics, {"note": value})


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_temporary_file_matches_no_reader_pattern(tmp_path):
    target = tmp_path / "study.npz"
    with files.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(files.TEMP_SUFFIX)
        assert tmp.name.startswith(".study.npz.")
        tmp.write_bytes(b"partial")
        for pattern in ("*.npz", "*.png", "*.svg", "*.json", "*.md"):
            assert list(tmp_path.glob(pattern)) == [], pattern
    assert target.read_bytes() == b"partial"
    assert [p.name for p in tmp_path.iterdir()] == ["study.npz"]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_figures_are_saved_in_their_format_through_the_temporary_name(output_dir, suffix):
    from lr_lessons.views.plotting import new_figure, save_figure

    fig = new_figure((2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    path = save_figure(fig, f"00_test/line{suffix}")
    head = path.read_bytes()[:16]
    assert head.startswith(b"\x89PNG") if suffix == ".png" else b"<?xml" in head
    assert [p.name for p in path.parent.iterdir()] == [f"line{suffix}"]


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    (tmp_path / "sub").mkdir()
    stale = tmp_path / "sub" / f".a.npz.{dead_pid()}-0badc0de{files.TEMP_SUFFIX}"
    live = tmp_path / f".b.npz.{os.getpid()}-0badc0de{files.TEMP_SUFFIX}"
    old = tmp_path / f".c.png.{os.getpid()}-00c0ffee{files.TEMP_SUFFIX}"
    keep = [tmp_path / "a.npz", tmp_path / "notes.lrtmp", live]
    for p in [stale, old, *keep]:
        p.write_bytes(b"x")
    day_ago = time.time() - files.STALE_AFTER_S - 60
    os.utime(old, (day_ago, day_ago))
    removed = files.remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale, old])
    assert all(p.exists() for p in keep) and not stale.exists() and not old.exists()
    assert files.remove_stale_temporaries(tmp_path / "missing") == []


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from lr_lessons.lab.results import Results

    path = sys.argv[1]
    real = np.savez_compressed

    def slow(fh, **arrays):
        fh.write(b"PK half of a big file" * 1000)
        fh.flush()
        print("writing", flush=True)
        time.sleep(60)
        real(fh, **arrays)

    np.savez_compressed = slow
    Results("tiny", ["a", "b"], [0], {"loss": np.full((2, 1, 3), 2.0)}).save(path)
    """
)


def test_kill_9_during_a_save_keeps_the_old_file_and_leaves_no_readable_litter(tmp_path):
    path = tmp_path / "results" / "tiny.npz"
    small_results(1.0).save(path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    assert path.read_bytes() == before
    assert Results.load(path).get("loss").max() == 1.0
    leftovers = [p for p in path.parent.iterdir() if p != path]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(files.TEMP_SUFFIX)
    assert list(path.parent.glob("*.npz")) == [path], "a reader would pick up the half file"
    assert files.remove_stale_temporaries(path.parent) == leftovers
    assert list(path.parent.iterdir()) == [path]


def test_write_npz_keeps_arrays_and_json_objects_and_refuses_a_name_clash(tmp_path):
    path = tmp_path / "sub" / "both.npz"
    meta = {"path": tmp_path, "n": 3, "rates": [0.1, 1e-7]}
    assert files.write_npz(path, {"x": np.arange(4.0)}, meta=meta, tag="text") == path
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["meta", "tag", "x"]
        np.testing.assert_array_equal(f["x"], np.arange(4.0))
        assert files.read_json(f, "meta") == {**meta, "path": str(tmp_path)}
        assert files.read_json(f, "tag") == "text"
    assert [p.name for p in path.parent.iterdir()] == ["both.npz"]
    with pytest.raises(ValueError, match=r"\['x'\].*both as arrays and as JSON"):
        files.write_npz(path, {"x": np.zeros(1)}, x={"a": 1})
