"""Chapter 9's table helpers and claims rows, on small hand-made results."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab import landscape
from lr_lessons.lab.results import Results
from lr_lessons.views import landscape_claims as lc
from lr_lessons.views import landscape_tables as tables
from lr_lessons.views import plateau_claims
from lr_lessons.views.verdicts import Verdict

EPOCHS = 20


def passed(verdict: Verdict) -> tuple:
    """A verdict decided on seeds as (passed, total)."""
    return verdict.passed, verdict.total


def part(verdict: Verdict, *names: str) -> Verdict:
    """A part (or a part of a part) of a composite verdict."""
    for name in names:
        verdict = dict(verdict.parts)[name]
    return verdict


def holds(verdict: Verdict) -> bool:
    """Every part, at every level, passes on every seed."""
    if verdict.parts:
        return all(holds(v) for _, v in verdict.parts)
    return verdict.passed == verdict.total


def results_of(study, values) -> Results:
    """Results of `study` whose metrics come from `values(setting, metric)`: (seeds, epochs)."""
    metrics = {
        k: np.stack([values(s, k) for s in study.settings])
        for k in ("val_accuracy", "loss", "learning_rate")
    }
    return Results(study.name, [s.name for s in study.settings], [0, 1], metrics, {})


def test_rate_map_lays_out_rows_rates_and_seeds():
    grid = landscape.momentum_grid(rates=(0.01, 0.1, 1.0), momenta=(0.0, 0.9), epochs=EPOCHS)

    def values(s, metric):
        if metric == "loss":  # the largest rate at momentum 0.9 diverges in seed 1
            loss = np.tile(np.linspace(1, 0.1, EPOCHS), (2, 1))
            if s.learning_rate == 1.0 and s.options["momentum"] == 0.9:
                loss[1, 5:] = np.nan
            return loss
        acc = 0.5 + s.learning_rate / 4 + s.options["momentum"] / 10
        return np.tile(np.linspace(0.3, acc, EPOCHS), (2, 1))

    m = tables.rate_map(grid, results_of(grid.study, values))
    assert m.accuracy.shape == (2, 3, 2) and m.rows == ("momentum=0", "momentum=0.9")
    expected = [0.5 + r / 4 for r in (0.01, 0.1, 1.0)]
    assert np.allclose(m.accuracy[0, :, 0], expected, atol=0.02)  # the last epochs' mean
    assert m.diverged.sum() == 1 and m.diverged[1, 2, 1]
    assert np.isnan(m.epochs_to_target[0, 0, 0]) and m.epochs_to_target[1, 2, 0] <= EPOCHS
    assert m.best_rate().shape == (2, 2) and np.all(m.best_rate() == 1.0)
    assert np.isnan(m.loss[1, 2, 1]) and np.nanmax(m.loss) < 0.2


def test_by_momentum_reads_the_settings_data_not_their_names():
    study = landscape.momentum_decay_study(momenta=(0.0, 0.9), decays=(0.1, 1e-4))

    def values(s, metric):
        return np.full((2, EPOCHS), tables.decay_rate(s) + s.options["momentum"])

    runs = tables.by_momentum(
        results_of(study, values), study, "loss", (0.9, 0.0), (1e-4, 0.1), tables.decay_rate
    )
    assert runs.shape == (2, 2, 2, EPOCHS)
    assert np.allclose(runs[:, :, 0, 0], [[0.9001, 1.0], [0.0001, 0.1]])
    rows = tables.momentum_rows(
        results_of(study, values), study, (0.9, 0.0), (1e-4, 0.1), tables.decay_rate
    )
    assert rows.columns == (1e-4, 0.1) and rows.accuracy.shape == (2, 2, 2)
    assert np.allclose(rows.loss[:, :, 1], runs[:, :, 1, 0])
    assert rows.learning_rate.shape == (2, 2, 2, EPOCHS)
    assert not rows.diverged.any()  # a constant loss did not get worse
    constant = np.array([[1.0, 1.0], [2.0, 2.0]])
    cells = tables.next_to_constant(constant, runs[..., 0])
    assert np.allclose(cells[:, :, 0], [[1.0, 1.0, 0.9001], [2.0, 0.1, 0.0001]])


def test_by_batch_size_takes_batch_32_from_the_given_rows():
    grid = landscape.batch_grid(8, epochs=EPOCHS)

    def values(s, metric):
        return np.full((2, EPOCHS), 0.7 if s.optimizer == "sgd" else 0.6)

    at_32 = {"SGD": np.zeros((18, 2)), "Adam": np.ones((18, 2))}
    acc = tables.by_batch_size((8, 32), {8: results_of(grid.study, values)}, at_32)
    assert acc["SGD"].shape == (2, 18, 2)
    assert np.all(acc["SGD"][0] == 0.7) and np.all(acc["Adam"][0] == 0.6)
    assert np.all(acc["SGD"][1] == 0) and np.all(acc["Adam"][1] == 1)


def peaked(best_rates: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Accuracy curves (rows, rates, seeds) peaking at `best_rates` (rows, seeds)."""
    logr = np.log10(rates)[None, :, None]
    return 0.9 - 0.1 * (logr - np.log10(best_rates)[:, None, :]) ** 2


