"""Claim tests of chapters 6 and 7 (views.range_test_claims, views.schedule_claims).

Each row function is fed small made-up measurements where the verdict is known.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lr_lessons.tools.range_test.rules import Suggestion
from lr_lessons.views import range_test_claims as rtc
from lr_lessons.views import schedule_claims as sc
from lr_lessons.views.verdicts import (
    CONFIRMED,
    FEW_ALL,
    NOT_REPRODUCED,
    SPLIT_FAILS,
    SPLIT_HOLDS,
    Verdict,
)


def parts(verdict: Verdict) -> dict[str, tuple]:
    """A composite's parts as {name: (word, passed, total)}."""
    return {name: (v.word, v.passed, v.total) for name, v in verdict.parts}


def all_parts_hold(verdict: Verdict) -> bool:
    return all(
        v.word == CONFIRMED if v.total is None else v.passed == v.total for _, v in verdict.parts
    )


def repeats(steepest, reliable=None, min_loss=(0.1, 0.1, 0.1)):
    """A RangeTestRepeats stand-in: per-seed steepest-descent rates and reliability."""
    reliable = reliable or [True] * len(steepest)
    runs = [
        SimpleNamespace(
            suggestion=lambda rule, lr=lr, ok=ok: Suggestion(
                rule, lr, 0.0, 0, ok, "" if ok else "at window edge: loss falls"
            )
        )
        for lr, ok in zip(steepest, reliable)
    ]
    summary = SimpleNamespace(median=float(np.median(steepest)), reliable=tuple(reliable))
    return SimpleNamespace(
        runs=runs,
        suggestion_spread=lambda rule: np.array(steepest),
        rule_summaries=lambda: {"steepest": summary},
        min_loss=lambda: np.array(min_loss),
    )


def test_lower_minimum_is_judged_seed_by_seed():
    tests = {
        "SGD": repeats([0.02] * 3, min_loss=(0.3, 0.3, 0.3)),
        "Adam": repeats([2e-4] * 3, min_loss=(0.2, 0.4, 0.2)),
    }
    measured, verdict = rtc.lower_minimum_row(tests)
    assert (verdict.word, verdict.passed, verdict.total) == (SPLIT_HOLDS, 2, 3)
    assert "Adam lower in 2/3 seeds" in measured


def test_a_position_read_from_unreliable_curves_shows_the_unreliable_seeds():
    near = {"SGD": -1.95, "Adam": -3.95}
    good = {"SGD": repeats([0.011, 0.012, 0.02]), "Adam": repeats([1e-4, 1.2e-4, 2e-4])}
    assert all_parts_hold(rtc.steepest_near_row(good, near)[1])
    shaky = dict(good, Adam=repeats([1e-4, 1.2e-4, 2e-4], [False, True, True]))
    measured, verdict = rtc.steepest_near_row(shaky, near)
    assert parts(verdict)["Adam reading reliable"][1:] == (2, 3)
    assert parts(verdict)["Adam within 0.5 decade"][1:] == (3, 3)
    assert "unreliable for 1 of 3 seeds: at window edge" in measured
    far = {"SGD": repeats([0.5, 0.5, 0.5]), "Adam": repeats([0.1, 0.1, 0.1])}
    assert parts(rtc.steepest_near_row(far, near, decades=0.5)[1])["SGD within 0.5 decade"][1] == 0
    # Adam lower than SGD on every seed, but on unreliable readings: the part says so
    order = parts(rtc.steepest_order_row(shaky)[1])
    assert order["Adam lower"][1:] == (3, 3) and order["both readings reliable"][1:] == (2, 3)
    assert all_parts_hold(rtc.steepest_order_row(good)[1])


