"""The study runner: seeded reproducibility, the on-disk cache, atomic writes, bad input."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from lr_lessons.lab import cache, runner, studies
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.results import METRICS, CorruptResults, Results
from lr_lessons.lab.studies import Setting, Study


def tiny_study(epochs: int = 3) -> Study:
    return Study(
        "tiny",
        "two settings for tests",
        (Setting("lr=0.1", "sgd", 0.1), Setting("adam", "adam")),
        epochs=epochs,
    )


@pytest.mark.parametrize("engine", ["fit", "stacked"])
def test_same_seed_same_numbers_other_seed_other_numbers(output_dir, engine):
    a = runner.run_study(tiny_study(), seeds=[0, 1], engine=engine, cache=False, progress=False)
    b = runner.run_study(tiny_study(), seeds=[0, 1], engine=engine, cache=False, progress=False)
    for m in METRICS:
        np.testing.assert_array_equal(a.get(m), b.get(m))
    assert not np.array_equal(a.get("loss")[:, 0], a.get("loss")[:, 1])
    assert a.get("loss").shape == (2, 2, 3)
    assert np.isfinite(a.get("val_accuracy")).all()
    np.testing.assert_allclose(a.get("learning_rate", "lr=0.1"), 0.1, rtol=1e-6)
    np.testing.assert_allclose(a.get("learning_rate", "adam"), 0.001, rtol=1e-6)


def test_results_carry_their_metadata(output_dir):
    r = runner.run_study(tiny_study(), seeds=[3], engine="fit", progress=False)
    meta = r.meta
    assert meta["seeds"] == [3] and meta["epochs"] == 3 and meta["engine"] == "fit"
    assert meta["data_source"] == "blobs" and meta["quick"] is True
    assert {"keras", "tensorflow", "lr_lessons"} <= set(meta["versions"])
    assert meta["wall_time_s"] > 0
    assert [s["name"] for s in meta["study"]["settings"]] == ["lr=0.1", "adam"]
    saved = Results.load(runner.results_path(tiny_study()))
    np.testing.assert_array_equal(saved.get("loss"), r.get("loss"))
    assert saved.meta == meta
    rows = saved.rows()
    assert len(rows) == 2 * 1 * 3 and rows[0]["setting"] == "lr=0.1" and rows[0]["epoch"] == 1


def test_second_run_reads_the_cache_instead_of_training(output_dir, monkeypatch):
    first = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)

    def no_training(name):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(runner, "get_engine", lambda name: no_training)
    again = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    np.testing.assert_array_equal(first.get("val_loss"), again.get("val_loss"))


def test_stale_cache_is_recomputed(output_dir, monkeypatch):
    first = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    monkeypatch.setattr(runner, "code_fingerprint", lambda engine=None: "edited code")
    again = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert again.meta["key"] != first.meta["key"]
    saved = Results.load(runner.results_path(tiny_study()))
    assert saved.meta["key"] == again.meta["key"], "the same definition replaces its stale file"
    assert sorted(p.name for p in (output_dir / "results").iterdir()) == ["tiny.npz"]


def test_a_different_definition_never_overwrites_saved_results(output_dir):
    default = runner.run_study(tiny_study(), seeds=[0, 1], engine="fit", progress=False)
    path = runner.results_path(tiny_study())
    before = path.read_bytes()
    with pytest.warns(UserWarning, match=r"holds another definition of study 'tiny'.*tiny-"):
        other = runner.run_study(tiny_study(epochs=2), seeds=[0], engine="fit", progress=False)
    with pytest.warns(UserWarning, match="another definition"):
        fewer_seeds = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert path.read_bytes() == before, "the first definition's file was overwritten"
    files = sorted(p.name for p in path.parent.iterdir())
    assert len(files) == 3 and files[-1] == "tiny.npz"
    assert {Results.load(path.parent / f).epochs for f in files} == {2, 3}
    other_path = runner.results_path(tiny_study(epochs=2), seeds=[0], data=load_blobs())
    assert other_path.name != "tiny.npz" and Results.load(other_path).epochs == 2
    np.testing.assert_array_equal(Results.load(other_path).get("loss"), other.get("loss"))
    assert fewer_seeds.seeds == [0] and Results.load(path).seeds == default.seeds == [0, 1]
    # each definition is read back from its own file, none trained again
    runner.EVENTS.clear()
    for study, seeds in ((tiny_study(), [0, 1]), (tiny_study(epochs=2), [0]), (tiny_study(), [0])):
        runner.run_study(study, seeds=seeds, engine="fit", progress=False)
    assert [e["how"] for e in runner.EVENTS] == ["read from cache"] * 3


def test_retrain_switch_trains_again_and_saves_over(output_dir, monkeypatch):
    first = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    monkeypatch.setenv("LR_LESSONS_RETRAIN", "1")
    runner.EVENTS.clear()
    again = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert runner.EVENTS[-1]["how"] == "trained"
    assert again.meta["created"] >= first.meta["created"]
    assert (
        Results.load(runner.results_path(tiny_study())).meta["wall_time_s"]
        == (again.meta["wall_time_s"])
    )
    monkeypatch.setenv("LR_LESSONS_RETRAIN", "0")
    runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert runner.EVENTS[-1]["how"] == "read from cache"


def test_unwritable_results_folder_is_refused_before_training(output_dir, monkeypatch):
    (output_dir / "results").write_text("a file where the results folder should be")

    def no_training(name):
        raise AssertionError("trained although the results could not be saved")

    monkeypatch.setattr(runner, "get_engine", lambda name: no_training)
    with pytest.raises(
        runner.OutputNotWritable, match="cannot write results to .*LR_LESSONS_OUTPUT"
    ):
        runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)


def test_a_failed_save_keeps_the_results_in_a_fallback_file(output_dir, monkeypatch, tmp_path):
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(cache, "fallback_dir", lambda: fallback)
    real_save = Results.save
    target = runner.results_path(tiny_study())

    def save(self, path):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_save(self, path)

    monkeypatch.setattr(Results, "save", save)
    with pytest.warns(UserWarning, match=f"could not save .*{target}.*saved them to .*fallback"):
        r = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert r.get("loss").shape == (2, 1, 3) and np.isfinite(r.get("loss")).all()
    kept = Results.load(fallback / "tiny.npz")
    np.testing.assert_array_equal(kept.get("loss"), r.get("loss"))
    assert not target.exists()


@pytest.mark.parametrize("meta", ["[1, 2]", '"text"', "3", "null"])
def test_meta_json_of_the_wrong_shape_is_corrupt_and_recomputed(output_dir, meta):
    path = runner.results_path(tiny_study())
    path.parent.mkdir(parents=True, exist_ok=True)
    header = '{"study": "tiny", "settings": ["lr=0.1", "adam"], "seeds": [0]}'
    np.savez(path, header=np.array(header), meta=np.array(meta), metric_loss=np.zeros((2, 1, 3)))
    with pytest.raises(CorruptResults, match="meta is JSON"):
        Results.load(path)
    with pytest.warns(UserWarning, match="recomputing"):
        r = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert Results.load(path).meta["key"] == r.meta["key"]


def test_corrupt_cache_is_detected_and_recomputed(output_dir):
    path = runner.results_path(tiny_study())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an npz file")
    with pytest.raises(CorruptResults, match="cannot read"):
        Results.load(path)
    with pytest.warns(UserWarning, match="recomputing"):
        r = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    assert Results.load(path).meta["key"] == r.meta["key"]


def test_interrupted_save_leaves_the_old_file_whole(output_dir, monkeypatch):
    r = runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    path = runner.results_path(tiny_study())
    before = path.read_bytes()

    def crash(fh, **arrays):
        fh.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        r.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Setting("x", "adamw2"), "unknown optimizer 'adamw2'"),
        (lambda: Setting("x", "sgd", 0.0), "must be a positive number, got 0.0"),
        (lambda: Setting("x", "sgd", -0.1), "got -0.1"),
        (lambda: studies.learning_rate_study([0.1, -1e-3]), "got -0.001"),
        (lambda: tiny_study(epochs=0), "epochs must be a positive whole number, got 0"),
        (lambda: Study("s", "t", ()), "has no settings"),
        (lambda: Study("s", "t", (Setting("a"), Setting("a"))), r"repeats setting names \['a'\]"),
        # rates given another way are checked as strictly as learning_rate
        (lambda: Setting("x", "sgd", options={"learning_rate": -1}), "not in options"),
        (lambda: Setting("x", "sgd", options={"momentum": float("nan")}), "momentum.*got nan"),
        (lambda: Setting("x", "sgd", options={"momentum": 1.5}), r"in \[0, 1\), got 1.5"),
        (lambda: Setting("x", "adam", options={"epsilon": -1e-7}), "epsilon.*positive"),
        (lambda: Setting("x", "sgd", options={"momentom": 0.9}), "SGD refuses options"),
        (
            lambda: Setting("x", "sgd", schedule=studies.inverse_time_decay(0.1, -0.01)),
            "initial_learning_rate.*got -0.01",
        ),
        (
            lambda: Setting(
                "x", schedule=keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, -1.0])
            ),
            r"values\[1\].*got -1.0",
        ),
        (lambda: Setting("x", schedule=0.1), "must be a keras.optimizers.schedules"),
        (lambda: Setting("x", plateau={"factor": 2.0}), "factor .* must be below 1, got 2.0"),
        (lambda: Setting("x", plateau={"patience": -1}), "patience .*got -1"),
        (lambda: Setting("", "sgd"), "non-empty string"),
        # study names name files: nothing outside results/, nothing hidden
        (lambda: Study("../evil", "t", (Setting("a"),)), "safe file name.*'../evil'"),
        (lambda: Study("", "t", (Setting("a"),)), "safe file name.*''"),
        (lambda: Study(".hidden", "t", (Setting("a"),)), "safe file name"),
        (lambda: Study("a/b", "t", (Setting("a"),)), "safe file name"),
        (lambda: Study("s", "t", (Setting("a"),), problem="cifar"), "unknown problem 'cifar'"),
        (lambda: Study("s", "t", (Setting("a"),), batch_size=True), "batch_size .*got True"),
        (
            lambda: studies.learning_rate_study([0.1, 0.100000001]),
            r"0.1 and 0.100000001 both print as 'lr=0.1'.*own Setting names",
        ),
    ],
)
def test_bad_study_input_is_refused_with_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "seeds, match",
    [
        ([], "seeds is empty"),
        ([0, -1], "got -1"),
        ([1, 1], "repeat"),
        ([0, True], "whole number, got True"),
        ([0.5], "whole number, got 0.5"),
        ([2**40], "at most 4294967295"),
        (range(101), "101 seeds is more than the maximum of 100"),
        ("01", "list of whole numbers"),
    ],
)
def test_bad_seeds_are_refused(seeds, match):
    with pytest.raises(ValueError, match=match):
        runner.run_study(tiny_study(), seeds=seeds, engine="fit")


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine 'turbo'"):
        runner.run_study(tiny_study(), seeds=[0], engine="turbo")


def test_the_five_studies_are_the_originals():
    assert [s.learning_rate for s in studies.learning_rate_study().settings] == [
        1.0,
        0.1,
        0.01,
        1e-3,
        1e-4,
        1e-5,
        1e-6,
        1e-7,
    ]
    assert [s.options["momentum"] for s in studies.momentum_study().settings] == [
        0.0,
        0.5,
        0.9,
        0.99,
    ]
    decay = studies.decay_study()
    assert [s.make_schedule().decay_rate for s in decay.settings] == [0.1, 0.01, 1e-3, 1e-4]
    plateau = studies.plateau_study()
    assert [s.plateau["patience"] for s in plateau.settings] == [2, 5, 10, 15]
    cb = plateau.settings[0].make_callbacks()[0]
    assert (cb.monitor, cb.factor, cb.min_delta) == ("val_loss", 0.1, 1e-7)
    assert [s.optimizer for s in studies.adaptive_study().settings] == [
        "sgd",
        "rmsprop",
        "adagrad",
        "adam",
    ]
    for make in studies.BLOBS_STUDIES.values():
        study = make()
        assert (study.epochs, study.batch_size, study.problem) == (200, 32, "blobs")


def test_numpy_values_are_stored_as_plain_json_numbers():
    import json

    s = Setting(
        "a",
        "sgd",
        np.float32(0.01),
        {"momentum": np.float32(0.9), "nesterov": True},
        plateau={"patience": np.int64(3), "min_delta": np.float32(0)},
    )
    study = Study("np", "t", (s,), epochs=np.int64(5), batch_size=np.int32(16))
    text = json.dumps(study.to_dict())  # the cache key and the metadata need plain JSON
    assert json.loads(text)["settings"][0]["plateau"]["patience"] == 3
    assert type(study.epochs) is int and type(study.batch_size) is int
    assert type(s.options["momentum"]) is float and s.options["momentum"] == pytest.approx(0.9)


def test_each_result_depends_on_its_own_code_only(tmp_path, monkeypatch):
    """Editing a suggestion rule or the finder changes the range tests' key, not the blobs
    studies'; editing the stacked engine changes the stacked studies' key only."""
    import shutil

    package = tmp_path / "lr_lessons"
    shutil.copytree(runner._PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_PACKAGE_DIR", package)
    before = {kind: cache.code_fingerprint(kind) for kind in ("stacked", "fit", "range_test")}

    def edited(name: str) -> dict[str, str]:
        path = package / name
        path.write_text(path.read_text() + "\n_EDITED = 1\n")
        return {kind: cache.code_fingerprint(kind) for kind in before}

    after_rule = edited("tools/range_test/rules.py")
    assert after_rule["range_test"] != before["range_test"]
    assert after_rule["stacked"] == before["stacked"] and after_rule["fit"] == before["fit"]
    after_finder = edited("tools/range_test/finder.py")
    assert after_finder["range_test"] != after_rule["range_test"]
    assert after_finder["stacked"] == before["stacked"]
    stacked = next(
        name
        for name in ("lab/engines/stacked.py", "lab/engines/stacked/__init__.py")
        if (package / name).exists()
    )
    after_engine = edited(stacked)
    assert after_engine["stacked"] != before["stacked"]
    assert after_engine["range_test"] == after_finder["range_test"]
    after_data = edited("lab/data.py")
    assert all(after_data[k] != after_engine[k] for k in before)


def test_docstrings_and_comments_keep_cached_results(tmp_path, monkeypatch):
    """Documenting or reformatting the training code keeps the key; changing code does not."""
    import shutil

    package = tmp_path / "lr_lessons"
    shutil.copytree(runner._PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_PACKAGE_DIR", package)
    before = cache.code_fingerprint("stacked")
    path = package / "lab" / "engines" / "stacked.py"
    if not path.exists():  # the engine as a package
        path = package / "lab" / "engines" / "stacked" / "__init__.py"
    source = path.read_text()
    documented = source.replace('"""', '"""Edited. ', 1) + "\n# a comment\n\n"
    documented += '_NAMED = 1\n"""A docstring under a variable."""\n'
    path.write_text(documented)
    named = cache.code_fingerprint("stacked")
    assert named != before  # the new variable is code
    path.write_text(documented.replace("under a variable", "edited under a variable"))
    assert cache.code_fingerprint("stacked") == named  # its docstring is not
    path.write_text(source.replace('"""', '"""Edited. ', 1) + "\n# a comment\n\n")
    assert cache.code_fingerprint("stacked") == before
    path.write_text(documented.replace("def ", "def _unused():\n    return 0\n\n\ndef ", 1))
    assert cache.code_fingerprint("stacked") != before
