"""`rate_checks.check_suggestions`: one rule's suggestions trained next to their
neighbours, in one call (the training itself is `run_study`, replaced here)."""

from __future__ import annotations

import numpy as np

from lr_lessons.lab import rate_checks
from lr_lessons.lab.results import Results


class _Repeats:
    def __init__(self, rate):
        self.rate = rate

    def suggestion_summary(self, rule):
        assert rule == "valley"
        return self.rate, self.rate, self.rate


def test_check_suggestions_trains_each_suggestion_and_its_neighbours(monkeypatch):
    seen = {}

    def run_study(study, seeds, engine, data, progress):
        seen.update(study=study, seeds=seeds, engine=engine, data=data)
        labels = [s.name for s in study.settings]
        # seed by seed: the suggestion beats both neighbours for SGD on seed 0 only
        acc = {
            "SGD /10 (0.0022)": [0.5, 0.9],
            "SGD suggested (0.022)": [0.8, 0.7],
            "SGD x10 (0.22)": [0.6, 0.8],
        }
        values = np.array([acc.get(label, [0.1, 0.1]) for label in labels])[:, :, None]
        return Results(study.name, labels, list(seeds), {"val_accuracy": values}, {})

    monkeypatch.setattr(rate_checks, "run_study", run_study)
    tests = {"SGD": _Repeats(0.02174), "Adam": _Repeats(1.83e-4)}
    check = rate_checks.check_suggestions(
        tests, "valley", "06_x_check_valley", [0, 1], "data", batch_size=250
    )
    study = seen["study"]
    assert study.name == "06_x_check_valley" and study.batch_size == 250 and study.epochs == 2
    assert (seen["seeds"], seen["engine"], seen["data"]) == ([0, 1], "fit", "data")
    assert list(check.rates) == [s.name for s in study.settings]
    assert check.kinds["SGD x10 (0.22)"] == "10x higher"
    assert check.kinds["Adam suggested (0.00018)"] == "the suggested rate"
    assert check.scores["SGD suggested (0.022)"].tolist() == [0.8, 0.7]
    sgd = check.checks["SGD"]
    assert sgd.won_seeds.tolist() == [True, False] and sgd.won  # best mean: 0.75