def test_batch_scaling_finds_a_linear_rise():
    rates = np.array(landscape.RATES)
    batches = (8, 16, 32, 64, 128)
    best = np.array([[b / 3200, b / 3000] for b in batches])
    scaling = tables.batch_scaling(batches, rates, {"SGD": peaked(best, rates)})
    assert np.allclose(scaling.best["SGD"], best, rtol=0.15)
    assert np.all(np.abs(scaling.slope("SGD") - 1) < 0.15)
    assert scaling.region["SGD"].width.shape == (5,)


def test_panels_and_lines():
    acc = np.array([[[0.8, 0.9], [0.5, 0.51]]])
    panel = tables.accuracy_panel(acc, np.zeros_like(acc, bool), best=[0.1])
    assert np.allclose(panel["values"], [[0.85, 0.505]])
    assert panel["noisy"].tolist() == [[True, False]] and panel["best"] == [0.1]
    assert "diverged" not in tables.accuracy_panel(acc)
    lines = tables.effective_rate_lines((0.0, 0.9))
    assert np.allclose(lines["factors"], [1, 0.1])
    assert lines["label"].endswith("= 0.001, 0.01, 0.1, 1 (left to right)")
    assert np.allclose(
        tables.scaling_lines("Adam", (8, 32, 128), 1e-3, 0.5)["factors"], [0.5, 1, 2]
    )
    epochs = tables.epochs_panel(np.array([[[3, np.nan, np.nan]]]), np.zeros((1, 1, 3), bool), 200)
    assert np.isnan(epochs["values"][0, 0])


def test_chapters_3_4_panels_put_the_constant_rate_first():
    seeds, mus, rates = 2, 2, np.array([0.001, 0.01, 0.1])
    shape = (mus, len(rates), seeds)
    m = tables.RateMap(
        rates, ("0", "0.9"), np.full(shape, 0.5), np.zeros(shape, bool), np.zeros(shape),
        np.full(shape, 0.3),
    )  # fmt: skip
    cols = np.arange(2, dtype=float)[None, :, None] * np.ones((mus, 2, seeds))
    decay = tables.MomentumRows((1e-4, 0.1), 0.6 + 0.1 * cols, cols > 0, cols, None)
    plateau = tables.MomentumRows((2, 5), cols, np.zeros_like(cols, bool), 0.1 + cols, None)
    acc, loss = tables.chapters_3_4_panels(m, decay, plateau, 1).items()
    assert acc[0].endswith("decays of a 0.01 start rate")
    assert acc[1]["columns"] == ["none", "0.1", "0.0001"]
    assert np.allclose(acc[1]["values"], [[0.5, 0.7, 0.6]] * mus)  # strongest decay first
    assert acc[1]["diverged"].tolist() == [[False, True, False]] * mus
    assert loss[0].endswith("ReduceLROnPlateau at rate 0.01")
    assert loss[1]["columns"] == ["none", "5", "2"]
    assert np.allclose(loss[1]["values"], [[0.3, 1.1, 0.1]] * mus)


