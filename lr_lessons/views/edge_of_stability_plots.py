"""Chapter 10's figures: sharpness and loss over full-batch steps, the catapult, Adam's edge.

Nothing here trains: every function draws the `Trajectories` of
`lr_lessons.lab.edge_of_stability` and returns a figure for `plotting.save_figure`.
Lines are the median over seeds with the seed band of `plotting.band_range`; a thin
line follows one seed, because the median of many oscillating runs is smoother than
any one of them.
"""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from lr_lessons.lab.edge_of_stability import Trajectories
from lr_lessons.views.plotting import SMALL_PT, add_footer, band_name, band_range, new_figure

WIDTH_IN = 7.0  # the page's column at 100 dpi is 6.9 in: no scaling, text stays legible


def note(runs: Trajectories, extra: str = "", seed_line: bool = True) -> str:
    """The footer of a chapter 10 figure: data, seeds, band, steps, runs and time.

    Args:
        runs: The runs drawn.
        extra: Text appended at the end.
        seed_line: Whether the figure draws one seed as a thin line.

    Returns:
        One line of text.
    """
    n = len(runs.seeds)
    spec = runs.spec
    inputs = "standardised" if spec.standardize else "raw"
    loss = "mean squared error" if spec.loss == "mse" else "cross-entropy"
    setup = f"{spec.activation}, {loss}, {inputs} inputs"
    count = runs.loss.shape[0] * n
    seconds = float(runs.meta.get("wall_time_s", np.nan))
    made = f"{count} runs trained in {seconds:.0f} s" if np.isfinite(seconds) else f"{count} runs"
    quick = ", QUICK MODE" if runs.meta.get("quick") else ""
    thin = f"; thin line: seed {runs.seeds[0]}" if seed_line else ""
    text = (
        f"data: {runs.meta.get('data_source', '?')}; {setup}; line: median of {n} seeds, band: "
        f"{band_name(n)}{thin}; {spec.steps} steps, sharpness every {spec.every}{quick}; {made}"
    )
    return f"{text}; {extra}" if extra else text


def _median_band(ax, x, runs, color, label):
    """Median and seed band; nothing where fewer than half the runs are still going."""
    runs = np.asarray(runs, dtype=float)
    with warnings.catch_warnings():  # columns where every run diverged
        warnings.simplefilter("ignore", RuntimeWarning)
        mid = np.nanmedian(runs, axis=0)
        lo, hi = band_range(runs, axis=0)
    gone = np.isfinite(runs).sum(axis=0) < runs.shape[0] / 2
    mid, lo, hi = (np.where(gone, np.nan, v) for v in (mid, lo, hi))
    ax.plot(x, mid, color=color, lw=1.5, label=label)
    if runs.shape[0] > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=0.22, lw=0)


def _seeds(ax, x, runs, color, label, lw=0.7):
    """`_median_band`, and the first seed as a thin line."""
    _median_band(ax, x, runs, color, label)
    ax.plot(x, runs[0], color=color, lw=lw, alpha=0.8)


def _two_rows(runs: Trajectories, height: float):
    """A figure with two rows of panels sharing the step axis, one column per rate."""
    fig = new_figure((WIDTH_IN, height))
    return fig, fig.subplots(2, len(runs.spec.rates), squeeze=False, sharex=True)


def _finish(fig, runs, title, note_text, seed_line=True) -> Figure:
    """The title and the footer (`note` unless `note_text` is given)."""
    if title:
        fig.suptitle(title, fontsize=11)
    add_footer(fig, note(runs, seed_line=seed_line) if note_text is None else note_text)
    return fig


