"""Does a rate read off a range test train well? Train it next to its neighbours.

A range test suggests a rate while the rate is still climbing; whether a run at that
fixed rate trains well is a separate question, answered by training. A *rate check*
trains the suggested rate and a few rates around it (ten times lower and higher, or a
quarter and twice a reading) for a short budget from fresh weights, from the same
seeds, and compares them seed by seed.

- `neighbour_rates` and `fraction_rates` name the rates to train (each setting's
  label says where its rate came from, e.g. `"SGD x10 (0.22)"`).
- `check_study` turns them into a `lr_lessons.lab.studies.Study` for
  `lr_lessons.lab.runner.run_study`.
- `scores_by_tag` and `neighbour_checks` read the trained results back by the
  rates' tags, never by parsing labels.
- `check_suggestions` does all of it for one reading rule of a range test: names the
  suggestion and its neighbours per optimizer, trains them (`run_study`, cached) and
  reads them back as a `SuggestionCheck`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.lab.runner import run_study
from lr_lessons.lab.studies import Setting, Study

__all__ = [
    "FRACTIONS",
    "NEIGHBOURS",
    "CheckedRate",
    "NeighbourCheck",
    "SuggestionCheck",
    "check_suggestions",
    "check_study",
    "fraction_rates",
    "neighbour_checks",
    "neighbour_rates",
    "scores_by_tag",
]

NEIGHBOURS = (("/10", 0.1), ("suggested", 1.0), ("x10", 10.0))
"""A suggestion and its neighbours: (tag, factor) pairs."""

FRACTIONS = (("a quarter", 0.25), ("the reading", 1.0), ("twice", 2.0))
"""Smith's cyclical minimum, a linear-ramp reading and twice it: (tag, factor) pairs."""


@dataclass(frozen=True)
class CheckedRate:
    """One rate of a check and the setting that trains it.

    Attributes:
        group: What the rate belongs to, e.g. the optimizer `"SGD"` ("" for a
            check with one group).
        tag: Where the rate sits, e.g. `"suggested"`, `"/10"`, `"twice"`.
        rate: The learning rate trained.
        label: The setting's name, e.g. `"SGD /10 (0.0022)"`.
        optimizer: The optimizer's name in `lr_lessons.lab.studies` (`"sgd"`).
        options: The optimizer's other arguments (e.g. `{"momentum": 0.9}`).
    """

    group: str
    tag: str
    rate: float
    label: str
    optimizer: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def setting(self) -> Setting:
        """The study setting that trains this rate."""
        return Setting(self.label, self.optimizer, self.rate, dict(self.options))


def neighbour_rates(
    suggestions: Mapping[str, float],
    factors: Sequence[tuple[str, float]] = NEIGHBOURS,
) -> dict[str, CheckedRate]:
    """Each optimizer's suggested rate and its neighbours (by default /10 and x10).

    The suggestion is rounded to 2 significant digits first, so the labels show the
    rates trained.

    Args:
        suggestions: `{optimizer name as shown: suggested rate}`, e.g.
            `{"SGD": 0.0217, "Adam": 0.00018}`; each trains the optimizer named by the
            key in lower case.
        factors: `(tag, factor)` pairs: the rates are `suggestion * factor`.

    Returns:
        `{label: CheckedRate}`, optimizers in the given order, then factors.
    """
    rates = {}
    for group, suggested in suggestions.items():
        lr = float(f"{suggested:.2g}")
        for tag, factor in factors:
            label = f"{group} {tag} ({lr * factor:.2g})"
            rates[label] = CheckedRate(group, tag, lr * factor, label, group.lower())
    return rates


def fraction_rates(
    reading: float,
    fractions: Sequence[tuple[str, float]] = FRACTIONS,
    *,
    optimizer: str = "sgd",
    options: Mapping[str, Any] | None = None,
) -> dict[str, CheckedRate]:
    """Fractions and multiples of one reading, each rounded to 2 significant digits.

    Args:
        reading: The rate read off a range test (e.g. the largest usable rate).
        fractions: `(tag, factor)` pairs: the rates are `reading * factor`.
        optimizer: The optimizer that trains them.
        options: Its other arguments (e.g. `{"momentum": 0.9}`).

    Returns:
        `{label: CheckedRate}` in the order of `fractions`, labels like
        `"twice (0.15)"`.
    """
    rates = {}
    for tag, factor in fractions:
        label = f"{tag} ({reading * factor:.2g})"
        rate = float(f"{reading * factor:.2g}")
        rates[label] = CheckedRate("", tag, rate, label, optimizer, dict(options or {}))
    return rates


def check_study(
    name: str,
    title: str,
    rates: Mapping[str, CheckedRate],
    *,
    epochs: int = 2,
    batch_size: int = 32,
    problem: str = "mnist",
    model: str = "mnist_convnet",
    loss: str = "sparse_categorical_crossentropy",
) -> Study:
    """A study that trains every checked rate (by default the MNIST ConvNet, 2 epochs).

    Args:
        name: The study's name (its results file).
        title: One line on what it checks.
        rates: From `neighbour_rates` or `fraction_rates`.
        epochs: The short budget of every run.
        batch_size: The batch size.
        problem: The data set.
        model: The model.
        loss: The loss.

    Returns:
        The `Study`, one setting per rate, in the order of `rates`.
    """
    return Study(
        name,
        title,
        tuple(r.setting() for r in rates.values()),
        epochs=epochs,
        batch_size=batch_size,
        problem=problem,
        model=model,
        loss=loss,
    )