def test_training_speed_counts_runs_over_the_stored_time():
    r = Results(
        "a",
        ["x", "y"],
        [0, 1, 2],
        {"loss": np.zeros((2, 3, 4))},
        {"wall_time_s": 3.0, "engine": "stacked"},
    )
    assert tables.training_speed([r, r]) == (
        "12 runs of 4 epochs in 2 studies: 6 s of training, 2.0 runs per second (engine: stacked)"
    )
    assert tables.peak_memory_mb() > 1


def test_effective_rate_claim():
    mus = (0.0, 0.5, 0.9, 0.99)
    along = np.array([[0.1 * (1 - m)] * 3 for m in mus])
    assert passed(lc.effective_rate(mus, along).verdict) == (3, 3)
    against = np.array([[0.01 / (1 - m)] * 3 for m in mus])  # slope -1
    assert passed(lc.effective_rate(mus, against).verdict) == (0, 3)
    half = np.array([[0.1 * (1 - m) ** 0.5] * 3 for m in mus])
    assert passed(lc.effective_rate(mus, half).verdict) == (0, 3)


def test_largest_learning_rate_claim():
    rates = np.array([0.01, 0.1, 1.0])
    acc = np.zeros((2, 3, 2))
    acc[0, :, :] = 0.8  # momentum 0 learns up to 1
    acc[1, :2, :] = 0.8  # momentum 0.9 up to 0.1: slope 1
    row = lc.largest_learning_rate((0.0, 0.9), rates, acc)
    assert passed(row.verdict) == (2, 2) and "0.9: 0.1" in row.measured
    assert "it falls 10 [10, 10] times from momentum 0 to 0.9" in row.measured


def scaling_of(sgd: list[float], adam: list[float], knee: float = 100) -> tables.BatchScaling:
    fits = {
        k: [landscape.Hinge(s, 0.0, knee) for s in v] for k, v in (("SGD", sgd), ("Adam", adam))
    }
    best = {k: np.ones((3, len(v))) for k, v in fits.items()}
    return tables.BatchScaling(best, {}, {}, fits)


def test_batch_claims():
    batches = (8, 32, 500)
    assert holds(lc.linear_scaling(batches, scaling_of([1.0, 0.9], [0.5, 0.5])).verdict)
    split = lc.linear_scaling(batches, scaling_of([1.0, 0.5], [0.5, 0.5])).verdict
    assert passed(part(split, "slope 1 below the knee")) == (1, 2)
    no_knee = scaling_of([1.0, 1.0], [0.5, 0.5], knee=500)
    no_knee_verdict = lc.linear_scaling(batches, no_knee).verdict
    assert passed(part(no_knee_verdict, "a knee inside")) == (0, 2)
    assert passed(part(no_knee_verdict, "slope 1 below the knee")) == (2, 2)
    assert holds(lc.adam_scales_slower(batches, scaling_of([1.0, 1.0], [0.5, 0.6])).verdict)
    row = lc.adam_scales_slower(batches, scaling_of([1.0, 1.0], [1.0, 1.1]))
    assert passed(part(row.verdict, "below SGD's slope")) == (0, 2)


