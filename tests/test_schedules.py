"""Cyclical and one-cycle schedules: corners, Smith's formulas, tensors, serialization, errors."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from lr_lessons.lab.studies import Setting
from lr_lessons.tools.schedules import CyclicalLearningRate, OneCycle, rates


def smith_clr(iteration: int, base: float, top: float, step: float, mode: str, gamma=1.0):
    """Smith (2015), section 3.1, as printed (float64)."""
    cycle = math.floor(1 + iteration / (2 * step))
    x = abs(iteration / step - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**iteration}
    return base + (top - base) * max(0.0, 1 - x) * scale[mode]


def one_cycle_formula(s: int, base, top, total, annihilation, final):
    cycle = round(total * (1 - annihilation))
    half = cycle / 2
    if s <= half:
        return base + (top - base) * s / half
    if s <= cycle:
        return top - (top - base) * (s - half) / half
    if s >= total:
        return final
    return base + (final - base) * (s - cycle) / (total - cycle)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclical_matches_smiths_formula(mode):
    base, top, step, gamma = 0.0123, 0.31, 37, 0.9993
    got = rates(CyclicalLearningRate(base, top, step, mode, gamma=gamma), 400)
    want = [smith_clr(i, base, top, step, mode, gamma) for i in range(400)]
    # float32 arithmetic: within a millionth of the top rate
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * top)


def test_triangular_is_exact_at_every_corner():
    base, top, step = 0.025, 0.1, 8
    values = rates(CyclicalLearningRate(base, top, step), 8 * step + 1)
    corners = values[::step]
    expected = np.array([base, top] * 4 + [base], dtype="float32").astype("float64")
    np.testing.assert_array_equal(corners, expected)


def test_triangular2_halves_each_cycle_exactly():
    base, top, step = 0.01, 0.09, 10
    values = rates(CyclicalLearningRate(base, top, step, "triangular2"), 61)
    peaks = values[step :: 2 * step]  # steps 10, 30, 50
    np.testing.assert_allclose(peaks - base, [(top - base) / 2**k for k in range(3)], rtol=1e-6)
    np.testing.assert_array_equal(values[:: 2 * step], np.float32(base))


def test_one_cycle_corners_and_formula():
    base, top, total = 0.02, 0.2, 100
    schedule = OneCycle(base, top, total, annihilation=0.1)
    values = rates(schedule, 120)
    assert values[0] == np.float32(base)
    assert values[45] == np.float32(top)
    assert values[90] == np.float32(base)
    assert values[100] == np.float32(base / 100)
    assert values[119] == np.float32(base / 100)
    want = [one_cycle_formula(s, base, top, total, 0.1, base / 100) for s in range(120)]
    np.testing.assert_allclose(values, want, rtol=1e-6, atol=1e-6 * top)


def test_one_cycle_without_annihilation_ends_at_base():
    values = rates(OneCycle(0.1, 0.4, 20, annihilation=0.0), 25)
    assert values[10] == np.float32(0.4)
    np.testing.assert_array_equal(values[20:], np.float32(0.1))


@pytest.mark.parametrize(
    "schedule",
    [CyclicalLearningRate(0.01, 0.1, 7, "exp_range", gamma=0.99), OneCycle(0.01, 0.1, 50)],
    ids=["clr", "one_cycle"],
)
def test_symbolic_int64_steps_inside_tf_function(schedule):
    @tf.function
    def on_tensor(step):
        return schedule(step)

    eager = rates(schedule, 60)
    traced = [float(on_tensor(tf.constant(s, tf.int64))) for s in range(60)]
    np.testing.assert_allclose(traced, eager, rtol=1e-6, atol=1e-6 * schedule.max_lr)
    assert traced[0] == np.float32(schedule.base_lr)  # a corner stays exact


@pytest.mark.parametrize("optimizer", [keras.optimizers.SGD, keras.optimizers.Adam])
def test_any_optimizer_follows_the_schedule(optimizer):
    schedule = CyclicalLearningRate(0.001, 0.01, 3)
    opt = optimizer(learning_rate=schedule)
    w = keras.Variable([1.0, -2.0])
    seen = []
    for _ in range(8):
        seen.append(float(opt.learning_rate))  # the rate of the coming update
        opt.apply_gradients([(keras.ops.ones_like(w), w)])
    np.testing.assert_array_equal(seen, rates(schedule, 8))


@pytest.mark.parametrize(
    "schedule",
    [CyclicalLearningRate(0.02, 0.3, 12.5, "triangular2"), OneCycle(0.01, 0.2, 77, 0.2, 1e-5)],
    ids=["clr", "one_cycle"],
)
def test_serialize_round_trip_and_setting(schedule):
    config = keras.optimizers.schedules.serialize(schedule)
    assert config["registered_name"].startswith("lr_lessons>")
    again = keras.optimizers.schedules.deserialize(config)
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    np.testing.assert_array_equal(rates(again, 90), rates(schedule, 90))
    from_setting = Setting("x", "sgd", schedule=schedule).make_schedule()
    np.testing.assert_array_equal(rates(from_setting, 90), rates(schedule, 90))


def test_a_compiled_model_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    schedule = OneCycle(0.01, 0.1, 40)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    x, y = np.random.default_rng(0).normal(size=(64, 2)), np.zeros((64, 3))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, OneCycle)
    assert restored.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations) == 4
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(schedule(4)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(base_lr=0.0, max_lr=0.1, step_size=4), "base_lr"),
        (dict(base_lr=-0.1, max_lr=0.1, step_size=4), "base_lr"),
        (dict(base_lr=0.01, max_lr=float("nan"), step_size=4), "max_lr"),
        (dict(base_lr=0.1, max_lr=0.1, step_size=4), "below max_lr"),
        (dict(base_lr=0.2, max_lr=0.1, step_size=4), "below max_lr"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=0.5), "step_size"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=0), "step_size"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=4, mode="cosine"), "mode"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=4, mode="exp_range", gamma=0), "gamma"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=4, mode="exp_range", gamma=1.5), "gamma"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=4, gamma="abc"), "gamma .*got 'abc'"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=4, gamma=None), "gamma .*got None"),
        (dict(base_lr=0.01, max_lr=0.1, step_size=4, mode="exp_range", gamma="x"), "gamma"),
    ],
)
def test_cyclical_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CyclicalLearningRate(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(base_lr=0, max_lr=0.1, total_steps=100), "base_lr"),
        (dict(base_lr=0.1, max_lr=0.05, total_steps=100), "below max_lr"),
        (dict(base_lr=0.01, max_lr=0.1, total_steps=1), "at least 2"),
        (dict(base_lr=0.01, max_lr=0.1, total_steps=10.5), "total_steps"),
        (dict(base_lr=0.01, max_lr=0.1, total_steps=100, annihilation=1.0), "annihilation"),
        (dict(base_lr=0.01, max_lr=0.1, total_steps=100, final_lr=0.05), "final_lr"),
        (dict(base_lr=0.01, max_lr=0.1, total_steps=100, final_lr=-1.0), "final_lr"),
    ],
)
def test_one_cycle_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OneCycle(**kwargs)


def test_rates_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        rates(OneCycle(0.01, 0.1, 10), 0)


def test_stacked_engine_trains_with_the_schedule():
    """The runner's fast engine calls the schedule on its step tensor: the rate it records
    for each epoch is the schedule at that epoch's last update (16 updates per epoch)."""
    from lr_lessons.lab.runner import run_study
    from lr_lessons.lab.studies import Study

    schedule = CyclicalLearningRate(0.01, 0.2, 24, "triangular2")
    study = Study("test_clr_stacked", "t", (Setting("clr", "sgd", schedule=schedule),), epochs=4)
    results = run_study(study, [0], "stacked", cache=False, progress=False)
    expected = rates(schedule, 64)[15::16]
    np.testing.assert_allclose(results.get("learning_rate", "clr")[0], expected, rtol=1e-6)
    assert np.all(np.isfinite(results.get("loss", "clr")))