def test_the_linear_reading_must_train_and_twice_it_must_not():
    scores = {
        "a quarter": np.array([0.9, 0.9]),
        "the reading": np.array([0.8, 0.4]),
        "twice": np.array([0.2, 0.1]),
    }
    measured, verdict = rtc.linear_reading_row(
        np.array([0.07, 0.08]), 0.075, np.array([0.07, 0.3]), scores, trains_above=0.5
    )
    assert (verdict.passed, verdict.total) == (1, 2)  # seed 1 does not train at the reading
    assert "the reading trains (above 0.5) and twice it does worse in 1/2 seeds" in measured


def test_early_fall_and_linear_decay():
    linear = np.r_[np.linspace(0.1, 0.001, 76), np.full(25, 0.001)]
    assert sc.early_fall(linear) == pytest.approx(0.1 / 0.75)
    measured, verdict = sc.linear_decay_row(linear, 75)
    assert verdict.word == CONFIRMED and "afterwards: True" in measured
    bumpy = linear.copy()
    bumpy[10] += 0.01
    held_not_even = parts(sc.linear_decay_row(bumpy, 75)[1])
    assert held_not_even["the same drop every update"][0] == NOT_REPRODUCED
    assert held_not_even["held afterwards"][0] == CONFIRMED


def test_a_never_reached_target_is_infinitely_late():
    final_acc = {"cyc": np.array([0.9, 0.9]), "c": np.array([0.9, 0.95])}
    reach = {"cyc": np.array([5.0, np.nan]), "c": np.array([10.0, 10.0])}
    measured, verdict = sc.cyclical_row(final_acc, reach, "cyc", "c", 0.8)
    assert parts(verdict)["sooner"][1:] == (1, 2) and "faster in 1/2 seeds" in measured


def test_one_cycle_cannot_be_confirmed_by_a_grid_that_did_not_bracket():
    acc = {
        "one-cycle": np.array([0.97, 0.98]),
        "no margin": np.array([0.98, 0.1]),
        "constant 0.1": np.array([0.95, 0.95]),
        "constant 0.3": np.array([0.96, 0.96]),
        "constant 1": np.array([0.1, 0.1]),
    }
    div = {k: np.array([False, k == "no margin"]) for k in acc}
    grid = SimpleNamespace(best=0.3, rates=[0.1, 0.3, 1.0], interior=True)
    args = ("one-cycle", "no margin", 1.0, 2, 2)
    measured, verdict = sc.mnist_one_cycle_row(acc, div, grid, *args)
    assert all_parts_hold(verdict) and "1 of 2 seeds diverged" in measured
    assert "each seed's best inside the grid in 2/2 seeds" in measured
    # seed 1's best constant is the grid's largest rate: that seed is not bracketed
    edge = dict(acc, **{"constant 1": np.array([0.1, 0.99])})
    at_edge = parts(sc.mnist_one_cycle_row(edge, div, grid, *args)[1])
    assert at_edge["each seed's best constant inside the grid"][1:] == (1, 2)
    # a diverged seed's score (NaN) never counts as its best
    nan = dict(acc, **{"constant 1": np.array([np.nan, np.nan])})
    nan_div = dict(div, **{"constant 1": np.array([True, True])})
    assert all_parts_hold(sc.mnist_one_cycle_row(nan, nan_div, grid, *args)[1])


def test_study_table_has_a_row_per_setting():
    results = SimpleNamespace(
        settings=["a", "b"],
        seeds=[0, 1],
        epochs=200,
        meta={"data_source": "blobs", "engine": "stacked"},
    )
    final_acc = {"a": np.array([0.8, 0.9]), "b": np.array([0.7, 0.7])}
    reach = {"a": np.array([3.0, 5.0]), "b": np.array([np.nan, np.nan])}
    table = sc.study_table(results, final_acc, reach, 0.8)
    lines = table.splitlines()
    assert lines[0] == "| setting | final test accuracy | epochs to 80% test accuracy |"
    assert lines[2].startswith("| a | 0.850") and lines[3].startswith("| b | 0.700")
    assert "engine: stacked" in table


