"""The study runner: seeded reproducibility, the on-disk cache, atomic writes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons import runner, studies
from lr_lessons.results import METRICS, CorruptResults, Results
from lr_lessons.studies import Setting, Study


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


def test_stale_cache_is_recomputed(output_dir):
    runner.run_study(tiny_study(), seeds=[0], engine="fit", progress=False)
    other = runner.run_study(tiny_study(epochs=2), seeds=[0], engine="fit", progress=False)
    assert other.epochs == 2
    assert Results.load(runner.results_path(tiny_study())).epochs == 2


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
    ],
)
def test_bad_study_input_is_refused_with_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "seeds, match", [([], "seeds is empty"), ([0, -1], "got -1"), ([1, 1], "repeat")]
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
