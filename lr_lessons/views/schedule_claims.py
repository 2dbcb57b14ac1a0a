"""Claims about learning-rate schedules, and the table of a schedules study.

Each `*_row` function tests one claim of the schedules' sources at the source's
threshold and returns `(measured, verdict)`: the text of the claims table's "measured"
column and the `verdicts.Verdict`, ready for `ClaimsTable.add(claim, *row)`.
Comparisons are made seed by seed (two settings trained from the same seed share their
initial weights and batch order) and decided by `verdicts.decide` (`k/n` seeds, the
95% interval of the pass rate); a claim with several parts shows each
(`verdicts.composite`); a claim about a formula or an exact count (no seed involved)
is `verdicts.checked`, and a single timing is shown as `verdicts.measured`.

`study_table` writes the per-setting summary of a study (final accuracy, epochs to a
target) as Markdown.

Nothing here trains: the inputs are arrays of saved results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lr_lessons.views.claims import (
    FINAL_DEFINITION,
    SUSTAIN_DEFINITION,
    ClaimsTable,
    seed_range,
    seeds_passing,
    summary,
)
from lr_lessons.views.verdicts import Verdict, checked, composite, decide
from lr_lessons.views.verdicts import measured as measured_verdict

__all__ = [
    "best_of",
    "cyclical_row",
    "early_fall",
    "linear_decay_row",
    "mnist_one_cycle_row",
    "one_cycle_row",
    "range_test_cost_row",
    "schedule_vs_constant_row",
    "slow_start_row",
    "study_table",
    "subset_search_row",
    "table",
    "wall_time_row",
]

Row = tuple[str, Verdict]


def best_of(scores: Mapping[str, np.ndarray], names: Sequence[str] | None = None) -> str:
    """The name with the highest mean score (among `names`, default all).

    Args:
        scores: `{setting: per-seed scores}`.
        names: The settings to choose from.

    Returns:
        The best setting's name.
    """
    names = list(scores) if names is None else list(names)
    return max(names, key=lambda s: scores[s].mean())


def _never_is_late(epochs: np.ndarray) -> np.ndarray:
    """Epoch counts with "never reached" (NaN) as infinitely late."""
    return np.where(np.isnan(epochs), np.inf, epochs)


def early_fall(rates: np.ndarray, parts: int = 10) -> float:
    """The part of a schedule's whole fall (start - end) done in its first `1 / parts`.

    Args:
        rates: The rate at updates 0..T.
        parts: 10 for the first tenth of the updates.

    Returns:
        `(rates[0] - rates[k]) / (rates[0] - rates[-1])` with `k = T // parts`.
    """
    k = (len(rates) - 1) // parts
    return float((rates[0] - rates[k]) / (rates[0] - rates[-1]))


def study_table(
    results: Any,
    final_acc: Mapping[str, np.ndarray],
    reach: Mapping[str, np.ndarray],
    target: float,
) -> str:
    """A Markdown table: each setting's final test accuracy and epochs to `target`.

    Args:
        results: The study's `Results` (its settings, seeds, epochs and meta).
        final_acc: `{setting: per-seed final test accuracy}`.
        reach: `{setting: per-seed epochs to target (`claims.epochs_to_sustain`; NaN:
            never)}`.
        target: The target accuracy.

    Returns:
        The table and a note under it (seeds, definition of final, data, engine).
    """
    lines = [
        f"| setting | final test accuracy | epochs to {target:.0%} test accuracy |",
        "|---|---|---|",
    ]
    for s in results.settings:
        lines.append(f"| {s} | {summary(final_acc[s])} | {summary(reach[s], '.0f')} |")
    return "\n".join(lines) + (
        f"\n\nmean [min, max] over {seed_range(results.seeds)}; {FINAL_DEFINITION}; "
        f"{SUSTAIN_DEFINITION}; "
        f"{results.epochs} epochs; data: {results.meta['data_source']}; engine: "
        f"{results.meta['engine']}\n"
    )


def linear_decay_row(rates: np.ndarray, decay_steps: int, tol: float = 1e-3) -> Row:
    """Linear decay lowers the rate by the same amount every update, then holds it.

    Args:
        rates: `PolynomialDecay(power=1)` at updates 0..T.
        decay_steps: Its `decay_steps`.
        tol: The largest relative standard deviation of the per-update drop that counts
            as "the same amount".

    Returns:
        `(measured, verdict)`.
    """
    drops = -np.diff(rates[: decay_steps + 1])
    held = bool(np.all(rates[decay_steps:] == rates[-1]))
    even = float(drops.std() / drops.mean())
    measured = (
        f"PolynomialDecay(power=1): per-update drop varies by {even:.1e} (relative std) "
        f"over its {decay_steps} decay steps; held at {rates[-1]:.3g} afterwards: {held}"
    )
    return measured, composite(
        {
            "the same drop every update": checked(bool(even < tol), "on the schedule"),
            "held afterwards": checked(held, "on the schedule"),
        }
    )


def slow_start_row(early: Mapping[str, float], name: str = "time", slow: float = 0.1) -> Row:
    """Time-based decay starts slowly: less than `slow` of its fall in the first tenth.

    Args:
        early: `{schedule kind: share of its fall done in the first tenth}`.
        name: The kind of the time-based (inverse-time) decay.
        slow: The largest share that counts as a slow start.

    Returns:
        `(measured, verdict)`.
    """
    measured = (
        "share of the whole fall done in the first tenth of the updates: "
        + ", ".join(f"{n} {v:.0%}" for n, v in early.items())
        + "; inverse-time falls fastest at the start (it looks slow only with a small "
        "decay rate, as chapter 3's 1E-4, where the rate barely moves at all)"
    )
    return measured, checked(bool(early[name] < slow), "on the schedules' formulas")


def cyclical_row(
    final_acc: Mapping[str, np.ndarray],
    reach: Mapping[str, np.ndarray],
    cyclical: str,
    best_constant: str,
    target: float,
    margin: float = 0.01,
    others: Sequence[str] = (),
) -> Row:
    """Cyclical rates reach the best fixed rate's accuracy sooner, and end as well.

    Two parts, each per seed: the cyclical setting reaches `target` in fewer epochs;
    and it ends within `margin` of the constant or above. Each of `others` (e.g. the
    fastest good constant, when the best by final accuracy is a slow one) adds a part:
    sooner than it too.

    Args:
        final_acc: `{setting: per-seed final accuracy}`.
        reach: `{setting: per-seed epochs to target (NaN: never)}`.
        cyclical: The cyclical setting.
        best_constant: The best fixed rate's setting.
        target: The target accuracy (for the text).
        margin: How far below the constant still counts as "as well".
        others: More constant settings to compare the speed with.

    Returns:
        `(measured, verdict)`.
    """
    faster = _never_is_late(reach[cyclical]) < _never_is_late(reach[best_constant])
    also = {o: _never_is_late(reach[cyclical]) < _never_is_late(reach[o]) for o in others}
    as_good = final_acc[cyclical] >= final_acc[best_constant] - margin
    measured = (
        f"epochs to {target:.0%}: triangular {summary(reach[cyclical], '.0f')}, "
        f"{best_constant} {summary(reach[best_constant], '.0f')} (faster in "
        f"{seeds_passing(faster)}); final test accuracy {summary(final_acc[cyclical])} "
        f"vs {summary(final_acc[best_constant])} (within {margin:g} or above in "
        f"{seeds_passing(as_good)})"
        + "".join(
            f"; {o}: {summary(reach[o], '.0f')} epochs (cyclical faster in {seeds_passing(f)})"
            for o, f in also.items()
        )
    )
    return measured, composite(
        {
            "sooner": decide(faster),
            "as good": decide(as_good),
            **{f"sooner than {o}": decide(f) for o, f in also.items()},
        }
    )


def one_cycle_row(
    final_acc: Mapping[str, np.ndarray], one_cycle: str = "one-cycle", margin: float = 0.01
) -> Row:
    """One-cycle trains as well as the best setting of the study, within `margin`.

    Args:
        final_acc: `{setting: per-seed final accuracy}`.
        one_cycle: The one-cycle setting.
        margin: How far below the best still counts as "as well".

    Returns:
        `(measured, verdict)`.
    """
    best = best_of(final_acc)
    close = final_acc[one_cycle] >= final_acc[best] - margin
    measured = (
        f"blobs final test accuracy: one-cycle {summary(final_acc[one_cycle])}; best "
        f"setting {best} {summary(final_acc[best])}; one-cycle within {margin:g} of it "
        f"or above in {seeds_passing(close)}"
    )
    return measured, decide(close)


def schedule_vs_constant_row(
    final_acc: Mapping[str, np.ndarray],
    reach: Mapping[str, np.ndarray],
    schedules: Sequence[str],
    constants: Sequence[str],
    target: float,
) -> Row:
    """The best schedule ends above the best constant rate, and gets to `target` sooner.

    Two parts, each per seed.

    Args:
        final_acc: `{setting: per-seed final accuracy}`.
        reach: `{setting: per-seed epochs to target (NaN: never)}`.
        schedules: The settings that change the rate.
        constants: The constant-rate settings.
        target: The target accuracy.

    Returns:
        `(measured, verdict)`.
    """
    sched, const = best_of(final_acc, schedules), best_of(final_acc, constants)
    wins = final_acc[sched] > final_acc[const]
    sooner = _never_is_late(reach[sched]) < _never_is_late(reach[const])
    measured = (
        f"best final test accuracy of a schedule: {sched} {summary(final_acc[sched])}; "
        f"of a constant: {const} {summary(final_acc[const])} (schedule ahead in "
        f"{seeds_passing(wins)}); epochs to {target:.0%}: {summary(reach[sched], '.0f')} "
        f"vs {summary(reach[const], '.0f')}"
    )
    return measured, composite({"ends above": decide(wins), "sooner": decide(sooner)})


def mnist_one_cycle_row(
    acc: Mapping[str, np.ndarray],
    div: Mapping[str, np.ndarray],
    grid: Any,
    one_cycle: str,
    no_margin: str,
    peak: float,
    safety: float,
    epochs: int,
    margin: float = 0.01,
) -> Row:
    """One-cycle with range-test bounds beats the best constant of a bracketing grid.

    Two parts, each per seed: one-cycle ends above the best constant (best on the
    mean) and did not diverge; and the seed's own best constant lies inside the grid,
    not at its edge (a best rate at the grid's edge may not be the best constant at
    all). The text also gives the seeds within `margin`.

    Args:
        acc: `{setting: per-seed final test accuracy}`.
        div: `{setting: per-seed diverged}`.
        grid: The `lr_lessons.lab.search.Bracket` of constant rates (`acc` and `div`
            hold `"constant <rate>"` for each of its `rates`).
        one_cycle: The one-cycle setting with the safety margin.
        no_margin: The one-cycle setting without it.
        peak: The range test's accuracy peak.
        safety: The safety margin (`max_lr = peak / safety`).
        epochs: The training budget.
        margin: How far below the constant still counts for `partly`.

    Returns:
        `(measured, verdict)`.
    """
    oc_acc, oc_div = acc[one_cycle], div[one_cycle]
    best = f"constant {grid.best:g}"
    beats = (oc_acc > acc[best]) & ~oc_div
    near = (oc_acc >= acc[best] - margin) & ~oc_div
    names = [f"constant {r:g}" for r in sorted(grid.rates)]
    scores = np.stack([np.where(div[n] | np.isnan(acc[n]), -np.inf, acc[n]) for n in names])
    seed_best = scores.argmax(axis=0)  # index of each seed's best constant
    inside = (seed_best > 0) & (seed_best < len(names) - 1)
    result = composite(
        {
            "ahead of the best constant": decide(beats),
            "each seed's best constant inside the grid": decide(inside),
        }
    )
    measured = (
        f"after {epochs} epoch(s): one-cycle (max_lr = range-test accuracy peak "
        f"{peak:.3g} / {safety}) {summary(oc_acc, diverged=oc_div)}, within {margin:g} "
        f"of the best constant or above in {seeds_passing(near)}; best constant of the grid "
        f"{', '.join(f'{r:g}' for r in grid.rates)} ({best}, "
        f"{'inside' if grid.interior else 'at the edge of'} the grid) "
        f"{summary(acc[best], diverged=div[best])}, each seed's best inside the grid in "
        f"{seeds_passing(inside)}; without the margin (max_lr "
        f"{peak:.3g}) {int(div[no_margin].sum())} of {len(oc_acc)} seeds diverged, test "
        f"accuracy {summary(acc[no_margin], diverged=div[no_margin])}"
    )
    return measured, result


def range_test_cost_row(
    final_acc: Mapping[str, np.ndarray],
    range_setting: str,
    search_setting: str,
    range_rate: float,
    range_epochs: np.ndarray,
    search: Any,
    margin: float = 0.02,
) -> Row:
    """The range test finds a good rate at a fraction of a grid search's training epochs.

    Two parts, each per seed: the seed's range test trained fewer epochs than the
    search trains per seed (every trial, one seed), and the range test's rate trains
    within `margin` of the search's (on the study's seeds). The wall time is
    `wall_time_row`'s.

    Args:
        final_acc: `{setting: per-seed final accuracy}` of the full-budget study.
        range_setting: The setting trained at the range test's rate.
        search_setting: The setting trained at the search's rate.
        range_rate: The range test's rate.
        range_epochs: Per range-test seed, its cost in training epochs.
        search: The `lr_lessons.lab.search` result (`training_epochs`, `seeds`,
            `chosen`).
        margin: How far below the search's rate still counts as "good".

    Returns:
        `(measured, verdict)`.
    """
    range_epochs = np.asarray(range_epochs, dtype=float)
    per_seed = search.training_epochs / len(search.seeds)
    cheaper = range_epochs < per_seed
    close = final_acc[range_setting] >= final_acc[search_setting] - margin
    result = composite(
        {
            "fewer training epochs": decide(cheaper),
            f"within {margin:g} of the search's rate": decide(close),
        }
    )
    measured = (
        f"range test: {range_epochs.sum():.0f} epochs ("
        + ", ".join(f"{e:.0f}" for e in range_epochs)
        + f" per seed; fewer than the search's {per_seed:.0f} per seed in "
        f"{seeds_passing(cheaper)}), rate {range_rate:.3g} -> 200-epoch test accuracy "
        f"{summary(final_acc[range_setting])}; search: {search.training_epochs} epochs, "
        f"rate {search.chosen:.3g} -> {summary(final_acc[search_setting])}; within "
        f"{margin:g} of the search's rate in {seeds_passing(close)}"
    )
    return measured, result


def wall_time_row(range_seconds: float, search: Any, range_engine: str = "model.fit") -> Row:
    """The two methods' wall times: one timing each, shown, not decided.

    Args:
        range_seconds: The range test's wall time (all its seeds).
        search: The search's result (`wall_time_s`, its studies' `meta["engine"]`).
        range_engine: How the range test trained.

    Returns:
        `(measured, verdict)`: `measured`, with why no seed count decides it.
    """
    engine = search.coarse.meta.get("engine", "?")
    measured = (
        f"range test {range_seconds:.0f} s ({range_engine}, one seed after another); "
        f"search {search.wall_time_s:.0f} s ({engine} engine: every trial and seed at "
        "once)"
    )
    return measured, measured_verdict(
        "one timing each on a shared machine, and the two ran on different engines: a "
        "time, not a pass rate over seeds"
    )


def subset_search_row(
    final_acc: Mapping[str, np.ndarray],
    subset_setting: str,
    search_setting: str,
    subset_search: Any,
    search: Any,
    subset: int,
    total: int,
    margin: float = 0.01,
) -> Row:
    """A search on a subset finds a rate that trains as well, for fewer updates.

    Args:
        final_acc: `{setting: per-seed final accuracy}` of the full-budget study.
        subset_setting: The setting trained at the subset search's rate.
        search_setting: The setting trained at the full-data search's rate.
        subset_search: The subset search's result (`updates`, `chosen`).
        search: The full-data search's result.
        subset: The subset's size.
        total: The full training set's size.
        margin: How far below the full search's rate still counts as "as well".

    Returns:
        `(measured, verdict)`: two parts, fewer updates (one count) and, per seed, as
        good.
    """
    carries = final_acc[subset_setting] >= final_acc[search_setting] - margin
    measured = (
        f"search on the first {subset} of {total} training points: "
        f"{subset_search.updates:,} updates (full-data search {search.updates:,}), rate "
        f"{subset_search.chosen:.3g} (full data: {search.chosen:.3g}); trained 200 "
        f"epochs on the full data: {summary(final_acc[subset_setting])} vs "
        f"{summary(final_acc[search_setting])}, within {margin:g} or above in "
        f"{seeds_passing(carries)}"
    )
    cheaper = subset_search.updates < search.updates
    return measured, composite(
        {
            "fewer updates": checked(bool(cheaper), "one count"),
            "as good": decide(carries),
        }
    )


def table(
    shapes: Mapping[str, Any],
    blobs: Mapping[str, Any],
    mnist: Mapping[str, Any],
    cost: Mapping[str, Any],
    note: str,
) -> ClaimsTable:
    """Chapter 7's table, every row decided by its function above.

    Args:
        shapes: `linear` (the linear decay's rate per update), `linear_steps` (its
            `decay_steps`) and `early` (`{kind: share of its fall in the first tenth}`).
        blobs: `final_acc`, `reach` (`{setting: per-seed}`), `target`, `cyclical`,
            `best_constant`, `schedules` and `constants` (setting names; the cyclical
            row also compares with the constant that reaches `target` soonest).
        mnist: `acc`, `div`, `grid`, `one_cycle`, `no_margin`, `peak`, `safety`,
            `epochs` (as `mnist_one_cycle_row` takes them).
        cost: `range_setting`, `search_setting`, `subset_setting`, `range_rate`,
            `range_epochs` (per range-test seed), `range_seconds`, `search`,
            `subset_search`, `subset`, `total`.
        note: The paragraph under the table.

    Returns:
        The table.
    """
    acc, reach = blobs["final_acc"], blobs["reach"]
    table = ClaimsTable(note=note)
    table.add(
        "Linear decay lowers the rate by the same amount every update, then holds it at "
        "the end rate (the explainer).",
        *linear_decay_row(shapes["linear"], shapes["linear_steps"], tol=1e-3),
    )
    table.add(
        "Time-based decay starts slowly (the explainer).",
        *slow_start_row(shapes["early"], "time", slow=0.1),
    )
    # the constant that gets to the target soonest (median seed): the claim's "best
    # fixed rate" by final accuracy can be a slow one, so the row compares with both
    fastest = min(blobs["constants"], key=lambda c: float(np.median(_never_is_late(reach[c]))))
    others = [fastest] if fastest != blobs["best_constant"] else []
    table.add(
        "Smith (2015): cyclical rates reach the accuracy of the best fixed rate in fewer "
        "iterations, without tuning the rate.",
        *cyclical_row(
            acc, reach, blobs["cyclical"], blobs["best_constant"], blobs["target"], 0.01, others
        ),
    )
    table.add(
        "Smith (2018): one cycle up to a large rate and down again trains as well as or "
        "better than the usual schedules in the same budget.",
        *one_cycle_row(acc, "one-cycle", margin=0.01),
    )
    table.add(
        "A static learning rate is a bad idea: change it during training (the explainer).",
        *schedule_vs_constant_row(
            acc, reach, blobs["schedules"], blobs["constants"], blobs["target"]
        ),
    )
    table.add(
        "One-cycle with range-test bounds beats the best constant rate on a short budget (MNIST).",
        *mnist_one_cycle_row(
            mnist["acc"],
            mnist["div"],
            mnist["grid"],
            mnist["one_cycle"],
            mnist["no_margin"],
            peak=mnist["peak"],
            safety=mnist["safety"],
            epochs=mnist["epochs"],
            margin=0.01,
        ),
    )
    table.add(
        "The range test finds a good rate at a fraction of the cost of a grid search "
        "(cost: training epochs).",
        *range_test_cost_row(
            acc,
            cost["range_setting"],
            cost["search_setting"],
            cost["range_rate"],
            cost["range_epochs"],
            cost["search"],
            margin=0.02,
        ),
    )
    table.add(
        "(The same claim, cost: wall time.)",
        *wall_time_row(cost["range_seconds"], cost["search"]),
    )
    table.add(
        "Don't start the search on the entire dataset: search on a subset first (the explainer).",
        *subset_search_row(
            acc,
            cost["subset_setting"],
            cost["search_setting"],
            cost["subset_search"],
            cost["search"],
            cost["subset"],
            cost["total"],
            margin=0.01,
        ),
    )
    return table
