"""The stacked engine's persistent XLA cache: keyed by CPU and versions, an off switch, a
size cap, and corrupt entries compiled again (not loaded, not fatal)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lr_lessons.lab.engines.stacked import compile_cache

INTEL = "model name\t: Intel(R) Xeon(R) CPU\nflags\t\t: fpu sse2 avx avx2 avx512f\n"
AMD = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2\n"
TF = {"tensorflow": "2.21.0", "git": "v2.21.0-abc"}


def test_the_key_changes_with_the_cpu_its_features_and_the_versions():
    intel = compile_cache.cpu_description(INTEL)
    assert intel == {"model": "Intel(R) Xeon(R) CPU", "flags": "avx avx2 avx512f fpu sse2"}
    fewer = compile_cache.cpu_description(INTEL.replace(" avx512f", ""))
    key = compile_cache.machine_key(intel, TF)
    assert key == compile_cache.machine_key(dict(intel), dict(TF))  # stable
    others = {
        compile_cache.machine_key(compile_cache.cpu_description(AMD), TF),
        compile_cache.machine_key(fewer, TF),
        compile_cache.machine_key(intel, dict(TF, tensorflow="2.22.0")),
        compile_cache.machine_key(intel, dict(TF, git="v2.21.0-def")),
    }
    assert key not in others and len(others) == 4


def test_the_key_changes_with_xla_flags_but_not_with_the_cache_folder(monkeypatch):
    intel = compile_cache.cpu_description(INTEL)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/a")
    key = compile_cache.machine_key(intel, TF)
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/b")
    assert compile_cache.machine_key(intel, TF) == key
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=true")
    assert compile_cache.machine_key(intel, TF) != key


@pytest.mark.parametrize("word", ["off", "0", "false", "NO"])
def test_the_off_switch(word, monkeypatch):
    monkeypatch.setenv("LR_LESSONS_XLA_CACHE", word)
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    monkeypatch.setitem(compile_cache._state, "folder", None)
    assert compile_cache.cache_root() is None
    assert compile_cache.enable() is None
    assert os.environ["TF_XLA_FLAGS"] == ""


def test_the_default_folder_is_under_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("LR_LESSONS_XLA_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.cache_root() == tmp_path / "lr_lessons" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert compile_cache.cache_root() == Path.home() / ".cache" / "lr_lessons" / "xla"


def test_enable_points_tensorflow_at_the_keyed_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LR_LESSONS_XLA_CACHE", str(tmp_path))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    monkeypatch.setitem(compile_cache._state, "folder", None)
    where = compile_cache.enable()
    assert where == tmp_path / compile_cache.machine_key() and where.is_dir()
    assert os.environ["TF_XLA_FLAGS"] == (
        f"--tf_xla_auto_jit=0 --tf_xla_persistent_cache_directory={where}"
    )
    # a child process inherits the flag: it adopts the same folder
    monkeypatch.setitem(compile_cache._state, "folder", None)
    assert compile_cache.enable() == where
    assert os.environ["TF_XLA_FLAGS"].count("persistent_cache_directory") == 1
    # a folder the user chose is left alone
    monkeypatch.setitem(compile_cache._state, "folder", None)
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/mine")
    assert compile_cache.enable() is None
    assert os.environ["TF_XLA_FLAGS"] == "--tf_xla_persistent_cache_directory=/mine"


def _entry(folder: Path, name: str, size: int, age: float, sealed: bool = True) -> Path:
    path = folder / f"xla_compile_cache__{name}__XLA_CPU_JIT.pb"
    path.write_bytes(os.urandom(size))
    if sealed:
        compile_cache.seal(folder)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_entries_that_do_not_match_their_checksum_or_were_never_finished_are_deleted(tmp_path):
    monkey = pytest.MonkeyPatch()
    monkey.setenv("LR_LESSONS_XLA_CACHE_MB", "1000")
    folder = tmp_path / "key"
    folder.mkdir()
    good = _entry(folder, "good", 100, 10)
    bad = _entry(folder, "bad", 100, 10)
    bad.write_bytes(b"corrupt" + bad.read_bytes()[7:])
    orphan = _entry(folder, "orphan", 100, 2 * compile_cache.ORPHAN_AGE_S, sealed=False)
    fresh = _entry(folder, "fresh", 100, 1, sealed=False)  # may still be being written
    removed = compile_cache.verify(folder)
    monkey.undo()
    assert sorted(removed) == sorted([bad, orphan])
    assert good.exists() and fresh.exists() and not bad.exists() and not orphan.exists()
    assert not bad.with_name(bad.name + compile_cache.SIDE).exists()


def test_the_size_cap_evicts_the_oldest_entries_first(tmp_path):
    old_key, key = tmp_path / "old", tmp_path / "new"
    old_key.mkdir()
    key.mkdir()
    oldest = _entry(old_key, "a", 400_000, 300, sealed=False)
    older = _entry(key, "b", 400_000, 200, sealed=False)
    newer = _entry(key, "c", 400_000, 100, sealed=False)
    removed = compile_cache.evict(tmp_path, cap=900_000)
    assert removed == [oldest]
    assert not old_key.exists()  # an emptied key folder goes too
    assert older.exists() and newer.exists()
    assert compile_cache.evict(tmp_path, cap=500_000) == [older]


def test_a_bad_size_cap_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setenv("LR_LESSONS_XLA_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="LR_LESSONS_XLA_CACHE_MB='lots'.*set e.g."):
        compile_cache.cap_bytes()


TRAIN = textwrap.dedent(
    """
    import json, sys
    from lr_lessons.lab import studies
    from lr_lessons.lab.data import load_blobs
    from lr_lessons.lab.engines import stacked
    study = studies.learning_rate_study((0.1, 0.01)).with_epochs(2)
    got = stacked.train(study, [0], load_blobs())
    print(json.dumps({"loss": got["loss"].tolist(),
                      "folder": str(stacked.compile_cache.folder())}))
    """
)


def _train_in_a_new_process(root: Path) -> dict:
    env = dict(os.environ, LR_LESSONS_XLA_CACHE=str(root), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-c", TRAIN], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_corrupt_entry_is_compiled_again_in_a_new_process(tmp_path):
    """TensorFlow alone fails on a saved program it cannot parse (DataLossError); with
    the checksum the entry is deleted first, compiled again, and the numbers are the same."""
    first = _train_in_a_new_process(tmp_path)
    folder = Path(first["folder"])
    assert folder.parent == tmp_path
    entries = list(folder.glob("*.pb"))
    assert entries and all(e.with_name(e.name + compile_cache.SIDE).exists() for e in entries)
    for entry in entries:
        entry.write_bytes(os.urandom(300))
    second = _train_in_a_new_process(tmp_path)
    np.testing.assert_array_equal(second["loss"], first["loss"])
    again = list(folder.glob("*.pb"))
    assert sorted(e.name for e in again) == sorted(e.name for e in entries)
    assert all(compile_cache.verify(folder) == [] for _ in (0,))  # sealed and intact


CHAPTER_ORDER = textwrap.dedent(
    """
    import keras
    from lr_lessons.lab import studies
    from lr_lessons.lab.runner import run_study
    keras.ops.ones((2,)) + 1  # a chapter's first Keras call: TensorFlow reads its XLA flags
    run_study(studies.learning_rate_study((0.1, 0.01)).with_epochs(2))
    """
)


def test_a_chapter_that_calls_keras_first_still_saves_its_programs(tmp_path):
    """A chapter imports Keras and the lab, then makes a Keras call before any study runs:
    the lab's import must already have set the cache folder, or nothing is ever saved."""
    env = dict(
        os.environ,
        LR_LESSONS_XLA_CACHE=str(tmp_path / "xla"),
        LR_LESSONS_OUTPUT=str(tmp_path / "out"),
        LR_LESSONS_RETRAIN="1",
        LR_LESSONS_SEEDS="1",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-c", CHAPTER_ORDER], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((tmp_path / "xla").glob("*/*.pb")), "no XLA program was saved"
