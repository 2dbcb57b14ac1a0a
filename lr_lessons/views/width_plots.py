"""Chapter 11's figures: loss against rate per width, best rate per width, coordinate check."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from lr_lessons.lab.width import LAYERS, OPTIMIZERS, PARAMETRIZATIONS, CoordCheck, Sweep
from lr_lessons.views.plotting import SMALL_PT, add_footer, band_range, new_figure

NAMES = {"sp": "standard (SP)", "mup": "muP", "adam": "Adam", "sgd": "SGD"}


def footer(result: Sweep | CoordCheck, what: str, engine: str = "") -> str:
    """The footer line of a chapter-11 figure: data, seeds, what was trained, time.

    Args:
        result: The `Sweep` or `CoordCheck` drawn.
        what: What was trained, e.g. `"10 epochs, batch 50"`.
        engine: What trained it (default: the stacked trainer of `lr_lessons.lab.width`
            for a `Sweep`, Keras' own optimizers step by step for a `CoordCheck`).

    Returns:
        One line in the style of `lr_lessons.views.plotting.caption`.
    """
    if not engine:
        stacked = "lr_lessons.lab.width's stacked trainer"
        engine = stacked if isinstance(result, Sweep) else "Keras (Adam, MuAdam)"
    meta = result.meta
    quick = ", QUICK MODE" if meta.get("quick") else ""
    seconds = meta.get("wall_time_s")
    timing = f"; trained in {float(seconds):.0f} s" if seconds is not None else ""
    return (
        f"data: {meta.get('data_source', '?')}; {len(result.seeds)} seeds; {what}; "
        f"trained with {engine}{quick}{timing}"
    )


def _width_colors(n: int) -> list:
    return [mpl.colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, n)]


def loss_vs_rate(sweep: Sweep, note: str | None = None) -> Figure:
    """Final training loss against the learning rate, one line per width; SP and muP, Adam and SGD.

    Args:
        sweep: The sweep.
        note: The footer (default: `footer`).

    Returns:
        A 2 x 2 figure: rows SP and muP, columns Adam and SGD.
    """
    fig = new_figure((8.6, 6.6))
    axes = fig.subplots(2, 2, sharey=True)
    colors = _width_colors(len(sweep.widths))
    for i, par in enumerate(PARAMETRIZATIONS):
        for j, opt in enumerate(OPTIMIZERS):
            ax = axes[i, j]
            rates = np.asarray(sweep.rates[opt])
            final = sweep.final(par, opt)  # (widths, rates, seeds)
            for w, width in enumerate(sweep.widths):
                # the mean over seeds; a rate at which any seed diverged is left out
                mean = final[w].mean(axis=-1)
                mean = np.where(np.isfinite(mean), mean, np.nan)
                ax.plot(rates, mean, "-o", ms=3, color=colors[w], label=f"width {width}")
                best = np.argmin(np.where(np.isfinite(mean), mean, np.inf))
                ax.plot(rates[best], mean[best], "*", ms=12, color=colors[w], mec="k", mew=0.6)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{NAMES[par]}, {NAMES[opt]}")
            ax.grid(alpha=0.3)
            if i == 1:
                ax.set_xlabel("learning rate")
            if j == 0:
                ax.set_ylabel("final training loss")
    top = np.nanmax([np.nanmin(sweep.final(p, o)) for p in PARAMETRIZATIONS for o in OPTIMIZERS])
    axes[0, 0].set_ylim(None, max(1.2, 2.5 * top))
    axes[0, 0].legend(loc="upper left", fontsize=SMALL_PT)
    fig.suptitle("Training loss against the learning rate, per width (star: lowest)")
    add_footer(fig, note or footer(sweep, _trained(sweep)))
    return fig


def _trained(sweep: Sweep) -> str:
    batch = sweep.meta.get("batch_size", "?")
    return (
        f"{sweep.loss.shape[-1]} epochs, batch {batch}"
        "; final = mean loss of the last tenth of the epochs; a diverged run counts as infinite"
    )


def best_rates(sweep: Sweep, note: str | None = None) -> Figure:
    """The best learning rate per width and seed, SP against muP, Adam and SGD.

    Args:
        sweep: The sweep.
        note: The footer (default: `footer`).

    Returns:
        A 1 x 2 figure (Adam, SGD): each seed's best rate (dots) and their median (line),
        with a `1/width` line through SP's median at the base width.
    """
    fig = new_figure((8.6, 3.9))
    axes = fig.subplots(1, 2)
    widths = np.asarray(sweep.widths, dtype=float)
    colors = {"sp": "tab:red", "mup": "tab:blue"}
    for ax, opt in zip(axes, OPTIMIZERS):
        for k, par in enumerate(PARAMETRIZATIONS):
            best = sweep.best_rate(par, opt)  # (widths, seeds)
            jitter = widths[:, None] * 2 ** (0.08 * (k - 0.5) + 0.03 * np.arange(best.shape[1]))
            ax.plot(jitter.ravel(), best.ravel(), ".", color=colors[par], alpha=0.5, ms=6)
            med = np.exp(np.median(np.log(best), axis=1))
            style = {"sp": "-o", "mup": "--s"}[par]
            ax.plot(widths, med, style, color=colors[par], label=NAMES[par], lw=2, ms=6)
            if par == "sp" and opt == "adam":
                ax.plot(widths, med[0] * widths[0] / widths, "--", color="0.4", label="1 / width")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        grid = np.asarray(sweep.rates[opt])
        ax.set_ylim(grid.min() / 1.4, grid.max() * 1.4)
        ax.set_xticks(widths, [str(int(w)) for w in widths])
        ax.set_xlabel("width (hidden units)")
        ax.set_title(NAMES[opt])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("best learning rate")
    axes[0].legend(fontsize=SMALL_PT)
    fig.suptitle("The best learning rate per width (dots: seeds; line: median)")
    add_footer(fig, note or footer(sweep, _trained(sweep)))
    return fig


def coordinates(check: CoordCheck, note: str | None = None) -> Figure:
    """The coordinate check: each layer's mean |output| against width, SP and muP.

    Args:
        check: The coordinate check.
        note: The footer (default: `footer`).

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
    rate, batch = check.meta.get("rate", float("nan")), check.meta.get("batch_size", "?")
    what = (
        f"{steps} Adam steps at rate 2^{np.log2(rate):g}, batch {batch}; line: mean, band: min-max"
    )
    add_footer(fig, note or footer(check, what))
    return fig
