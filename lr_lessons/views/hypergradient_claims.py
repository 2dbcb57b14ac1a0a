"""Chapter 8's claims rows: what Baydin et al. (2018) and their README say about HD.

Each function below tests one claim at the threshold stated next to it and returns one
row (`claims.Claim`: the original's words, our numbers, the verdict). The numbers come
from the arrays of `lr_lessons.lab.hypergradient_study`; comparisons are made seed
by seed (runs from the same seed share their initial weights and batch order) and
decided by the one policy of `lr_lessons.views.verdicts` (`k/n` seeds and the 95%
interval of the pass rate; a claim with several parts shows each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lr_lessons.lab.hypergradient_study import (
    HARMS,
    LABELS,
    PAIRS,
    BetaSweep,
    plain_of,
    range_over_rates,
)
from lr_lessons.lab.results import Results
from lr_lessons.views.claims import (
    FINAL_DEFINITION,
    VERDICT_NOTE,
    Claim,
    ClaimsTable,
    final,
    final_epochs,
    seed_range,
    seeds_passing,
    summary,
)
from lr_lessons.views.verdicts import checked, composite, decide

# "Far less sensitive": HD's range over the initial rates is at most half the plain
# optimizer's, per seed.
FAR_LESS = 0.5
# "As well as": within 0.01 final test accuracy (about the seeds' own spread).
AS_WELL = 0.01
# "Quickly raised to a useful level": at least 10x the tiny start after one epoch.
RAISED = 10
# MNIST: a gain of at least 0.05 test accuracy (same seed) counts as a rescue.
RESCUE_GAIN = 0.05
# Our reading of "little extra computation": at most 25% more time per step.
LITTLE = 1.25


def _rates_text(rates: Sequence[float]) -> str:
    return ", ".join(f"{r:g}" for r in rates)


def _per_rate(finals: np.ndarray, rates: Sequence[float]) -> str:
    return "; ".join(f"{r:g}: {summary(v)}" for r, v in zip(rates, finals))


def table_note(results: Results, mnist: Results, rates: Sequence[float]) -> str:
    """The note under chapter 8's table: what the numbers are, the data, the seeds."""
    return (
        f"Numbers: final test accuracy ({FINAL_DEFINITION}; here the last "
        f"{final_epochs(results.epochs)}), mean [min, max] over "
        f"{seed_range(results.seeds)}; range = best minus worst final accuracy over the "
        f"initial rates ({_rates_text(rates)}), per seed. {VERDICT_NOTE} Data: "
        f"{results.meta['data_source']}, {results.epochs} epochs, engine "
        f"{results.meta['engine']}; MNIST: {mnist.meta['data_source']}, {mnist.epochs} "
        f"epochs, {seed_range(mnist.seeds)}."
    )


def less_sensitive(
    finals: Mapping[str, np.ndarray], plain: str, hd: str, rates: Sequence[float]
) -> Claim:
    """HD is far less sensitive to the initial rate than the plain optimizer.

    Two parts, per seed: HD's range over the initial rates is at most `FAR_LESS` of
    the plain optimizer's, and HD's best start is within `AS_WELL` of the plain
    optimizer's best (a flat line below the best is not the claim).

    Args:
        finals: Final test accuracy per optimizer, each `(rates, seeds)`.
        plain: The plain optimizer (`"sgd"`, `"adam"`).
        hd: Its HD version.
        rates: The initial rates of the rows of `finals`.

    Returns:
        The claims row.
    """
    p, h = LABELS[plain], LABELS[hd]
    range_plain, range_hd = range_over_rates(finals[plain]), range_over_rates(finals[hd])
    less = range_hd <= FAR_LESS * range_plain
    best_hd, best_plain = np.nanmax(finals[hd], axis=0), np.nanmax(finals[plain], axis=0)
    reaches = best_hd >= best_plain - AS_WELL
    return Claim(
        f"{h} is far less sensitive to the initial rate than {p} (Baydin et al., 2018).",
        f"range over initial rates: {p} {summary(range_plain)}, {h} {summary(range_hd)}; "
        f"at most half of {p}'s in {seeds_passing(less)}; {h}'s best start within "
        f"{AS_WELL} of {p}'s best in {seeds_passing(reaches)} (a flat line below the "
        f"best is not the claim). {p}: {_per_rate(finals[plain], rates)}. "
        f"{h}: {_per_rate(finals[hd], rates)}",
        composite(
            {f"range at most half of {p}'s": decide(less), "best start as good": decide(reaches)}
        ),
    )


