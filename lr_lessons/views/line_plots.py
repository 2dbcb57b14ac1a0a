"""Line plots: a quantity over epochs or update steps, or against the learning rate.

Nothing here trains: every function draws numbers it is given (saved `Results`,
schedule values, search trials) and returns a figure for `plotting.save_figure`.
Runs over several seeds are drawn as a line (mean or median) with a band: the 10-90th
percentile of the seeds from 10 seeds on, min-max below (`plotting.band_range`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lr_lessons.lab.results import Results
from lr_lessons.views.plotting import SMALL_PT, add_footer, band, band_range, caption, new_figure

LABELS = {
    "accuracy": "train",
    "val_accuracy": "test",
    "loss": "train",
    "val_loss": "test",
    "learning_rate": "learning rate",
}
COLORS = {"accuracy": "C0", "val_accuracy": "C1", "loss": "C0", "val_loss": "C1"}
_TINY = 1e-12  # the smallest loss a log axis shows (a loss of 0 has no logarithm)


def _grid(n: int, ncols: int, panel: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    nrows = math.ceil(n / ncols)
    fig = new_figure((panel[0] * ncols, panel[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _bottom_axes(axes: np.ndarray, n: int) -> list:
    """The lowest visible panel of each column (they carry the x tick labels)."""
    nrows, ncols = axes.shape
    bottom = []
    for c in range(ncols):
        r = max(r for r in range(nrows) if r * ncols + c < n) if c < n else None
        if r is not None:
            axes[r, c].xaxis.set_tick_params(labelbottom=True)
            bottom.append(axes[r, c])
    return bottom


def metric_grid(
    results: Results,
    metrics: Sequence[str] = ("accuracy", "val_accuracy"),
    ncols: int = 2,
    ylabel: str = "accuracy",
    logy: bool = False,
    title: str | None = None,
    center: str = "mean",
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """One panel per setting, titled with it: each metric over epochs, a line (mean or
    median over seeds) with a seed band.

    The originals' figures are `metrics=("accuracy", "val_accuracy")` (train vs test).

    Args:
        results: The study's saved results.
        metrics: The metrics to draw in every panel (legend: train / test).
        ncols: Panels per row.
        ylabel: The y label of the first column.
        logy: A log y axis in every panel.
        title: The figure's title.
        center: `"mean"` or `"median"` over seeds.
        ylim: Optional y range of every panel.

    Returns:
        The figure, with a footer from `plotting.caption`.
    """
    fig, axes = _grid(len(results.settings), ncols, (4.2, 2.7))
    epochs = np.arange(1, results.epochs + 1)
    for ax, setting in zip(axes.flat, results.settings):
        for m in metrics:
            runs = results.get(m, setting)
            band(ax, epochs, runs, COLORS.get(m, "C2"), LABELS.get(m, m), center)
        ax.set_title(setting, fontsize=10)
        ax.grid(alpha=0.3)
        if logy:
            ax.set_yscale("log")
        if ylim:
            ax.set_ylim(*ylim)
    for ax in _bottom_axes(axes, len(results.settings)):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    if len(metrics) > 1:
        axes.flat[0].legend(loc="lower right", fontsize=SMALL_PT)
    if title:
        fig.suptitle(title)
    add_footer(fig, caption(results, center=center))
    return fig


def accuracy_grid(results: Results, ncols: int = 2, title: str | None = None) -> Figure:
    """The originals' figure: train and test accuracy per epoch, one panel per setting.

    Args:
        results: The study's saved results.
        ncols: Panels per row.
        title: The figure's title.

    Returns:
        The figure (see `metric_grid`).
    """
    return metric_grid(results, ("accuracy", "val_accuracy"), ncols, "accuracy", title=title)


def metric_lines(
    results: Results,
    metric: str = "loss",
    settings: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    ylabel: str = "training loss",
    logy: bool = True,
    title: str | None = None,
    zoom: tuple[float, float] | None = None,
) -> Figure:
    """One metric of several settings on one axes: mean over seeds and a seed band
    (the classic "loss per epoch for high / good / low learning rates" picture).

    Args:
        results: The study's saved results.
        metric: The metric to draw.
        settings: The settings to draw, in legend order (default: all).
        labels: Optional legend label per setting (default: the setting's name).
        ylabel: The y label; " (log scale)" is added on a log axis.
        logy: A log y axis in the main panel.
        title: The title.
        zoom: `(low, high)` adds a second panel with a linear y axis limited to that
            range, where curves the log axis squeezes together can be told apart.

    Returns:
        The figure, with a footer from `plotting.caption`.
    """
    fig = new_figure((12.0, 4.3) if zoom else (6.8, 4.3))
    axes = np.atleast_1d(fig.subplots(1, 2 if zoom else 1))
    epochs = np.arange(1, results.epochs + 1)
    labels = labels or {}
    for k, ax in enumerate(axes):
        for i, s in enumerate(settings or results.settings):
            band(ax, epochs, results.get(metric, s), f"C{i}", labels.get(s, s))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if k == 0:
            if logy:
                ax.set_yscale("log")
            ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
            ax.legend(fontsize=SMALL_PT)
        else:
            ax.set_ylim(*zoom)
            ax.set_ylabel(f"{ylabel} (linear, zoomed)")
    if title:
        if zoom:
            fig.suptitle(title)
        else:
            axes[0].set_title(title, fontsize=10)
    add_footer(fig, caption(results))
    return fig


def train_val_loss(
    results: Results,
    best_epochs: Mapping[str, int],
    title: str | None = None,
    restored: Mapping[str, int] | None = None,
) -> Figure:
    """Per setting, a panel of train and validation loss (mean, seed band) with the
    epoch of the lowest mean validation loss marked.

    Args:
        results: The study's saved results (with `loss` and `val_loss`).
        best_epochs: Setting -> epoch (from 1) of its lowest mean validation loss,
            drawn as a star on a dashed line.
        title: The figure's title.
        restored: Optional setting -> epoch where early stopping stopped and
            restored the weights (a dotted line).

    Returns:
        The figure, with a footer from `plotting.caption`.
    """
    n = len(results.settings)
    fig = new_figure((max(7.0, 4.6 * n), 3.8))
    axes = np.atleast_1d(fig.subplots(1, n, sharey=True))
    epochs = np.arange(1, results.epochs + 1)
    top = 0.0
    for ax, s in zip(axes, results.settings):
        band(ax, epochs, results.get("loss", s), "C0", "train loss")
        band(ax, epochs, results.get("val_loss", s), "C1", "validation loss")
        skip = max(1, results.epochs // 20)  # the first epochs' loss would squash the rest
        with np.errstate(all="ignore"):
            for m in ("loss", "val_loss"):
                top = max(top, float(np.nanmax(results.get(m, s)[:, skip:])))
        if s in best_epochs:
            e = best_epochs[s]
            v = np.nanmean(results.get("val_loss", s), axis=0)[e - 1]
            ax.axvline(e, color="k", lw=0.9, ls="--")
            ax.plot([e], [v], "k*", ms=10, label=f"lowest mean validation loss (epoch {e})")
        if restored and s in restored:
            ax.axvline(
                restored[s],
                color="C3",
                lw=1.2,
                ls=":",
                label=f"EarlyStopping restores epoch {restored[s]}",
            )
        ax.set_title(s, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=SMALL_PT)
    if np.isfinite(top) and top > 0:
        axes[0].set_ylim(0, 1.1 * top)
    axes[0].set_ylabel("loss (categorical cross-entropy)")
    if title:
        fig.suptitle(title)
    add_footer(fig, caption(results))
    return fig


def rate_panels(
    results: Results,
    ncols: int = 2,
    title: str | None = None,
    metric: str = "learning_rate",
) -> Figure:
    """The rate each setting trained with, one panel per setting, each on its own scale.

    A panel whose rates span more than a factor of 20 gets a log axis limited to the
    rates it shows; any other panel a linear axis from 0 to a little above its largest
    rate, so a constant rate, a cycle between two bounds and a decay over twenty orders
    of magnitude are all readable at once. Line: median over seeds, band: `plotting.band_range`.

    Args:
        results: The study's saved results.
        ncols: Panels per row.
        title: The figure's title.
        metric: The recorded rate.

    Returns:
        The figure, with a footer from `plotting.caption`.

    Raises:
        ValueError: If `results` has no settings.
    """
    n = len(results.settings)
    if n == 0:
        raise ValueError("results has no settings")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = new_figure((4.4 * ncols, 2.5 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharex=True)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    epochs = np.arange(1, results.epochs + 1)
    for i, (ax, s) in enumerate(zip(axes, results.settings)):
        runs = results.get(metric, s)
        band(ax, epochs, runs, "C0", s, center="median")
        v = runs[np.isfinite(runs) & (runs > 0)]
        if v.size and v.max() / v.min() > 20:
            ax.set_yscale("log")
            ax.set_ylim(v.min() / 2, v.max() * 2)
            scale = "log"
        elif v.size:
            ax.set_ylim(0, 1.15 * v.max())
            scale = "linear"
        else:
            scale = "no positive rate"
        ax.set_title(s, fontsize=9)
        ax.grid(alpha=0.3, which="major")
        ax.set_ylabel(f"rate ({scale})", fontsize=SMALL_PT)
        if i >= n - ncols:
            ax.set_xlabel("epoch")
            ax.xaxis.set_tick_params(labelbottom=True)
    if title:
        fig.suptitle(title)
    add_footer(fig, caption(results, center="median"))
    return fig


def trajectory_panels(
    panels: Mapping[str, Mapping[str, np.ndarray]],
    xlabel: str = "epoch",
    ylabel: str = "learning rate",
    logy: bool | Sequence[bool] = True,
    title: str | None = None,
    note: str | None = None,
    ncols: int | None = None,
    first: int = 1,
) -> Figure:
    """Curves over training, one panel per title, each label drawn as the mean over
    runs with a seed band (one run: just the line).

    On a log y axis, values <= 0 (a rate driven below zero) cannot be shown; they are
    counted in the panel instead of silently dropped.

    Args:
        panels: `{panel title: {label: runs}}`, runs of shape (seeds, steps).
        xlabel: The x label of every panel.
        ylabel: The y label of every panel.
        logy: A log y axis: one flag, or one per panel.
        title: The figure's title.
        note: Footer under the figure (data, seeds), e.g. from `plotting.caption`.
        ncols: Panels per row (default: all in one row).
        first: The step of the first column (0 when the runs start with the initial
            value).

    Returns:
        The figure.
    """
    n = len(panels)
    ncols = ncols or n
    nrows = math.ceil(n / ncols)
    fig = new_figure((4.6 * ncols, 3.4 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    logs = [logy] * n if isinstance(logy, bool) else list(logy)
    for ax, log, (panel, lines) in zip(axes.flat, logs, panels.items()):
        hidden = 0
        for i, (label, runs) in enumerate(lines.items()):
            runs = np.atleast_2d(np.asarray(runs, dtype=float))
            if log:
                hidden += int(np.sum(runs <= 0))
                runs = np.where(runs > 0, runs, np.nan)
            steps = np.arange(first, first + runs.shape[1])
            with warnings.catch_warnings():  # steps where every run is hidden
                warnings.simplefilter("ignore", RuntimeWarning)
                band(ax, steps, runs, f"C{i}", label)
        if log:
            ax.set_yscale("log")
        # Said in the legend's title: the legend sits where no line runs.
        hidden_note = (
            f"{hidden} value{'s' if hidden > 1 else ''} <= 0 not shown (log axis)"
            if hidden
            else None
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=SMALL_PT, title=hidden_note, title_fontsize=SMALL_PT)
    if title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig


def curves(
    series: Mapping[str, np.ndarray] | Mapping[str, Mapping[str, np.ndarray]],
    *,
    x: np.ndarray | None = None,
    ncols: int = 2,
    xlabel: str = "update (step)",
    ylabel: str = "learning rate",
    logy: bool | Sequence[bool] = False,
    title: str | None = None,
    note: str | None = None,
    legend_loc: str = "best",
    legend_anchor: tuple[float, float] | None = None,
) -> Figure:
    """Named curves on one axes or on several panels (e.g. schedules' rate per step).

    Args:
        series: `{label: values}` draws one axes; `{panel title: {label: values}}` draws
            one panel per entry, `ncols` to a row.
        x: The x values of every curve (default: 0, 1, 2, ... per curve).
        ncols: Panels per row.
        xlabel: The x axis label.
        ylabel: The y axis label; " (log scale)" is added on log axes.
        logy: One flag for every panel or one per panel (e.g. the same curves on a
            linear and on a log axis, side by side).
        title: The axes' title (one axes) or the figure's (panels).
        note: Footer under the figure (where the values come from).
        legend_loc: Where the legend goes (matplotlib's `loc`). When every panel shows
            the same labels, one legend in the first panel names them: place it where
            no curve runs.
        legend_anchor: Optional `bbox_to_anchor` of that legend.

    Returns:
        The figure.

    Raises:
        ValueError: If `series` is empty or `logy` has not one flag per panel.
    """
    if not series:
        raise ValueError("series is empty: give {label: values} or {panel: {label: values}}")
    single = not all(isinstance(v, Mapping) for v in series.values())
    panels = {"": series} if single else series
    n = len(panels)
    logs = [logy] * n if isinstance(logy, bool) else [bool(v) for v in logy]
    if len(logs) != n:
        raise ValueError(f"logy has {len(logs)} flags for {n} panels; give one per panel")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = new_figure((6.4, 4.0) if single else (4.4 * ncols, 2.9 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    first = list(next(iter(panels.values())))
    shared = n > 1 and all(list(lines) == first for lines in panels.values())
    fontsize = 9 if single else SMALL_PT
    for ax, log, (name, lines) in zip(axes, logs, panels.items()):
        for i, (label, y) in enumerate(lines.items()):
            y = np.asarray(y, dtype=float)
            ax.plot(np.arange(len(y)) if x is None else x, y, color=f"C{i}", label=label, lw=1.5)
        if name:
            ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel + (" (log scale)" if log else ""))
        if len(lines) > 1 and not shared:
            ax.legend(fontsize=fontsize, loc=legend_loc, bbox_to_anchor=legend_anchor)
    if shared and len(first) > 1:  # the same curves in every panel: one legend, placed
        axes[0].legend(
            fontsize=fontsize, loc=legend_loc, bbox_to_anchor=legend_anchor, framealpha=0.9
        )
    if title and single:
        axes[0].set_title(title)
    elif title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig


def threshold_curves(
    rates: np.ndarray,
    losses: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float],
    steps: int,
    note: str | None = None,
) -> Figure:
    """Loss after `steps` steps against the learning rate (log-log), one curve per
    bowl, with its divergence threshold `2 / curvature` as a dashed vertical line.

    Losses that are not finite (a run that blew up) leave a gap; the y axis is clipped
    to 1e-13 .. 1e8.

    Args:
        rates: The learning rates (x).
        losses: Bowl label -> loss after `steps` steps at each rate.
        thresholds: Bowl label -> its divergence threshold.
        steps: The number of steps (for the y label).
        note: Footer under the figure.

    Returns:
        The figure.
    """
    fig = new_figure((6.6, 4.2))
    ax = fig.subplots()
    for i, (label, values) in enumerate(losses.items()):
        v = np.asarray(values, dtype=float)
        ax.plot(
            rates,
            np.where(np.isfinite(v), np.maximum(v, _TINY), np.nan),
            color=f"C{i}",
            label=label,
            lw=1.6,
        )
        if label in thresholds:
            ax.axvline(thresholds[label], color=f"C{i}", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-13, 1e8)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"loss after {steps} steps (log scale, clipped)")
    ax.set_title("Gradient descent on $f(w) = a\\,w^2/2$: dashed lines at $2/a$", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=SMALL_PT)
    add_footer(fig, note)
    return fig


def final_vs_rate(
    rates: Sequence[float],
    panels: Mapping[str, Mapping[str, np.ndarray]],
    ylabel: str = "final test accuracy",
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Sensitivity to the initial learning rate: one panel per group of optimizers.

    Each label is drawn as the mean over seeds against the rate (log x) with a seed
    band (`plotting.band_range`); runs that diverged (NaN) are left out of mean and
    band. The first label of a panel is dashed (the baseline).

    Args:
        rates: The initial learning rates.
        panels: `{panel title: {label: values}}`, values of shape (len(rates), seeds).
        ylabel: The y label.
        title: The figure's title.
        note: Footer under the figure, e.g. from `plotting.caption`.

    Returns:
        The figure.
    """
    rates = np.asarray(rates, dtype=float)
    fig = new_figure((4.6 * len(panels), 3.7))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (panel, lines) in zip(axes, panels.items()):
        for i, (label, values) in enumerate(lines.items()):
            values = np.asarray(values, dtype=float)
            with np.errstate(all="ignore"):
                mean = np.nanmean(values, axis=1)
            lo, hi = band_range(values, axis=1)
            style = "--" if i == 0 else "-"
            ax.plot(rates, mean, style, marker="o", ms=4, color=f"C{i}", label=label, lw=1.6)
            if values.shape[1] > 1:
                ax.fill_between(rates, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("initial learning rate")
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=SMALL_PT, loc="lower center")
    axes[0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig


def search_trials(
    trials: Sequence[tuple[float, str, np.ndarray]],
    chosen: Mapping[str, float],
    ylabel: str,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Score of every trial of a learning-rate search against its rate (log x).

    One dot per seed and the mean as a marker, per stage (e.g. coarse, fine); each
    `chosen` rate as a dashed vertical line.

    Args:
        trials: `(rate, stage, per-seed scores)` per trial.
        chosen: Label -> chosen rate.
        ylabel: What the score is.
        title: The title.
        note: Footer under the figure.

    Returns:
        The figure.
    """
    fig = new_figure((6.8, 4.2))
    ax = fig.subplots()
    stages = list(dict.fromkeys(stage for _, stage, _ in trials))
    markers = {stage: m for stage, m in zip(stages, "os^Dv")}
    for k, stage in enumerate(stages):
        rows = sorted((r, v) for r, st, v in trials if st == stage)
        rs = np.array([r for r, _ in rows])
        means = np.array([np.nanmean(v) for _, v in rows])
        for r, v in rows:
            ax.plot(np.full(len(v), r), v, ".", color=f"C{k}", alpha=0.4, ms=4)
        ax.plot(rs, means, marker=markers[stage], color=f"C{k}", lw=1, label=f"{stage} (mean)")
    for j, (label, rate) in enumerate(chosen.items()):
        ax.axvline(rate, color=f"C{len(stages) + j}", ls="--", lw=1.2, label=f"{label}: {rate:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=SMALL_PT)
    if title:
        ax.set_title(title, fontsize=10)
    add_footer(fig, note)
    return fig
