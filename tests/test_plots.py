"""Every public plotting function, read back from the matplotlib objects it draws.

Each test builds small synthetic data, calls one function and checks what a reader of the
figure relies on: panels and lines, log axes where rates are plotted, axis labels, legend
entries, the footer (data, seeds, epochs, engine), colour-bar labels, no NaN coordinates.
Nothing trains.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh
from matplotlib.patches import Rectangle

from lr_lessons.lab.gradient_descent import Bowl, descend
from lr_lessons.lab.landscape import Hinge, Region
from lr_lessons.lab.ramp_reading import Fall
from lr_lessons.lab.results import Results
from lr_lessons.tools.range_test import RangeTestRepeats, RangeTestResult
from lr_lessons.tools.range_test.rules import SUGGESTIONS
from lr_lessons.views import (
    bar_plots,
    landscape_plots,
    line_plots,
    plotting,
    range_test_plots,
    space_plots,
)

META = {
    "data_source": "blobs",
    "engine": "stacked",
    "wall_time_s": 3.0,
    "study": {"batch_size": 32},
}


def results(settings=("lr=0.1", "lr=0.01", "lr=0.001"), seeds=(0, 1, 2), epochs=12, **meta):
    """Results whose curves differ per setting and seed, every value finite."""
    rng = np.random.default_rng(0)
    shape = (len(settings), len(seeds), epochs)
    t = np.arange(1, epochs + 1)
    speed = np.arange(1, len(settings) + 1)[:, None, None]
    loss = 1.0 / (1 + speed * t) + 0.01 * rng.random(shape)
    rates = np.geomspace(0.1, 0.001, len(settings))[:, None, None]
    metrics = {
        "loss": loss,
        "val_loss": loss + 0.05,
        "accuracy": 1 - loss,
        "val_accuracy": 0.95 - loss,
        "learning_rate": np.broadcast_to(rates * 0.9**t, shape).copy(),
    }
    return Results("synthetic", list(settings), list(seeds), metrics, {**META, **meta})


def lines_with_data(ax):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata())]


def assert_finite_lines(ax):
    for line in lines_with_data(ax):
        xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
        assert np.isfinite(xy).all(), f"NaN or inf in line {line.get_label()!r}"


def legend_texts(ax):
    legend = ax.get_legend()
    assert legend is not None, "no legend"
    return [t.get_text() for t in legend.get_texts()]


def footer(fig):
    """The footer: the figure-level text below the axes."""
    (text,) = [t for t in fig.texts if t.get_position()[1] < 0]
    return text.get_text()


def assert_footer_names_the_data(fig, n_seeds=3, epochs=12):
    text = footer(fig)
    for part in ("data: blobs", f"{n_seeds} seeds", f"{epochs} epochs", "engine: stacked"):
        assert part in text, f"footer {text!r} lacks {part!r}"


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


# --- plotting: the basics ---------------------------------------------------------------


def test_new_figure_is_not_tracked_by_pyplot():
    before = plt.get_fignums()
    fig = plotting.new_figure((3.0, 2.0))
    assert plt.get_fignums() == before
    assert tuple(fig.get_size_inches()) == (3.0, 2.0)


def test_save_figure_redraws_a_figure_to_the_same_png_bytes(output_dir):
    def draw():
        fig = plotting.new_figure((3.0, 2.0))
        fig.subplots().plot([0, 1], [1, 0])
        return plotting.save_figure(fig, "00_test/line")

    path = draw()
    first = path.read_bytes()
    assert path == output_dir / "figures" / "00_test" / "line.png"
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw().read_bytes() == first  # no timestamp or version in the file


def test_caption_names_data_seeds_epochs_batch_engine_runs_and_speed():
    text = plotting.caption(results())
    assert text == (
        "data: blobs; line: mean of 3 seeds, band: min-max; 12 epochs; batch 32; "
        "engine: stacked; 9 runs trained in 3 s (3.0 runs/s)"
    )
    assert "line: median of 3 seeds" in plotting.caption(results(), center="median")
    assert plotting.caption(results(), band=None).startswith("data: blobs; 3 seeds; 12 epochs")
    assert "; 1 seed; " in plotting.caption(results(seeds=(0,)))
    assert plotting.caption(results(), "extra words").endswith("; extra words")
    assert "engine: stacked, QUICK MODE" in plotting.caption(results(quick=True))


def test_caption_of_several_results_adds_runs_and_lists_epochs_and_batches():
    a = results(epochs=12)
    b = results(settings=("x",), epochs=20, study={"batch_size": 64}, wall_time_s=1.0)
    text = plotting.caption([a, b], band=None)
    assert "12/20 epochs; batch 32, 64;" in text
    assert "12 runs trained in 4 s (3.0 runs/s)" in text
    no_time = results(wall_time_s=float("nan"))
    assert plotting.caption(no_time).endswith("; 9 runs")
    with pytest.raises(ValueError, match="at least one Results"):
        plotting.caption([])


def test_add_footer_writes_small_grey_wrapped_text_below_the_axes_or_nothing():
    fig = plotting.new_figure((3.0, 2.0))
    plotting.add_footer(fig, None)
    plotting.add_footer(fig, "")
    assert fig.texts == []
    plotting.add_footer(fig, "data: x")
    (text,) = fig.texts
    assert text.get_text() == "data: x" and text.get_position()[1] < 0
    assert text.get_wrap() and text.get_fontsize() == plotting.SMALL_PT


def test_band_draws_the_center_over_runs_and_their_min_max():
    runs = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 9.0], [2.0, 8.0, 3.0]])
    ax = plotting.new_figure((3, 2)).subplots()
    plotting.band(ax, np.arange(3), runs, "C0", "mean")
    plotting.band(ax, np.arange(3), runs, "C1", "median", center="median")
    mean, median = ax.get_lines()
    np.testing.assert_allclose(mean.get_ydata(), runs.mean(axis=0))
    np.testing.assert_allclose(median.get_ydata(), np.median(runs, axis=0))
    (poly, _) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = poly.get_paths()[0].vertices[:, 1]
    assert ys.min() == runs.min() and ys.max() == runs.max()
    single = plotting.new_figure((3, 2)).subplots()
    plotting.band(single, np.arange(3), runs[:1], "C0", "one run")
    assert len(single.collections) == 0  # one run: no band
    with pytest.raises(ValueError, match="center must be"):
        plotting.band(ax, np.arange(3), runs, "C0", "x", center="mode")


# --- line plots -------------------------------------------------------------------------


def test_metric_grid_has_one_titled_panel_per_setting_with_train_and_test():
    res = results()
    fig = line_plots.metric_grid(res, ("loss", "val_loss"), ylabel="loss", logy=True, title="T")
    axes = visible_axes(fig)
    assert len(fig.axes) == 4 and len(axes) == 3  # 2 x 2 grid, the fourth hidden
    assert [ax.get_title() for ax in axes] == res.settings
    for ax in axes:
        assert len(lines_with_data(ax)) == 2 and ax.get_yscale() == "log"
        assert_finite_lines(ax)
    assert legend_texts(axes[0]) == ["train", "test"]
    assert [axes[0].get_ylabel(), axes[2].get_ylabel()] == ["loss", "loss"]
    assert axes[1].get_xlabel() == "epoch" and axes[2].get_xlabel() == "epoch"
    assert fig.get_suptitle() == "T"
    assert_footer_names_the_data(fig)


def test_accuracy_grid_draws_train_and_test_accuracy():
    fig = line_plots.accuracy_grid(results(settings=("a", "b")), ncols=2)
    left, right = fig.axes
    assert left.get_ylabel() == "accuracy" and left.get_yscale() == "linear"
    assert legend_texts(left) == ["train", "test"]
    np.testing.assert_allclose(
        lines_with_data(right)[1].get_ydata(), results().get("val_accuracy", "lr=0.01").mean(0)
    )
    assert_footer_names_the_data(fig)


def test_metric_lines_put_every_setting_on_one_log_axes_and_zoom_on_a_linear_one():
    res = results()
    fig = line_plots.metric_lines(res, labels={"lr=0.1": "high"}, title="loss")
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "training loss (log scale)"
    assert legend_texts(ax) == ["high", "lr=0.01", "lr=0.001"]
    assert_finite_lines(ax)
    assert_footer_names_the_data(fig)
    zoomed = line_plots.metric_lines(res, zoom=(0.0, 0.5), title="loss")
    log_ax, lin_ax = zoomed.axes
    assert lin_ax.get_yscale() == "linear" and lin_ax.get_ylim() == (0.0, 0.5)
    assert "zoomed" in lin_ax.get_ylabel() and zoomed.get_suptitle() == "loss"


def test_train_val_loss_marks_the_best_epoch_and_the_restored_one():
    res = results(settings=("a", "b"))
    fig = line_plots.train_val_loss(res, {"a": 4}, restored={"a": 6}, title="T")
    a, b = fig.axes
    star = [ln for ln in a.get_lines() if ln.get_marker() == "*"][0]
    assert star.get_xdata()[0] == 4
    assert star.get_ydata()[0] == pytest.approx(res.get("val_loss", "a").mean(0)[3])
    labels = legend_texts(a)
    assert labels[:2] == ["train loss", "validation loss"]
    assert "EarlyStopping restores epoch 6" in labels
    assert a.get_ylabel() == "loss (categorical cross-entropy)" and b.get_xlabel() == "epoch"
    assert not [ln for ln in b.get_lines() if ln.get_marker() == "*"]
    assert_footer_names_the_data(fig)


def test_rate_panels_label_each_scale_and_say_the_line_is_the_median():
    fig = line_plots.rate_panels(results(), ncols=2)
    axes = visible_axes(fig)
    assert len(axes) == 3
    for ax in axes:  # 0.9 ** 12 spans less than a factor of 20: linear from 0
        assert ax.get_ylabel() == "rate (linear)" and ax.get_ylim()[0] == 0
        assert_finite_lines(ax)
    assert "line: median of 3 seeds" in footer(fig)


def test_trajectory_panels_count_values_a_log_axis_cannot_show():
    runs = np.array([[0.1, 0.05, -0.01, 0.02], [0.1, 0.06, 0.03, 0.02]])
    fig = line_plots.trajectory_panels(
        {"SGD-HD": {"beta 0.01": runs}, "Adam-HD": {"beta 1e-7": np.abs(runs)}},
        note="data: blobs",
        first=0,
        logy=(True, False),
    )
    left, right = fig.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    assert left.get_legend().get_title().get_text() == "1 value <= 0 not shown (log axis)"
    assert right.get_legend().get_title().get_text() == ""
    assert lines_with_data(left)[0].get_xdata()[0] == 0
    assert left.get_ylabel() == "learning rate" and left.get_xlabel() == "epoch"
    assert legend_texts(left) == ["beta 0.01"] and left.get_title() == "SGD-HD"
    assert_finite_lines(right)
    assert footer(fig) == "data: blobs"


def test_curves_draw_one_axes_from_a_flat_dict():
    steps = np.arange(50)
    fig = line_plots.curves(
        {"decay 0": np.full(50, 0.01), "decay 0.01": 0.01 / (1 + 0.01 * steps)},
        x=steps * 2,
        title="rule",
        note="computed",
    )
    (ax,) = fig.axes
    assert legend_texts(ax) == ["decay 0", "decay 0.01"]
    assert ax.get_title() == "rule" and ax.get_ylabel() == "learning rate"
    assert ax.get_xlabel() == "update (step)"
    assert lines_with_data(ax)[0].get_xdata()[-1] == 98
    assert_finite_lines(ax)
    assert footer(fig) == "computed"
    with pytest.raises(ValueError, match="series is empty"):
        line_plots.curves({})


def test_curves_draw_panels_with_a_log_label_on_log_axes():
    shapes = {"a": np.geomspace(1, 0.01, 20)}
    fig = line_plots.curves({"p": shapes, "q": shapes, "r": shapes}, logy=True, ncols=2)
    axes = visible_axes(fig)
    assert len(fig.axes) == 4 and [ax.get_title() for ax in axes] == ["p", "q", "r"]
    for ax in axes:
        assert ax.get_yscale() == "log" and ax.get_ylabel() == "learning rate (log scale)"
        assert ax.get_legend() is None  # one curve per panel: its title names it


def test_threshold_curves_are_log_log_with_a_dashed_threshold_per_bowl():
    rates = np.geomspace(0.01, 10, 30)
    losses = {"a = 1": (1 - rates) ** 40, "a = 4": np.where(rates < 0.5, 1e-3, np.inf)}
    fig = line_plots.threshold_curves(rates, losses, {"a = 1": 2.0, "a = 4": 0.5}, 40, "n")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "learning rate" and "40 steps" in ax.get_ylabel()
    dashed = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert dashed == [2.0, 0.5]
    diverged = lines_with_data(ax)[2].get_ydata()  # after a's curve and its threshold
    assert np.isnan(diverged[rates >= 0.5]).all()  # a blow-up leaves a gap, not a spike
    assert legend_texts(ax) == ["a = 1", "a = 4"]
    assert footer(fig) == "n"


def test_final_vs_rate_plots_the_seed_mean_against_a_log_rate_axis():
    rates = [0.001, 0.01, 0.1]
    base = np.array([[0.5, 0.6], [0.8, 0.8], [0.3, np.nan]])
    fig = line_plots.final_vs_rate(
        rates, {"SGD": {"SGD": base, "SGD-HD": base + 0.1}, "Adam": {"Adam": base}}, note="n"
    )
    left, right = fig.axes
    for ax in (left, right):
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "initial learning rate"
        assert_finite_lines(ax)
    assert legend_texts(left) == ["SGD", "SGD-HD"]
    np.testing.assert_allclose(lines_with_data(left)[0].get_ydata(), [0.55, 0.8, 0.3])
    assert left.get_ylabel() == "final test accuracy"


def test_search_trials_mark_each_stage_and_the_chosen_rates():
    trials = [
        (0.01, "coarse", np.array([0.7, 0.72])),
        (0.1, "coarse", np.array([0.8, 0.82])),
        (0.05, "fine", np.array([0.81, 0.79])),
    ]
    fig = line_plots.search_trials(trials, {"best": 0.1}, "accuracy", title="T", note="n")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "accuracy"
    assert legend_texts(ax) == ["coarse (mean)", "fine (mean)", "best: 0.1"]
    chosen = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert chosen[0].get_xdata()[0] == 0.1
    assert_finite_lines(ax)


# --- bar plots --------------------------------------------------------------------------


def test_summary_bars_scale_to_any_values_without_a_given_range():
    values = {"a": np.array([10.0, 14.0]), "b": np.array([30.0, 34.0])}
    fig = bar_plots.summary_bars(values, "epochs", xlim=None, fmt=".0f", note="n")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [b.get_width() for b in bars] == [12.0, 32.0]
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > 34
    assert [t.get_text() for t in ax.texts] == ["12", "32"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlabel() == "epochs" and footer(fig) == "n"
    assert ax.get_legend() is None  # no kinds: grey bars, no legend


# grouped_bars: tests/test_grouped_bars.py


# --- space plots ------------------------------------------------------------------------


def test_blobs_scatter_fills_train_points_and_hollows_test_points():
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(60, 2)), np.repeat([0, 1, 2], 20)
    fig = space_plots.blobs_scatter(x, labels, n_train=30)
    (ax,) = fig.axes
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 6 and sum(len(c.get_offsets()) for c in points) == 60
    assert legend_texts(ax)[:2] == ["class 0, train", "class 1, train"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")


def test_descent_paths_on_a_parabola_stop_drawing_a_path_that_leaves_the_picture():
    bowl = Bowl((2.0,))
    paths = {"small": descend(bowl, [1.0], 0.1, 25), "too big": descend(bowl, [1.0], 1.2, 25)}
    fig = space_plots.descent_paths(bowl, paths, title="T", note="arithmetic", view=1.6)
    left, right = fig.axes
    assert right.get_yscale() == "log" and right.get_ylabel() == "loss (log scale)"
    assert left.get_xlabel() == "weight $w$" and legend_texts(right) == ["small", "too big"]
    assert_finite_lines(left)
    shown = [ln for ln in left.get_lines() if ln.get_label() == "too big"][0]
    assert len(shown.get_xdata()) < 26 and np.abs(shown.get_xdata()).max() <= 50 * 1.6
    assert footer(fig) == "arithmetic"


def test_descent_paths_on_a_2d_bowl_give_each_rate_a_contour_panel():
    bowl = Bowl((1.0, 8.0))
    paths = {f"lr={r}": descend(bowl, [1.0, 1.0], r, 20) for r in (0.05, 0.2)}
    fig = space_plots.descent_paths(bowl, paths)
    *tracks, loss = fig.axes
    assert [ax.get_title() for ax in tracks] == ["lr=0.05", "lr=0.2"]
    assert all(ax.get_xlabel() == "$w_1$" for ax in tracks)
    assert loss.get_yscale() == "log" and len(lines_with_data(loss)) == 2
    with pytest.raises(ValueError, match="paths is empty"):
        space_plots.descent_paths(bowl, {})


# --- range-test plots -------------------------------------------------------------------

LRS = np.logspace(-5, 0, 200)
LOSS = 2.0 - np.tanh((np.log10(LRS) + 2.5) / 0.4)


def range_run(shift=0.0, **fields):
    return RangeTestResult(LRS, LOSS + shift, "end", {"beta": 0.9, "window": 20}, **fields)


def test_plot_loss_of_repeats_draws_the_seed_mean_a_band_and_a_marker_per_rule():
    rep = RangeTestRepeats([0, 1, 2], [range_run(), range_run(0.05), range_run(-0.05)])
    fig = range_test_plots.plot_loss({"SGD": rep}, title="T", note="data: synthetic")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "training loss"
    assert ax.get_xlabel() == "learning rate (log scale)"
    labels = legend_texts(ax)
    assert labels[0] == "SGD (mean of 3 seeds)" and len(labels) == 1 + len(SUGGESTIONS)
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the seed band
    assert_finite_lines(ax)
    assert footer(fig) == "data: synthetic"


def test_plot_delta_is_symmetric_around_zero_on_a_log_rate_axis():
    fig = range_test_plots.plot_delta({"run": range_run()}, note="n")
    (ax,) = fig.axes
    low, high = ax.get_ylim()
    assert ax.get_xscale() == "log" and low == pytest.approx(-high)
    assert ax.get_ylabel() == "loss delta per batch (window 20)"
    assert legend_texts(ax) == ["run"]


def test_plot_metric_marks_the_max_usable_rate_and_the_cyclical_minimum():
    lrs = np.linspace(0.01, 1.0, 50)
    acc = np.minimum(lrs / 0.4, 1.0) - np.maximum(lrs - 0.4, 0) * 2
    val = {"lr": lrs[::5], "accuracy": acc[::5]}
    run = RangeTestResult(lrs, np.ones(50), "end", {"beta": 0.0}, {"accuracy": acc}, val)
    fig = range_test_plots.plot_metric(run, note="n")
    (ax,) = fig.axes
    top = run.max_usable_lr("accuracy")
    labels = legend_texts(ax)
    assert labels[:2] == ["training accuracy (smoothed)", "validation accuracy (fixed subset)"]
    assert f"max usable rate {top:.3g}" in labels
    assert labels[-1].startswith("cyclical minimum") and "1/3, 1/4 of max" in labels[-1]
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "learning rate (linear ramp)"
    log_fig = range_test_plots.plot_metric(run, log_x=True)
    assert log_fig.axes[0].get_xscale() == "log"


def test_plot_linear_reading_draws_each_seed_and_the_median_peak():
    lrs = np.linspace(0.1, 1.0, 10)
    runs, readings = [], []
    for peak in (4, 6, 5):
        acc = np.where(np.arange(10) <= peak, 0.5 + 0.05 * np.arange(10), 0.2)
        val = {"lr": lrs, "accuracy": acc}
        runs.append(RangeTestResult(lrs, np.ones(10), "end", {}, validation=val))
        readings.append(Fall(peak=peak, fall=peak + 1, tol=0.05))
    rep = RangeTestRepeats([0, 1, 2], runs)
    fig = range_test_plots.plot_linear_reading(rep, readings, note="n")
    (ax,) = fig.axes
    labels = legend_texts(ax)
    assert labels[:3] == ["seed 0", "seed 1", "seed 2"]
    assert f"max usable rate {lrs[5]:.3g} (median over seeds)" in labels
    assert labels[-2:] == ["best point before the first fall", "first fall"]
    assert ax.get_ylabel() == "validation accuracy"
    with pytest.raises(ValueError, match="one per run"):
        range_test_plots.plot_linear_reading(rep, readings[:2])


# --- landscape plots --------------------------------------------------------------------

RATES = np.array([1e-3, 1e-2, 1e-1, 1.0])


def test_rate_edges_are_geometric_midpoints_extended_half_a_step():
    np.testing.assert_allclose(
        landscape_plots.rate_edges(RATES), 10.0 ** np.array([-3.5, -2.5, -1.5, -0.5, 0.5])
    )


def test_rate_axis_puts_a_labelled_tick_on_every_decade():
    ax = plotting.new_figure((3, 2)).subplots()
    ax.set_xlim(5e-4, 2.0)
    landscape_plots.rate_axis(ax, label="rate")
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "rate"
    np.testing.assert_allclose(ax.get_xticks(), [1e-3, 1e-2, 1e-1, 1.0])


def test_heatmap_writes_every_cell_and_labels_its_colour_bar():
    fig = plotting.new_figure((5, 3))
    ax = fig.subplots()
    values = np.array([[0.5, 0.8, np.nan, 0.1], [0.6, 0.7, 0.4, 0.3]])
    landscape_plots.heatmap(
        ax, values, RATES, ["0", "0.9"], colorbar_label="accuracy", row_title="momentum"
    )
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert mesh.colorbar.ax.get_ylabel() == "accuracy"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == values.size and texts.count("–") == 1 and "0.80" in texts
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "momentum"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "0.9"]


def test_theory_lines_join_cells_of_equal_effective_rate():
    ax = plotting.new_figure((3, 2)).subplots()
    landscape_plots.theory_lines(ax, [1.0, 0.1, 0.01], (0.1, 1e-9), "lr / (1 - mu)", RATES)
    (line,) = ax.get_lines()  # the second constant falls outside the grid: not drawn
    np.testing.assert_allclose(line.get_xdata(), [0.1, 0.01, 0.001])
    assert line.get_label() == "lr / (1 - mu)"


def test_marks_legend_names_each_mark():
    ax = plotting.new_figure((3, 2)).subplots()
    landscape_plots.marks_legend(ax, spread=0.05)
    assert legend_texts(ax) == [
        "best rate of each row (seed mean)",
        "diverged",
        "seeds spread > 0.05",
        "never reached",
    ]


def test_grid_maps_stack_panels_with_labelled_colour_bars_and_a_footer():
    values = np.array([[0.5, 0.8, 0.7, 0.1], [0.6, 0.7, 0.4, 0.3]])
    panels = {
        "accuracy": dict(values=values, colorbar_label="final test accuracy"),
        "epochs": dict(values=values * 100, colorbar_label="epochs to 0.6", fmt="{:.0f}"),
    }
    fig = landscape_plots.grid_maps(
        panels, RATES, ["0", "0.9"], "momentum", note=plotting.caption(results(), band=None)
    )
    meshes = [c for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
    meshes = [m for m in meshes if m.colorbar is not None]  # not the colour bars' own
    maps = [m.axes for m in meshes]
    assert [ax.get_title() for ax in maps] == ["accuracy", "epochs"]
    bars = [m.colorbar.ax.get_ylabel() for m in meshes]
    assert bars == ["final test accuracy", "epochs to 0.6"]
    assert maps[-1].get_xlabel() == "learning rate" and maps[0].get_xlabel() == ""
    assert "never reached" in legend_texts(maps[-1])
    assert_footer_names_the_data(fig)


def test_collapse_draws_each_row_against_its_rescaled_rate():
    x = {"mu=0": RATES, "mu=0.9": RATES / 0.1}
    curves = {k: np.tile(np.linspace(0.5, 0.8, 4)[:, None], (1, 3)) for k in x}
    fig = landscape_plots.collapse(
        x, {"accuracy": curves}, "lr / (1 - mu)", ylabels=("final test accuracy",), note="n"
    )
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "lr / (1 - mu)"
    assert ax.get_ylabel() == "final test accuracy" and legend_texts(ax) == list(x)
    np.testing.assert_allclose(lines_with_data(ax)[1].get_xdata(), RATES / 0.1)
    assert_finite_lines(ax)


def test_best_rate_vs_batch_is_log_log_with_the_fitted_slope_in_the_legend():
    batches = [8, 32, 128]
    best = {"SGD": np.array([[0.01, 0.02], [0.04, 0.04], [0.1, 0.2]])}
    regions = {"SGD": Region(np.array([0.005, 0.02, 0.05]), np.array([0.05, 0.1, 0.3]), None, None)}
    fits = {"SGD": Hinge(slope=0.8, intercept=-2.7, knee=1000.0)}
    fig = landscape_plots.best_rate_vs_batch(
        batches, best, regions, fits, guides={"SGD": 1.0}, rates=RATES, note="n"
    )
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("batch size", "best learning rate")
    labels = legend_texts(ax)
    assert labels[:2] == ["SGD: slope 0.80", "SGD, theory: slope 1"]
    assert_finite_lines(ax)


def test_accuracy_vs_rate_draws_curves_and_good_regions_on_one_rate_axis():
    curves = {"SGD": np.tile([[0.5], [0.8], [0.7], [0.3]], (1, 3)), "Adam": np.full((4, 3), 0.6)}
    regions = {k: Region(0.01, 0.1, 1.0, False) for k in curves}
    fig = landscape_plots.accuracy_vs_rate(RATES, curves, regions, note="n")
    ax, bars = fig.axes
    assert legend_texts(ax) == ["SGD", "Adam"] and ax.get_ylabel() == "final test accuracy"
    assert bars.get_xscale() == "log" and bars.get_xlabel() == "learning rate"
    np.testing.assert_allclose(lines_with_data(bars)[0].get_xdata(), [0.01, 0.1])
    assert_finite_lines(ax)


def test_width_bars_show_the_seed_mean_and_hollow_censored_seeds():
    widths = {"SGD": np.array([1.0, 2.0, 3.0]), "Adam": np.array([2.0, 2.0, 2.5])}
    censored = {"SGD": np.array([False, False, True]), "Adam": np.zeros(3, bool)}
    fig = landscape_plots.width_bars(widths, censored, note="n")
    (ax,) = fig.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    np.testing.assert_allclose([b.get_height() for b in bars], [2.0, 6.5 / 3])
    hollow = [ln for ln in ax.get_lines() if ln.get_markerfacecolor() == "white"]
    assert sum(len(ln.get_xdata()) for ln in hollow) == 1
    assert ax.get_ylabel() == "good region (decades of learning rate)"
    assert legend_texts(ax) == ["one seed", "reaches the grid's end", "seeds' min-max"]
