"""Claims about the range test, measured on saved range-test results and rate checks.

Each function tests one claim of the range test's sources at the source's threshold
and returns `(measured, verdict)`: the text of the table's "measured" column and the
`verdicts.Verdict`, ready for `ClaimsTable.add(claim, *row)`. The chapter states the
claim; the function says what was measured and how it compares, seed by seed where the
seeds allow it (`verdicts.decide`: `k/n` seeds and the 95% interval of the pass rate),
and part by part for a claim with several (`verdicts.composite`). Every range-test claim
is decided on the test's seeds (one range test per seed), never on one run.

Nothing here trains: the inputs are `RangeTestRepeats` / `RangeTestResult` objects
(`lr_lessons.tools.range_test`) and `NeighbourCheck`s (`lr_lessons.lab.rate_checks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lr_lessons.views.claims import ClaimsTable, seeds_passing, summary
from lr_lessons.views.range_test_plots import MARKER_LABELS
from lr_lessons.views.verdicts import Verdict, composite, decide, superseded

__all__ = [
    "fresh_model_row",
    "good_range_row",
    "linear_reading_row",
    "lower_minimum_row",
    "neighbour_text",
    "ramp_end_row",
    "restored_row",
    "steepest_near_row",
    "steepest_order_row",
    "suggestion_check_row",
    "table",
    "unreliable_note",
]

Row = tuple[str, Verdict]

UNRELIABLE_CAVEAT = (
    "; an unreliable reading does not measure where the fall is (at window edge: the "
    "loss already falls where the rule starts reading; no fall: it barely falls in the "
    "read span)"
)


def unreliable_note(repeats: Any, rule: str = "steepest") -> str:
    """`""`, or which seeds' `rule` reading is unreliable and why.

    Args:
        repeats: A `RangeTestRepeats`.
        rule: A suggestion rule's name.

    Returns:
        E.g. `" (unreliable for 3 of 3 seeds: at window edge)"`.
    """
    bad = [r for r in repeats.runs if not r.suggestion(rule).reliable]
    if not bad:
        return ""
    reasons = sorted({r.suggestion(rule).reason.split(":")[0] for r in bad})
    return f" (unreliable for {len(bad)} of {len(repeats.runs)} seeds: {', '.join(reasons)})"


def lower_minimum_row(tests: Mapping[str, Any], low: str = "Adam", high: str = "SGD") -> Row:
    """`low` reaches a lower smoothed loss than `high`, seed by seed.

    Args:
        tests: `{optimizer: RangeTestRepeats}`.
        low: The optimizer claimed to go lower.
        high: The other one.

    Returns:
        `(measured, verdict)`.
    """
    a, b = tests[low].min_loss(), tests[high].min_loss()
    measured = (
        f"lowest smoothed loss: {low} {summary(a)}, {high} {summary(b)}; {low} lower in "
        f"{seeds_passing(a < b)}"
    )
    return measured, decide(a < b)


def _reliable(repeats: Any, rule: str = "steepest") -> np.ndarray:
    """Per seed: is `rule`'s reading reliable (does it measure where the fall is)?"""
    return np.array([r.suggestion(rule).reliable for r in repeats.runs], dtype=bool)


def steepest_order_row(tests: Mapping[str, Any], low: str = "Adam", high: str = "SGD") -> Row:
    """`low`'s steepest descent sits at a lower rate than `high`'s, seed by seed.

    Two parts, each per seed: the order, and both readings reliable (an unreliable
    reading does not measure where the fall is, so an order between two of them says
    little).

    Args:
        tests: `{optimizer: RangeTestRepeats}`.
        low: The optimizer claimed to fall at lower rates.
        high: The other one.

    Returns:
        `(measured, verdict)`.
    """
    a = tests[low].suggestion_spread("steepest")
    b = tests[high].suggestion_spread("steepest")
    reliable = _reliable(tests[low]) & _reliable(tests[high])
    both_reliable = bool(reliable.all())
    measured = (
        f"steepest descent at: {low} {summary(a, '.2e')}{unreliable_note(tests[low])}, "
        f"{high} {summary(b, '.2e')}{unreliable_note(tests[high])}; {low} lower in "
        f"{seeds_passing(a < b)}" + ("" if both_reliable else UNRELIABLE_CAVEAT)
    )
    return measured, composite(
        {f"{low} lower": decide(a < b), "both readings reliable": decide(reliable)}
    )