def never_worse(finals: Mapping[str, np.ndarray], rates: Sequence[float]) -> Claim:
    """With a small beta, HD does at least as well as its plain optimizer.

    Per seed: HD is within `AS_WELL` of the plain optimizer, or above it, at *every*
    initial rate (runs paired by seed).

    Args:
        finals: Final test accuracy per optimizer, each `(rates, seeds)`.
        rates: The initial rates of the rows of `finals`.

    Returns:
        The claims row.
    """
    ok = {hd: finals[hd] >= finals[plain] - AS_WELL for plain, hd in PAIRS}
    every_rate = {hd: v.all(axis=0) for hd, v in ok.items()}
    return Claim(
        "With a small beta, HD does better than, or in the worst case as well as, "
        "the plain optimizer (the authors' README).",
        "; ".join(
            f"{LABELS[hd]} within {AS_WELL} of its baseline or above at every initial "
            f"rate in {seeds_passing(every_rate[hd])} (per rate, seeds passing: "
            + ", ".join(f"{r:g}: {int(np.sum(v))}" for r, v in zip(rates, ok[hd]))
            + ")"
            for hd in ok
        ),
        composite({f"{LABELS[hd]} at every rate": decide(v) for hd, v in every_rate.items()}),
    )


def raised_then_decays(rate: np.ndarray, start: float, label: str = "SGD-HD") -> Claim:
    """Even from a tiny start the rate is quickly raised, then decays.

    Per seed: after the first epoch the rate is at least `RAISED` times the start, and
    at the end it is below its peak.

    Args:
        rate: The adapted rate at the end of each epoch, `(seeds, epochs)`.
        start: The tiny initial rate.
        label: The optimizer's name in the text.

    Returns:
        The claims row.
    """
    rate = np.asarray(rate, dtype=float)
    rise = rate[:, 0] / start
    peak_to_end = rate[:, -1] / np.nanmax(rate, axis=1)
    return Claim(
        "Even from a tiny start the rate is quickly raised to a useful level, "
        "then decays as optimization converges (the authors' README).",
        f"{label} from {start:g}: after the first epoch the rate is "
        f"{summary(rise, '.0f')} times the start; at the end it is "
        f"{summary(peak_to_end, '.2f')} of its peak",
        composite(
            {
                f"raised {RAISED}x in the first epoch": decide(rise >= RAISED),
                "below its peak at the end": decide(peak_to_end < 1),
            }
        ),
    )


def harmless_seeds(sweep: BetaSweep) -> dict[float, np.ndarray]:
    """Per beta, the seeds it left unharmed and no more sensitive than the plain optimizer.

    A beta is harmless for a seed if none of that seed's runs (one per initial rate)
    diverged, had its rate driven to zero or below, or collapsed (see
    `hypergradient_study.Harm`), and its range over the initial rates is at most the
    plain optimizer's for the same seed.

    Args:
        sweep: One HD optimizer's beta sweep.

    Returns:
        `{beta: array (seeds,) of bool}`, betas in increasing order.
    """
    plain = range_over_rates(sweep.plain_finals)
    out = {}
    for b, v in sweep.finals.items():
        harmed = np.any([getattr(sweep.harm[b], k) for k in HARMS], axis=(0, 1))
        out[b] = ~harmed & (range_over_rates(v) <= plain)
    return out


def little_tuning(sweeps: Mapping[str, BetaSweep], seeds: Sequence[int]) -> Claim:
    """Beta needs little tuning: every beta tried is harmless, seed by seed.

    One part per HD optimizer and beta, decided over the seeds (`harmless_seeds`); the
    claim asks every beta tried to be harmless, so the row holds only as far as its
    weakest beta.

    Args:
        sweeps: Per HD optimizer, its beta sweep.
        seeds: The seeds of the runs.

    Returns:
        The claims row.
    """
    harmless = {o: harmless_seeds(s) for o, s in sweeps.items()}
    rates = next(iter(sweeps.values())).rates
    plain = {o: LABELS[plain_of(o)] for o in sweeps}
    return Claim(
        "beta needs little tuning: a small beta can be left at a recommended "
        "value (the authors' README).",
        "; ".join(
            f"{LABELS[o]} beta={b:g}: range {summary(range_over_rates(v))}, "
            f"{s.harm[b].describe()}, harmless in {seeds_passing(harmless[o][b])}"
            for o, s in sweeps.items()
            for b, v in s.finals.items()
        )
        + "; plain "
        + ", ".join(
            f"{plain[o]} {summary(range_over_rates(s.plain_finals))}" for o, s in sweeps.items()
        )
        + f" (initial rates {_rates_text(rates)}, {seed_range(seeds)}; a beta is harmless "
        "for a seed if none of its runs diverged, had its rate driven to zero or below or "
        "collapsed (cut below a tenth of its start and of the plain optimizer's best "
        "rate: "
        + ", ".join(f"{plain[o]} {s.plain_best:g}" for o, s in sweeps.items())
        + "), and its range is at most the plain optimizer's, same seed; the claim asks "
        "every beta tried to be harmless)",
        composite(
            {
                f"{LABELS[o]} beta={b:g} harmless": decide(ok)
                for o in sweeps
                for b, ok in harmless[o].items()
            }
        ),
    )


