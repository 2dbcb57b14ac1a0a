"""Pictures from saved results. Nothing here trains: every function reads numbers it is given.

Each figure a chapter shows is drawn by a named function below and written by
:func:`save_figure` into ``figures/NN_topic/name.png``, so a notebook and the
``lr-lessons figures`` command make the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lr_lessons import config
from lr_lessons.files import atomic_path
from lr_lessons.lab.results import Results

LABELS = {
    "accuracy": "train",
    "val_accuracy": "test",
    "loss": "train",
    "val_loss": "test",
    "learning_rate": "learning rate",
}
COLORS = {"accuracy": "C0", "val_accuracy": "C1", "loss": "C0", "val_loss": "C1"}


def new_figure(size: tuple[float, float]) -> Figure:
    """A new figure that pyplot no longer tracks.

    Made through pyplot, so a notebook's inline backend is set up and shows the figure
    when a cell ends with it; closed at once, so it is not shown a second time at the
    end of the cell and loops do not pile figures up.
    """
    fig = plt.figure(figsize=size, layout="constrained")
    plt.close(fig)
    return fig


def save_figure(fig: Figure, name: str, dpi: int = 110) -> Path:
    """Write ``fig`` to ``<figures>/<name>.png`` atomically and return the path.

    ``name`` is ``"NN_topic/figure_name"``; a suffix (``.png`` or ``.svg``) may be given.
    """
    path = config.figures_dir() / name
    if path.suffix not in {".png", ".svg"}:
        path = path.with_suffix(".png")
    with atomic_path(path) as tmp:
        fig.savefig(
            tmp, format=path.suffix[1:], dpi=dpi, bbox_inches="tight", metadata=_png_metadata(path)
        )
    return path


def _png_metadata(path: Path) -> dict[str, str] | None:
    # Fixed metadata keeps re-rendered PNGs byte-identical (no timestamps, no versions).
    return {"Software": None} if path.suffix == ".png" else {"Date": None, "Creator": None}


def caption(results: Results, band: str = "min-max", center: str = "mean") -> str:
    """A one-line footer: data source, seeds, epochs, engine, and what the band shows."""
    meta = results.meta
    n = len(results.seeds)
    quick = ", QUICK MODE" if meta.get("quick") else ""
    spread = f"line: {center} of {n} seeds, band: {band}" if n > 1 else "1 seed"
    return (
        f"data: {meta.get('data_source', '?')}; {spread}; {results.epochs} epochs; "
        f"engine: {meta.get('engine', '?')}{quick}"
    )


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


def band(
    ax, epochs: np.ndarray, runs: np.ndarray, color: str, label: str, center: str = "mean"
) -> None:
    """Draw the mean (or median) over runs (rows) as a line and their min-max as a band.

    The median suits values spread over orders of magnitude (learning rates on a log
    axis), where the mean is just the largest run.
    """
    if center not in {"mean", "median"}:
        raise ValueError(f"center must be 'mean' or 'median', got {center!r}")
    with np.errstate(all="ignore"):
        mid = np.nanmean(runs, axis=0) if center == "mean" else np.nanmedian(runs, axis=0)
        lo, hi = np.nanmin(runs, axis=0), np.nanmax(runs, axis=0)
    ax.plot(epochs, mid, color=color, label=label, lw=1.4)
    if runs.shape[0] > 1:
        ax.fill_between(epochs, lo, hi, color=color, alpha=0.22, lw=0)


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
    """One panel per setting, titled with it: each metric's mean (or median) over seeds
    with a min-max band.

    The originals' figures are ``metrics=("accuracy", "val_accuracy")`` (train vs test).
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
        axes.flat[0].legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    note = caption(results, center=center)
    fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")
    return fig


def accuracy_grid(results: Results, ncols: int = 2, title: str | None = None) -> Figure:
    """The originals' figure: train and test accuracy per epoch, one panel per setting."""
    return metric_grid(results, ("accuracy", "val_accuracy"), ncols, "accuracy", title=title)


