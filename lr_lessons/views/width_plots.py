"""Chapter 11's figures: loss against rate per width, best rate per width, coordinate check."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from lr_lessons.lab.width import LAYERS, PARAMETRIZATIONS, CoordCheck, Sweep
from lr_lessons.views.plotting import (
    SMALL_PT,
    add_footer,
    band_name,
    band_range,
    caption,
    new_figure,
)

NAMES = {"sp": "standard (SP)", "mup": "muP", "adam": "Adam", "sgd": "SGD"}
FINAL = "final = training loss of the last epoch; a diverged run counts as infinite"


def sweep_footer(sweep: Sweep) -> str:
    """The footer of a sweep's figure: `plotting.caption` of its results, and the measure.

    Args:
        sweep: The sweep drawn.

    Returns:
        One line.
    """
    if sweep.results:
        return caption(sweep.results, FINAL, band=None)
    return f"data: {sweep.meta.get('data_source', '?')}; {len(sweep.seeds)} seeds; {FINAL}"


def coord_footer(check: CoordCheck) -> str:
    """The footer of the coordinate check: data, seeds, steps, what trained it.

    Args:
        check: The coordinate check drawn.

    Returns:
        One line in the style of `plotting.caption`.
    """
    meta = check.meta
    steps = check.size.shape[-1] - 1
    rate, batch = meta.get("rate", float("nan")), meta.get("batch_size", "?")
    quick = ", QUICK MODE" if meta.get("quick") else ""
    return (
        f"data: {meta.get('data_source', '?')}; line: mean of {len(check.seeds)} seeds, "
        f"band: {band_name(len(check.seeds))}; {steps} steps of Keras' Adam (SP) and "
        f"mup.MuAdam (muP) at rate 2^{np.log2(rate):g}, batch {batch}{quick}"
    )


def _width_colors(n: int) -> list:
    return [mpl.colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, n)]


def loss_vs_rate(sweep: Sweep, note: str | None = None) -> Figure:
    """Final training loss against the learning rate, one line per width; SP and muP.

    Args:
        sweep: The sweep.
        note: The footer (default: `sweep_footer`).

    Returns:
        A 1 x 2 figure (SP, muP): the mean over seeds per width (a rate at which a seed
        diverged is left out), a star at each width's lowest.
    """
    fig = new_figure((8.6, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    colors = _width_colors(len(sweep.widths))
    rates = np.asarray(sweep.rates)
    for ax, par in zip(axes, PARAMETRIZATIONS):
        final = sweep.final(par)  # (widths, rates, seeds)
        for w, width in enumerate(sweep.widths):
            mean = final[w].mean(axis=-1)
            mean = np.where(np.isfinite(mean), mean, np.nan)
            ax.plot(rates, mean, "-o", ms=3, color=colors[w], label=f"width {width}")
            best = np.argmin(np.where(np.isfinite(mean), mean, np.inf))
            ax.plot(rates[best], mean[best], "*", ms=12, color=colors[w], mec="k", mew=0.6)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{NAMES[par]}, {NAMES[sweep.optimizer]}")
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("final training loss")
    means = np.stack([sweep.final(p).mean(axis=-1) for p in PARAMETRIZATIONS])
    shown = means[np.isfinite(means)]
    axes[0].set_ylim(0.9 * shown.min(), min(1.05 * shown.max(), 5 * shown.min()))
    axes[0].legend(loc="upper center", fontsize=SMALL_PT)
    fig.suptitle("Training loss against the learning rate, per width (star: lowest)")
    add_footer(fig, note if note is not None else sweep_footer(sweep))
    return fig


def best_rates(sweep: Sweep, note: str | None = None) -> Figure:
    """The best learning rate per width and seed, SP against muP.

    Args:
        sweep: The sweep.
        note: The footer (default: `sweep_footer`).

    Returns:
        One panel: each seed's best rate (dots) and their median (line), with a
        `1/width` line through SP's median at the base width.
    """
    fig = new_figure((6.4, 4.2))
    ax = fig.subplots()
    widths = np.asarray(sweep.widths, dtype=float)
    colors = {"sp": "tab:red", "mup": "tab:blue"}
    for k, par in enumerate(PARAMETRIZATIONS):
        best = sweep.best_rate(par)  # (widths, seeds)
        jitter = widths[:, None] * 2 ** (0.08 * (k - 0.5) + 0.03 * np.arange(best.shape[1]))
        ax.plot(jitter.ravel(), best.ravel(), ".", color=colors[par], alpha=0.5, ms=7)
        med = np.exp(np.median(np.log(best), axis=1))
        style = {"sp": "-o", "mup": "--s"}[par]
        ax.plot(widths, med, style, color=colors[par], label=f"{NAMES[par]} (median)", lw=2)
        if par == "sp":
            ax.plot(widths, med[0] * widths[0] / widths, ":", color="0.4", label="1 / width")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    grid = np.asarray(sweep.rates)
    ax.set_ylim(grid.min() / 1.4, grid.max() * 1.4)
    ax.set_xticks(widths, [str(int(w)) for w in widths])
    ax.set_xlabel("width (hidden units)")
    ax.set_ylabel(f"best learning rate ({NAMES[sweep.optimizer]})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL_PT, loc="lower left")
    fig.suptitle("The best learning rate per width (dots: seeds)")
    add_footer(fig, note if note is not None else sweep_footer(sweep))
    return fig


def coordinates(check: CoordCheck, note: str | None = None) -> Figure:
    """The coordinate check: each layer's mean |output| against width, SP and muP.

    Args:
        check: The coordinate check.
        note: The footer (default: `coord_footer`).

    Returns:
        A 1 x 2 figure (SP, muP), log-log, one line per layer (mean over seeds, seed band),
        after the last step.
    """
    fig = new_figure((8.6, 3.9))
    axes = fig.subplots(1, 2, sharey=True)
    widths = np.asarray(check.widths, dtype=float)
    colors = ["tab:green", "tab:orange", "tab:purple"]
    steps = check.size.shape[-1] - 1
    for ax, par in zip(axes, PARAMETRIZATIONS):
        size = check.size[PARAMETRIZATIONS.index(par), :, :, :, -1]  # widths, seeds, layers
        for i, layer in enumerate(LAYERS):
            lo, hi = band_range(size[:, :, i], axis=1)
            ax.fill_between(widths, lo, hi, color=colors[i], alpha=0.2, lw=0)
            ax.plot(widths, size[:, :, i].mean(axis=1), "-o", color=colors[i], ms=4, label=layer)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(widths, [str(int(w)) for w in widths])
        ax.set_xlabel("width (hidden units)")
        ax.set_title(NAMES[par])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"mean |output| after {steps} Adam steps")
    axes[0].legend(fontsize=SMALL_PT)
    fig.suptitle("Coordinate check: how big each layer's outputs get, per width")
    add_footer(fig, note if note is not None else coord_footer(check))
    return fig
