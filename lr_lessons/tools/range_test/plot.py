"""Drawing a range test's loss against the rate: matplotlib only, next to the results.

`plot_loss` draws what `RangeTestResult.plot` and `RangeTestRepeats.plot` show: one
run as its faint raw losses and the smoothed line, repeats as the seed-mean smoothed
line with a min-max band; each rule's suggestion as a marker (for repeats at the
median over seeds with a bar from the seeds' lowest to highest rate). A hollow marker:
the rule called its reading unreliable (for repeats: for at least one seed).
Nothing here trains. The lessons' figures (`lr_lessons.views.range_test_plots`) add
their footers to these drawings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lr_lessons.tools.range_test.rules import SUGGESTIONS

MARKERS = {"steepest": "v", "minimum": "s", "valley": "o", "slide": "D"}
MARKER_LABELS = {
    "steepest": "steepest descent",
    "minimum": "minimum / 10",
    "valley": "valley (fastai)",
    "slide": "slide (fastai)",
}


def _is_repeats(curve: Any) -> bool:
    return hasattr(curve, "runs") and hasattr(curve, "mean_curve")


def axes(ax: Any = None, size: tuple[float, float] = (6.6, 4.2)) -> tuple[Any, Any]:
    """`(figure, axes)`: those of `ax`, or a new figure of `size` inches.

    Args:
        ax: Axes to draw into, or None.
        size: The new figure's size in inches.

    Returns:
        The figure and the axes.
    """
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size, layout="constrained")


def loss_limits(values: list[np.ndarray]) -> tuple[float, float] | None:
    """y-limits that show the descent and the start of the blow-up, not the explosion.

    Args:
        values: The curves drawn.

    Returns:
        `(bottom, top)`, or None when no value is finite.
    """
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if finite.size == 0:
        return None
    low = float(finite.min())
    start = float(np.median([v[np.isfinite(v)][:5].mean() for v in values if np.isfinite(v).any()]))
    top = max(start, low) * 1.25
    pad = 0.05 * (top - low)
    return low - pad, top


def mark(ax: Any, curve: Any, name: str, color: str) -> None:
    """Draw rule `name`'s suggestion on `curve` (see the module docstring).

    Args:
        ax: The axes.
        curve: A `RangeTestResult` or `RangeTestRepeats`.
        name: The rule.
        color: The marker's colour.
    """
    if _is_repeats(curve):
        rule = curve.rule_summary(name)
        mid, lo, hi = rule.median, rule.low, rule.high
        reliable = all(rule.reliable)
        lrs, mean, _, _ = curve.mean_curve()
        y = float(np.interp(np.log10(mid), np.log10(lrs), mean))
        ax.errorbar(
            mid,
            y,
            xerr=[[max(mid - lo, 0.0)], [max(hi - mid, 0.0)]],
            fmt=MARKERS[name],
            color=color,
            mfc=color if reliable else "none",
            mec="k",
            ms=7,
            capsize=3,
            lw=1,
            zorder=5,
        )
    else:
        s = curve.suggestion(name)
        ax.plot(
            s.lr,
            s.loss,
            MARKERS[name],
            color=color,
            mec="k",
            ms=7,
            zorder=5,
            mfc=color if s.reliable else "none",
        )


def plot_loss(
    curves: Mapping[str, Any],
    ax: Any = None,
    suggestions: Sequence[str] | None = SUGGESTIONS,
    raw: bool = True,
    title: str | None = None,
    xlabel: str = "learning rate (log scale)",
    path: str | os.PathLike | None = None,
) -> Any:
    """Loss against learning rate on a log x axis, several runs or optimizers on one axes.

    Args:
        curves: Label -> `RangeTestResult` or `RangeTestRepeats`.
        ax: Axes to draw into (default: a new figure).
        suggestions: The rules to mark (`None` or empty: none).
        raw: Draw a single run's raw losses too.
        title: The title.
        xlabel: The x label.
        path: Save the figure there too (any format matplotlib writes, e.g. `.png`).

    Returns:
        The matplotlib figure.
    """
    from matplotlib.lines import Line2D

    fig, ax = axes(ax)
    shown = []
    for i, (label, curve) in enumerate(curves.items()):
        color = f"C{i}"
        if _is_repeats(curve):
            lrs, mean, lo, hi = curve.mean_curve()
            n = len(curve.seeds)
            ax.plot(lrs, mean, color=color, lw=1.8, label=f"{label} (mean of {n} seeds)")
            if n > 1:
                ax.fill_between(lrs, lo, hi, color=color, alpha=0.2, lw=0)
            shown += [mean, lo, hi]
        else:
            if raw:
                ax.plot(curve.lrs, curve.losses, color=color, lw=0.6, alpha=0.3)
            ax.plot(curve.lrs, curve.smoothed, color=color, lw=1.8, label=f"{label} (smoothed)")
            shown.append(curve.smoothed)
        for name in suggestions or ():
            mark(ax, curve, name, color)
    ax.set_xscale("log")
    ax.set_ylabel("training loss")
    limits = loss_limits(shown)
    if limits is not None:
        ax.set_ylim(*limits)
    handles, labels = ax.get_legend_handles_labels()
    for name in suggestions or ():
        handles.append(Line2D([], [], ls="", marker=MARKERS[name], color="0.6", mec="k", ms=7))
        labels.append(MARKER_LABELS[name])
    ax.legend(handles, labels, fontsize=8, loc="lower left")
    finish(ax, title, xlabel)
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def finish(ax: Any, title: str | None, xlabel: str) -> None:
    """The x label, a light grid and the title.

    Args:
        ax: The axes.
        title: The title (None: none).
        xlabel: The x label.
    """
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, which="major")
    ax.grid(alpha=0.08, which="minor")
    if title:
        ax.set_title(title, fontsize=10)
