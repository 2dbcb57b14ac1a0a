"""Heatmaps over learning rate x another knob, and the curves read from them.

The knob is momentum, batch size or the optimizer; the curves are the best rate against
batch size, accuracy against rate and the width of the good region. Nothing here trains:
every function draws numbers it is given (see `lr_lessons.lab.landscape` for how they are
computed from saved results).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, LogFormatterMathtext, NullFormatter

from lr_lessons.lab.landscape import Hinge, Region
from lr_lessons.views.plotting import SMALL_PT, add_footer, band_range, new_figure

THEORY = "#e8175d"  # theory lines: a red-magenta that stands out on viridis and cividis
NEVER = "0.82"  # cells that never reached the target


def rate_edges(rates: Sequence[float]) -> np.ndarray:
    """Cell edges of log-spaced rates: geometric midpoints, the ends extended half a step.

    Args:
        rates: Increasing learning rates (at least two).

    Returns:
        `len(rates) + 1` edges.
    """
    logr = np.log10(np.asarray(rates, dtype=float))
    mid = (logr[1:] + logr[:-1]) / 2
    first, last = logr[0] - (mid[0] - logr[0]), logr[-1] + (logr[-1] - mid[-1])
    return 10 ** np.concatenate([[first], mid, [last]])


def rate_axis(ax: Axes, axis: str = "x", label: str = "learning rate") -> None:
    """Make an axis a log learning-rate axis with a labelled tick at every decade.

    Call it after the axis' limits are set.

    Args:
        ax: The axes.
        axis: `"x"` or `"y"`.
        label: The axis label.
    """
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    decades = np.arange(np.ceil(np.log10(lo) - 1e-9), np.floor(np.log10(hi) + 1e-9) + 1)
    target.set_major_locator(FixedLocator(10.0**decades))
    target.set_major_formatter(LogFormatterMathtext())
    target.set_minor_formatter(NullFormatter())
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)


def _text_color(rgba: Sequence[float]) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def heatmap(
    ax: Axes,
    values: np.ndarray,
    rates: Sequence[float],
    row_labels: Sequence[str],
    *,
    cmap: str = "viridis",
    norm: mcolors.Normalize | None = None,
    fmt: str = "{:.2f}",
    colorbar_label: str = "",
    diverged: np.ndarray | None = None,
    noisy: np.ndarray | None = None,
    best: np.ndarray | None = None,
    row_title: str = "",
    columns: Sequence[str] | None = None,
    xlabel: str = "learning rate",
) -> None:
    """One heatmap: rows x rates, a number in every cell, NaN cells grey (e.g. "never").

    Args:
        ax: Axes to draw into (its figure gets the colour bar).
        values: Shape `(rows, rates)`, the colour and number of each cell.
        rates: Learning rates of the columns (log x axis); ignored with `columns`.
        row_labels: Label of each row, bottom row first.
        cmap: A perceptually uniform matplotlib colormap.
        norm: Colour normalisation (e.g. `LogNorm` for epochs).
        fmt: How the number in a cell is written.
        colorbar_label: What the colour means, with its unit.
        diverged: Optional boolean `(rows, rates)`: cells to hatch as diverged.
        noisy: Optional boolean `(rows, rates)`: cells to outline as high-spread.
        best: Optional rate per row, drawn as a star.
        row_title: The y axis label.
        columns: Labels of categorical columns (then the x axis is not a rate axis).
        xlabel: The x axis label.
    """
    values = np.asarray(values, dtype=float)
    xe = rate_edges(rates) if columns is None else np.arange(len(columns) + 1) - 0.5
    ye = np.arange(len(row_labels) + 1) - 0.5
    cmap_obj = matplotlib.colormaps[cmap].with_extremes(bad=NEVER)
    mesh = ax.pcolormesh(
        xe, ye, np.ma.masked_invalid(values), cmap=cmap_obj, norm=norm, shading="flat"
    )
    bar = ax.figure.colorbar(mesh, ax=ax, pad=0.01, fraction=0.04)
    bar.set_label(colorbar_label)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            x = np.sqrt(xe[j] * xe[j + 1]) if columns is None else j
            if np.isfinite(v):
                fill = mesh.cmap(mesh.norm(v))
                color, text = _text_color(fill), fmt.format(v)
            else:
                fill, color, text = NEVER, "0.3", "–"
            # on a patch of the cell's own colour, above the marks: a guide line or a
            # star passing through the cell never crosses its number
            ax.text(
                x,
                i,
                text,
                ha="center",
                va="center",
                fontsize=SMALL_PT,
                color=color,
                zorder=6,
                bbox={"boxstyle": "square,pad=0.12", "fc": fill, "ec": "none"},
            )
    if diverged is not None:
        for i, j in zip(*np.nonzero(np.asarray(diverged))):
            ax.add_patch(
                Rectangle(
                    (xe[j], i - 0.5),
                    xe[j + 1] - xe[j],
                    1,
                    fill=False,
                    hatch="////",
                    edgecolor="white",
                    lw=0,
                )
            )
    if noisy is not None:
        inset = 0.06
        for i, j in zip(*np.nonzero(np.asarray(noisy))):
            ax.add_patch(
                Rectangle(
                    (xe[j] + inset * (xe[j + 1] - xe[j]), i - 0.44),
                    (1 - 2 * inset) * (xe[j + 1] - xe[j]),
                    0.88,
                    fill=False,
                    edgecolor="#ff9f1c",
                    lw=1.6,
                )
            )
    if best is not None:
        # In the lower part of the cell, so the cell's number stays readable.
        y = np.arange(len(best)) - 0.3
        ax.plot(best, y, "*", ms=8, mfc="white", mec="black", mew=0.7, zorder=5)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_yticks(np.arange(len(row_labels)), row_labels)
    ax.set_ylabel(row_title)
    if columns is None:
        rate_axis(ax, label=xlabel)
    else:
        ax.set_xticks(np.arange(len(columns)), list(columns))
        ax.set_xlabel(xlabel)


def theory_lines(
    ax: Axes,
    factors: Sequence[float],
    constants: Sequence[float],
    label: str,
    rates: Sequence[float],
) -> None:
    """Lines of constant `rate / factor` through the rows of a heatmap.

    Args:
        ax: The heatmap's axes (rows at y = 0, 1, ...).
        factors: Per row, the factor the rate is divided by (`1 - mu`, or `B / B0`).
        constants: The constant values to draw, one line each (say which in `label`).
        label: Legend entry for the lines.
        rates: The heatmap's rates (lines are clipped to its columns).
    """
    xe = rate_edges(rates)
    y = np.arange(len(factors))
    f = np.asarray(factors, dtype=float)
    for k, c in enumerate(constants):
        x = c * f
        inside = (x >= xe[0]) & (x <= xe[-1])
        if inside.sum() < 2:
            continue
        ax.plot(x[inside], y[inside], "--", color=THEORY, lw=1.6, label=label if k == 0 else None)


def marks_legend(
    ax: Axes, extra: Sequence = (), spread: float | None = None, best: bool = True
) -> None:
    """A legend, under the axes, for the marks `heatmap` draws, plus `extra` handles.

    Args:
        ax: The (lowest) heatmap's axes.
        extra: Further legend handles (e.g. the theory lines).
        spread: The high-spread threshold, if cells were outlined for it.
        best: Whether the best-rate stars are drawn.
    """
    handles = list(extra)
    if best:
        handles.append(Line2D([], [], ls="", marker="*", ms=10, mfc="white", mec="black"))
        handles[-1].set_label("best rate of each row (seed mean)")
    handles.append(Patch(facecolor="0.45", hatch="////", edgecolor="white", label="diverged"))
    if spread is not None:
        handles.append(
            Patch(fill=False, edgecolor="#ff9f1c", lw=1.6, label=f"seeds spread > {spread:g}")
        )
    handles.append(Patch(facecolor=NEVER, label="never reached"))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=min(3, len(handles)),
        fontsize=SMALL_PT,
        frameon=False,
    )


def grid_maps(
    panels: Mapping[str, dict],
    rates: Sequence[float],
    row_labels: Sequence[str],
    row_title: str,
    *,
    theory: dict | None = None,
    spread: float | None = None,
    title: str | None = None,
    note: str | None = None,
    sharex: bool = True,
) -> Figure:
    """Heatmaps stacked vertically, sharing the rate axis and the marks.

    Args:
        panels: Panel title -> keyword arguments of `heatmap` (`values`, `cmap`,
            `norm`, `fmt`, `colorbar_label`, `diverged`, `noisy`, `best`,
            `columns`, `xlabel`), plus optionally `theory` (this panel's lines).
        rates: The columns' learning rates.
        row_labels: One label per row, bottom first.
        row_title: What the rows are.
        theory: Optional keyword arguments of `theory_lines` (without `ax` and
            `rates`), drawn on every panel.
        spread: The high-spread threshold, for the legend.
        title: Figure title.
        note: Footer (data, seeds, epochs, engine, speed).
        sharex: Whether the panels share one x axis (False for categorical columns
            that differ from panel to panel).

    Returns:
        The figure.
    """
    n = len(panels)
    fig = new_figure((10.5, 0.42 * len(row_labels) * n + 1.4 * n + 0.6))
    axes = np.atleast_1d(fig.subplots(n, 1, sharex=sharex))
    labels = []
    for ax, (name, kwargs) in zip(axes, panels.items()):
        kwargs = dict(kwargs)
        lines = kwargs.pop("theory", theory)
        heatmap(ax, rates=rates, row_labels=row_labels, row_title=row_title, **kwargs)
        if lines:
            theory_lines(ax, rates=rates, **lines)
            if lines["label"] not in labels:
                labels.append(lines["label"])
        ax.set_title(name, fontsize=10)
    for ax in axes[:-1] if sharex else ():
        ax.set_xlabel("")
    extra = [Line2D([], [], ls="--", color=THEORY, lw=1.6, label=label) for label in labels]
    marks_legend(axes[-1], extra, spread, best=any("best" in k for k in panels.values()))
    if title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig


def collapse(
    x: Mapping[str, np.ndarray],
    panels: Mapping[str, Mapping[str, np.ndarray]],
    xlabel: str,
    *,
    logy: Sequence[bool] = (),
    ylabels: Sequence[str] = (),
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Curves of several rows against a rescaled rate, to see whether they fall together.

    Args:
        x: Row label -> its x values (e.g. `rate / (1 - mu)`), increasing.
        panels: Panel title -> {row label -> values of shape (len(x[row]), seeds)},
            drawn as the mean over seeds (NaN seeds left out) with a seed band
            (`plotting.band_range`).
        xlabel: The x axis label (log axis).
        logy: Per panel, a log y axis.
        ylabels: Per panel, the y label.
        title: Figure title.
        note: Footer.

    Returns:
        The figure.
    """
    n = len(panels)
    fig = new_figure((5.2 * n, 4.0))
    axes = np.atleast_1d(fig.subplots(1, n))
    colors = matplotlib.colormaps["plasma"](np.linspace(0.0, 0.85, len(x)))
    logs = list(logy) + [False] * (n - len(logy))
    labels = list(ylabels) + [""] * (n - len(ylabels))
    for ax, log, ylabel, (name, lines) in zip(axes, logs, labels, panels.items()):
        for color, (row, values) in zip(colors, lines.items()):
            v = np.asarray(values, dtype=float)
            with np.errstate(all="ignore"), _quiet():
                mean = np.nanmean(v, axis=1)
                lo, hi = band_range(v, axis=1)
            ax.plot(x[row], mean, "-o", ms=3, color=color, lw=1.4, label=row)
            if v.shape[1] > 1:
                ax.fill_between(x[row], lo, hi, color=color, alpha=0.15, lw=0)
        ax.set_xscale("log")
        if log:
            ax.set_yscale("log")
        ax.set_xlim(*_span(x))
        rate_axis(ax, label=xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=SMALL_PT)
    if title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig


def _span(x: Mapping[str, np.ndarray]) -> tuple[float, float]:
    lo = min(np.min(v) for v in x.values())
    hi = max(np.max(v) for v in x.values())
    return lo / 1.5, hi * 1.5


class _quiet:
    """Silence numpy's all-NaN warnings inside a block."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def best_rate_vs_batch(
    batch_sizes: Sequence[int],
    best: Mapping[str, np.ndarray],
    regions: Mapping[str, Region],
    fits: Mapping[str, Hinge],
    *,
    guides: Mapping[str, float] | None = None,
    rates: Sequence[float] | None = None,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Best learning rate against batch size on log-log axes, one colour per optimizer.

    Args:
        batch_sizes: The batch sizes (x).
        best: Optimizer -> best rate per (batch size, seed), shape (batches, seeds).
        regions: Optimizer -> good region of the seed-mean curve per batch size.
        fits: Optimizer -> the fitted `Hinge` (its slope is
            in the legend).
        guides: Optimizer -> a theory slope, drawn through that optimizer's point at
            the smallest batch size.
        rates: The rate grid, drawn as faint horizontal lines (the resolution).
        title: Figure title.
        note: Footer.

    Returns:
        The figure.
    """
    b = np.asarray(batch_sizes, dtype=float)
    fig = new_figure((7.2, 4.8))
    ax = fig.subplots()
    if rates is not None:
        for r in rates:
            ax.axhline(r, color="0.9", lw=0.6, zorder=0)
    for k, (name, values) in enumerate(best.items()):
        color = f"C{k}"
        v = np.asarray(values, dtype=float)
        reg = regions[name]
        ax.fill_between(b, reg.low, reg.high, color=color, alpha=0.12, lw=0)
        jitter = 1 + 0.05 * (np.arange(v.shape[1]) - (v.shape[1] - 1) / 2) / max(1, v.shape[1])
        for j in range(v.shape[1]):
            ax.plot(b * jitter[j], v[:, j], ".", color=color, ms=4, alpha=0.7)
        with _quiet():
            center = 10 ** np.nanmean(np.log10(v), axis=1)
        ax.plot(b, center, "o", color=color, ms=6, mec="black", mew=0.5)
        fit = fits[name]
        dense = np.geomspace(b.min(), b.max(), 100)
        knee = "" if fit.knee >= b.max() else f", flat above {fit.knee:g}"
        ax.plot(dense, fit(dense), "-", color=color, lw=1.6)
        ax.plot([], [], "o-", color=color, label=f"{name}: slope {fit.slope:.2f}{knee}")
    for k, (name, slope) in enumerate((guides or {}).items()):
        with _quiet():
            anchor = 10 ** np.nanmean(np.log10(np.asarray(best[name], dtype=float)[0]))
        style = (":", "-.", "--")[k % 3]
        ax.plot(b, anchor * (b / b[0]) ** slope, style, color=THEORY, lw=1.4)
        ax.plot([], [], style, color=THEORY, label=f"{name}, theory: slope {slope:g}")
    ax.set_xscale("log")
    ax.set_xticks(b, [f"{x:g}" for x in b])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("batch size")
    if rates is not None:
        ax.set_ylim(min(rates) / 1.3, max(rates) * 1.3)
    rate_axis(ax, "y", label="best learning rate")
    ax.grid(alpha=0.3, which="major")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="0.6", alpha=0.3, label="good region (within 0.01)"))
    handles.append(Line2D([], [], ls="", marker=".", color="0.3", label="each seed"))
    ax.legend(handles=handles, fontsize=SMALL_PT, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    add_footer(fig, note)
    return fig


def accuracy_vs_rate(
    rates: Sequence[float],
    curves: Mapping[str, np.ndarray],
    regions: Mapping[str, Region] | None = None,
    *,
    ylabel: str = "final test accuracy",
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Final accuracy against learning rate, one line per optimizer, on one axis.

    Args:
        rates: The learning rates (log x).
        curves: Optimizer -> values of shape (rates, seeds), drawn as the seed mean with
            a seed band (`plotting.band_range`).
        regions: Optimizer -> good region of the seed-mean curve, drawn as a thick bar
            under the curves.
        ylabel: The y label.
        title: Figure title.
        note: Footer.

    Returns:
        The figure.
    """
    rates = np.asarray(rates, dtype=float)
    fig = new_figure((8.0, 5.6 if regions is not None else 4.8))
    if regions is not None:
        ax, bars = fig.subplots(2, 1, sharex=True, height_ratios=(4, 1.3))
    else:
        ax, bars = fig.subplots(), None
    for k, (name, values) in enumerate(curves.items()):
        color = f"C{k}"
        v = np.asarray(values, dtype=float)
        with _quiet():
            mean = np.nanmean(v, axis=1)
            lo, hi = band_range(v, axis=1)
        ax.plot(rates, mean, "-o", ms=3, color=color, lw=1.5, label=name)
        ax.fill_between(rates, lo, hi, color=color, alpha=0.15, lw=0)
        if bars is not None:
            reg = regions[name]
            bars.plot([reg.low, reg.high], [k, k], "-", color=color, lw=5, solid_capstyle="butt")
    ax.set_xlim(rates[0] / 1.3, rates[-1] * 1.3)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL_PT, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if bars is not None:
        bars.set_yticks(range(len(curves)), list(curves), fontsize=SMALL_PT)
        bars.set_ylim(len(curves) - 0.5, -0.5)
        bars.set_title(
            "good region of the seed mean (within 0.01 of its best)", fontsize=SMALL_PT, loc="left"
        )
        bars.grid(alpha=0.3, axis="x")
        rate_axis(bars)
    else:
        rate_axis(ax)
    if title:
        ax.set_title(title, fontsize=10)
    add_footer(fig, note)
    return fig


def width_bars(
    widths: Mapping[str, np.ndarray],
    censored: Mapping[str, np.ndarray] | None = None,
    *,
    ylabel: str = "good region (decades of learning rate)",
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """One bar per optimizer: mean width over seeds, each seed a dot (hollow if censored).

    Args:
        widths: Optimizer -> width per seed, in decades.
        censored: Optimizer -> per seed, did the region reach an end of the rate grid
            (then the width is a lower bound).
        ylabel: The y label.
        title: Figure title.
        note: Footer.

    Returns:
        The figure.
    """
    fig = new_figure((max(6.0, 1.15 * len(widths)), 4.1))
    ax = fig.subplots()
    for i, (name, w) in enumerate(widths.items()):
        w = np.asarray(w, dtype=float)
        with _quiet():
            ax.bar(i, np.nanmean(w), color=f"C{i}", alpha=0.55)
            ax.errorbar(
                i,
                np.nanmean(w),
                yerr=[[np.nanmean(w) - np.nanmin(w)], [np.nanmax(w) - np.nanmean(w)]],
                color="black",
                capsize=4,
                lw=1,
            )
        cens = np.zeros(w.size, bool) if censored is None else np.asarray(censored[name], bool)
        x = i + np.linspace(-0.15, 0.15, w.size)
        ax.plot(x[~cens], w[~cens], "ko", ms=3.5)
        ax.plot(x[cens], w[cens], "o", ms=4.5, mfc="white", mec="black")
    ax.set_xticks(range(len(widths)), list(widths), rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    handles = [
        Line2D([], [], ls="", marker="o", color="black", ms=3.5, label="one seed"),
        Line2D([], [], ls="", marker="o", mfc="white", mec="black", label="reaches the grid's end"),
        Line2D([], [], color="black", label="seeds' min-max"),
    ]
    ax.legend(handles=handles, fontsize=SMALL_PT, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    add_footer(fig, note)
    return fig
