"""The range-test explorer's data file (lr_lessons.views.range_test_explorer), on synthetic runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lr_lessons.lab.results import Results
from lr_lessons.tools.range_test import RangeTestRepeats, RangeTestResult
from lr_lessons.tools.range_test.rules import ema
from lr_lessons.views.range_test_explorer import explorer_data, save_explorer_data


def _run(seed: int, n: int = 200) -> RangeTestResult:
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-4, 1.0, n)
    x = np.log10(lrs)
    losses = 2.3 - 2.0 / (1 + np.exp(-3 * (x + 2))) + 0.5 * np.exp(4 * (x + 0.3))
    losses = losses + rng.normal(0, 0.02, n)
    settings = {"beta": 0.98, "skip_start": 0.1, "skip_end": 5, "start_lr": 1e-4, "end_lr": 1.0}
    return RangeTestResult(lrs, losses, "end", settings, meta={"data_source": "synthetic"})


def _repeats() -> RangeTestRepeats:
    return RangeTestRepeats([0, 1], [_run(0), _run(1)], meta={"data_source": "synthetic"})


def _check_results() -> Results:
    settings = ["SGD low", "SGD mid"]
    acc = np.array([[[0.5, 0.6], [0.55, 0.65]], [[0.7, 0.8], [0.75, 0.85]]])  # setting, seed, epoch
    study = {
        "name": "check",
        "settings": [
            {"name": "SGD low", "optimizer": "sgd", "learning_rate": 0.001},
            {"name": "SGD mid", "optimizer": "sgd", "learning_rate": 0.01},
        ],
    }
    return Results("check", settings, [0, 1], {"val_accuracy": acc}, {"study": study})


def test_curves_hold_raw_losses_exactly_and_pythons_suggestions():
    tests = {"SGD": _repeats()}
    data = json.loads(json.dumps(explorer_data(tests, {"valley": _check_results()})))
    assert [(c["optimizer"], c["seed"]) for c in data["curves"]] == [("SGD", 0), ("SGD", 1)]
    for curve, run in zip(data["curves"], tests["SGD"].runs):
        assert np.array_equal(np.array(curve["loss"]), run.losses)  # read back bit for bit
        np.testing.assert_allclose(curve["lr"], run.lrs, rtol=1e-8)
        np.testing.assert_allclose(curve["smoothed"], ema(run.losses, 0.98), rtol=1e-5)
        for name, s in run.suggestions().items():
            assert curve["suggestions"][name]["index"] == s.index
            assert curve["suggestions"][name]["reliable"] == s.reliable
    assert data["checks"] == [
        {"rule": "valley", "optimizer": "SGD", "lr": 0.001, "epochs": 2, "seeds": [0, 1],
         "val_accuracy": [0.6, 0.65], "mean": pytest.approx(0.625)},
        {"rule": "valley", "optimizer": "SGD", "lr": 0.01, "epochs": 2, "seeds": [0, 1],
         "val_accuracy": [0.8, 0.85], "mean": pytest.approx(0.825)},
    ]  # fmt: skip
    assert set(data["rules"]) == {"steepest", "minimum", "valley", "slide"}
    assert all(r["definition"] and r["source"] for r in data["rules"].values())


def test_non_finite_losses_become_null_and_the_file_is_strict_json(tmp_path, monkeypatch):
    run = _run(0)
    run.losses[-3:] = [np.inf, np.nan, np.inf]
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    path = save_explorer_data({"SGD": RangeTestRepeats([0], [run])}, name="06_x/explorer")
    assert path == tmp_path / "figures" / "06_x" / "explorer.json"
    data = json.loads(path.read_text())  # no NaN or Infinity tokens
    assert data["curves"][0]["loss"][-3:] == [None, None, None]


@pytest.mark.parametrize(
    ("tests", "checks", "match"),
    [
        ({}, None, "tests is empty"),
        ({"SGD": _run(0)}, None, "not a RangeTestRepeats"),
        ({"SGD": _repeats()}, {"valley": Results("c", ["a"], [0], {}, {})}, "no study settings"),
    ],
)
def test_bad_input_is_refused_with_the_fix(tests, checks, match):
    with pytest.raises(ValueError, match=match):
        explorer_data(tests, checks)


def test_a_check_for_an_optimizer_without_a_range_test_is_refused():
    with pytest.raises(ValueError, match="uses optimizer 'sgd', which has no range test"):
        explorer_data({"Adam": _repeats()}, {"valley": _check_results()})
