"""Rate checks (lr_lessons.lab.rate_checks): which rates are trained, and reading them back."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab.rate_checks import (
    check_study,
    fraction_rates,
    neighbour_checks,
    neighbour_rates,
    scores_by_tag,
)
from lr_lessons.lab.results import Results


def test_neighbours_round_the_suggestion_and_label_what_they_train():
    rates = neighbour_rates({"SGD": 0.02174, "Adam": 1.83e-4})
    assert list(rates) == [
        "SGD /10 (0.0022)",
        "SGD suggested (0.022)",
        "SGD x10 (0.22)",
        "Adam /10 (1.8e-05)",
        "Adam suggested (0.00018)",
        "Adam x10 (0.0018)",
    ]
    sgd = rates["SGD suggested (0.022)"]
    assert (sgd.group, sgd.tag, sgd.rate, sgd.optimizer) == ("SGD", "suggested", 0.022, "sgd")
    assert rates["Adam x10 (0.0018)"].rate == pytest.approx(1.8e-3)
    assert rates["Adam x10 (0.0018)"].optimizer == "adam"


def test_fractions_round_each_rate_and_keep_the_optimizer_options():
    rates = fraction_rates(0.07543, optimizer="sgd", options={"momentum": 0.9})
    assert list(rates) == ["a quarter (0.019)", "the reading (0.075)", "twice (0.15)"]
    assert [r.rate for r in rates.values()] == [0.019, 0.075, 0.15]
    setting = rates["twice (0.15)"].setting()
    assert (setting.name, setting.learning_rate) == ("twice (0.15)", 0.15)
    assert dict(setting.options) == {"momentum": 0.9}


def test_check_study_trains_every_rate_on_the_mnist_convnet():
    rates = neighbour_rates({"SGD": 0.02})
    study = check_study("check", "a check", rates, batch_size=50)
    assert study.setting_names == list(rates)
    assert (study.epochs, study.batch_size, study.problem, study.model) == (
        2,
        50,
        "mnist",
        "mnist_convnet",
    )
    assert study.loss == "sparse_categorical_crossentropy"


def fake_results(rates, last):
    """Results whose last-epoch val_accuracy per setting is `last[label]` (one per seed)."""
    labels = list(rates)
    acc = np.zeros((len(labels), 3, 2))
    for i, label in enumerate(labels):
        acc[i, :, -1] = last[label]
    return Results("check", labels, [0, 1, 2], {"val_accuracy": acc})


def test_checks_are_read_back_by_tag_and_compared_seed_by_seed():
    rates = neighbour_rates({"SGD": 0.02, "Adam": 0.001})
    last = {
        "SGD /10 (0.002)": [0.1, 0.2, 0.3],
        "SGD suggested (0.02)": [0.5, 0.6, 0.2],
        "SGD x10 (0.2)": [0.4, 0.5, 0.3],
        "Adam /10 (0.0001)": [0.9, 0.9, 0.9],
        "Adam suggested (0.001)": [0.8, 0.8, 0.8],
        "Adam x10 (0.01)": [0.1, 0.1, 0.1],
    }
    results = fake_results(rates, last)
    checks = neighbour_checks(results, rates)
    sgd, adam = checks["SGD"], checks["Adam"]
    assert list(sgd.scores) == ["/10", "suggested", "x10"]
    assert sgd.rates["suggested"] == 0.02
    assert sgd.won  # mean 0.433 against 0.2 and 0.4
    assert list(sgd.won_seeds) == [True, True, False]  # seed 2: x10 is better
    assert not adam.won and not adam.won_seeds.any()
    np.testing.assert_array_equal(
        scores_by_tag(results, rates, group="Adam")["x10"], [0.1, 0.1, 0.1]
    )