def steepest_near_row(
    tests: Mapping[str, Any], targets: Mapping[str, float], decades: float = 0.5
) -> Row:
    """Each optimizer's steepest descent lies within `decades` of the source's reading.

    Args:
        tests: `{optimizer: RangeTestRepeats}`.
        targets: `{optimizer: log10 of the source's reading}`.
        decades: How far (in decades) a seed's reading may lie from the target.

    Returns:
        `(measured, verdict)`: a composite with, per optimizer, the seeds within
        `decades` and the seeds whose reading is reliable.
    """
    steep = {name: rep.suggestion_spread("steepest") for name, rep in tests.items()}
    rules = {name: rep.rule_summaries()["steepest"] for name, rep in tests.items()}
    near = {name: np.abs(np.log10(steep[name]) - targets[name]) <= decades for name in tests}
    parts = {}
    for name in tests:
        parts[f"{name} within {decades:g} decade"] = decide(near[name])
        parts[f"{name} reading reliable"] = decide(_reliable(tests[name]))
    result = composite(parts)
    measured = "; ".join(
        f"{name}: 10^{np.log10(rules[name].median):.2f} (median; seeds "
        + ", ".join(f"10^{np.log10(v):.2f}" for v in steep[name])
        + f"){unreliable_note(tests[name])}, within half a decade of the original in "
        f"{seeds_passing(near[name])}"
        for name in tests
    )
    return measured, result


def neighbour_text(check: Any) -> str:
    """One optimizer's rate check in words.

    Args:
        check: A `lr_lessons.lab.rate_checks.NeighbourCheck`.

    Returns:
        E.g. `"Adam 0.868 at 0.00018 (lost to /10, x10: 0.418, 0.966; best of the three
        in 0/3 seeds)"`.
    """
    means = check.means
    others = ", ".join(f"{m:.3f}" for t, m in means.items() if t != "suggested")
    outcome = "beat" if check.won else "lost to"
    return (
        f"{check.group} {means['suggested']:.3f} at {check.rates['suggested']:.2g} "
        f"({outcome} /10, x10: {others}; best of the three in "
        f"{seeds_passing(check.won_seeds)})"
    )


def suggestion_check_row(checks: Mapping[str, Any], budget: str = "2 epochs") -> Row:
    """The suggested rate trains better than 10x lower and 10x higher, seed by seed.

    Args:
        checks: `{optimizer: NeighbourCheck}` of one rule.
        budget: The training budget, for the text.

    Returns:
        `(measured, verdict)`: a composite of one seed verdict per optimizer.
    """
    measured = (
        "; ".join(neighbour_text(c) for c in checks.values())
        + f" (validation accuracy after {budget}, mean over seeds)"
    )
    return measured, composite(
        {
            f"{c.group} best of the three": decide(np.asarray(c.won_seeds, bool))
            for c in checks.values()
        }
    )


def linear_reading_row(
    max_lrs: np.ndarray,
    median: float,
    naive: np.ndarray,
    scores: Mapping[str, np.ndarray],
    trains_above: float = 0.5,
) -> Row:
    """Smith: the linear-ramp reading is the largest usable rate.

    A seed passes when training at the reading works (accuracy above `trains_above`)
    and training at twice it does worse.

    Args:
        max_lrs: Per seed, the rate read before the accuracy's first fall.
        median: Their median (the reading trained).
        naive: Per seed, the rate of the highest accuracy overall.
        scores: `{"a quarter" | "the reading" | "twice": per-seed accuracy}`.
        trains_above: The accuracy that counts as training.

    Returns:
        `(measured, verdict)`.
    """
    quarter, reading, twice = scores["a quarter"], scores["the reading"], scores["twice"]
    usable = (reading > trains_above) & (twice < reading)
    measured = (
        "first fall read per seed at "
        + ", ".join(f"{v:.3g}" for v in max_lrs)
        + f" (median {median:.3g}; the highest accuracy overall would read "
        + ", ".join(f"{v:.3g}" for v in naive)
        + "); 2 epochs at a quarter / the reading / twice: "
        f"{summary(quarter)} / {summary(reading)} / {summary(twice)}; the reading "
        f"trains (above {trains_above:g}) and twice it does worse in "
        f"{seeds_passing(usable)}. The ramp mixes the rate with training progress "
        "(see variant 3)"
    )
    return measured, decide(usable)