def test_adaptive_wider_claim():
    rates = np.array(landscape.RATES[:6])
    narrow = np.array([0.5, 0.6, 0.9, 0.6, 0.5, 0.4])[:, None].repeat(2, 1)
    wide = np.array([0.5, 0.89, 0.9, 0.895, 0.6, 0.5])[:, None].repeat(2, 1)
    curves = {"SGD": narrow, "Adam": wide}
    regions = {k: landscape.good_region(rates, v.T, 0.01) for k, v in curves.items()}
    assert holds(lc.adaptive_wider(rates, curves, regions, ["Adam"]).verdict)
    regions = {"SGD": regions["Adam"], "Adam": regions["SGD"]}
    curves = {"SGD": wide, "Adam": narrow}
    row = lc.adaptive_wider(rates, curves, regions, ["Adam"])
    assert passed(part(row.verdict, "Adam wider")) == (0, 2)


def test_a_width_that_reaches_the_grid_end_is_flagged_as_a_lower_bound():
    rates = np.array(landscape.RATES[:6])
    narrow = np.array([0.5, 0.6, 0.9, 0.6, 0.5, 0.4])[:, None].repeat(2, 1)
    to_the_end = np.array([0.5, 0.6, 0.7, 0.89, 0.9, 0.9])[:, None].repeat(2, 1)
    curves = {"SGD": narrow, "Adam": to_the_end}
    regions = {k: landscape.good_region(rates, v.T, 0.01) for k, v in curves.items()}
    row = lc.adaptive_wider(rates, curves, regions, ["Adam"])
    assert "a lower bound in 2/2 seeds" in row.measured


def test_chapter_3_and_4_along_momentum():
    decays = (0.1, 0.01, 0.001, 0.0001)
    acc = np.array([[[0.6, 0.6], [0.7, 0.7], [0.8, 0.8], [0.82, 0.82]]] * 2)
    acc[1, 0] = 0.8  # at the second momentum, decay 0.1 no longer hurts
    row = lc.chapter3_along_momentum((0.0, 0.9), decays, acc, np.full((2, 2), 0.825))
    assert passed(part(row.verdict, "poorly", "mu=0")) == (2, 2)
    assert passed(part(row.verdict, "poorly", "mu=0.9")) == (0, 2)
    assert holds(part(row.verdict, "close to no decay"))
    patiences = (2, 5, 10, 15)
    rate = np.full((1, 4, 2, 40), 0.01)
    rate[0, 0, :, 5:] = 1e-7  # patience 2: at the floor by epoch 6
    rate[0, 3, :, 20:] = 0.001  # patience 15: one drop
    loss = np.array([[[0.3, 0.3], [0.2, 0.2], [0.1, 0.1], [0.1, 0.1]]])
    assert holds(lc.chapter4_along_momentum((0.0,), patiences, rate, loss).verdict)
    rate[0, 3, :, 30:] = 0.0001  # two drops
    row = lc.chapter4_along_momentum((0.0,), patiences, rate, loss)
    assert passed(part(row.verdict, "one drop", "mu=0")) == (0, 2)


def test_chapter_4_restated_uses_chapter_4s_own_threshold():
    """The floor must come within 25 epochs, as in chapter 4, however long the run."""
    patiences = (2, 5, 10, 15)
    rate = np.full((1, 4, 2, 200), 0.01)
    rate[0, 0, 0, 30:] = 1e-7  # seed 0 at the floor from epoch 31: late for chapter 4
    rate[0, 0, 1, 20:] = 1e-7  # seed 1 from epoch 21: in time
    rate[0, 3, :, 100:] = 0.001
    loss = np.array([[[0.3, 0.3], [0.2, 0.2], [0.1, 0.1], [0.1, 0.1]]])
    row = lc.chapter4_along_momentum((0.0,), patiences, rate, loss)
    floor = part(row.verdict, "floor", "mu=0")
    np.testing.assert_array_equal(plateau_claims.hits_floor(rate[0, 0]), [False, True])
    assert passed(floor) == (1, 2)


@pytest.mark.parametrize("bad", [[0.1, 0.01], [0.01]])
def test_chapter3_needs_the_decays_it_names(bad):
    with pytest.raises(ValueError):
        lc.chapter3_along_momentum((0.0,), bad, np.zeros((1, len(bad), 2)), np.zeros((1, 2)))
