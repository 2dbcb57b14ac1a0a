"""Figure basics every view shares: a new figure, saving it, its footer, a seed band.

Nothing here trains. The figures themselves are drawn by the modules named after their
kind: `line_plots` (lines over epochs, steps or learning rates), `bar_plots`,
`space_plots` (points and paths in a plane), `range_test_plots` and `landscape_plots`
(heatmaps over learning rate x another knob). Each figure a chapter shows is written by
`save_figure` into `figures/NN_topic/name.png`, so a notebook and the `lr-lessons figures`
command make the same picture.

Figures are designed for the page they are shown on: the site's content column is
`PAGE_WIDTH_PX` CSS pixels wide (a 1280 px window), and a wider PNG is scaled down to it.
`save_figure` records each PNG's smallest text (its height in the PNG's pixels) in the
PNG's metadata (`SMALLEST_TEXT_KEY`), and `shown_text_px` says how tall that text is on
the page; the site's browser test holds every figure to `SMALLEST_TEXT_PX` there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from lr_lessons import config
from lr_lessons.files import atomic_path, write_text
from lr_lessons.lab.results import Results

PAGE_WIDTH_PX = 688  # the site's content column in CSS px, in a 1280 px wide window
SMALLEST_TEXT_PX = 9.0  # no text smaller than this (font size, CSS px) where it is shown
SMALLEST_TEXT_KEY = "Smallest text"  # PNG metadata: the smallest font size, in PNG pixels
DESCRIPTION_KEY = "Description"  # PNG metadata: what the figure shows (the site's alt text)
FOOTER_GID = "footer"  # the `gid` of the text `add_footer` draws
_TEX_NAMES = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "infty": "∞",
    "cdot": "·", "times": "×", "approx": "≈", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "to": "→", "sqrt": "√", "nabla": "∇",
}  # fmt: skip
DPI = 110
# The smallest text a figure draws (footers, legends, numbers in cells), in points: 9 CSS
# px on the page for a figure up to `MAX_WIDTH_IN` wide (wider ones are scaled down more).
SMALL_PT = 8.5
MAX_WIDTH_IN = 8.5


def shown_text_px(smallest_px: float, width_px: float, shown_width: float = PAGE_WIDTH_PX) -> float:
    """How tall a PNG's smallest text is where the page shows it.

    A PNG wider than its place is scaled down to `shown_width`; a narrower one is shown
    at its own size.

    Args:
        smallest_px: The smallest font size in the PNG's pixels (`SMALLEST_TEXT_KEY`).
        width_px: The PNG's width in pixels.
        shown_width: The width it is shown at, in CSS pixels (the content column).

    Returns:
        The font size in CSS pixels as shown.
    """
    return smallest_px * min(1.0, shown_width / width_px)


@contextmanager
def _drawn_text_sizes() -> Iterator[list[float]]:
    """The font sizes (points) of the texts drawn while the block runs.

    Only what is drawn counts: hidden texts, empty ones and tick labels outside the axis
    limits are not. (`Text.draw` is wrapped for the duration of the block.)
    """
    sizes: list[float] = []
    original = Text.draw

    def draw(self: Text, renderer) -> None:
        if self.get_visible() and self.get_text().strip():
            sizes.append(float(self.get_fontsize()))
        return original(self, renderer)

    draw._supports_rasterization = True  # as matplotlib's own draw methods say
    Text.draw = draw
    try:
        yield sizes
    finally:
        Text.draw = original


def smallest_text_pt(fig: Figure) -> float:
    """The font size in points of the smallest text `fig` draws (`inf` if it draws none).

    Args:
        fig: The figure.

    Returns:
        The smallest font size of a visible, non-empty text (titles, labels, tick
        labels, legends, annotations, footers).
    """
    with _drawn_text_sizes() as sizes:
        fig.draw_without_rendering()
    return min(sizes, default=float("inf"))


def _plain(text: str) -> str:
    """Mathtext as plain text: `$\\eta/(1-\\mu)$` -> `η/(1-μ)`."""
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX_NAMES.get(m.group(1), m.group(1)), text)
    text = text.replace("$", "").replace("\\,", " ").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def describe(fig: Figure) -> str:
    """What a figure shows, in words, from its own texts: the site's alt text.

    Its title, its panels' titles and its footer (`add_footer`), in that order.

    Args:
        fig: The figure.

    Returns:
        E.g. `"SGD on the blobs problem: learning rate x momentum. Panels: final test
        accuracy; epochs to 75% test accuracy. data: blobs; 5 seeds; 200 epochs"`; empty
        if the figure has none of these texts.
    """
    parts = []
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if title.strip():
        parts.append(_plain(title).rstrip("."))
    panels: list[str] = []
    for ax in fig.axes:
        for loc in ("left", "center", "right"):
            name = _plain(ax.get_title(loc))
            if name and name not in panels:
                panels.append(name)
    if panels:
        label = "Panels" if len(panels) > 1 else "Panel"
        parts.append(f"{label}: " + "; ".join(panels))
    footers = [t.get_text() for t in fig.texts if t.get_gid() == FOOTER_GID]
    parts += [_plain(f) for f in footers if f.strip()]
    return ". ".join(parts)


def new_figure(size: tuple[float, float]) -> Figure:
    """A new figure that pyplot no longer tracks, no wider than the page.

    Made through pyplot, so a notebook's inline backend is set up and shows the figure
    when a cell ends with it; closed at once, so it is not shown a second time at the
    end of the cell and loops do not pile figures up. The width is capped at
    `MAX_WIDTH_IN`: a wider figure would be scaled down on the site until its small
    text (`SMALL_PT`) fell under `SMALLEST_TEXT_PX`; the panels get narrower instead.

    Args:
        size: Width and height in inches.

    Returns:
        The figure, with constrained layout.
    """
    width, height = size
    fig = plt.figure(figsize=(min(width, MAX_WIDTH_IN), height), layout="constrained")
    plt.close(fig)
    return fig


def save_figure(fig: Figure, name: str, dpi: int = DPI) -> Path:
    """Write `fig` to `<figures>/<name>.png` atomically.

    The PNG carries no timestamp or version, so drawing the same figure again writes
    the same bytes. It carries the size of its smallest text (`SMALLEST_TEXT_KEY`, in
    the PNG's pixels), from which the site checks the figure is legible where it stands.

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
    smallest = smallest_text_pt(fig) * dpi / 72
    description = describe(fig)
    with atomic_path(path) as tmp:
        fig.savefig(
            tmp,
            format=path.suffix[1:],
            dpi=dpi,
            bbox_inches="tight",
            metadata=_png_metadata(path, smallest, description),
        )
    return path


def save_table(table: str, name: str) -> Path:
    """Write a Markdown table next to the figures, `<figures>/<name>.md`, atomically.

    The site shows it under the cell that wrote it (`lr_lessons.cells` records it).

    Args:
        table: The Markdown table.
        name: `"NN_topic/table_name"`.

    Returns:
        The path written.
    """
    path = config.figures_dir() / f"{name}.md"
    return write_text(path, table)


def _png_metadata(path: Path, smallest_px: float, description: str) -> dict[str, str | None]:
    # Fixed metadata keeps re-rendered PNGs byte-identical (no timestamps, no versions).
    if path.suffix != ".png":
        return {"Date": None, "Creator": None}
    meta: dict[str, str | None] = {"Software": None}
    if np.isfinite(smallest_px):
        meta[SMALLEST_TEXT_KEY] = f"{smallest_px:.2f}"
    if description:
        meta[DESCRIPTION_KEY] = description
    return meta


BAND_PERCENTILES = (10, 90)  # the seed band, from `PERCENTILE_SEEDS` seeds on
PERCENTILE_SEEDS = 10  # fewer seeds: the band is min-max (percentiles of 3 are not)


def band_name(n: int) -> str:
    """What the seed band of `n` seeds shows: `"10-90th percentile"` or `"min-max"`."""
    if n >= PERCENTILE_SEEDS:
        return f"{BAND_PERCENTILES[0]}-{BAND_PERCENTILES[1]}th percentile"
    return "min-max"


def band_range(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The seed band along `axis`: the 10th and 90th percentiles, or min and max.

    With many seeds (30 for the blobs) a min-max band is as wide as the two most
    extreme seeds; the 10-90th percentile band shows where most seeds lie. Below
    `PERCENTILE_SEEDS` seeds it is min-max. NaN values are left out.

    Args:
        values: The runs' values.
        axis: The seeds' axis.

    Returns:
        `(low, high)`.
    """
    values = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"):
        if values.shape[axis] >= PERCENTILE_SEEDS:
            lo, hi = np.nanpercentile(values, BAND_PERCENTILES, axis=axis)
            return lo, hi
        return np.nanmin(values, axis=axis), np.nanmax(values, axis=axis)


def caption(
    results: Results | Sequence[Results],
    extra: str = "",
    *,
    center: str = "mean",
    band: str | None = "auto",
) -> str:
    """A figure's footer text: data, seeds, epochs, batch size, engine, runs and speed.

    Range tests (`RangeTestRepeats`, e.g. one per optimizer) get the same footer with
    what they have: data, seeds, how many tests ran and how long they took.

    Args:
        results: The `Results` (or `RangeTestRepeats`) behind the figure, one or
            several (e.g. one per batch size); data source, seeds and quick mode are
            read from the first.
        extra: Text appended at the end (e.g. how a "final" value is defined).
        center: What the line shows over seeds (`"mean"` or `"median"`).
        band: What the band around the line shows (`"auto"`: `band_name` of the seed
            count, as `band_range` draws it); `None` when the figure draws no seed band
            (then the seeds are only counted).

    Returns:
        One line, e.g. `"data: blobs; line: mean of 5 seeds, band: min-max; 200 epochs;
        batch 32; engine: stacked; 25 runs trained in 4 s (6.7 runs/s)"`.

    Raises:
        ValueError: If `results` is an empty sequence.
    """
    single = isinstance(results, Results) or _is_range_test(results)
    every = [results] if single else list(results)
    if not every:
        raise ValueError("caption needs at least one Results; got an empty sequence")
    meta = every[0].meta
    n = len(every[0].seeds)
    if n == 1:
        spread = "1 seed"
    elif band is None:
        spread = f"{n} seeds"
    else:
        shown = band_name(n) if band == "auto" else band
        spread = f"line: {center} of {n} seeds, band: {shown}"
    quick = ", QUICK MODE" if meta.get("quick") else ""
    seconds = sum(float(r.meta.get("wall_time_s", np.nan)) for r in every)
    timed = np.isfinite(seconds) and seconds > 0
    if all(_is_range_test(r) for r in every):
        tests = sum(len(r.runs) for r in every)
        ran = f"{tests} range tests" + (f" ran in {seconds:.0f} s" if timed else "")
        text = f"data: {meta.get('data_source', '?')}; {spread}{quick}; {ran}"
        return f"{text}; {extra}" if extra else text
    epochs = "/".join(str(e) for e in sorted({r.epochs for r in every}))
    epochs += " epoch" if epochs == "1" else " epochs"
    batches = sorted({r.meta.get("study", {}).get("batch_size") for r in every} - {None})
    batch = f"batch {', '.join(str(b) for b in batches)}; " if batches else ""
    engines = ", ".join(sorted({str(r.meta.get("engine", "?")) for r in every}))
    runs = sum(len(r.settings) * len(r.seeds) for r in every)
    speed = (
        f"{runs} runs trained in {seconds:.0f} s ({runs / seconds:.1f} runs/s)"
        if timed
        else f"{runs} runs"
    )
    text = (
        f"data: {meta.get('data_source', '?')}; {spread}; {epochs}; {batch}"
        f"engine: {engines}{quick}; {speed}"
    )
    return f"{text}; {extra}" if extra else text


def _is_range_test(obj: object) -> bool:
    # a `RangeTestRepeats` (its runs, seeds and meta), told apart without importing tools
    return not isinstance(obj, Results) and hasattr(obj, "runs") and hasattr(obj, "seeds")


def add_footer(fig: Figure, note: str | None) -> None:
    """Write `note` in small grey type under the figure, wrapped to the figure's width.

    Every plotting function draws its `note=` argument with this, so footers look the
    same in every figure. Nothing is drawn when `note` is empty or `None`.

    Args:
        fig: The figure.
        note: The footer text, usually from `caption`.
    """
    if note:
        fig.text(
            0.5,
            -0.01,
            note,
            ha="center",
            va="top",
            fontsize=SMALL_PT,
            color="0.35",
            wrap=True,
            gid=FOOTER_GID,
        )


def band(
    ax: Axes, epochs: np.ndarray, runs: np.ndarray, color: str, label: str, center: str = "mean"
) -> None:
    """Draw the mean (or median) over runs as a line and their spread as a band.

    The band is `band_range`: the 10-90th percentile from 10 runs on, min-max below.

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
    lo, hi = band_range(runs, axis=0)
    ax.plot(epochs, mid, color=color, label=label, lw=1.4)
    if runs.shape[0] > 1:
        ax.fill_between(epochs, lo, hi, color=color, alpha=0.22, lw=0)