def _log_plain(ax) -> None:
    """A log y axis labelled with plain numbers (0.4, 0.6, 1, 2) instead of powers of ten."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 4.0, 6.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _style(ax, title=None, xlabel=None, ylabel=None):
    if title:
        ax.set_title(title, fontsize=10)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=9)


def edge(runs: Trajectories, title: str | None = None, note_text: str | None = None) -> Figure:
    """Gradient descent at several rates: sharpness (top) and loss (bottom) against steps.

    Each top panel draws the threshold `2 / eta` as a dashed line; each bottom panel the
    full-batch training loss on a log axis.

    Args:
        runs: Plain gradient-descent runs (`spec.optimizer == "gd"`).
        title: The figure's title.
        note_text: Footer (default: `note(runs)`).

    Returns:
        The figure.
    """
    spec = runs.spec
    fig, axes = _two_rows(runs, 5.4)
    checks = spec.checkpoints
    steps = np.arange(runs.loss.shape[-1])
    for j, rate in enumerate(spec.rates):
        top, bottom = axes[0, j], axes[1, j]
        _seeds(top, checks, runs.sharpness[j], "C0", "sharpness")
        top.axhline(2 / rate, color="C3", ls="--", lw=1.2, label=r"$2/\eta$")
        _style(top, f"$\\eta$ = {rate:g} ($2/\\eta$ = {2 / rate:g})", ylabel=None)
        _seeds(bottom, steps, runs.loss[j], "C2", "loss", lw=0.5)
        _log_plain(bottom)
        _style(bottom, xlabel="step")
        highest = np.nanmax(runs.sharpness[j])
        if 2 / rate > 2 * highest:  # the threshold is far off: show the data, name the line
            top.set_ylim(0, highest * 1.35)
            top.lines[-1].set_visible(False)
            top.text(0.03, 0.95, f"$2/\\eta$ = {2 / rate:g}: far above", va="top",
                     transform=top.transAxes, fontsize=SMALL_PT, color="C3")  # fmt: skip
        else:
            top.set_ylim(0, max(2.6 / rate, highest * 1.05))
    axes[0, 0].set_ylabel("sharpness (top eigenvalue)")
    axes[1, 0].set_ylabel("training loss")
    axes[0, -1].legend(fontsize=SMALL_PT, loc="upper right")
    return _finish(fig, runs, title, note_text)


def catapult(runs: Trajectories, title: str | None = None, note_text: str | None = None) -> Figure:
    """The catapult: loss over the first steps (left) and final sharpness (right) per rate.

    Rates are multiples `c` of each seed's own `2 / lambda_0`. Left: the loss divided by
    its initial value, median and band over seeds, on a log axis. Right: every seed's
    final sharpness in units of its threshold `2 / eta` (below 1: stable); diverged
    seeds are marked at the top.

    Args:
        runs: Runs with `spec.relative`.
        title: The figure's title.
        note_text: Footer (default: `note(runs)` without a seed line).

    Returns:
        The figure.
    """
    spec = runs.spec
    fig = new_figure((WIDTH_IN, 3.4))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    early = min(30, runs.loss.shape[-1])
    steps = np.arange(early)
    for j, c in enumerate(spec.rates):
        relative = runs.loss[j, :, :early] / runs.loss[j, :, :1]
        _median_band(left, steps, relative, f"C{j}", f"c = {c:g}")
    left.set_yscale("log")
    left.axhline(1, color="0.3", lw=0.8)
    _style(left, "loss / initial loss", xlabel="step", ylabel=None)
    left.legend(fontsize=SMALL_PT, ncols=2, loc="upper right")
    final = runs.sharpness[..., -1] * runs.rates / 2
    top = 1.6
    rng = np.random.default_rng(0)
    for j, c in enumerate(spec.rates):
        x = j + rng.uniform(-0.18, 0.18, final.shape[1])
        dead = runs.diverged[j]
        right.plot(x[~dead], final[j, ~dead], "o", ms=3, color=f"C{j}", alpha=0.7)
        right.plot(x[dead], np.full(dead.sum(), top * 0.95), "x", ms=4, color=f"C{j}")
        right.plot([j - 0.3, j + 0.3], [c, c], color="0.4", lw=1)  # where it started
    right.axhline(1, color="C3", ls="--", lw=1.2)
    right.set_xticks(range(len(spec.rates)), [f"{c:g}" for c in spec.rates])
    right.set_ylim(0, top)
    _style(
        right,
        r"final sharpness $\times\ \eta/2$",
        xlabel=r"c: rate in units of $2/\lambda_0$",
    )
    right.text(0.02, 0.97, "x: diverged", transform=right.transAxes, fontsize=SMALL_PT,
               va="top", color="0.3")  # fmt: skip
    return _finish(fig, runs, title, note_text, seed_line=False)


def adam(runs: Trajectories, title: str | None = None, note_text: str | None = None) -> Figure:
    """Adam: preconditioned sharpness against its threshold (top), plain sharpness (bottom).

    Args:
        runs: Adam runs (`spec.optimizer == "adam"`).
        title: The figure's title.
        note_text: Footer (default: `note(runs)`).

    Returns:
        The figure.
    """
    spec = runs.spec
    fig, axes = _two_rows(runs, 5.0)
    checks = spec.checkpoints
    b1 = spec.beta_1
    for j, rate in enumerate(spec.rates):
        limit = (2 + 2 * b1) / ((1 - b1) * rate)
        top, bottom = axes[0, j], axes[1, j]
        _seeds(top, checks[1:], runs.preconditioned[j, :, 1:], "C1", "of $P^{-1}H$")
        top.axhline(limit, color="C3", ls="--", lw=1.2, label=r"$38/\eta$")
        top.set_ylim(0, limit * 1.4)
        _style(top, f"Adam, $\\eta$ = {rate:g} ($38/\\eta$ = {limit:.0f})")
        _seeds(bottom, checks, runs.sharpness[j], "C0", "of $H$")
        _style(bottom, xlabel="step")
    axes[0, 0].set_ylabel("preconditioned\nsharpness")
    axes[1, 0].set_ylabel("sharpness")
    axes[0, 0].legend(fontsize=SMALL_PT, loc="lower right")
    return _finish(fig, runs, title, note_text)
