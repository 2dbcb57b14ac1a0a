"""The range test's defects of issue 24 (items 1-8) and its bad inputs of issue 23.

Each test failed on commit 1b333ad. The backend-dependent items (the seed's first call,
the global random state, weights) are also checked under JAX and PyTorch by
tests/range_test_backend_check.py.
"""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.tools.range_test import (
    LRFinder,
    RangeTestFileError,
    RangeTestRepeats,
    RangeTestResult,
    range_test,
    range_test_repeats,
    rules,
)

ROOT = Path(__file__).resolve().parents[1]
N, D, C = 512, 4, 3


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, C, N)
    x = (rng.normal(size=(N, D)) + 2.0 * np.eye(C, D)[y]).astype("float32")
    return x, y


def classifier(optimizer="sgd", seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((D,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(C)]
    )
    model.compile(
        optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


class Subclassed(keras.Model):
    """A subclassed classifier: no `model.outputs`."""

    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.out = keras.layers.Dense(C)

    def call(self, x):
        return self.out(self.hidden(x))


def flat_start_curve() -> tuple[np.ndarray, np.ndarray]:
    """A smoothed curve flat at 2.326 until about 1e-4, falling to 0.33 near 1e-2, then
    exploding: 300 points over 8 decades."""
    lrs = np.geomspace(1e-7, 10, 300)
    x = np.log10(lrs)
    return lrs, 2.326 - (1 + np.tanh(5 * (x + 3))) + np.exp(4 * (x + 1))


# --- 1. a suggestion on the flat start ----------------------------------------------------


def test_slide_on_the_flat_start_is_marked_unreliable():
    lrs, losses = flat_start_curve()
    slide = rules.suggest("slide", lrs, losses)
    # the slide rule lands where the loss has not started to fall ...
    start, lowest = losses[30], losses.min()
    assert start - slide.loss < 0.05 * (start - lowest)
    assert not slide.reliable and slide.reason.startswith(rules.BEFORE_FALL)
    # ... while the steepest point, in the fall, stays reliable
    steepest = rules.suggest("steepest", lrs, losses)
    assert steepest.reliable and steepest.loss < start - 0.25 * (start - lowest)


# --- 2. NaN at the first update -------------------------------------------------------------


def test_a_nan_loss_at_the_first_update_is_reported_as_such(blobs):
    x, y = blobs
    x = x.copy()
    x[:4] = np.nan  # the first batch (no shuffling)
    with pytest.raises(InputError, match="NaN or infinite at the first update"):
        range_test(classifier(), x, y, steps=200, shuffle=False)
    # the callback form says the same through its stop reason
    finder = LRFinder(steps=200)
    classifier().fit(x, y, epochs=20, shuffle=False, callbacks=[finder], verbose=0)
    assert len(finder.result) == 0 and finder.result.stop_reason == "non-finite loss"


# --- 3. short ramps follow the smoothing's span -----------------------------------------


def test_the_smoothing_span_is_set_by_beta():
    assert rules.smoothing_span(0.98) == 50
    assert rules.smoothing_span(0.9) == 10
    assert rules.smoothing_span(0.0) == 1


@pytest.mark.parametrize("steps", [10, 30])
def test_a_short_ramp_warns_naming_beta_and_its_rules_are_unreliable(blobs, steps):
    x, y = blobs
    with pytest.warns(UserWarning, match=r"span of 50 points \(beta=0.98\)"):
        r = range_test(classifier(), x, y, steps=steps, diverge=None)
    assert len(r) == steps
    for s in r.suggestions().values():
        assert not s.reliable and s.reason.startswith(rules.TOO_SHORT), s
        assert "window" not in s.reason


def test_a_curve_of_two_spans_is_long_enough():
    lrs, losses = flat_start_curve()
    keep = slice(0, 300, 3)  # 100 points
    r = RangeTestResult(lrs[keep], losses[keep], "end_lr reached", {"beta": 0.98})
    assert not any(s.reason.startswith(rules.TOO_SHORT) for s in r.suggestions().values())
    short = RangeTestResult(lrs[keep][:99], losses[keep][:99], "end_lr reached", {"beta": 0.98})
    assert all(s.reason.startswith(rules.TOO_SHORT) for s in short.suggestions().values())
    # the same 99 points smoothed less (span 10) are long enough
    light = RangeTestResult(lrs[keep][:99], losses[keep][:99], "end_lr reached", {"beta": 0.9})
    assert not any(s.reason.startswith(rules.TOO_SHORT) for s in light.suggestions().values())


# --- 4 and 5. the seed: repeatable, and the global random state put back ----------------


def test_seed_repeats_the_first_call_and_restores_the_global_random_state(blobs):
    x, y = blobs
    model = classifier()
    first = range_test(model, x, y, steps=120, seed=3)
    second = range_test(model, x, y, steps=120, seed=3)
    np.testing.assert_array_equal(first.losses, second.losses)

    def draws():
        return (random.random(), float(np.random.rand()), float(keras.random.uniform(())))

    keras.utils.set_random_seed(11)
    untouched = draws()
    keras.utils.set_random_seed(11)
    range_test(model, x, y, steps=120, seed=3)
    assert draws() == untouched


# --- 6. a subclassed model keeps its chance level ---------------------------------------


def test_a_subclassed_model_gets_its_chance_level_from_the_first_batch(blobs):
    x, y = blobs
    keras.utils.set_random_seed(0)
    model = Subclassed()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model(x[:1])
    assert not getattr(model, "outputs", None)
    r = range_test(model, x, y, steps=120)
    assert r.settings["chance_loss"] == pytest.approx(math.log(C))
    # the callback form cannot see a batch: it says that the stop is off
    finder = LRFinder(steps=100)
    with pytest.warns(UserWarning, match="chance-level stop .* off"):
        model.fit(x, y, epochs=7, callbacks=[finder], verbose=0)
    assert finder.result.settings["chance_loss"] is None


# --- 7. sample and class weights ----------------------------------------------------------


def test_sample_and_class_weights_give_the_callbacks_curve(blobs):
    x, y = blobs
    w = np.linspace(0.2, 3.0, N).astype("float32")
    cw = {0: 0.5, 1: 1.0, 2: 3.0}
    for kwargs in (dict(sample_weight=w), dict(class_weight=cw)):
        finder = LRFinder(1e-4, 10.0, steps=100)
        classifier().fit(x, y, batch_size=32, epochs=7, shuffle=False, callbacks=[finder],
                         verbose=0, **kwargs)  # fmt: skip
        r = range_test(classifier(), x, y, batch_size=32, start_lr=1e-4, end_lr=10.0,
                       steps=100, shuffle=False, **kwargs)  # fmt: skip
        np.testing.assert_array_equal(r.losses, finder.result.losses)
    plain = range_test(classifier(), x, y, batch_size=32, start_lr=1e-4, end_lr=10.0,
                       steps=100, shuffle=False)  # fmt: skip
    assert not np.array_equal(plain.losses, r.losses)
    with pytest.raises(InputError, match="sample_weight has 3 weights for 512 samples"):
        range_test(classifier(), x, y, sample_weight=w[:3])


# --- 8. plot() returns the figure and saves it; the README's snippet runs as printed ----


def test_plot_returns_the_figure_and_saves_it(tmp_path):
    lrs, losses = flat_start_curve()
    r = RangeTestResult(lrs, losses, "end_lr reached", {"beta": 0.98})
    fig = r.plot(path=tmp_path / "curve.png")
    assert fig.axes[0].get_xscale() == "log"
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rep = RangeTestRepeats([0, 1], [r, r])
    assert rep.plot(path=tmp_path / "rep.png") is not None and (tmp_path / "rep.png").exists()


def readme_snippet() -> str:
    """The README's range-test code blocks, in order, exactly as printed."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use the range test in your project", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 2
    return "\n".join(blocks)


def test_the_readme_snippet_runs_offline_as_printed(tmp_path, mnist_file):
    code = readme_snippet()
    assert "keras.datasets" not in code
    env = {
        **os.environ,
        "LR_LESSONS_MNIST": str(mnist_file),
        "KERAS_HOME": str(tmp_path / "no_keras_cache"),  # Keras' own MNIST is not there
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "valley" in proc.stdout
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs, "the snippet saves its plot"
    for name in pngs:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


# --- issue 23: bad input named before any work ------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(gradient_accumulation_steps=10**9), "gradient_accumulation_steps=1000000000"),
        (dict(loss_scale_factor=0.0), "loss_scale_factor"),
    ],
)
def test_optimizer_options_that_defeat_the_test_are_refused(blobs, options, message):
    x, y = blobs
    model = classifier(keras.optimizers.SGD(0.01, **options))
    before = [v.numpy().copy() for v in model.variables]
    with pytest.raises(InputError, match=message) as err:
        range_test(model, x, y, steps=100)
    assert "\n" not in str(err.value)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables))


def test_absurd_steps_are_refused_before_the_generator_is_read(blobs):
    x, y = blobs
    pulled = []

    def batches():
        while True:
            pulled.append(1)
            yield x[:32], y[:32]

    with pytest.raises(InputError, match="steps=1000000000 is absurd"):
        range_test(classifier(), batches(), steps=10**9)
    assert pulled == []


@pytest.mark.parametrize("bad", [C, -1])
def test_labels_outside_the_models_classes_are_refused_before_training(blobs, bad):
    x, y = blobs
    y = y.copy()
    y[7] = bad
    with pytest.raises(InputError, match=r"not class numbers 0\.\.2 .* 3 outputs") as err:
        range_test(classifier(), x, y, steps=100)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="the validation labels"):
        range_test(classifier(), x, blobs[1], steps=100, validation_data=(x, y))


def test_repeats_refuse_a_model_instead_of_a_builder(blobs):
    x, y = blobs
    with pytest.raises(InputError, match="build must be a callable that returns a compiled model"):
        range_test_repeats(classifier(), x, y, steps=100)
    with pytest.raises(InputError, match=r"build\(0\) returned a str"):
        range_test_repeats(lambda seed: "model", x, y, steps=100)


def test_loading_a_truncated_or_foreign_file_names_it(tmp_path):
    lrs, losses = flat_start_curve()
    good = RangeTestResult(lrs, losses, "end_lr reached", {"beta": 0.98}).save(tmp_path / "r.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:200])
    study = tmp_path / "study.npz"
    np.savez(study, loss=np.zeros(3), settings=np.array("{}"))
    repeats = RangeTestRepeats([0], [RangeTestResult.load(good)]).save(tmp_path / "rep.npz")
    cases = [
        (RangeTestResult, cut),
        (RangeTestResult, study),
        (RangeTestResult, repeats),
        (RangeTestRepeats, good),
        (RangeTestResult, tmp_path / "missing.npz"),
    ]
    for cls, path in cases:
        with pytest.raises(RangeTestFileError, match=re.escape(repr(str(path)))) as err:
            cls.load(path)
        assert isinstance(err.value, InputError) and "\n" not in str(err.value)


def test_no_warning_for_a_ramp_of_a_few_hundred_steps(blobs):
    x, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        r = range_test(classifier(), x, y, steps=200)
    assert len(r) > 2 * rules.smoothing_span(0.98)
