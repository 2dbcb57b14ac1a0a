"""Chapter 9's grid definitions and analysis functions, on synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab import landscape as L
from lr_lessons.lab.results import Results

RATES = np.array(L.RATES)


def peaked(peak: float, width: float = 1.0, top: float = 0.8) -> np.ndarray:
    """A score that is a parabola in log10(rate) with its top at ``peak``."""
    return top - ((np.log10(RATES) - np.log10(peak)) / width) ** 2


# --- grids ------------------------------------------------------------------------------


def test_rate_grid_spans_the_issue_range_in_thirds_of_a_decade():
    assert RATES[0] <= 1e-4 and RATES[-1] >= 3
    steps = np.diff(np.log10(RATES))
    np.testing.assert_allclose(steps, 1 / 3, atol=2e-3)
    for r in (1e-3, 1e-2, 1e-1, 1.0):  # chapter 1's rates are on the grid
        assert r in L.RATES


def test_momentum_grid_settings_and_values_layout():
    grid = L.momentum_grid(rates=(0.01, 0.1), momenta=(0.0, 0.9))
    s = grid.study.setting("momentum=0.9 lr=0.1")
    assert s.learning_rate == 0.1 and s.options == {"momentum": 0.9}
    names = grid.study.setting_names
    # Fake results whose value encodes the setting index: values() must put each cell
    # at (row, rate) whatever the settings' order.
    order = names[::-1]
    metric = np.array([[[names.index(n)] * 3] * 2 for n in order], dtype=float)
    res = Results(grid.study.name, order, [0, 1], {"val_accuracy": metric})
    v = grid.values(res, "val_accuracy")
    assert v.shape == (2, 2, 2, 3)
    for i, row in enumerate(grid.rows):
        for j, rate in enumerate(grid.rates):
            assert v[i, j, 0, 0] == names.index(grid.setting_name(row, rate))
    other = Results("other", order, [0, 1], {"val_accuracy": metric})
    with pytest.raises(ValueError, match="other"):
        grid.values(other, "val_accuracy")


def test_momentum_grid_rejects_a_momentum_of_one():
    with pytest.raises(ValueError, match="momentum"):
        L.momentum_grid(momenta=(0.0, 1.0))


def test_batch_grid_names_and_batch_size():
    grid = L.batch_grid(128, rates=(0.01, 0.1))
    assert grid.study.name == "landscape_batch_128" and grid.study.batch_size == 128
    assert grid.rows == ("sgd", "adam")
    assert grid.study.setting("adam lr=0.01").optimizer == "adam"


# --- divergence and spread --------------------------------------------------------------


def test_divergence_marks_nan_and_rising_loss_only():
    epochs = 30
    falling = np.linspace(1.0, 0.3, epochs)
    rising = np.linspace(1.0, 2.0, epochs)
    blown = falling.copy()
    blown[20:] = np.nan
    loss = np.stack([np.stack([falling, falling]), np.stack([falling, rising])])
    loss = np.stack([loss, np.stack([np.stack([blown, falling])] * 2)])  # (2, 2, 2, 30)
    d = L.divergence(loss)
    assert d.shape == (2, 2, 2)
    np.testing.assert_array_equal(d[0], [[False, False], [False, True]])
    np.testing.assert_array_equal(d[1], [[True, False], [True, False]])
    assert d.any(axis=-1).tolist() == [[False, True], [True, True]]


def test_spread_is_max_minus_min_over_seeds():
    v = np.array([[0.80, 0.82, 0.70], [0.5, np.nan, 0.6], [np.nan, np.nan, np.nan]])
    s = L.spread(v)
    np.testing.assert_allclose(s[:2], [0.12, 0.1])
    assert np.isnan(s[2])


# --- best rate --------------------------------------------------------------------------


@pytest.mark.parametrize("peak", [3e-3, 1e-2, 0.03, 0.5])
def test_best_rate_finds_a_peak_between_grid_points(peak):
    assert L.best_rate(RATES, peaked(peak)) == pytest.approx(peak, rel=1e-9)
    coarse = L.best_rate(RATES, peaked(peak), refine=False)
    assert coarse in L.RATES and abs(np.log10(coarse / peak)) <= 1 / 6 + 1e-9


def test_best_rate_per_seed_and_at_the_edge_and_with_nan():
    scores = np.stack([peaked(1e-2), peaked(1e-1), peaked(1e-6), np.full(RATES.size, np.nan)])
    scores[1, -3:] = np.nan  # diverged at the top rates: worst, not skipped
    best = L.best_rate(RATES, scores)
    assert best[0] == pytest.approx(1e-2) and best[1] == pytest.approx(1e-1)
    assert best[2] == RATES[0]  # peak below the grid: the grid's end, unrefined
    assert np.isnan(best[3])


def test_best_rate_rejects_unsorted_rates():
    with pytest.raises(ValueError, match="increasing"):
        L.best_rate(RATES[::-1], peaked(0.01))


# --- good region ------------------------------------------------------------------------


def test_good_region_edges_and_width_are_interpolated():
    # Parabola of half-width w decades at depth tol: the exact region is peak +- w*sqrt(tol).
    tol, w = 0.01, 10.0  # the region is 1E-3 .. 1E-1, three grid steps either side
    reg = L.good_region(RATES, peaked(1e-2, width=w), tol=tol)
    # The edges fall on grid points here, where interpolation is exact.
    assert reg.width == pytest.approx(2 * w * np.sqrt(tol), abs=0.01)
    assert np.log10(reg.low) == pytest.approx(-2 - w * np.sqrt(tol), abs=0.01)
    # Off the grid points, linear interpolation of the parabola errs by a few % of a decade.
    reg = L.good_region(RATES, peaked(0.013, width=w), tol=tol)
    assert reg.width == pytest.approx(2.0, abs=0.05)
    assert not reg.censored


def test_good_region_of_a_step_and_of_a_plateau_at_the_edge():
    step = np.where((RATES >= 1e-3) & (RATES <= 1e-1), 0.8, 0.5)
    reg = L.good_region(RATES, step, tol=0.01)
    # 0.8 -> 0.5 between grid points: the 0.79 level is crossed 1/30 of a step outside.
    lr = np.log10(RATES)
    lo, hi = L.RATES.index(1e-3), L.RATES.index(1e-1)
    outside = (lr[lo] - lr[lo - 1] + lr[hi + 1] - lr[hi]) * 0.01 / 0.3
    assert reg.width == pytest.approx(lr[hi] - lr[lo] + outside, abs=1e-9)
    assert not reg.censored
    flat_top = np.where(RATES >= 1e-2, 0.8, 0.2)
    reg = L.good_region(RATES, flat_top, tol=0.01)
    assert reg.censored and reg.high == pytest.approx(RATES[-1])


def test_good_region_is_the_contiguous_run_around_the_best_and_stops_at_nan():
    s = np.full(RATES.size, 0.5)
    s[3:6] = 0.80
    s[10] = 0.795  # good, but not connected to the best
    s[6] = np.nan  # diverged next to the region
    reg = L.good_region(RATES, s, tol=0.01)
    assert reg.high == pytest.approx(RATES[5])
    assert reg.width < 1.0


def test_good_region_above_a_fixed_level():
    s = np.where((RATES >= 1e-3) & (RATES <= 1e-1), 0.8, 0.5)
    s[RATES == 1e-2] = 0.82
    reg = L.good_region(RATES, s, level=0.75)  # every rate scoring >= 0.75, not just the top
    assert reg.low < 1e-3 < 1e-1 < reg.high and reg.width > 2
    below = L.good_region(RATES, np.full(RATES.size, 0.6), level=0.75)
    assert below.width == 0 and np.isnan(below.low)


def test_good_region_per_seed_shape():
    scores = np.stack([peaked(1e-2, 1.0), peaked(1e-2, 2.0)])
    reg = L.good_region(RATES, scores)
    assert reg.width.shape == (2,) and reg.width[1] > reg.width[0]


# --- slopes -----------------------------------------------------------------------------


def test_fit_slope_recovers_a_power_law_and_skips_bad_points():
    b = np.array([8, 16, 32, 64, 128, 256, 500], float)
    y = 3e-4 * b**0.5
    y[2] = np.nan
    line = L.fit_slope(b, y)
    assert line.slope == pytest.approx(0.5) and 10**line.intercept == pytest.approx(3e-4)
    assert np.isnan(L.fit_slope([1, 1], [2, 3]).slope)


def test_hinge_fit_finds_where_linear_scaling_stops():
    b = np.repeat([8, 16, 32, 64, 128, 256, 500], 5).astype(float)
    rng = np.random.default_rng(0)
    y = 1e-3 * np.minimum(b, 64) * 10 ** rng.normal(0, 0.02, b.size)
    h = L.hinge_fit(b, y)
    assert h.knee == 64 and h.slope == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(h(np.array([8.0, 500.0])), [8e-3, 64e-3], rtol=0.05)


def test_hinge_fit_without_a_knee_keeps_rising():
    b = np.array([8, 16, 32, 64, 128, 256, 500], float)
    h = L.hinge_fit(b, 0.01 * b**0.5)
    assert h.knee == 500 and h.slope == pytest.approx(0.5)
    # Noise alone does not make a knee: a straight line with scatter keeps rising.
    rng = np.random.default_rng(3)
    knees = [
        L.hinge_fit(np.repeat(b, 5), 1e-3 * np.repeat(b, 5) * 10 ** rng.normal(0, 0.1, 35)).knee
        for _ in range(20)
    ]
    assert sum(k == 500 for k in knees) >= 16
    with pytest.raises(ValueError, match="distinct"):
        L.hinge_fit([8, 16], [1, 2])
    three = L.hinge_fit([8, 32, 500], [1e-3, 4e-3, 4.1e-3])  # no room for a knee: a line
    assert three.knee == 500 and 0 < three.slope < 1


def test_epochs_to_target_matches_the_claims_helper_per_row():
    from lr_lessons.lab.measures import epochs_to_sustain

    rng = np.random.default_rng(1)
    v = np.cumsum(rng.uniform(0, 0.05, size=(3, 4, 40)), axis=-1)  # rising curves
    e = L.epochs_to_target(v, 0.75)
    for i in range(3):
        np.testing.assert_array_equal(e[i], epochs_to_sustain(v[i], 0.75))
    assert np.isnan(L.epochs_to_target(np.zeros((2, 5)), 0.75)).all()
    med = L.median_epochs_to_target(np.array([[3.0, 5.0, np.nan], [np.nan, np.nan, 4.0]]))
    assert med[0] == 5.0 and np.isnan(med[1])


def test_slope_per_seed():
    b = np.array([8.0, 32.0, 128.0])
    y = np.stack([1e-3 * b, 1e-3 * b**0.5], axis=1)
    np.testing.assert_allclose(L.slope_per_seed(b, y), [1.0, 0.5])


# --- pictures ---------------------------------------------------------------------------


def test_heatmap_marks_diverged_and_noisy_cells_and_greys_never():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.patches import Rectangle

    from lr_lessons.views import landscape_plots as lp

    rates = (1e-3, 1e-2, 1e-1)
    values = np.array([[0.5, 0.8, np.nan], [0.6, 0.7, 0.4]])
    diverged = np.array([[False, False, True], [False, True, False]])
    noisy = np.array([[True, False, False], [False, False, False]])
    fig = lp.grid_maps(
        {"acc": dict(values=values, diverged=diverged, noisy=noisy, best=np.array([0.01, 0.02]))},
        rates,
        ["0", "0.9"],
        "momentum",
        theory=dict(factors=[1.0, 0.1], constants=(0.1,), label="constant"),
        spread=0.05,
        note="footer",
    )
    ax = fig.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert sum(r.get_hatch() == "////" for r in rects) == 2
    assert sum(r.get_hatch() is None and not r.get_fill() for r in rects) == 1
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("–") == 1 and "0.80" in texts
    (line,) = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    np.testing.assert_allclose(line.get_xdata(), [0.1, 0.01])
    assert ax.get_xscale() == "log"
    assert any(t.get_text() == "footer" for t in fig.texts)


def test_footer_reports_runs_and_speed():
    from lr_lessons.views.plotting import caption

    meta = {"data_source": "blobs", "engine": "stacked", "wall_time_s": 20.0}
    meta["study"] = {"batch_size": 32}
    a = Results("a", ["x", "y"], [0, 1], {"loss": np.zeros((2, 2, 5))}, dict(meta))
    b = Results("b", ["z"], [0, 1], {"loss": np.zeros((1, 2, 5))}, {**meta, "wall_time_s": 10.0})
    text = caption([a, b], "extra", band=None)
    assert "6 runs trained in 30 s (0.2 runs/s)" in text
    assert text.startswith("data: blobs; 2 seeds; 5 epochs; batch 32; engine: stacked")
    assert text.endswith("; extra")