def test_the_range_test_must_be_cheaper_and_its_rate_close():
    final_acc = {"rt": np.array([0.80, 0.81]), "search": np.array([0.81, 0.82])}
    search = SimpleNamespace(training_epochs=720, seeds=[0, 1, 2], chosen=0.1)
    args = (final_acc, "rt", "search", 0.05)
    assert all_parts_hold(sc.range_test_cost_row(*args, [20, 20, 19], search)[1])
    # per seed: a seed whose range test ran more epochs than the search's 240 per seed
    costly = sc.range_test_cost_row(*args, [20, 300, 300], search)
    assert parts(costly[1])["fewer training epochs"][1:] == (1, 3)
    assert "fewer than the search's 240 per seed in 1/3 seeds" in costly[0]
    far = dict(final_acc, rt=np.array([0.70, 0.81]))
    measured, verdict = sc.range_test_cost_row(far, "rt", "search", 0.05, [20] * 3, search)
    assert parts(verdict)["within 0.02 of the search's rate"][1:] == (1, 2)
    assert "within 0.02 of the search's rate in 1/2 seeds" in measured
    assert "range test: 60 epochs (20, 20, 20 per seed" in measured


def test_a_single_timing_is_shown_not_decided():
    search = SimpleNamespace(wall_time_s=5.2, coarse=SimpleNamespace(meta={"engine": "stacked"}))
    measured, verdict = sc.wall_time_row(14.0, search)
    assert verdict.word == "measured" and verdict.total is None
    assert "range test 14 s" in measured and "search 5 s (stacked engine" in measured


def test_a_subset_search_must_cost_fewer_updates():
    final_acc = {"sub": np.array([0.81, 0.82]), "full": np.array([0.81, 0.82])}
    full = SimpleNamespace(updates=1000, chosen=0.1)
    cheap = SimpleNamespace(updates=250, chosen=0.158)
    assert all_parts_hold(sc.subset_search_row(final_acc, "sub", "full", cheap, full, 125, 500)[1])
    costly = SimpleNamespace(updates=1000, chosen=0.158)
    verdict = sc.subset_search_row(final_acc, "sub", "full", costly, full, 125, 500)[1]
    assert verdict.word == NOT_REPRODUCED


def test_suggestion_check_row_needs_every_optimizer_on_every_seed():
    won = SimpleNamespace(
        group="SGD",
        rates={"/10": 0.002, "suggested": 0.02, "x10": 0.2},
        means={"/10": 0.2, "suggested": 0.6, "x10": 0.5},
        won=True,
        won_seeds=np.array([True, True]),
    )
    lost = SimpleNamespace(
        group="Adam",
        rates={"/10": 1e-4, "suggested": 1e-3, "x10": 1e-2},
        means={"/10": 0.9, "suggested": 0.8, "x10": 0.1},
        won=False,
        won_seeds=np.array([False, False]),
    )
    measured, verdict = rtc.suggestion_check_row({"SGD": won, "Adam": lost})
    assert parts(verdict)["SGD best of the three"][1:] == (2, 2)
    assert parts(verdict)["Adam best of the three"][1:] == (0, 2)
    assert measured.startswith("SGD 0.600 at 0.02 (beat /10, x10: 0.200, 0.500; best of")
    assert "Adam 0.800 at 0.001 (lost to /10, x10: 0.900, 0.100" in measured
    assert all_parts_hold(rtc.suggestion_check_row({"SGD": won})[1])


