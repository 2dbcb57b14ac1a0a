"""Chapter 8's printouts: the numbers and comparisons its prose quotes, printed by the
cell that computes them (accuracy per initial rate, adapted rates, the beta sweep, MNIST).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lr_lessons.lab.hypergradient_study import LABELS, PAIRS, BetaSweep, by_rate, plain_of
from lr_lessons.lab.results import Results
from lr_lessons.views.claims import final, seeds_passing, summary
from lr_lessons.views.hypergradient_claims import harmless_seeds


def print_finals(finals: Mapping[str, np.ndarray], rates: Sequence[float]) -> None:
    """Print each optimizer's final test accuracy (mean over seeds) from each start.

    Args:
        finals: Final test accuracy per optimizer, each `(rates, seeds)`.
        rates: The initial rates of the rows of `finals`.
    """
    print("mean final test accuracy, from initial rate " + ", ".join(f"{r:g}" for r in rates))
    for o, v in finals.items():
        print(f"  {LABELS[o]:8s}" + " ".join(f"{a:6.3f}" for a in np.nanmean(v, axis=1)))


def print_adapted_rates(
    results: Results, rates: Sequence[float], betas: Mapping[str, float]
) -> None:
    """Print, per HD optimizer and start, the rate after the first epoch and at the end.

    Args:
        results: The study with a `"learning_rate"` metric.
        rates: The initial rates.
        betas: `{HD optimizer: its hypergradient rate}`.
    """
    for o, beta in betas.items():
        runs = by_rate(results, o, rates, beta, "learning_rate")  # (rates, seeds, epochs)
        for r, v in zip(rates, runs):
            print(
                f"{LABELS[o]} from {r:g}: after epoch 1 {summary(v[:, 0], '.2g')}; "
                f"median {np.median(v[:, 0]):.2g} after epoch 1, "
                f"{np.median(v[:, -1]):.2g} after epoch {v.shape[1]}"
            )


def print_beta_sweep(
    sweeps: Mapping[str, BetaSweep],
    main: Results,
    sweep: Results,
    betas: Mapping[str, float],
) -> None:
    """Print the plain optimizer, then each beta: accuracy, end rate, harm, harmless seeds.

    Args:
        sweeps: Per HD optimizer, its `BetaSweep`.
        main: The main study (the betas of `betas`).
        sweep: The sweep study (the other betas).
        betas: The main study's beta per HD optimizer.
    """
    for o, s in sweeps.items():
        plain = np.nanmean(s.plain_finals, axis=1)
        print(
            f"plain {LABELS[plain_of(o)]}, mean final test accuracy: "
            + ", ".join(f"from {r:g} {a:.3f}" for r, a in zip(s.rates, plain))
        )
        ok = harmless_seeds(s)
        for beta, harm in s.harm.items():
            acc = np.nanmean(s.finals[beta], axis=1)
            runs = main if beta == betas[o] else sweep
            end = by_rate(runs, o, s.rates[-1:], beta, "learning_rate")[0][:, -1]
            print(
                f"{LABELS[o]} beta={beta:g}: "
                + ", ".join(f"from {r:g} {a:.3f}" for r, a in zip(s.rates, acc))
                + f"; rate at the end from {s.rates[-1]:g}: median {np.nanmedian(end):.3g}; "
                f"{harm.describe()}; harmless in {seeds_passing(ok[beta])}"
            )


def print_mnist(mnist: Results, names: Mapping[str, str], starts: Mapping[str, float]) -> None:
    """Print each MNIST setting's accuracy and rates, then each HD optimizer against its
    plain optimizer, seed by seed.

    Args:
        mnist: The MNIST study's results.
        names: Per optimizer, its setting's name in `mnist`.
        starts: Per optimizer, its initial rate.
    """
    n = len(mnist.seeds)
    for name in names.values():
        accuracy = mnist.get("val_accuracy", name)[:, -1]
        rate = np.median(mnist.get("learning_rate", name), axis=0)
        print(
            f"{name}: last-epoch test accuracy {summary(accuracy, '.2f')} over {n} "
            "seeds; median rate after each epoch " + ", ".join(f"{r:.2g}" for r in rate)
        )
    for plain, hd in PAIRS:
        gain = final(mnist.get("val_accuracy", names[hd])) - final(
            mnist.get("val_accuracy", names[plain])
        )
        rate = mnist.get("learning_rate", names[hd]) / starts[hd]  # (seeds, epochs)
        print(
            f"{LABELS[hd]} - {LABELS[plain]}, same seed: {summary(gain, '.2f')}; rate "
            f"over 10x its start after epoch 1 in {seeds_passing(rate[:, 0] > 10)}, at "
            f"some epoch's end in {seeds_passing(rate.max(axis=1) > 10)}, at the end in "
            f"{seeds_passing(rate[:, -1] > 10)}; below zero at the end in "
            f"{seeds_passing(rate[:, -1] < 0)}"
        )
