"""Chapter 9's grids: learning rate x momentum, x batch size, x optimizer, and their analysis.

A `Grid` is a `Study` laid out as rows (a momentum, an
optimizer) x learning rates, so results come back as arrays of shape
`(rows, rates, seeds, epochs)` instead of a list of setting names. The analysis
functions below are plain numpy on such arrays (nothing here trains):

- `best_rate`: the rate of the highest score per row and seed, refined between grid
  points by a parabola in log rate;
- `good_region`: the interval of rates whose score is within a tolerance of the
  best, with its width in decades (edges interpolated between grid points);
- `fit_slope` and `hinge_fit`: straight lines (and a line that turns flat at
  a break point) through log-log points, e.g. best rate against batch size;
- `divergence` and `spread`: the cells to mark on a heatmap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lr_lessons.lab import measures, studies
from lr_lessons.lab.measures import diverged, final
from lr_lessons.lab.results import Results
from lr_lessons.lab.studies import Setting, Study

# 1E-5 ... 4.64 in steps of a third of a decade: 18 rates that contain chapter 1's
# 1E-3, 1E-2, 1E-1 and 1, reach beyond 3 (where SGD on the blobs problem diverges) and
# below 1E-4 (where SGD with momentum 0.99 still learns: its effective rate is 100x).
RATES = tuple(float(f"{10 ** (k / 3 - 5):.3g}") for k in range(18))
MOMENTA = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 500)
BATCH_OPTIMIZERS = ("sgd", "adam")
# (row label, optimizer, options) of the optimizer grid; SGD and SGD with momentum 0.9
# are rows of the momentum grid (same settings, seeds, epochs and batch size).
OPTIMIZER_ROWS = (
    ("RMSprop", "rmsprop", {}),
    ("Adagrad", "adagrad", {}),
    ("Adam", "adam", {}),
)
HD_ROWS = (
    ("SGD-HD", "sgd_hd", {}),
    ("Adam-HD", "adam_hd", {}),
)
DECAYS = studies.DECAYS
PATIENCES = studies.PATIENCES
SPREAD_THRESHOLD = 0.05  # seeds' final test accuracies more than 5 points apart
# A slope read off best rates on a grid of thirds of a decade: half a step (1/6 decade)
# of error at each end of the ~2 decades spanned (1 - mu from 1 to 0.01; batch sizes 8
# to 500) moves it by up to (1/6 + 1/6) / 2 = 0.17, so slopes within 0.2 of the claimed
# value are read as agreeing.
SLOPE_TOLERANCE = 0.2
GOOD_TOLERANCE = 0.01  # "good": within 0.01 of the best final test accuracy
TARGET = 0.75  # epochs to 75% test accuracy, as in chapters 1 and 2


def _rate_name(rate: float) -> str:
    return f"lr={rate:g}"


@dataclass(frozen=True)
class Grid:
    """A study whose settings are rows x learning rates.

    Args:
        study: The study; its settings are ordered row by row, rate by rate.
        rows: One label per row (e.g. `"momentum=0.9"` or `"Adam"`).
        rates: The learning rates of every row.
    """

    study: Study
    rows: tuple[str, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        expected = len(self.rows) * len(self.rates)
        if len(self.study.settings) != expected:
            raise ValueError(
                f"grid {self.study.name!r}: {len(self.study.settings)} settings for "
                f"{len(self.rows)} rows x {len(self.rates)} rates"
            )

    def setting_name(self, row: str, rate: float) -> str:
        """The name of the setting in `row` at `rate`."""
        return f"{row} {_rate_name(rate)}"

    def values(self, results: Results, metric: str) -> np.ndarray:
        """`metric` of every cell: shape `(rows, rates, seeds, epochs)`.

        Args:
            results: What `lr_lessons.lab.runner.run_study` returned for this grid.
            metric: A metric of the results (`"val_accuracy"`, `"loss"`, ...).

        Returns:
            The per-epoch values, rows first, then rates, seeds and epochs.
        """
        if results.study != self.study.name:
            raise ValueError(f"results of {results.study!r} given for grid {self.study.name!r}")
        return np.stack(
            [
                np.stack([results.get(metric, self.setting_name(r, x)) for x in self.rates])
                for r in self.rows
            ]
        )


def _grid(name: str, title: str, rows, rates, epochs: int, batch_size: int) -> Grid:
    """`rows` is a sequence of (label, optimizer, options)."""
    rates = tuple(float(r) for r in rates)
    settings = tuple(
        Setting(f"{label} {_rate_name(rate)}", optimizer, rate, options)
        for label, optimizer, options in rows
        for rate in rates
    )
    study = Study(name, title, settings, epochs=epochs, batch_size=batch_size)
    return Grid(study, tuple(label for label, _, _ in rows), rates)


def momentum_grid(
    rates: Sequence[float] = RATES,
    momenta: Sequence[float] = MOMENTA,
    epochs: int = 200,
    batch_size: int = 32,
) -> Grid:
    """SGD at every learning rate x momentum (Keras' heavy-ball `SGD(momentum=...)`).

    Args:
        rates: Learning rates.
        momenta: Momentum values, each in [0, 1).
        epochs: Epochs of every run (chapters 1-5 use 200).
        batch_size: Batch size (chapters 1-5 use 32).

    Returns:
        The `Grid` with rows `"momentum=<mu>"`.
    """
    for m in momenta:
        if not 0 <= m < 1:
            raise ValueError(f"momentum must be in [0, 1), got {m!r}")
    rows = [(f"momentum={m:g}", "sgd", {"momentum": float(m)}) for m in momenta]
    return _grid(
        "landscape_momentum", "SGD: learning rate x momentum", rows, rates, epochs, batch_size
    )


def batch_grid(
    batch_size: int,
    optimizers: Sequence[str] = BATCH_OPTIMIZERS,
    rates: Sequence[float] = RATES,
    epochs: int = 200,
) -> Grid:
    """Every optimizer (Keras defaults but the rate) x learning rate at one batch size.

    The number of epochs is fixed, so a larger batch takes fewer updates:
    `epochs * ceil(500 / batch_size)` on the blobs problem.

    Args:
        batch_size: Examples per update.
        optimizers: Optimizer names of `lr_lessons.lab.studies.OPTIMIZERS`.
        rates: Learning rates.
        epochs: Epochs of every run.

    Returns:
        The `Grid` with one row per optimizer, named like the optimizer.
    """
    rows = [(name, name, {}) for name in optimizers]
    return _grid(
        f"landscape_batch_{batch_size}",
        f"learning rate x optimizer, batch size {batch_size}",
        rows,
        rates,
        epochs,
        batch_size,
    )


def optimizer_grid(
    rows: Sequence[tuple[str, str, dict]] = OPTIMIZER_ROWS,
    rates: Sequence[float] = RATES,
    epochs: int = 200,
    batch_size: int = 32,
    name: str = "landscape_optimizers",
) -> Grid:
    """Adaptive optimizers (Keras defaults but the rate) x learning rate.

    Args:
        rows: `(label, optimizer, options)` per row.
        rates: Learning rates.
        epochs: Epochs of every run.
        batch_size: Batch size.
        name: The study's name (its results file).

    Returns:
        The `Grid`.
    """
    return _grid(name, "learning rate x optimizer", rows, rates, epochs, batch_size)


def momentum_decay_study(
    momenta: Sequence[float] = MOMENTA, decays: Sequence[float] = DECAYS
) -> Study:
    """Chapter 3's four decays of a 0.01 start rate, now with momentum.

    Args:
        momenta: Momentum values (momentum 0 is chapter 3's own study).
        decays: `decay_rate` of `InverseTimeDecay(0.01, decay_steps=1, ...)`.

    Returns:
        A study with settings `"momentum=<mu> decay <d>"`.
    """
    settings = tuple(
        Setting(
            f"momentum={m:g} decay {d:g}",
            "sgd",
            options={"momentum": float(m)},
            schedule=studies.inverse_time_decay(d),
        )
        for m in momenta
        for d in decays
    )
    return Study("landscape_decay", "SGD (0.01) with momentum and decay", settings)


def momentum_plateau_study(
    momenta: Sequence[float] = MOMENTA, patiences: Sequence[int] = PATIENCES
) -> Study:
    """Chapter 4's `ReduceLROnPlateau` patiences at rate 0.01, now with momentum.

    Args:
        momenta: Momentum values (momentum 0 is chapter 4's own study).
        patiences: Patience of `ReduceLROnPlateau(factor=0.1, min_delta=1e-7)`.

    Returns:
        A study with settings `"momentum=<mu> patience=<p>"`.
    """
    settings = tuple(
        Setting(
            f"momentum={m:g} patience={p}",
            "sgd",
            0.01,
            {"momentum": float(m)},
            plateau={"patience": p},
        )
        for m in momenta
        for p in patiences
    )
    return Study("landscape_plateau", "SGD (0.01) with momentum and ReduceLROnPlateau", settings)


def chapter_studies(batch_sizes: Sequence[int] = BATCH_SIZES) -> list[Study]:
    """Every study chapter 9 trains, in the order it trains them.

    The rate x momentum grid, the optimizer grids (Keras' adaptive optimizers and the
    hypergradient ones), one rate x optimizer grid per batch size other than 32 (whose
    SGD and Adam rows are the momentum and optimizer grids' own), and chapter 3's decays
    and chapter 4's plateaus with momentum. `benchmarks/bench_engines.py` times them.

    Args:
        batch_sizes: The batch sizes of the batch-size grids.

    Returns:
        The studies.
    """
    return [
        momentum_grid().study,
        optimizer_grid().study,
        optimizer_grid(HD_ROWS, name="landscape_hd").study,
        *(batch_grid(b).study for b in batch_sizes if b != 32),
        momentum_decay_study(),
        momentum_plateau_study(),
    ]


# --- analysis: plain numpy on (..., rates, seeds) or (..., seeds, epochs) arrays --------


def cell_final(values: np.ndarray) -> np.ndarray:
    """The 'final' value (`lr_lessons.views.claims.final`) of every run of a grid.

    Args:
        values: Shape `(..., seeds, epochs)`.

    Returns:
        Shape `(..., seeds)`.
    """
    return final(values)


def divergence(loss: np.ndarray) -> np.ndarray:
    """Which runs diverged (`lr_lessons.views.claims.diverged`), for a whole grid.

    Args:
        loss: Training loss, shape `(..., seeds, epochs)`.

    Returns:
        Boolean array `(..., seeds)`; a cell is marked when any of its seeds is True.
    """
    return diverged(loss)


def spread(values: np.ndarray) -> np.ndarray:
    """Max minus min over seeds (the last axis), ignoring NaN; NaN if no seed is finite."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape[:-1], np.nan)
    ok = np.isfinite(v).any(axis=-1)
    out[ok] = np.nanmax(v[ok], axis=-1) - np.nanmin(v[ok], axis=-1)
    return out


def _scores(scores: np.ndarray, rates: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    logr = np.log10(np.asarray(rates, dtype=float))
    if logr.ndim != 1 or logr.size < 2 or not np.all(np.diff(logr) > 0):
        raise ValueError(f"rates must be at least two increasing positive numbers, got {rates}")
    s = np.asarray(scores, dtype=float)
    if s.shape[-1] != logr.size:
        raise ValueError(f"scores end in {s.shape[-1]} values for {logr.size} rates")
    return logr, np.where(np.isfinite(s), s, -np.inf)


def best_rate(rates: Sequence[float], scores: np.ndarray, refine: bool = True) -> np.ndarray:
    """The learning rate with the highest score, per curve.

    Args:
        rates: Increasing learning rates (the last axis of `scores`).
        scores: Shape `(..., rates)`, e.g. final test accuracy per seed; NaN (a
            diverged run) counts as the worst score.
        refine: Place the peak between grid points: the vertex of the parabola in
            log10(rate) through the best point and its two neighbours (kept within
            those neighbours). A peak at either end of the grid is not refined.

    Returns:
        Shape `(...)`: the best rate, NaN for a curve with no finite score.
    """
    logr, s = _scores(scores, rates)
    flat = s.reshape(-1, logr.size)
    out = np.full(flat.shape[0], np.nan)
    for i, row in enumerate(flat):
        if not np.isfinite(row).any():
            continue
        k = int(np.argmax(row))
        out[i] = float(np.asarray(rates, dtype=float)[k])
        if refine and 0 < k < logr.size - 1 and np.isfinite(row[k - 1 : k + 2]).all():
            x0, x1, x2 = logr[k - 1 : k + 2]
            y0, y1, y2 = row[k - 1 : k + 2]
            # Vertex of the parabola through three points (unequal spacing allowed).
            num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
            den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
            if den != 0:
                out[i] = 10 ** float(np.clip(x1 - 0.5 * num / den, x0, x2))
    return out.reshape(s.shape[:-1])


class Region(NamedTuple):
    """The good region of each curve: rates within a tolerance of the curve's best.

    `low`/`high` are its edges (interpolated in log rate where the score crosses
    `best - tol` between grid points), `width` its width in decades, and
    `censored` says whether it reaches an end of the grid (then the true region is
    wider than measured).
    """

    low: np.ndarray
    high: np.ndarray
    width: np.ndarray
    censored: np.ndarray


def _cross(logr: np.ndarray, row: np.ndarray, level: float, inside: int, outside: int) -> float:
    """Log rate where `row` falls to `level` between grid points `inside` and
    `outside` (linear in log rate); at `inside` if the outside score is not finite."""
    y_in, y_out = row[inside], row[outside]
    if not np.isfinite(y_out):
        return float(logr[inside])
    t = (y_in - level) / (y_in - y_out)
    return float(logr[inside] + t * (logr[outside] - logr[inside]))


def good_region(
    rates: Sequence[float],
    scores: np.ndarray,
    tol: float = GOOD_TOLERANCE,
    level: float | None = None,
) -> Region:
    """The contiguous range of rates around the best whose score is >= best - `tol`.

    Args:
        rates: Increasing learning rates (the last axis of `scores`).
        scores: Shape `(..., rates)`; NaN (diverged) counts as below any threshold.
        tol: How far below the best a score may be and still count as good.
        level: Instead of `best - tol`, a fixed score to stay at or above (e.g. 0.75:
            the rates that learn at all). A curve whose best is below it gets NaN edges
            and width 0.

    Returns:
        A `Region` of arrays of shape `(...)`.
    """
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    logr, s = _scores(scores, rates)
    flat = s.reshape(-1, logr.size)
    n = flat.shape[0]
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    censored = np.zeros(n, bool)
    for i, row in enumerate(flat):
        if not np.isfinite(row).any():
            continue
        k = int(np.argmax(row))
        threshold = row[k] - tol if level is None else level
        if row[k] < threshold:
            continue
        a = k
        while a > 0 and row[a - 1] >= threshold:
            a -= 1
        b = k
        while b < logr.size - 1 and row[b + 1] >= threshold:
            b += 1
        censored[i] = a == 0 or b == logr.size - 1

        low[i] = 10 ** (_cross(logr, row, threshold, a, a - 1) if a > 0 else logr[0])
        high[i] = 10 ** (_cross(logr, row, threshold, b, b + 1) if b < logr.size - 1 else logr[-1])
    shape = s.shape[:-1]
    low, high = low.reshape(shape), high.reshape(shape)
    width = np.where(np.isfinite(low), np.log10(high) - np.log10(low), 0.0)
    return Region(low, high, width, censored.reshape(shape))


class Line(NamedTuple):
    """A straight line `log10(y) = intercept + slope * log10(x)`."""

    slope: float
    intercept: float


def fit_slope(x: Sequence[float], y: Sequence[float]) -> Line:
    """Least-squares line through (log10 x, log10 y), skipping non-finite points.

    Args:
        x: Positive x values (e.g. batch sizes).
        y: Positive y values (e.g. best learning rates).

    Returns:
        The `Line`; NaN slope and intercept with fewer than two usable points.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x has shape {x.shape}, y has {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if len(np.unique(x[ok])) < 2:
        return Line(math.nan, math.nan)
    slope, intercept = np.polyfit(np.log10(x[ok]), np.log10(y[ok]), 1)
    return Line(float(slope), float(intercept))


class Hinge(NamedTuple):
    """`log10(y) = intercept + slope * log10(min(x, knee))`: a line that turns flat."""

    slope: float
    intercept: float
    knee: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return 10 ** (self.intercept + self.slope * np.log10(np.minimum(x, self.knee)))


def hinge_fit(x: Sequence[float], y: Sequence[float], min_points: int = 3) -> Hinge:
    """Least-squares fit of a line in log-log that may stop rising at a knee.

    Each observed x (from the `min_points`-th smallest on) is tried as the knee; the
    line is fitted to all points with x clipped at the knee. The best knee is kept only
    if it beats the straight line by the Bayesian information criterion (one parameter
    more: the knee), so noise alone does not make a knee; otherwise the knee is the
    largest x, meaning "never stops".

    Args:
        x: Positive x values; several y per x (one per seed) are allowed.
        y: Positive y values.
        min_points: Distinct x values the rising part must span at least.

    Returns:
        The `Hinge`.
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    levels = np.unique(x)
    if levels.size < max(2, min_points):
        raise ValueError(f"hinge_fit needs at least {max(2, min_points)} distinct x values")
    ly = np.log10(y)

    def fit(knee: float) -> tuple[float, Hinge]:
        lx = np.log10(np.minimum(x, knee))
        slope, intercept = np.polyfit(lx, ly, 1)
        sse = float(np.sum((ly - (intercept + slope * lx)) ** 2))
        return sse, Hinge(float(slope), float(intercept), float(knee))

    line_sse, line = fit(levels[-1])
    candidates = levels[min_points - 1 : -1]
    if candidates.size == 0:  # too few x values for a knee before the last
        return line
    knee_sse, knee = min((fit(k) for k in candidates), key=lambda f: f[0])
    n = x.size
    floor = 1e-12 * n  # exact data: compare as if a tiny noise were there

    def bic(sse: float, params: int) -> float:
        return n * np.log(max(sse, floor) / n) + params * np.log(n)

    return knee if bic(knee_sse, 3) < bic(line_sse, 2) else line


def epochs_to_target(values: np.ndarray, target: float = TARGET) -> np.ndarray:
    """First epoch (1-based) whose 5-epoch trailing mean reaches `target`; NaN if never.

    The one definition of every chapter (`lr_lessons.lab.measures.epochs_to_sustain`),
    on a grid.

    Args:
        values: Shape `(..., seeds, epochs)`, e.g. test accuracy per epoch.
        target: The level to reach.

    Returns:
        Shape `(..., seeds)`.
    """
    return measures.epochs_to_sustain(values, target)


def median_epochs_to_target(epochs: np.ndarray) -> np.ndarray:
    """Median over seeds (last axis) of `epochs_to_target`, "never" counted as
    infinitely late; NaN where the median seed never got there.

    Args:
        epochs: Shape `(..., seeds)`.

    Returns:
        Shape `(...)`.
    """
    e = np.asarray(epochs, dtype=float)
    med = np.median(np.where(np.isnan(e), np.inf, e), axis=-1)
    return np.where(np.isfinite(med), med, np.nan)


def slope_per_seed(x: Sequence[float], y: np.ndarray) -> np.ndarray:
    """`fit_slope` of every seed.

    Args:
        x: The positions, one per row of `y`.
        y: The values, shape `(len(x), seeds)`.

    Returns:
        One slope per seed.
    """
    y = np.asarray(y, dtype=float)
    return np.array([fit_slope(x, y[:, j]).slope for j in range(y.shape[1])])