def good_range_row(
    repeats: Any,
    low: float,
    high: float,
    rules: Sequence[str] = ("steepest", "minimum", "valley", "slide"),
    near_min: float = 1.2,
) -> Row:
    """Good rates lie in `[low, high]`: where each rule's reading lands, seed by seed.

    Each rule is a part, decided on the seeds (`verdicts.decide`: does the seed's
    reading lie inside?); the text also gives, per seed, where the smoothed loss is
    within `near_min` times its minimum.

    Args:
        repeats: A `RangeTestRepeats` (one range test per seed).
        low: The range's lower end.
        high: Its upper end.
        rules: The suggestion rules read.
        near_min: "Near the lowest loss": smoothed loss at most this times its minimum.

    Returns:
        `(measured, verdict)`.
    """
    lrs = {rule: repeats.suggestion_spread(rule) for rule in rules}
    inside = {rule: (low <= v) & (v <= high) for rule, v in lrs.items()}
    spans = []
    for run in repeats.runs:
        near = run.lrs[run.smoothed <= near_min * run.smoothed.min()]
        spans.append(f"{near.min():.1e} to {near.max():.1e}")
    measured = (
        "; ".join(
            f"{MARKER_LABELS[r]} "
            + ", ".join(f"{v:.2e}" for v in lrs[r])
            + f" (inside in {seeds_passing(inside[r])})"
            for r in rules
        )
        + f"; smoothed loss within {near_min - 1:.0%} of its minimum from "
        + ", ".join(spans)
        + f" (seeds {', '.join(str(s) for s in repeats.seeds)})"
    )
    return measured, composite({f"{MARKER_LABELS[r]} inside": decide(inside[r]) for r in rules})


def ramp_end_row(repeats: Any, start_lr: float, end_lr: float) -> Row:
    """The finder ramps to a very high rate unless the loss explodes first, seed by seed.

    Args:
        repeats: The `RangeTestRepeats` of an `LRFinder` inside `model.fit`, one run
            per seed.
        start_lr: The ramp's start.
        end_lr: The ramp's end.

    Returns:
        `(measured, verdict)`: a seed passes when its test stopped on its own (the
        loss exploded) before `end_lr`.
    """
    runs = repeats.runs
    stopped = np.array(
        [r.stop_lr is not None and r.stop_reason != "end_lr reached" for r in runs], bool
    )
    stops = ", ".join(sorted({r.stop_reason for r in runs}))
    measured = (
        f"ramp {start_lr:g} to {end_lr:g} (the tutorial's range): stopped at "
        + ", ".join(f"{r.stop_lr:.3g}" for r in runs)
        + f" ({stops}), after "
        + ", ".join(str(len(r)) for r in runs)
        + f" of {runs[0].settings['steps']} batches; stopped before {end_lr:g} in "
        f"{seeds_passing(stopped)}"
    )
    return measured, decide(stopped)


def restored_row(repeats: Any) -> Row:
    """The test changes the weights: superseded when `LRFinder` put them back bit for bit.

    Args:
        repeats: A `RangeTestRepeats` whose runs' `meta["restored_bitwise"]` say whether
            the model's and optimizer's variables were equal after the test.

    Returns:
        `(measured, verdict)`: superseded when every seed's model was restored, else
        decided on the seeds (the claim holds where the weights were left changed).
    """
    same = np.array([bool(r.meta["restored_bitwise"]) for r in repeats.runs], bool)
    measured = (
        "the original's advice for a finder that leaves the weights as the test left "
        "them; LRFinder (restore=True, the default) puts weights and optimizer state "
        f"back: equal bit for bit after the test in {seeds_passing(same)}"
    )
    if same.all():
        return measured, superseded("LRFinder restores the weights")
    return measured, decide(~same, "LRFinder did not restore the weights bit for bit")