def test_range_test_table_gathers_every_row():
    tests = {
        "SGD": repeats([0.011, 0.012, 0.02], min_loss=(0.3, 0.3, 0.3)),
        "Adam": repeats([1e-4, 1.2e-4, 2e-4], min_loss=(0.2, 0.2, 0.2)),
    }
    for rep in tests.values():  # what fresh_model_row reads
        for r in rep.runs:
            r.smoothed, r.losses, r.lrs, r.stop_reason = (
                np.array([2.0, 1.0]),
                np.array([2.3, 1.0]),
                np.array([1e-4, 1.0]),
                "diverged",
            )
    check = SimpleNamespace(
        group="SGD",
        rates={"/10": 0.002, "suggested": 0.02, "x10": 0.2},
        means={"/10": 0.2, "suggested": 0.6, "x10": 0.5},
        won=True,
        won_seeds=np.array([True, True, True]),
    )

    class Small(SimpleNamespace):
        def __len__(self) -> int:
            return 50

    run = Small(
        suggestion=lambda rule: Suggestion(rule, 3e-3, 0.0, 0, True, ""),
        lrs=np.logspace(-4, 1, 50),
        smoothed=np.linspace(2, 1, 50),
        stop_lr=2.0,
        stop_reason="diverged",
        settings={"steps": 100},
        meta={"restored_bitwise": True},
    )
    small = SimpleNamespace(
        runs=[run] * 3, seeds=[0, 1, 2], suggestion_spread=lambda rule: np.full(3, 3e-3)
    )
    linear = {
        "max_lrs": np.array([0.07, 0.08, 0.09]),
        "median": 0.08,
        "naive": np.array([0.07, 0.3, 0.1]),
        "scores": {
            "a quarter": np.full(3, 0.9),
            "the reading": np.full(3, 0.8),
            "twice": np.full(3, 0.2),
        },
    }
    table = rtc.table(tests, {"steepest": {"SGD": check}}, linear, small, (1e-7, 10.0), "note")
    words = [r.verdict.word for r in table.rows]
    assert len(table.rows) == 9 and words[-2:] == ["superseded", "superseded"]
    assert table.rows[3].original == rtc.CHECK_CLAIMS["steepest"]
    assert (table.rows[4].verdict.passed, table.rows[4].verdict.total) == (3, 3)
    # variant 2's rows are decided on its seeds, never on one range test
    assert all(v.total == 3 for _, v in table.rows[5].verdict.parts)
    assert (table.rows[6].verdict.passed, table.rows[6].verdict.total) == (3, 3)
    assert table.markdown().rstrip().endswith("note")


def v2_runs(readings, stops, restored):
    """Variant 2 stand-in: per seed, every rule's reading, where it stopped, restored."""

    class Run(SimpleNamespace):
        def __len__(self) -> int:
            return 40

    runs = [
        Run(
            lrs=np.logspace(-7, 1, 40),
            smoothed=np.linspace(2, 1, 40),
            stop_lr=stop,
            stop_reason="end_lr reached" if stop >= 10 else "loss diverged",
            settings={"steps": 60},
            meta={"restored_bitwise": ok},
        )
        for stop, ok in zip(stops, restored)
    ]
    return SimpleNamespace(
        runs=runs,
        seeds=list(range(len(runs))),
        suggestion_spread=lambda rule: np.array(readings[rule]),
    )


def test_variant2_rows_count_the_seeds():
    readings = {"steepest": [2e-4, 2e-3, 2e-4], "minimum": [3e-3, 4e-3, 5e-3]}
    small = v2_runs(readings, stops=[0.1, 10.0, 0.2], restored=[True, True, False])
    measured, verdict = rtc.good_range_row(small, 1e-3, 1e-2, rules=tuple(readings))
    assert parts(verdict) == {
        "steepest descent inside": (SPLIT_FAILS, 1, 3),
        "minimum / 10 inside": (FEW_ALL, 3, 3),
    }
    assert "inside in 1/3 seeds" in measured and "inside in 3/3 seeds" in measured
    measured, verdict = rtc.ramp_end_row(small, 1e-7, 10.0)
    assert (verdict.passed, verdict.total) == (2, 3) and "in 2/3 seeds" in measured
    # one seed's weights left changed: the claim holds there, decided on the seeds
    measured, verdict = rtc.restored_row(small)
    assert (verdict.passed, verdict.total) == (1, 3) and "in 2/3 seeds" in measured
    all_back = v2_runs(readings, stops=[0.1] * 3, restored=[True] * 3)
    assert rtc.restored_row(all_back)[1].word == "superseded"
