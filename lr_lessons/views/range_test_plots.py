"""Range-test curves: loss, loss delta or a metric against the learning rate.

Nothing here trains: every function draws results it is given. `curves` maps a label to
a `RangeTestResult` (one run: faint raw losses, smoothed line) or a `RangeTestRepeats`
(seed-mean smoothed line with a min-max band). Suggestions are drawn as markers on each
curve, one marker shape per rule; for repeats the marker sits at the median over seeds
(the rate `RangeTestRepeats.suggestion_summary` reports) with a horizontal bar spanning
the seeds' min and max. A hollow marker: the rule called its reading unreliable (for
repeats: for at least one seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lr_lessons.tools.range_test import RangeTestRepeats, RangeTestResult, plot
from lr_lessons.tools.range_test.plot import MARKER_LABELS, MARKERS
from lr_lessons.tools.range_test.rules import SUGGESTIONS
from lr_lessons.views.plotting import SMALL_PT, add_footer

__all__ = [
    "MARKERS",
    "MARKER_LABELS",
    "plot_delta",
    "plot_linear_reading",
    "plot_loss",
    "plot_metric",
]

Curve = RangeTestResult | RangeTestRepeats
_axes = plot.axes


def _finish(fig: Figure, ax, title: str | None, note: str | None, xlabel: str) -> None:
    plot.finish(ax, title, xlabel)
    add_footer(fig, note)


def plot_loss(
    curves: Mapping[str, Curve],
    ax=None,
    suggestions: Sequence[str] | None = SUGGESTIONS,
    raw: bool = True,
    title: str | None = None,
    note: str | None = None,
    xlabel: str = "learning rate (log scale)",
) -> Figure:
    """Loss against learning rate on a log x axis, several runs or optimizers on one axes.

    The drawing of `lr_lessons.tools.range_test.plot.plot_loss` (what
    `RangeTestResult.plot` shows) with the lessons' footer under it.

    Args:
        curves: Label -> `RangeTestResult` or `RangeTestRepeats`.
        ax: Axes to draw into (default: a new figure).
        suggestions: The rules to mark (`None` or empty: none).
        raw: Draw a single run's raw losses too.
        title: The title.
        note: Footer under the figure.
        xlabel: The x label.

    Returns:
        The figure.
    """
    fig = plot.plot_loss(curves, ax, suggestions, raw, title, xlabel)
    add_footer(fig, note)
    return fig


def plot_delta(
    curves: Mapping[str, Curve],
    ax=None,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """The original's loss delta `(loss[i] - loss[i-20]) / 20` against the rate (log x).

    The y axis is symmetric around 0 and clipped at the 99th percentile of |delta|.

    Args:
        curves: Label -> `RangeTestResult` or `RangeTestRepeats` (seed mean, band).
        ax: Axes to draw into (default: a new figure).
        title: The title.
        note: Footer under the figure.

    Returns:
        The figure.
    """
    fig, ax = _axes(ax)
    for i, (label, curve) in enumerate(curves.items()):
        color = f"C{i}"
        if isinstance(curve, RangeTestRepeats):
            lrs, mean, lo, hi = curve.mean_curve("delta")
            ax.plot(
                lrs, mean, color=color, lw=1.4, label=f"{label} (mean of {len(curve.seeds)} seeds)"
            )
            if len(curve.seeds) > 1:
                ax.fill_between(lrs, lo, hi, color=color, alpha=0.2, lw=0)
            window = curve.settings.get("window", 20)
        else:
            ax.plot(curve.lrs, curve.loss_delta(), color=color, lw=1.4, label=label)
            window = curve.settings.get("window", 20)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylabel(f"loss delta per batch (window {window})")
    lim = []
    for curve in curves.values():
        d = curve.curves("delta")[1] if isinstance(curve, RangeTestRepeats) else curve.loss_delta()
        d = d[np.isfinite(d)]
        if d.size:
            lim.append(np.percentile(np.abs(d), 99))
    if lim:
        top = max(lim) * 1.1
        ax.set_ylim(-top, top)
    ax.legend(fontsize=SMALL_PT, loc="lower left")
    _finish(fig, ax, title, note, "learning rate (log scale)")
    return fig


def plot_metric(
    result: RangeTestResult,
    metric: str = "accuracy",
    fractions: Sequence[float] = (1 / 3, 1 / 4),
    ax=None,
    log_x: bool = False,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """A metric against the rate (Smith's reading), with the max usable rate and the
    cyclical minimum (`fractions` of it) marked.

    Args:
        result: One range test with the metric per point and/or on validation points.
        metric: The metric (e.g. `"accuracy"`).
        fractions: The cyclical minimum as fractions of the max usable rate.
        ax: Axes to draw into (default: a new figure).
        log_x: A log rate axis (the default linear axis suits a linear ramp).
        title: The title.
        note: Footer under the figure.

    Returns:
        The figure.
    """
    fig, ax = _axes(ax)
    if metric in result.metrics:
        ax.plot(result.lrs, result.metrics[metric], color="C0", lw=0.6, alpha=0.3)
        ax.plot(
            result.lrs,
            result.smoothed_metric(metric),
            color="C0",
            lw=1.6,
            label=f"training {metric} (smoothed)",
        )
    if metric in result.validation:
        ax.plot(
            result.validation["lr"],
            result.validation[metric],
            "o-",
            color="C1",
            ms=3,
            lw=1.2,
            label=f"validation {metric} (fixed subset)",
        )
    top = result.max_usable_lr(metric)
    ax.axvline(top, color="C3", lw=1.5, label=f"max usable rate {top:.3g}")
    lows = [top * f for f in fractions]
    if lows:
        ax.axvspan(
            min(lows),
            max(lows),
            color="C2",
            alpha=0.2,
            label=(
                "cyclical minimum "
                + " - ".join(f"{lo:.3g}" for lo in sorted(lows))
                + " ("
                + ", ".join(f"1/{round(1 / f)}" for f in fractions)
                + " of max)"
            ),
        )
    if log_x:
        ax.set_xscale("log")
    ax.set_ylabel(metric)
    ax.legend(fontsize=SMALL_PT, loc="lower right")
    _finish(fig, ax, title, note, "learning rate" + (" (log scale)" if log_x else " (linear ramp)"))
    return fig


def plot_linear_reading(
    repeats: RangeTestRepeats,
    readings: Sequence,
    fractions: Sequence[float] = (1 / 3, 1 / 4),
    metric: str = "accuracy",
    ax=None,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Smith's linear-ramp reading over seeds.

    Each seed's validation `metric` against the rate (linear x), the point before its
    first fall marked (a dot) and the fall (a cross), the median of those rates as the
    max usable rate (a red line), and the cyclical minimum (`fractions` of it) as a band.

    Args:
        repeats: The seeds' range tests, each with validation points.
        readings: One `lr_lessons.lab.ramp_reading.Fall` per run, in run order.
        fractions: The cyclical minimum as fractions of the max usable rate.
        metric: The validation metric.
        ax: Axes to draw into (default: a new figure).
        title: The title.
        note: Footer under the figure.

    Returns:
        The figure.

    Raises:
        ValueError: If there is not one reading per run.
        KeyError: If a run has no validation `metric`.
    """
    if len(readings) != len(repeats.runs):
        raise ValueError(f"{len(readings)} readings for {len(repeats.runs)} runs: one per run")
    fig, ax = _axes(ax, size=(7.2, 4.4))
    tops = []
    for i, (seed, run, f) in enumerate(zip(repeats.seeds, repeats.runs, readings)):
        if metric not in run.validation:
            raise KeyError(f"run for seed {seed} has no validation {metric!r}")
        lrs, v = run.validation["lr"], run.validation[metric]
        c = f"C{i}"
        ax.plot(lrs, v, "-", color=c, lw=1.2, ms=2.5, marker="o", label=f"seed {seed}")
        ax.plot(lrs[f.peak], v[f.peak], "o", color=c, mec="k", ms=8, zorder=5)
        if f.fall is not None:
            ax.plot(lrs[f.fall], v[f.fall], "X", color=c, mec="k", ms=9, zorder=5)
        tops.append(float(lrs[f.peak]))
    top = float(np.median(tops))
    ax.axvline(top, color="C3", lw=1.6, label=f"max usable rate {top:.3g} (median over seeds)")
    lows = [top * f for f in fractions]
    ax.axvspan(
        min(lows),
        max(lows),
        color="0.5",
        alpha=0.2,
        label="cyclical minimum "
        + " - ".join(f"{lo:.3g}" for lo in sorted(lows))
        + " ("
        + ", ".join(f"1/{round(1 / f)}" for f in fractions)
        + " of max)",
    )
    handles, labels = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], ls="", marker="o", color="0.6", mec="k", ms=8),
        Line2D([], [], ls="", marker="X", color="0.6", mec="k", ms=9),
    ]
    labels += ["best point before the first fall", "first fall"]
    ax.legend(handles, labels, fontsize=SMALL_PT, loc="best", framealpha=0.85)
    ax.set_ylabel(f"validation {metric}")
    _finish(fig, ax, title, note, "learning rate (linear ramp)")
    return fig