def fresh_model_row(first: Any, second: Any, names: tuple[str, str] = ("SGD", "Adam")) -> Row:
    """The source ran its second test on the model its first test had trained.

    Args:
        first: The first optimizer's `RangeTestRepeats` (its tests end near divergence).
        second: The second optimizer's, from fresh weights.
        names: The two optimizers' names.

    Returns:
        `(measured, verdict)`: superseded, with how far the first test left the model.
    """
    end = np.array([r.smoothed[-1] for r in first.runs])
    start = np.array([r.losses[0] for r in second.runs])
    stops = ", ".join(sorted({r.stop_reason for r in first.runs}))
    measured = (
        f"we build a fresh model for every optimizer and seed. It matters: the "
        f"{names[0]} test ends at a rate near {first.runs[0].lrs[-1]:.2g} with smoothed "
        f"loss {summary(end)} (stopped: {stops}), the model the original's {names[1]} "
        f"test started from; from fresh weights {names[1]}'s first loss is "
        f"{summary(start)}"
    )
    return measured, superseded("we rebuild the model")


# the original's reading of its own curves, as log10 of the rate
TARGET_LOG = {"SGD": -1.95, "Adam": -3.95}
CHECK_CLAIMS = {
    "steepest": "Pick the rate at the steepest descent: it trains well.",
    "valley": "Pick a rate a little left of the loss minimum (fastai's valley): it trains well.",
}


def table(
    tests: Mapping[str, Any],
    checks: Mapping[str, Mapping[str, Any]],
    linear: Mapping[str, Any],
    small: Any,
    ramp: tuple[float, float],
    note: str,
) -> ClaimsTable:
    """Chapter 6's table, every row decided by its function above.

    Args:
        tests: `{optimizer: RangeTestRepeats}` (SGD and Adam).
        checks: `{rule: {optimizer: NeighbourCheck}}`, the rules checked by training.
        linear: Smith's linear ramp: `max_lrs` (per seed), `median`, `naive` (per seed)
            and `scores` (`{"a quarter" | "the reading" | "twice": per-seed accuracy}`).
        small: Variant 2's `RangeTestRepeats` (small ConvNet, Adam, inside `model.fit`;
            one run per seed).
        ramp: Variant 2's `(start_lr, end_lr)`.
        note: The paragraph under the table (seeds, data, ramp).

    Returns:
        The table.
    """
    table = ClaimsTable(note=note)
    table.add("Adam reaches a lower loss than SGD.", *lower_minimum_row(tests))
    table.add(
        "Adam's steepest fall happens at a lower learning rate than SGD's.",
        *steepest_order_row(tests),
    )
    table.add(
        "The steepest descent sits at about 10^-1.95 for SGD and 10^-3.95 for Adam.",
        *steepest_near_row(tests, TARGET_LOG, decades=0.5),
    )
    for rule, by_optimizer in checks.items():
        table.add(CHECK_CLAIMS[rule], *suggestion_check_row(by_optimizer))
    table.add(
        "Smith (linear ramp): where accuracy turns ragged or falls is the largest usable "
        "rate; a third to a quarter of it is a good minimum for cyclical rates.",
        *linear_reading_row(
            linear["max_lrs"], linear["median"], linear["naive"], linear["scores"], 0.5
        ),
    )
    table.add(
        "Variant 2 (small ConvNet, Adam): good rates lie in [1E-3, 1E-2].",
        *good_range_row(small, 1e-3, 1e-2, near_min=1.2),
    )
    table.add(
        "Variant 2: the finder ramps to a very high rate (10+) unless the loss explodes first.",
        *ramp_end_row(small, *ramp),
    )
    table.add(
        "The test changes the weights, so the model must be rebuilt afterwards.",
        *restored_row(small),
    )
    table.add(
        "(The original's code) the Adam test runs on the model the SGD test has just trained.",
        *fresh_model_row(tests["SGD"], tests["Adam"]),
    )
    return table
