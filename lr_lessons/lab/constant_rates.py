"""Constant learning rates as study settings: named by their origin, trained on demand.

Two jobs a schedules study needs around its constant rates:

- `ConstantRates` names each rate after where it came from. Several methods may pick
  the same rate (the original's best, a grid search, a range test); a rate picked
  twice is one setting, `"constant 0.1 (the original's best, search)"`, and
  `ConstantRates.name_for("search")` finds it again without parsing the label.
- `ConstantGrid` keeps the results of a study that trains constant rates and trains
  the rates it does not hold yet, one extra study per request, so that
  `lr_lessons.lab.search.bracket_best` can widen a grid of rates. A seed whose run
  diverged scores NaN, so it can never be the best.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lr_lessons.lab.data import Dataset
from lr_lessons.lab.measures import diverged, final
from lr_lessons.lab.results import Results
from lr_lessons.lab.runner import run_study
from lr_lessons.lab.studies import Setting, Study

__all__ = ["ConstantGrid", "ConstantRates", "constant_name", "constant_settings"]


def constant_name(rate: float) -> str:
    """The setting name of a constant rate: `"constant 0.03"`."""
    return f"constant {rate:g}"


def constant_settings(rates: Iterable[float], optimizer: str = "sgd") -> list[Setting]:
    """One setting per constant rate, named by `constant_name`.

    Args:
        rates: The learning rates.
        optimizer: The optimizer that trains them.

    Returns:
        The settings, in the order of `rates`.
    """
    return [Setting(constant_name(r), optimizer, r) for r in rates]


class ConstantRates:
    """Constant rates named after the methods that picked them.

    Rates are rounded to 3 significant digits, so two methods that pick the same rate
    share one setting; its name lists every non-empty tag:
    `"constant 0.1 (the original's best, search)"`.

    Args:
        picks: `(rate, tag)` pairs in the order the settings should appear; an empty
            tag adds the rate without a note.
    """

    def __init__(self, picks: Sequence[tuple[float, str]]) -> None:
        self.tags: dict[float, list[str]] = {}
        for rate, tag in picks:
            self.tags.setdefault(float(f"{rate:.3g}"), []).append(tag)
        self.names: dict[float, str] = {
            rate: constant_name(rate) + (f" ({', '.join(t for t in ts if t)})" if any(ts) else "")
            for rate, ts in self.tags.items()
        }

    def name_for(self, tag: str) -> str:
        """The name of the setting whose rate `tag` picked.

        Args:
            tag: A tag given with a rate, e.g. `"search"`.

        Returns:
            The setting's name, e.g. `"constant 0.1 (the original's best, search)"`.

        Raises:
            KeyError: No rate carries `tag`.
        """
        for rate, tags in self.tags.items():
            if tag in tags:
                return self.names[rate]
        raise KeyError(f"no constant rate is tagged {tag!r}; tags: {self.all_tags()}")

    def all_tags(self) -> list[str]:
        """Every non-empty tag, in order."""
        return [t for ts in self.tags.values() for t in ts if t]

    def settings(self, optimizer: str = "sgd") -> list[Setting]:
        """One setting per distinct rate, named as in `names`."""
        return [Setting(name, optimizer, rate) for rate, name in self.names.items()]


class ConstantGrid:
    """A study's results, looked up by setting name, plus constant rates trained on demand.

    The study is run (or read from the cache) when the grid is made. `scores` trains the
    constant rates no study holds yet as one extra study named
    `<study>_extra_<rate>_<rate>...`, a copy of the study with only those settings.

    Args:
        study: The study to run first (its settings may include non-constant ones).
        seeds: The seeds of every run.
        engine: The training engine (`"fit"` or `"stacked"`).
        data: The data set (default: the study's problem, loaded).
        optimizer: The optimizer of the extra constant rates.
        **run_options: More keyword arguments of `run_study` (e.g. `progress`).
    """

    def __init__(
        self,
        study: Study,
        seeds: Sequence[int],
        *,
        engine: str | None = None,
        data: Dataset | None = None,
        optimizer: str = "sgd",
        **run_options: Any,
    ) -> None:
        self.study, self.seeds, self.engine, self.data = study, list(seeds), engine, data
        self.optimizer, self.run_options = optimizer, run_options
        self.results = self._run(study)
        self.held_by: dict[str, Results] = dict.fromkeys(self.results.settings, self.results)

    def _run(self, study: Study) -> Results:
        return run_study(study, self.seeds, self.engine, data=self.data, **self.run_options)

    def get(self, metric: str, name: str) -> np.ndarray:
        """The `(seeds, epochs)` history of `metric` for the setting `name`."""
        return self.held_by[name].get(metric, name)

    def diverged(self, name: str) -> np.ndarray:
        """Per seed: did the setting's training diverge (`lr_lessons.lab.measures.diverged`)."""
        return diverged(self.get("loss", name))

    def final(self, name: str, metric: str = "val_accuracy") -> np.ndarray:
        """Per seed: the final `metric` (`lr_lessons.lab.measures.final`)."""
        return final(self.get(metric, name))

    def scores(self, rates: Sequence[float]) -> dict[float, np.ndarray]:
        """Final test accuracy per seed of each constant rate, NaN where a seed diverged.

        Trains the rates no study holds yet; the signature `bracket_best` expects.

        Args:
            rates: Constant learning rates.

        Returns:
            `{rate: per-seed scores}`.
        """
        new = [r for r in rates if constant_name(r) not in self.held_by]
        if new:
            extra = dataclasses.replace(
                self.study,
                name=f"{self.study.name}_extra_" + "_".join(f"{r:g}" for r in new),
                settings=tuple(constant_settings(new, self.optimizer)),
            )
            res = self._run(extra)
            self.held_by.update(dict.fromkeys(res.settings, res))
        return {
            r: np.where(self.diverged(constant_name(r)), np.nan, self.final(constant_name(r)))
            for r in rates
        }
