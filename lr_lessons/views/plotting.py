"""Figure basics every view shares: a new figure, saving it, its footer, a seed band.

Nothing here trains. The figures themselves are drawn by the modules named after their
kind: `line_plots` (lines over epochs, steps or learning rates), `bar_plots`,
`space_plots` (points and paths in a plane), `range_test_plots` and `landscape_plots`
(heatmaps over learning rate x another knob). Each figure a chapter shows is written by
`save_figure` into `figures/NN_topic/name.png`, so a notebook and the `lr-lessons figures`
command make the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lr_lessons import config
from lr_lessons.files import atomic_path
from lr_lessons.lab.results import Results


def new_figure(size: tuple[float, float]) -> Figure:
    """A new figure that pyplot no longer tracks.

    Made through pyplot, so a notebook's inline backend is set up and shows the figure
    when a cell ends with it; closed at once, so it is not shown a second time at the
    end of the cell and loops do not pile figures up.

    Args:
        size: Width and height in inches.

    Returns:
        The figure, with constrained layout.
    """
    fig = plt.figure(figsize=size, layout="constrained")
    plt.close(fig)
    return fig


def save_figure(fig: Figure, name: str, dpi: int = 110) -> Path:
    """Write `fig` to `<figures>/<name>.png` atomically.

    The PNG carries no timestamp or version, so drawing the same figure again writes
    the same bytes.

    Args:
        fig: The figure.
        name: `"NN_topic/figure_name"`; a suffix (`.png` or `.svg`) may be given.
        dpi: Resolution of a PNG.

    Returns:
        The path written.
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


def caption(
    results: Results | Sequence[Results],
    extra: str = "",
    *,
    center: str = "mean",
    band: str | None = "min-max",
) -> str:
    """A figure's footer text: data, seeds, epochs, batch size, engine, runs and speed.

    Args:
        results: The `Results` behind the figure, one or several (e.g. one per batch
            size); data source, seeds and quick mode are read from the first.
        extra: Text appended at the end (e.g. how a "final" value is defined).
        center: What the line shows over seeds (`"mean"` or `"median"`).
        band: What the band around the line shows; `None` when the figure draws no
            seed band (then the seeds are only counted).

    Returns:
        One line, e.g. `"data: blobs; line: mean of 5 seeds, band: min-max; 200 epochs;
        batch 32; engine: stacked; 25 runs trained in 4 s (6.7 runs/s)"`.

    Raises:
        ValueError: If `results` is an empty sequence.
    """
    every = [results] if isinstance(results, Results) else list(results)
    if not every:
        raise ValueError("caption needs at least one Results; got an empty sequence")
    meta = every[0].meta
    n = len(every[0].seeds)
    if n == 1:
        spread = "1 seed"
    elif band is None:
        spread = f"{n} seeds"
    else:
        spread = f"line: {center} of {n} seeds, band: {band}"
    epochs = "/".join(str(e) for e in sorted({r.epochs for r in every}))
    batches = sorted({r.meta.get("study", {}).get("batch_size") for r in every} - {None})
    batch = f"batch {', '.join(str(b) for b in batches)}; " if batches else ""
    engines = ", ".join(sorted({str(r.meta.get("engine", "?")) for r in every}))
    quick = ", QUICK MODE" if meta.get("quick") else ""
    runs = sum(len(r.settings) * len(r.seeds) for r in every)
    seconds = sum(float(r.meta.get("wall_time_s", np.nan)) for r in every)
    speed = (
        f"{runs} runs trained in {seconds:.0f} s ({runs / seconds:.1f} runs/s)"
        if np.isfinite(seconds) and seconds > 0
        else f"{runs} runs"
    )
    text = (
        f"data: {meta.get('data_source', '?')}; {spread}; {epochs} epochs; {batch}"
        f"engine: {engines}{quick}; {speed}"
    )
    return f"{text}; {extra}" if extra else text


def add_footer(fig: Figure, note: str | None) -> None:
    """Write `note` in small grey type under the figure, wrapped to the figure's width.

    Every plotting function draws its `note=` argument with this, so footers look the
    same in every figure. Nothing is drawn when `note` is empty or `None`.

    Args:
        fig: The figure.
        note: The footer text, usually from `caption`.
    """
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=7, color="0.35", wrap=True)


def band(
    ax: Axes, epochs: np.ndarray, runs: np.ndarray, color: str, label: str, center: str = "mean"
) -> None:
    """Draw the mean (or median) over runs as a line and their min-max as a band.

    The median suits values spread over orders of magnitude (learning rates on a log
    axis), where the mean is just the largest run. One run: just the line.

    Args:
        ax: The axes to draw into.
        epochs: The x values, one per column of `runs`.
        runs: Shape (runs, points); NaN values are left out.
        color: The colour of line and band.
        label: The line's legend entry.
        center: `"mean"` or `"median"`.

    Raises:
        ValueError: If `center` is neither.
    """
    if center not in {"mean", "median"}:
        raise ValueError(f"center must be 'mean' or 'median', got {center!r}")
    with np.errstate(all="ignore"):
        mid = np.nanmean(runs, axis=0) if center == "mean" else np.nanmedian(runs, axis=0)
        lo, hi = np.nanmin(runs, axis=0), np.nanmax(runs, axis=0)
    ax.plot(epochs, mid, color=color, label=label, lw=1.4)
    if runs.shape[0] > 1:
        ax.fill_between(epochs, lo, hi, color=color, alpha=0.22, lw=0)