def rescues_mnist(mnist: Results, names: Mapping[str, str]) -> Claim:
    """On MNIST, HD rescues a too-small initial rate.

    One part per HD optimizer, per seed: it ends at least `RESCUE_GAIN` above its plain
    optimizer from the same seed.

    Args:
        mnist: Results of the MNIST study.
        names: Per optimizer, the name of its setting in `mnist`.

    Returns:
        The claims row.
    """
    finals = {o: final(mnist.get("val_accuracy", n)) for o, n in names.items()}
    gains = {hd: finals[hd] - finals[plain] for plain, hd in PAIRS}
    return Claim(
        "On MNIST, HD rescues a too-small initial rate (the paper's MNIST experiments).",
        "; ".join(f"{names[o]}: {summary(v)}" for o, v in finals.items())
        + f" (a gain of at least {RESCUE_GAIN} over the plain optimizer, same seed, "
        "counts)",
        composite({f"{LABELS[hd]} rescues": decide(g >= RESCUE_GAIN) for hd, g in gains.items()}),
    )


def little_extra_cost(costs: Mapping[str, Mapping], steps: int, rounds: int, batch: int) -> Claim:
    """HD needs little extra computation and, for SGD-HD, one extra copy of the gradient.

    Time: per round (the optimizers took turns, so round k of each ran under the same
    machine load) HD takes at most `LITTLE` times the plain optimizer's time per step;
    decided like seeds, round by round (`unit="rounds"`). Memory: SGD-HD keeps one more copy of the
    weights (within 1%), Adam-HD less than one more.

    Args:
        costs: What `hypergradient_study.step_costs` measured, keyed by
            `"SGD"`, `"SGD-HD"`, `"Adam"`, `"Adam-HD"`.
        steps: Steps per timed round.
        rounds: Timed rounds.
        batch: Batch size.

    Returns:
        The claims row.
    """
    pairs = [(LABELS[p], LABELS[h]) for p, h in PAIRS]
    c = costs
    slower = {hd: c[hd]["ms_per_step"] / c[plain]["ms_per_step"] for plain, hd in pairs}
    per_round = {
        hd: np.array(c[hd]["all_ms"]) / np.array(c[plain]["all_ms"]) for plain, hd in pairs
    }
    extra = {
        hd: (c[hd]["optimizer_state"] - c[plain]["optimizer_state"]) / c[hd]["weights"]
        for plain, hd in pairs
    }
    time_verdict = decide(np.concatenate([r <= LITTLE for r in per_round.values()]), unit="rounds")
    memory_verdict = checked(
        bool(abs(extra["SGD-HD"] - 1) < 0.01 and extra["Adam-HD"] < 1.01),
        "counted exactly",
    )
    return Claim(
        "HD needs little extra computation and, for SGD-HD, one extra copy of the "
        "gradient in memory (Baydin et al., 2018).",
        "; ".join(
            f"{hd}: {c[hd]['ms_per_step']:.1f} ms per step vs {plain} "
            f"{c[plain]['ms_per_step']:.1f} ({slower[hd]:.2f}x; round by round "
            f"{summary(per_round[hd], '.2f')}), extra optimizer state "
            f"{extra[hd]:.2f} copies of the weights"
            for plain, hd in pairs
        )
        + f" (MNIST ConvNet, batch {batch}, best of {rounds} interleaved rounds of "
        f"{steps} steps; 'little' read as at most {LITTLE}x the time per step, judged "
        "round by round)",
        composite({"little extra time": time_verdict, "memory": memory_verdict}),
    )


def table(
    results: Results,
    finals: Mapping[str, np.ndarray],
    rates: Sequence[float],
    beta: Mapping[str, float],
    sweeps: Mapping[str, BetaSweep],
    mnist: Results,
    mnist_names: Mapping[str, str],
    costs: Mapping[str, Mapping],
    cost_settings: Mapping[str, int],
) -> ClaimsTable:
    """Chapter 8's table, every row decided by its function above.

    Args:
        results: The blobs study (optimizers x initial rates).
        finals: Final test accuracy per optimizer, each `(rates, seeds)`.
        rates: The initial rates.
        beta: The betas of the blobs study, per HD optimizer.
        sweeps: Per HD optimizer, its beta sweep.
        mnist: The MNIST study's results.
        mnist_names: Per optimizer, its setting's name in `mnist`.
        costs: What `hypergradient_study.step_costs` measured.
        cost_settings: Its `steps`, `rounds` and `batch`.

    Returns:
        The table.
    """
    from lr_lessons.lab.hypergradient_study import by_rate

    from_small = by_rate(results, "sgd_hd", rates[:1], beta["sgd_hd"], "learning_rate")[0]
    return ClaimsTable(
        [
            *(less_sensitive(finals, plain, hd, rates) for plain, hd in PAIRS),
            never_worse(finals, rates),
            raised_then_decays(from_small, rates[0]),
            little_tuning(sweeps, results.seeds),
            rescues_mnist(mnist, mnist_names),
            little_extra_cost(
                costs, cost_settings["steps"], cost_settings["rounds"], cost_settings["batch"]
            ),
        ],
        note=table_note(results, mnist, rates),
    )
