"""Pictures for chapter 0 (what the learning rate does) and chapter 7 (schedules, search).

Like :mod:`lr_lessons.views.plotting`, nothing here trains: every function draws numbers it is
given (paths computed by :mod:`lr_lessons.lab.gradient_descent`, saved ``Results``, schedule
values, search trials) and returns a figure for ``plotting.save_figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lr_lessons.lab.gradient_descent import Bowl
from lr_lessons.lab.results import Results
from lr_lessons.views.plotting import band, caption, new_figure

_TINY = 1e-12


def _note(fig: Figure, note: str | None) -> None:
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")


def _finite_limits(values: np.ndarray, pad: float = 0.1) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or 1.0
    return lo - pad * span, hi + pad * span


def descent_paths(
    bowl: Bowl,
    paths: Mapping[str, np.ndarray],
    title: str | None = None,
    note: str | None = None,
    view: float | Sequence[float] | None = None,
) -> Figure:
    """Where gradient descent goes, and how fast the loss falls.

    1-D bowl: the iterates on the parabola (left) and the loss per step (right).
    2-D bowl: one contour panel per rate with its path (top row) and the loss per step
    of all rates (bottom). Loss axes are logarithmic; a diverging run leaves the top.

    ``paths`` maps a label (e.g. "lr=0.1: too small") to an array (steps + 1, dim) from
    :func:`lr_lessons.lab.gradient_descent.descend`. ``view`` is the half-width of the
    picture, one number or one per axis (default: 1.6 x the start point's coordinates).
    """
    if not paths:
        raise ValueError("paths is empty")
    first = np.asarray(next(iter(paths.values())), dtype=float)
    if view is None:
        half = 1.6 * np.maximum(np.abs(first[0]), 1e-3)
    else:
        half = np.broadcast_to(np.asarray(view, dtype=float), (bowl.dim,))
    n = len(paths)
    if bowl.dim == 1:
        fig = new_figure((10.5, 4.0))
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        tracks = [left] * n
        w = np.linspace(-half[0], half[0], 400)
        top = float(bowl.loss(half[:1]))
        left.plot(w, bowl.loss(w[:, None]), color="0.6", lw=1.2)
        left.set(xlabel="weight $w$", ylabel="loss $f(w)$", xlim=(-half[0], half[0]))
        left.set_ylim(-0.05 * top, 1.1 * top)
        left.grid(alpha=0.3)
    else:
        fig = new_figure((3.0 * n, 6.4))
        grid = fig.add_gridspec(2, n, height_ratios=[1, 1.05])
        tracks = [fig.add_subplot(grid[0, i]) for i in range(n)]
        right = fig.add_subplot(grid[1, :])
        gx = np.linspace(-half[0], half[0], 300)
        gy = np.linspace(-half[1], half[1], 300)
        xx, yy = np.meshgrid(gx, gy)
        zz = bowl.loss(np.stack([xx, yy], axis=-1))
        levels = np.geomspace(zz.max() / 2000, zz.max(), 10)
        for ax in tracks:
            ax.contour(xx, yy, zz, levels=levels, colors="0.8", linewidths=0.8)
            ax.plot([0], [0], "k+", ms=8)
            ax.set(xlim=(-half[0], half[0]), ylim=(-half[1], half[1]), xlabel="$w_1$")
            ax.set_aspect("equal")
        tracks[0].set_ylabel("$w_2$")
    for i, ((label, path), ax) in enumerate(zip(paths.items(), tracks)):
        path = np.asarray(path, dtype=float)
        color = f"C{i}"
        inside = np.all(np.isfinite(path), axis=1) & np.all(np.abs(path) <= 50 * half, axis=1)
        shown = path[: len(path) if inside.all() else int(np.argmin(inside))]
        if bowl.dim == 1:
            ax.plot(shown[:, 0], bowl.loss(shown), "o-", color=color, ms=3, lw=0.9, label=label)
        else:
            ax.plot(shown[:, 0], shown[:, 1], "o-", color=color, ms=2.5, lw=0.9)
            ax.set_title(label, fontsize=9, color=color)
        with np.errstate(all="ignore"):
            losses = bowl.loss(path)
        right.plot(np.arange(len(path)), np.maximum(losses, _TINY), color=color, lw=1.5,
                   label=label)  # fmt: skip
    if bowl.dim == 1:  # not on the parabola: a diverging path fills its top
        right.legend(fontsize=7, loc="lower right")
    else:
        right.legend(fontsize=8, loc="lower left")
    right.set_yscale("log")
    start = float(bowl.loss(first[0]))
    right.set_ylim(max(_TINY, start * 1e-8), start * 1e3)
    right.set_xlabel("step")
    right.set_ylabel("loss (log scale)")
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    _note(fig, note)
    return fig


def threshold_curves(
    rates: np.ndarray,
    losses: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float],
    steps: int,
    note: str | None = None,
) -> Figure:
    """Loss after ``steps`` steps against the learning rate (log-log), one curve per bowl,
    with its divergence threshold ``2 / curvature`` as a dashed vertical line."""
    fig = new_figure((6.6, 4.2))
    ax = fig.subplots()
    for i, (label, values) in enumerate(losses.items()):
        v = np.asarray(values, dtype=float)
        ax.plot(rates, np.where(np.isfinite(v), np.maximum(v, _TINY), np.nan), color=f"C{i}",
                label=label, lw=1.6)  # fmt: skip
        if label in thresholds:
            ax.axvline(thresholds[label], color=f"C{i}", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-13, 1e8)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"loss after {steps} steps (log scale, clipped)")
    ax.set_title("Gradient descent on $f(w) = a\\,w^2/2$: dashed lines at $2/a$", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    _note(fig, note)
    return fig


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
    """One metric of several settings on one axes: mean over seeds and a min-max band
    (the classic "loss per epoch for high / good / low learning rates" picture).

    ``zoom=(low, high)`` adds a second panel with a linear y-axis limited to that range,
    where curves that the log axis squeezes together can be told apart.
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
            ax.legend(fontsize=8)
        else:
            ax.set_ylim(*zoom)
            ax.set_ylabel(f"{ylabel} (linear, zoomed)")
    if title:
        if zoom:
            fig.suptitle(title)
        else:
            axes[0].set_title(title, fontsize=10)
    _note(fig, caption(results))
    return fig


def train_val_loss(
    results: Results,
    best_epochs: Mapping[str, int],
    title: str | None = None,
    restored: Mapping[str, int] | None = None,
) -> Figure:
    """Per setting, a panel of train and validation loss (mean, min-max band) with the epoch
    of the lowest mean validation loss marked; ``restored`` adds where early stopping
    stopped/restored (a dotted line)."""
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
                restored[s], color="C3", lw=1.2, ls=":",
                label=f"EarlyStopping restores epoch {restored[s]}",
            )  # fmt: skip
        ax.set_title(s, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if np.isfinite(top) and top > 0:
        axes[0].set_ylim(0, 1.1 * top)
    axes[0].set_ylabel("loss (categorical cross-entropy)")
    if title:
        fig.suptitle(title)
    _note(fig, caption(results))
    return fig


def schedule_panels(
    panels: Mapping[str, Mapping[str, np.ndarray]],
    ncols: int = 2,
    xlabel: str = "update (step)",
    logy: bool | Sequence[bool] = False,
    title: str | None = None,
    note: str | None = None,
    legend_loc: str = "best",
    legend_anchor: tuple[float, float] | None = None,
) -> Figure:
    """Several panels of learning-rate curves: ``{panel title: {label: rate per step}}``.

    ``logy`` is one flag for every panel or one per panel (e.g. the same curves on a
    linear and on a log axis, side by side). When every panel shows the same labels,
    one legend in the first panel names them, at ``legend_loc`` (matplotlib's ``loc``,
    optionally with ``bbox_to_anchor=legend_anchor``): place it where no curve runs.
    """
    n = len(panels)
    if n == 0:
        raise ValueError("panels is empty")
    logs = [logy] * n if isinstance(logy, bool) else [bool(v) for v in logy]
    if len(logs) != n:
        raise ValueError(f"logy has {len(logs)} flags for {n} panels; give one per panel")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = new_figure((4.4 * ncols, 2.9 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    first = list(next(iter(panels.values())))
    shared = n > 1 and all(list(series) == first for series in panels.values())
    for ax, log, (name, series) in zip(axes, logs, panels.items()):
        for i, (label, y) in enumerate(series.items()):
            ax.plot(np.arange(len(y)), y, color=f"C{i}", label=label, lw=1.5)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("learning rate" + (" (log scale)" if log else ""))
        if len(series) > 1 and not shared:
            ax.legend(fontsize=7)
    if shared and len(first) > 1:  # the same curves in every panel: one legend, placed
        axes[0].legend(fontsize=7, loc=legend_loc, bbox_to_anchor=legend_anchor,
                       framealpha=0.9)  # fmt: skip
    if title:
        fig.suptitle(title)
    _note(fig, note)
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
    of magnitude are all readable at once. Line: median over seeds, band: min-max.
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
        ax.set_ylabel(f"rate ({scale})", fontsize=8)
        if i >= n - ncols:
            ax.set_xlabel("epoch")
            ax.xaxis.set_tick_params(labelbottom=True)
    if title:
        fig.suptitle(title)
    _note(fig, caption(results, center="median"))
    return fig


def search_trials(
    trials: Sequence[tuple[float, str, np.ndarray]],
    chosen: Mapping[str, float],
    ylabel: str,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Score of every trial of a learning-rate search against its rate (log x): one dot
    per seed and the mean as a marker, per stage; ``chosen`` rates as vertical lines."""
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
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    _note(fig, note)
    return fig


def summary_bars(
    values: Mapping[str, np.ndarray],
    xlabel: str,
    title: str | None = None,
    note: str | None = None,
    groups: Mapping[str, str] | None = None,
    xlim: tuple[float, float] = (0.0, 1.0),
) -> Figure:
    """Horizontal bars (long setting names stay readable): the mean over seeds as a bar,
    every seed's value as a dot, and the mean written at the bar's base (clear of the
    dots, which sit near its end).

    Colours carry meaning: ``groups`` maps each label to its kind (e.g. "constant rate",
    "one-cycle"), one colour per kind with a legend; without it every bar is grey. The
    axis runs over ``xlim`` (default 0 to 1, the whole accuracy scale: no truncation).
    NaN values (diverged seeds) are left out of the mean and counted on the bar.
    """
    n = len(values)
    if n == 0:
        raise ValueError("values is empty")
    groups = dict(groups or {})
    missing = [k for k in values if groups and k not in groups]
    if missing:
        raise ValueError(f"groups has no kind for {missing}; give every label one")
    kinds = list(dict.fromkeys(groups[k] for k in values)) if groups else []
    colour = {kind: f"C{i % 10}" for i, kind in enumerate(kinds)}
    fig = new_figure((8.6, 0.42 * n + 1.5))
    ax = fig.subplots()
    lo, hi = xlim
    span = hi - lo
    shown = set()
    for i, (label, v) in enumerate(values.items()):
        v = np.asarray(v, dtype=float)
        ok = v[np.isfinite(v)]
        mean = float(ok.mean()) if ok.size else float("nan")
        kind = groups.get(label)
        c = colour.get(kind, "0.6")
        bar_label = kind if kind and kind not in shown else None
        shown.add(kind)
        if np.isfinite(mean):
            ax.barh(i, mean - lo, left=lo, color=c, alpha=0.55, label=bar_label, height=0.7)
        ax.plot(ok, np.full(ok.size, i), "k.", ms=4)
        text = f"{mean:.3f}" if np.isfinite(mean) else "no finite value"
        if ok.size < v.size:
            text += f" ({v.size - ok.size} of {v.size} seeds NaN)"
        inside = np.isfinite(mean) and mean - lo > 0.3 * span
        right = max(float(ok.max()), mean) if ok.size else lo  # clear of the seeds' dots
        x = lo + 0.01 * span if inside else right + 0.015 * span
        ax.text(x, i, text, va="center", ha="left", fontsize=8)  # at the bar's base
    ax.set_yticks(range(n), list(values))
    ax.invert_yaxis()
    ax.set_xlim(lo, hi)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    if kinds:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="kind",
                  title_fontsize=8)  # fmt: skip
    if title:
        ax.set_title(title, fontsize=10)
    _note(fig, note)
    return fig
