"""Range tests as data (lr_lessons.lab.range_tests): a spec trained, cached and protected by
the one cache exactly as a study is."""

from __future__ import annotations

import errno
from pathlib import Path

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.lab import cache, models, range_tests
from lr_lessons.lab.data import Dataset, load_blobs
from lr_lessons.lab.range_tests import RangeTestSpec, run_range_test
from lr_lessons.tools.range_test import LRFinder, RangeTestRepeats, range_test_repeats

RAMP = dict(optimizer="sgd", loss="categorical_crossentropy", problem="blobs", batch_size=32)
RAMP.update(start_lr=1e-4, end_lr=10.0, steps=60)


def spec(name: str = "topic/blobs_rt", model=models.blobs_mlp, **changes) -> RangeTestSpec:
    return RangeTestSpec(name, model, **{**RAMP, "seeds": (0,), **changes})


def narrow_mlp() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(2,)),
            keras.layers.Dense(50, activation="relu", kernel_initializer="he_uniform"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def narrower_mlp() -> keras.Model:  # one layer edited
    return keras.Sequential(
        [
            keras.Input(shape=(2,)),
            keras.layers.Dense(40, activation="relu", kernel_initializer="he_uniform"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.fixture
def counted(monkeypatch):
    """Counts the range tests actually trained."""
    calls = []
    real = range_tests.train_range_test

    def train(s, data):
        calls.append(s.name)
        return real(s, data)

    monkeypatch.setattr(range_tests, "train_range_test", train)
    return calls


def test_the_spec_reproduces_range_test_repeats_bit_for_bit(output_dir):
    blobs = load_blobs()

    def build(seed):
        model = models.blobs_mlp()
        model.compile(
            optimizer=keras.optimizers.SGD(), loss="categorical_crossentropy", metrics=["accuracy"]
        )
        return model

    kwargs = {k: RAMP[k] for k in ("batch_size", "start_lr", "end_lr", "steps")}
    by_hand = range_test_repeats(build, blobs.x_train, blobs.y_train, seeds=[0, 1], **kwargs)
    by_spec = run_range_test(spec(seeds=(0, 1)), blobs)
    assert by_spec.seeds == [0, 1]
    for a, b in zip(by_hand.runs, by_spec.runs):
        np.testing.assert_array_equal(a.lrs, b.lrs)
        np.testing.assert_array_equal(a.losses, b.losses)


def test_a_callback_spec_is_lrfinder_inside_fit_and_checks_the_restore(output_dir):
    blobs = load_blobs()
    keras.utils.set_random_seed(3)
    model = models.blobs_mlp()
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    finder = LRFinder(start_lr=1e-5, end_lr=1.0, beta=0.9)
    model.fit(blobs.x_train, blobs.y_train, batch_size=32, epochs=2, callbacks=[finder], verbose=0)
    changes = dict(optimizer="adam", start_lr=1e-5, end_lr=1.0, beta=0.9, metrics=())
    run = run_range_test(spec(callback=True, epochs=2, seeds=(3,), **changes), blobs).runs[0]
    np.testing.assert_array_equal(run.losses, finder.result.losses)
    assert run.meta["restored_bitwise"] is True


def test_second_run_reads_the_cache_and_edits_make_it_stale(output_dir, counted, monkeypatch):
    blobs = load_blobs()
    first = run_range_test(spec(model=narrow_mlp), blobs)
    again = run_range_test(spec(model=narrow_mlp), blobs)
    assert counted == ["topic/blobs_rt"]
    np.testing.assert_array_equal(first.runs[0].losses, again.runs[0].losses)
    assert cache.EVENTS[-1]["how"] == "read from cache"
    # editing a layer of the model's own code makes the saved result stale: the same
    # definition (the builder keeps its name), made again and saved in place
    monkeypatch.setattr(narrower_mlp, "__qualname__", "narrow_mlp")
    edited = run_range_test(spec(model=narrower_mlp), blobs)
    assert len(counted) == 2 and edited.meta["key"] != first.meta["key"]
    assert [p.name for p in (output_dir / "results" / "topic").iterdir()] == ["blobs_rt.npz"]
    # the same file name holding other contents (labels shuffled) is another data set
    rng = np.random.default_rng(0)
    shuffled = Dataset(
        blobs.x_train, rng.permutation(blobs.y_train), blobs.x_test, blobs.y_test, blobs.source
    )
    with pytest.warns(UserWarning, match="another definition"):
        run_range_test(spec(model=narrower_mlp), shuffled)
    assert len(counted) == 3


def test_another_definition_never_overwrites_a_saved_result(output_dir, counted):
    blobs = load_blobs()
    run_range_test(spec(), blobs)
    path = output_dir / "results" / "topic" / "blobs_rt.npz"
    before = path.read_bytes()
    with pytest.warns(UserWarning, match=r"holds another definition of range test.*blobs_rt-"):
        one_more = run_range_test(spec(seeds=(0, 1)), blobs)
    assert path.read_bytes() == before
    side = sorted(p.name for p in path.parent.iterdir())
    assert len(side) == 2 and side[0].startswith("blobs_rt-") and side[1] == "blobs_rt.npz"
    assert RangeTestRepeats.load(path.parent / side[0]).seeds == one_more.seeds == [0, 1]
    # both read back from their own files
    run_range_test(spec(), blobs)
    run_range_test(spec(seeds=(0, 1)), blobs)
    assert len(counted) == 2


def test_unwritable_results_are_refused_before_training(output_dir, counted):
    (output_dir / "results").write_text("a file where the results folder should be")
    with pytest.raises(InputError, match="cannot write results to .*LR_LESSONS_OUTPUT"):
        run_range_test(spec(), load_blobs())
    assert counted == []


def test_a_full_disk_keeps_the_result_in_a_fallback_file(output_dir, monkeypatch, tmp_path):
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(cache, "fallback_dir", lambda: fallback)
    real_save = RangeTestRepeats.save
    target = output_dir / "results" / "topic" / "blobs_rt.npz"

    def save(self, path):
        if Path(path) == target:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(self, path)

    monkeypatch.setattr(RangeTestRepeats, "save", save)
    with pytest.warns(UserWarning, match="No space left.*saved them to .*fallback"):
        result = run_range_test(spec(), load_blobs())
    kept = RangeTestRepeats.load(fallback / "topic" / "blobs_rt.npz")
    np.testing.assert_array_equal(kept.runs[0].losses, result.runs[0].losses)
    assert not target.exists()


@pytest.mark.parametrize("garbage", [b"not an npz", b"PK\x03\x04 truncated zip"])
def test_a_corrupt_file_is_recomputed_with_a_warning(output_dir, counted, garbage):
    path = output_dir / "results" / "topic" / "blobs_rt.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    with pytest.warns(UserWarning, match="cannot read .*blobs_rt.npz.*recomputing"):
        result = run_range_test(spec(), load_blobs())
    assert counted == ["topic/blobs_rt"]
    assert RangeTestRepeats.load(path).meta["key"] == result.meta["key"]


def test_a_study_file_under_the_name_is_not_read_as_a_range_test(output_dir, counted):
    from lr_lessons.lab.results import Results

    path = output_dir / "results" / "topic" / "blobs_rt.npz"
    Results("s", ["a"], [0], {"loss": np.zeros((1, 1, 2))}, {"key": "x"}).save(path)
    with pytest.warns(UserWarning, match="recomputing"):
        run_range_test(spec(), load_blobs())
    assert counted == ["topic/blobs_rt"]


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"name": "../../escaped"}, "name"),
        ({"name": "/tmp/x"}, "relative name"),
        ({"model": models.blobs_mlp()}, "model must be a function that builds"),
        ({"optimizer": "adamw2"}, "unknown optimizer"),
        ({"options": {"momentum": 1.5}}, "momentum"),
        ({"batch_size": 0}, "batch_size must be a positive whole number"),
        ({"start_lr": -1.0}, "start_lr must be a positive number"),
        ({"end_lr": 1e-5}, "end_lr must be a number > 0.0001"),
        ({"steps": 2.5}, "steps must be a positive whole number"),
        ({"mode": "cosine"}, "unknown mode"),
        ({"beta": 1.0}, "beta must be a number in"),
        ({"seeds": (0, 0)}, "seeds must be distinct"),
        ({"callback": True}, "callback=True runs model.fit: give its epochs"),
        ({"validate_every": 4}, "both validate_every and validation_images"),
    ],
)
def test_bad_specs_are_refused_before_any_work(output_dir, changes, match):
    with pytest.raises(InputError, match=match):
        spec(**changes)
    assert not (output_dir / "results").exists()
    assert not (output_dir.parent / "escaped.npz").exists()