def curves(
    series: Mapping[str, np.ndarray],
    x: np.ndarray | None = None,
    xlabel: str = "update (step)",
    ylabel: str = "learning rate",
    logy: bool = False,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Several named curves on one axes (e.g. the decay rule for several decay values)."""
    fig = new_figure((6.4, 4.0))
    ax = fig.subplots()
    for label, y in series.items():
        y = np.asarray(y)
        ax.plot(np.arange(len(y)) if x is None else x, y, label=label, lw=1.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")
    return fig


def blobs_scatter(x: np.ndarray, labels: np.ndarray, n_train: int = 500) -> Figure:
    """The 1,000 blobs points coloured by class; train points filled, test points hollow."""
    fig = new_figure((5.6, 4.6))
    ax = fig.subplots()
    train = np.arange(len(labels)) < n_train
    for k in np.unique(labels):
        pts = x[(labels == k) & train]
        ax.scatter(*pts.T, s=12, color=f"C{k}", alpha=0.8, label=f"class {k}, train")
    for k in np.unique(labels):
        pts = x[(labels == k) & ~train]
        ax.scatter(*pts.T, s=12, facecolors="none", edgecolors=f"C{k}", label=f"class {k}, test")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("make_blobs(1000, centers=3, cluster_std=2, random_state=2)", fontsize=9)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def final_bars(
    values: Mapping[str, np.ndarray],
    ylabel: str,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """One bar per label: mean over seeds, with every seed's value as a dot."""
    fig = new_figure((6.4, 3.8))
    ax = fig.subplots()
    for i, v in enumerate(values.values()):
        v = np.asarray(v, dtype=float)
        ax.bar(i, np.nanmean(v), color=f"C{i}", alpha=0.6)
        ax.plot(np.full(len(v), i), v, "k.", ms=4)
    ax.set_xticks(range(len(values)), list(values), rotation=20)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    if title:
        ax.set_title(title)
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")
    return fig


def grouped_bars(
    panels: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    title: str | None = None,
    note: str | None = None,
    fmt: Mapping[str, str] | None = None,
) -> Figure:
    """Side-by-side bars comparing groups (e.g. two training regimes) per setting.

    Args:
        panels: ``{panel title: {group: {setting: per-seed values}}}``; every group of a
            panel has the same settings. One panel per entry, one colour per group (the
            same in every panel), one bar per setting and group at the mean over seeds,
            every seed as a dot, the mean written above its bar.
        title: Figure title.
        note: Small text under the figure (data, seeds).
        fmt: Per panel, the format of the value labels (default ``".2f"``).

    Returns:
        The figure.
    """
    if not panels:
        raise ValueError("panels is empty")
    fig = new_figure((5.2 * len(panels), 3.9))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (panel, groups) in zip(axes, panels.items()):
        n_groups = len(groups)
        width = 0.8 / n_groups
        settings = list(next(iter(groups.values())))
        top = 0.0
        for g, (group, values) in enumerate(groups.items()):
            if list(values) != settings:
                raise ValueError(f"panel {panel!r}: group {group!r} has other settings")
            for i, setting in enumerate(settings):
                v = np.asarray(values[setting], dtype=float)
                x = i + (g - (n_groups - 1) / 2) * width
                mean = float(np.nanmean(v))
                ax.bar(x, mean, width * 0.9, color=f"C{g}", alpha=0.55,
                       label=group if i == 0 else None)  # fmt: skip
                ax.plot(np.full(v.size, x), v, "k.", ms=4)
                label = format(mean, (fmt or {}).get(panel, ".2f"))
                high = float(np.nanmax(v))
                ax.annotate(label, (x, high), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7)  # fmt: skip
                top = max(top, high)
        ax.set_xticks(range(len(settings)), settings)
        ax.set_ylim(0, top * (1.15 + 0.1 * n_groups) if top > 0 else 1)
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8, loc="upper right")  # in the head room ylim leaves free
    if title:
        fig.suptitle(title)
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")
    return fig


# --- chapter 8: hypergradient descent ---------------------------------------------------


def final_vs_rate(
    rates: Sequence[float],
    panels: Mapping[str, Mapping[str, np.ndarray]],
    ylabel: str = "final test accuracy",
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Sensitivity to the initial learning rate: one panel per group of optimizers.

    ``panels`` maps a panel title to ``{label: values}`` with ``values`` of shape
    (len(rates), seeds); each label is drawn as the mean over seeds against the rate
    (log x) with a min-max band. Runs that diverged (NaN) are left out of mean and band.
    """
    rates = np.asarray(rates, dtype=float)
    fig = new_figure((4.6 * len(panels), 3.7))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (panel, lines) in zip(axes, panels.items()):
        for i, (label, values) in enumerate(lines.items()):
            values = np.asarray(values, dtype=float)
            with np.errstate(all="ignore"):
                mean = np.nanmean(values, axis=1)
                lo, hi = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
            style = "--" if i == 0 else "-"
            ax.plot(rates, mean, style, marker="o", ms=4, color=f"C{i}", label=label, lw=1.6)
            if values.shape[1] > 1:
                ax.fill_between(rates, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("initial learning rate")
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower center")
    axes[0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")
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
    """Curves over training, one panel per title: ``{label: runs}`` with runs of shape
    (seeds, steps), drawn as the mean with a min-max band (one run: just the line).
    The first column is step ``first`` (0 when the runs start with the initial value).

    With ``logy`` (one flag, or one per panel) the y axis is logarithmic; values <= 0
    (a rate driven below zero) cannot be shown there and are counted in the panel
    instead of silently dropped.
    """
    n = len(panels)
    ncols = ncols or n
    nrows = math.ceil(n / ncols)
    import warnings

    from matplotlib.ticker import MaxNLocator

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
        if hidden:
            text = f"{hidden} value{'s' if hidden > 1 else ''} <= 0 not shown (log axis)"
            ax.text(0.02, 0.02, text, transform=ax.transAxes, fontsize=7, color="0.35")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35")
    return fig
