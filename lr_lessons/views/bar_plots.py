"""Bar charts: one value per setting (mean over seeds), every seed drawn as a dot.

Nothing here trains: every function draws numbers it is given and returns a figure for
`plotting.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from lr_lessons.views.plotting import SMALL_PT, add_footer, new_figure


def summary_bars(
    values: Mapping[str, np.ndarray],
    xlabel: str,
    title: str | None = None,
    note: str | None = None,
    groups: Mapping[str, str] | None = None,
    xlim: tuple[float, float] | None = (0.0, 1.0),
    fmt: str = ".3f",
) -> Figure:
    """One horizontal bar per label: the mean over seeds, every seed's value as a dot.

    Long setting names stay readable on the y axis. The mean is written at the bar's
    base, clear of the dots near its end. NaN values (diverged seeds) are left out of
    the mean and counted on the bar.

    Args:
        values: `{label: per-seed values}`, drawn top to bottom in this order.
        xlabel: What the values are (the x axis label).
        title: The axes' title.
        note: Footer under the figure (data, seeds).
        groups: `{label: kind}` (e.g. "constant rate", "one-cycle"): one colour per
            kind with a legend. Without it every bar is grey.
        xlim: The x axis range; the default 0 to 1 is the whole accuracy scale (no
            truncation). `None`: from 0 (or the smallest value, if negative) to a
            little above the largest value.
        fmt: The format of the mean written on each bar.

    Returns:
        The figure.

    Raises:
        ValueError: If `values` is empty or `groups` misses a label.
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
    if xlim is None:
        every = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values.values()])
        every = every[np.isfinite(every)]
        top = float(every.max()) if every.size else 1.0
        xlim = (min(0.0, float(every.min())) if every.size else 0.0, top * 1.15 or 1.0)
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
        text = format(mean, fmt) if np.isfinite(mean) else "no finite value"
        if ok.size < v.size:
            text += f" ({v.size - ok.size} of {v.size} seeds NaN)"
        inside = np.isfinite(mean) and mean - lo > 0.3 * span
        right = max(float(ok.max()), mean) if ok.size else lo  # clear of the seeds' dots
        x = lo + 0.01 * span if inside else right + 0.015 * span
        ax.text(x, i, text, va="center", ha="left", fontsize=SMALL_PT)  # at the bar's base
    ax.set_yticks(range(n), list(values))
    ax.invert_yaxis()
    ax.set_xlim(lo, hi)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    if kinds:
        ax.legend(
            fontsize=SMALL_PT,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            title="kind",
            title_fontsize=SMALL_PT,
        )
    if title:
        ax.set_title(title, fontsize=10)
    add_footer(fig, note)
    return fig


def grouped_bars(
    panels: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    title: str | None = None,
    note: str | None = None,
    fmt: Mapping[str, str] | None = None,
) -> Figure:
    """Side-by-side bars comparing groups (e.g. two training regimes) per setting.

    Args:
        panels: `{panel title: {group: {setting: per-seed values}}}`; every group of a
            panel has the same settings. One panel per entry, one colour per group (the
            same in every panel), one bar per setting and group at the mean over seeds,
            every seed as a dot, the mean written above its bar.
        title: Figure title.
        note: Small text under the figure (data, seeds).
        fmt: Per panel, the format of the value labels (default `".2f"`).

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
                ax.bar(
                    x, mean, width * 0.9, color=f"C{g}", alpha=0.55, label=group if i == 0 else None
                )
                ax.plot(np.full(v.size, x), v, "k.", ms=4)
                label = format(mean, (fmt or {}).get(panel, ".2f"))
                high = float(np.nanmax(v))
                ax.annotate(
                    label,
                    (x, high),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=SMALL_PT,
                )
                top = max(top, high)
        ax.set_xticks(range(len(settings)), settings)
        ax.set_ylim(0, top * (1.15 + 0.1 * n_groups) if top > 0 else 1)
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=SMALL_PT, loc="upper right")  # in the head room ylim leaves free
    if title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig
