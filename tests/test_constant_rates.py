"""Constant rates named by their origin, and a grid that trains missing rates on demand."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab import constant_rates
from lr_lessons.lab.constant_rates import ConstantGrid, ConstantRates, constant_settings
from lr_lessons.lab.results import Results
from lr_lessons.lab.studies import Setting, Study


def test_a_rate_picked_twice_is_one_setting_with_both_tags():
    c = ConstantRates([(0.01, ""), (0.1, "the original's best"), (0.1004, "search"), (5e-4, "rt")])
    assert list(c.names.values()) == [
        "constant 0.01",
        "constant 0.1 (the original's best, search)",
        "constant 0.0005 (rt)",
    ]
    assert c.name_for("search") == "constant 0.1 (the original's best, search)"
    assert [s.learning_rate for s in c.settings()] == [0.01, 0.1, 0.0005]
    with pytest.raises(KeyError, match=r"no constant rate is tagged .*grid"):
        c.name_for("grid")


def fake_run_study(calls):
    """A run_study that records the studies it gets: accuracy = rate, rates >= 1 diverge."""

    def run(study, seeds, engine=None, **kwargs):
        calls.append(study)
        n, s = len(study.settings), len(seeds)
        rate = np.array([st.learning_rate or 0.5 for st in study.settings])
        acc = np.repeat(rate[:, None, None], s, axis=1).repeat(3, axis=2)
        loss = np.ones((n, s, 3))
        loss[rate >= 1.0, :, -1] = 2.0  # the largest rates diverge: the loss grows
        return Results(
            study.name, study.setting_names, list(seeds), {"val_accuracy": acc, "loss": loss}
        )

    return run


def test_the_grid_trains_only_the_rates_it_lacks(monkeypatch):
    calls = []
    monkeypatch.setattr(constant_rates, "run_study", fake_run_study(calls))
    base = Study(
        "grid",
        "a grid",
        (*constant_settings([0.1, 0.3]), Setting("one-cycle", "sgd", 0.2)),
        epochs=3,
    )
    grid = ConstantGrid(base, [0, 1], engine="fit")
    scores = grid.scores([0.1, 0.3, 1.0, 0.5])
    assert [c.name for c in calls] == ["grid", "grid_extra_1_0.5"]
    assert calls[1].epochs == 3 and calls[1].title == "a grid"
    assert calls[1].setting_names == ["constant 1", "constant 0.5"]
    np.testing.assert_allclose(scores[0.3], [0.3, 0.3])
    assert np.isnan(scores[1.0]).all()  # diverged seeds score NaN
    grid.scores([0.5, 0.1])
    assert len(calls) == 2  # everything held: nothing trained
    np.testing.assert_allclose(grid.final("one-cycle"), [0.2, 0.2])