def scores_by_tag(
    results: Results,
    rates: Mapping[str, CheckedRate],
    metric: str = "val_accuracy",
    group: str | None = None,
) -> dict[str, np.ndarray]:
    """Each checked rate's last-epoch `metric` per seed, keyed by its tag.

    Args:
        results: The trained check study.
        rates: The rates it trained.
        metric: The metric read at the last epoch.
        group: Only this group's rates (None: all; tags must then be unique).

    Returns:
        `{tag: per-seed values}` in the order of `rates`.
    """
    return {
        r.tag: results.get(metric, r.label)[:, -1]
        for r in rates.values()
        if group is None or r.group == group
    }


@dataclass(frozen=True)
class NeighbourCheck:
    """One optimizer's suggested rate against its neighbours.

    Attributes:
        group: The optimizer, as shown.
        rates: `{tag: rate}`.
        scores: `{tag: per-seed score}` (higher is better).
    """

    group: str
    rates: dict[str, float]
    scores: dict[str, np.ndarray]

    @property
    def means(self) -> dict[str, float]:
        """`{tag: mean score over the seeds}`."""
        return {tag: float(v.mean()) for tag, v in self.scores.items()}

    @property
    def won(self) -> bool:
        """True when the suggested rate has the best mean score."""
        means = self.means
        return max(means, key=means.get) == "suggested"

    @property
    def won_seeds(self) -> np.ndarray:
        """Per seed: the suggested rate beat every neighbour.

        Runs from the same seed share initial weights and batch order, so they
        compare seed by seed.
        """
        best = self.scores["suggested"]
        others = [v for tag, v in self.scores.items() if tag != "suggested"]
        return np.logical_and.reduce([best > v for v in others])


def neighbour_checks(
    results: Results,
    rates: Mapping[str, CheckedRate],
    metric: str = "val_accuracy",
) -> dict[str, NeighbourCheck]:
    """Read a trained `neighbour_rates` check back, one `NeighbourCheck` per optimizer.

    Args:
        results: The trained check study.
        rates: The rates it trained (from `neighbour_rates`).
        metric: The score, read at the last epoch.

    Returns:
        `{optimizer: NeighbourCheck}` in the order of `rates`.
    """
    groups = dict.fromkeys(r.group for r in rates.values())
    return {
        g: NeighbourCheck(
            g,
            {r.tag: r.rate for r in rates.values() if r.group == g},
            scores_by_tag(results, rates, metric, group=g),
        )
        for g in groups
    }


NEIGHBOUR_KINDS = {"/10": "10x lower", "suggested": "the suggested rate", "x10": "10x higher"}
"""How a bar chart groups the neighbour checks: one colour per kind of rate."""


@dataclass(frozen=True)
class SuggestionCheck:
    """One reading rule's suggestions, trained next to their neighbours.

    Attributes:
        rule: The rule (`"steepest"`, `"valley"`, ...).
        rates: The trained rates (from `neighbour_rates`), by setting label.
        results: The trained check study.
        checks: `{optimizer: NeighbourCheck}`.
    """

    rule: str
    rates: dict[str, CheckedRate]
    results: Results
    checks: dict[str, NeighbourCheck]

    @property
    def scores(self) -> dict[str, np.ndarray]:
        """Each setting's last-epoch validation accuracy per seed, by its label."""
        return {label: self.results.get("val_accuracy", label)[:, -1] for label in self.rates}

    @property
    def kinds(self) -> dict[str, str]:
        """Each setting's kind of rate (`NEIGHBOUR_KINDS`), by its label."""
        return {label: NEIGHBOUR_KINDS[r.tag] for label, r in self.rates.items()}


def check_suggestions(
    tests: Mapping[str, Any],
    rule: str,
    name: str,
    seeds: Sequence[int],
    data: Any,
    *,
    epochs: int = 2,
    batch_size: int = 32,
) -> SuggestionCheck:
    """Train each optimizer's suggestion of `rule`, a tenth of it and ten times it.

    Args:
        tests: `{optimizer: RangeTestRepeats}`; each one's suggestion is the median of
            `rule` over its seeds (`suggestion_summary`).
        rule: The reading rule.
        name: The check study's name (its results file).
        seeds: The seeds every rate trains from.
        data: The data set (`lr_lessons.lab.data`), MNIST for the default ConvNet.
        epochs: The short budget of every run.
        batch_size: The batch size.

    Returns:
        The `SuggestionCheck` (trained with the `fit` engine, or read from the cache).
    """
    rates = neighbour_rates({g: rep.suggestion_summary(rule)[0] for g, rep in tests.items()})
    study = check_study(
        name,
        f"Range-test suggestions ({rule}), {epochs} epochs",
        rates,
        epochs=epochs,
        batch_size=batch_size,
    )
    results = run_study(study, list(seeds), engine="fit", data=data, progress=False)
    return SuggestionCheck(rule, dict(rates), results, neighbour_checks(results, rates))
