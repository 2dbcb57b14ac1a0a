"""Coarse-to-fine learning-rate search, built on the study runner.

The textbook recipe: train briefly at one rate per decade (1E-7, 1E-6, ..., 1), find the
best decade, then try a finer grid inside it and keep the best rate overall. Every trial
is an ordinary `Setting` trained by
`lr_lessons.lab.runner.run_study` (so it is seeded, cached and uses the fast engine),
and the result keeps every trial's scores, the time and the number of epochs spent, to be
weighed against a range test that gets its answer from one short run.

How "the best decade" is read: the best coarse rate `r` bounds it on one side; the
other side is whichever neighbour of `r` in the coarse grid scored better. The fine
grid is `fine` rates spaced evenly on a log scale strictly inside that interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lr_lessons import checks, config
from lr_lessons.checks import InputError
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.data import load as load_data
from lr_lessons.lab.results import Results
from lr_lessons.lab.runner import run_study
from lr_lessons.lab.studies import Study

DECADES = tuple(10.0**-k for k in range(7, -1, -1))  # 1E-7 ... 1E0
HIGHER_IS_BETTER = {"val_accuracy": True, "accuracy": True, "val_loss": False, "loss": False}

__all__ = [
    "DECADES",
    "Bracket",
    "SearchResult",
    "Trial",
    "bracket_best",
    "coarse_to_fine",
    "fine_grid",
    "pick_decade",
]


@dataclass(frozen=True)
class Trial:
    """One rate tried: its stage (`"coarse"` or `"fine"`) and its score per seed."""

    learning_rate: float
    stage: str
    scores: np.ndarray

    @property
    def mean(self) -> float:
        """Mean score over seeds (NaN if any seed diverged to NaN)."""
        return float(np.mean(self.scores))


@dataclass
class SearchResult:
    """Everything a coarse-to-fine search did, and what it chose."""

    trials: list[Trial]
    chosen: float
    decade: tuple[float, float]
    metric: str
    coarse: Results
    fine: Results
    epochs_per_trial: int
    n_train: int
    batch_size: int

    @property
    def seeds(self) -> list[int]:
        return list(self.coarse.seeds)

    @property
    def training_epochs(self) -> int:
        """Epochs of training over all trials and seeds (of the possibly reduced data)."""
        return len(self.trials) * len(self.seeds) * self.epochs_per_trial

    @property
    def updates(self) -> int:
        """Gradient updates over all trials and seeds."""
        return self.training_epochs * math.ceil(self.n_train / self.batch_size)

    @property
    def wall_time_s(self) -> float:
        """Training time of both stages as the runner measured it (kept with cached results)."""
        return float(self.coarse.meta["wall_time_s"]) + float(self.fine.meta["wall_time_s"])

    def table(self) -> list[dict[str, float | str]]:
        """One row per trial: rate, stage, mean / min / max score over seeds."""
        return [
            {
                "learning_rate": t.learning_rate,
                "stage": t.stage,
                "mean": t.mean,
                "min": float(np.min(t.scores)),
                "max": float(np.max(t.scores)),
            }
            for t in self.trials
        ]


def _check_rates(rates: Sequence[float], what: str) -> list[float]:
    rates = list(rates)
    if not rates:
        raise InputError(f"{what} is empty: give at least two learning rates")
    rates = [checks.positive_number(r, f"each rate in {what}") for r in rates]
    if len(rates) < 2:
        raise InputError(f"{what} needs at least two rates to bracket a decade, got {rates}")
    if len(set(rates)) != len(rates):
        raise InputError(f"{what} repeats a rate: {rates}")
    return sorted(rates)


def _score(results: Results, setting: str, metric: str, last: int) -> np.ndarray:
    """Per seed: mean of the last `last` epochs; a diverged (NaN) run scores worst."""
    values = results.get(metric, setting)[:, -last:]
    with np.errstate(all="ignore"):
        score = np.mean(values, axis=1)
    worst = -np.inf if HIGHER_IS_BETTER[metric] else np.inf
    return np.where(np.isfinite(score), score, worst)


def _better(a: float, b: float, metric: str) -> bool:
    return a > b if HIGHER_IS_BETTER[metric] else a < b


def pick_decade(rates: Sequence[float], means: Sequence[float], metric: str) -> tuple[float, float]:
    """The interval between the best coarse rate and its better-scoring neighbour."""
    rates = list(rates)
    means = [float(m) for m in means]
    if len(rates) != len(means) or len(rates) < 2:
        raise InputError("pick_decade needs as many scores as rates, and at least two rates")
    best = 0
    for i in range(1, len(rates)):
        if _better(means[i], means[best], metric):
            best = i
    if best == 0:
        return rates[0], rates[1]
    if best == len(rates) - 1:
        return rates[-2], rates[-1]
    lower, upper = means[best - 1], means[best + 1]
    if _better(upper, lower, metric) or upper == lower:
        return rates[best], rates[best + 1]
    return rates[best - 1], rates[best]


def fine_grid(low: float, high: float, points: int) -> list[float]:
    """`points` rates evenly spaced in log between `low` and `high`, both excluded."""
    checks.whole_number(points, "fine (the number of fine rates)", minimum=1)
    if not 0 < low < high:
        raise InputError(f"need 0 < low < high, got low={low!r}, high={high!r}")
    ratio = math.log10(high / low)
    return [float(low * 10 ** (ratio * k / (points + 1))) for k in range(1, points + 1)]


def _study(base: Study, name: str, rates: Sequence[float], epochs: int) -> Study:
    template = base.settings[0]
    settings = tuple(
        replace(template, name=f"lr={r:.4g}", learning_rate=r, schedule=None) for r in rates
    )
    return replace(base, name=name, title=f"{base.title}: {name}", settings=settings, epochs=epochs)


def _subset(data: Dataset, n: int | None) -> Dataset:
    if n is None:
        return data
    checks.whole_number(n, "subset (a number of training points)", minimum=1)
    if n >= len(data.x_train):
        return data
    return Dataset(
        data.x_train[:n],
        data.y_train[:n],
        data.x_test,
        data.y_test,
        source=f"{data.source}; search on the first {n} training points",
    )


def coarse_to_fine(
    base: Study,
    *,
    decades: Sequence[float] = DECADES,
    fine: int = 4,
    epochs: int = 10,
    seeds: Sequence[int] | None = None,
    subset: int | None = None,
    data: Dataset | None = None,
    metric: str = "val_accuracy",
    last: int = 3,
    engine: str | None = None,
    progress: bool = True,
) -> SearchResult:
    """Search the learning rate of `base`'s one setting: `decades` first, then `fine`
    rates inside the best decade, each trained `epochs` epochs from every seed.

    A trial's score is `metric` averaged over its last `last` epochs (`val_*` metrics use
    the test set, as the studies do); the chosen rate is the trial with the best mean
    score over seeds, coarse or fine. Quick mode shortens `epochs` as it does for any
    study.

    Args:
        base: A study with exactly one setting, the template: it fixes the problem,
            model, loss, batch size and optimizer with its options (its rate is
            replaced by each rate tried).
        decades: The coarse grid (at least two distinct positive rates).
        fine: How many rates to try inside the best decade (a positive whole number).
        epochs: Epochs per trial.
        seeds: The seeds every trial trains from (default: `config.seeds()`).
        subset: Train on the first `subset` training points only (None: all).
        data: The data set (default: the one `base.problem` names).
        metric: `"val_accuracy"`, `"accuracy"`, `"val_loss"` or `"loss"`.
        last: How many final epochs a trial's score averages.
        engine: The study engine (default: `config.engine()`).
        progress: Show a progress bar.

    Returns:
        A `SearchResult`: every trial, the chosen rate, the decade and the cost.

    Raises:
        InputError: If an argument is out of range or `base` has not exactly one
            setting, or its setting uses `ReduceLROnPlateau`.
    """
    if len(base.settings) != 1:
        raise InputError(
            f"base study {base.name!r} must have exactly one setting (the template), "
            f"it has {len(base.settings)}"
        )
    if base.settings[0].plateau is not None:
        raise InputError("the template setting must not use ReduceLROnPlateau")
    coarse_rates = _check_rates(decades, "decades")
    checks.whole_number(fine, "fine (the number of fine rates)", minimum=1)
    checks.whole_number(epochs, "epochs", minimum=1)
    checks.one_of(metric, HIGHER_IS_BETTER, "metric")
    checks.whole_number(last, "last (a number of epochs)", minimum=1)
    seeds = config.seeds() if seeds is None else list(seeds)
    data = _subset(data if data is not None else load_data(base.problem), subset)

    coarse_study = _study(base, f"{base.name}_coarse", coarse_rates, int(epochs))
    coarse = run_study(coarse_study, seeds, engine, data=data, progress=progress)
    last = min(last, coarse.epochs)
    trials = [
        Trial(r, "coarse", _score(coarse, s, metric, last))
        for r, s in zip(coarse_rates, coarse.settings)
    ]
    decade = pick_decade(coarse_rates, [t.mean for t in trials], metric)
    fine_rates = fine_grid(decade[0], decade[1], int(fine))
    fine_study = _study(base, f"{base.name}_fine", fine_rates, int(epochs))
    fine_results = run_study(fine_study, seeds, engine, data=data, progress=progress)
    trials += [
        Trial(r, "fine", _score(fine_results, s, metric, last))
        for r, s in zip(fine_rates, fine_results.settings)
    ]
    best = trials[0]
    for t in trials[1:]:
        if _better(t.mean, best.mean, metric):
            best = t
    return SearchResult(
        trials=trials,
        chosen=best.learning_rate,
        decade=decade,
        metric=metric,
        coarse=coarse,
        fine=fine_results,
        epochs_per_trial=coarse.epochs,
        n_train=len(data.x_train),
        batch_size=base.batch_size,
    )


@dataclass
class Bracket:
    """A grid of rates grown until its best rate is interior (see `bracket_best`)."""

    rates: list[float]
    scores: dict[float, np.ndarray]
    best: float
    extended: list[float]

    @property
    def interior(self) -> bool:
        """True when the best rate has a tried rate on each side."""
        return self.rates[0] < self.best < self.rates[-1]


def _mean_score(scores: np.ndarray, higher_is_better: bool) -> float:
    """Mean over seeds; a seed that diverged (NaN) makes the rate score worst."""
    s = np.asarray(scores, dtype=float)
    if s.size == 0 or not np.all(np.isfinite(s)):
        return -np.inf if higher_is_better else np.inf
    return float(s.mean())


def bracket_best(
    rates: Sequence[float],
    evaluate: Callable[[list[float]], Mapping[float, np.ndarray]],
    *,
    factor: float = 10 / 3,
    higher_is_better: bool = True,
    max_extensions: int = 4,
) -> Bracket:
    """Grow a grid of rates until its best rate is not at either end.

    A grid whose best rate is its largest (or smallest) did not bracket the optimum: the
    best is somewhere beyond it. `evaluate` scores rates (`{rate: per-seed scores}`);
    it is called once for `rates` and then once for each new rate, `factor` times
    beyond the winning end (rounded to 3 significant digits), until the best rate is
    interior or `max_extensions` rates were added (then `Bracket.interior` is
    False and the caller must say so). A rate whose scores contain NaN (a diverged
    seed) scores worst.

    Args:
        rates: The starting grid (at least two distinct positive rates).
        evaluate: Trains or looks up the given rates; returns their per-seed scores.
        factor: Ratio between a new rate and the grid end it extends (> 1).
        higher_is_better: False when the score is a loss.
        max_extensions: The most rates to add.

    Returns:
        The `Bracket`: every rate tried (sorted), its scores, the best rate and
        the rates added.
    """
    grid = _check_rates(rates, "rates")
    factor = checks.number_in(factor, "factor", above=1)
    checks.whole_number(max_extensions, "max_extensions", minimum=0)
    if not callable(evaluate):
        raise InputError("evaluate must be a callable: evaluate(list of rates) -> {rate: scores}")

    def run(new: list[float]) -> dict[float, np.ndarray]:
        got = evaluate(new)
        missing = [r for r in new if r not in got]
        if missing:
            raise InputError(f"evaluate returned no scores for rates {missing}")
        return {r: np.asarray(got[r], dtype=float) for r in new}

    scores = run(grid)
    extended: list[float] = []

    def best_rate() -> float:
        sign = 1.0 if higher_is_better else -1.0
        return max(grid, key=lambda r: sign * _mean_score(scores[r], higher_is_better))

    best = best_rate()
    while len(extended) < max_extensions and best in (grid[0], grid[-1]):
        new = best * factor if best == grid[-1] else best / factor
        new = float(f"{new:.3g}")
        scores.update(run([new]))
        extended.append(new)
        grid = sorted([*grid, new])
        best = best_rate()
    return Bracket(grid, scores, best, extended)
