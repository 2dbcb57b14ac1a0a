"""Chapter 8's studies: optimizers x initial rates (x hypergradient rates), as arrays.

The chapter trains plain SGD and Adam next to their hypergradient versions (SGD-HD,
Adam-HD, `lr_lessons.tools.hypergradient`) from several initial rates. This module
names those settings once (`setting`, `rate_settings`) and reads their
results back by optimizer and rate (`by_rate`, `finals_by_rate`), so the
chapter never spells or parses a setting's name. The analysis is plain numpy:

- `range_over_rates`: per seed, best minus worst final accuracy over the rates;
- `beta_harm`: the runs a hypergradient rate harmed (diverged, a rate driven to
  zero or below, a rate collapsed far below any useful value);
- `step_costs`: milliseconds per training step and optimizer-state size, measured
  with `model.fit` (the one function here that trains).
"""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import keras
import numpy as np

from lr_lessons import config
from lr_lessons.checks import InputError
from lr_lessons.lab import models
from lr_lessons.lab.cache import Record
from lr_lessons.lab.measures import diverged, final
from lr_lessons.lab.results import Results
from lr_lessons.lab.studies import Setting

LABELS = {"sgd": "SGD", "sgd_hd": "SGD-HD", "adam": "Adam", "adam_hd": "Adam-HD"}
# (plain optimizer, its hypergradient version)
PAIRS = (("sgd", "sgd_hd"), ("adam", "adam_hd"))
HARMS = ("diverged", "negative", "collapsed")


def is_hypergradient(optimizer: str) -> bool:
    """True for `"sgd_hd"` and `"adam_hd"`."""
    return optimizer.endswith("_hd")


def plain_of(optimizer: str) -> str:
    """The plain optimizer a hypergradient one adapts: `"sgd_hd"` -> `"sgd"`."""
    return optimizer.removesuffix("_hd")


def setting(optimizer: str, rate: float, beta: float | None = None) -> Setting:
    """One optimizer at one initial rate (and, for SGD-HD and Adam-HD, one beta).

    Args:
        optimizer: `"sgd"`, `"adam"`, `"sgd_hd"` or `"adam_hd"`.
        rate: The initial learning rate.
        beta: The hypergradient rate (`hypergrad_lr`); required for the HD
            optimizers, refused for the plain ones.

    Returns:
        The setting, named `"sgd lr=0.1"` or `"sgd_hd beta=0.001 lr=0.1"`.

    Raises:
        InputError: If `beta` is missing for an HD optimizer or given for a plain one.
    """
    if not is_hypergradient(optimizer):
        if beta is not None:
            raise InputError(
                f"{optimizer!r} has no hypergradient rate, got beta={beta!r}; leave beta out"
            )
        return Setting(f"{optimizer} lr={rate:g}", optimizer, rate)
    if beta is None:
        raise InputError(f"{optimizer!r} needs a hypergradient rate: pass beta=...")
    return Setting(
        f"{optimizer} beta={beta:g} lr={rate:g}", optimizer, rate, {"hypergrad_lr": beta}
    )


def mnist_setting(optimizer: str, rate: float, beta: float | None = None) -> Setting:
    """One optimizer of the MNIST study, named like `"SGD-HD lr=0.001 beta=0.001"`.

    Args:
        optimizer: `"sgd"`, `"adam"`, `"sgd_hd"` or `"adam_hd"`.
        rate: The initial learning rate.
        beta: The hypergradient rate (HD optimizers only).

    Returns:
        The setting.
    """
    plain = setting(optimizer, rate, beta)  # checks that beta fits the optimizer
    name = f"{LABELS[optimizer]} lr={rate:g}" + ("" if beta is None else f" beta={beta:g}")
    return Setting(name, optimizer, rate, plain.options)


def rate_settings(
    optimizers: Sequence[str],
    rates: Sequence[float],
    betas: Mapping[str, float] | None = None,
) -> tuple[Setting, ...]:
    """Every optimizer at every initial rate, optimizer by optimizer.

    Args:
        optimizers: Optimizer names (see `setting`).
        rates: Initial learning rates.
        betas: The hypergradient rate of each HD optimizer among `optimizers`.

    Returns:
        The settings, in the order optimizers x rates.
    """
    betas = betas or {}
    return tuple(setting(o, r, betas.get(o)) for o in optimizers for r in rates)


def by_rate(
    results: Results,
    optimizer: str,
    rates: Sequence[float],
    beta: float | None = None,
    metric: str = "val_accuracy",
) -> np.ndarray:
    """One optimizer's `metric` at each initial rate: shape `(rates, seeds, epochs)`.

    Args:
        results: Results of a study made of `setting` settings.
        optimizer: The optimizer.
        rates: The initial rates to read, in this order.
        beta: The hypergradient rate (HD optimizers only).
        metric: A metric of the results.

    Returns:
        The per-epoch values.
    """
    return np.stack([results.get(metric, setting(optimizer, r, beta).name) for r in rates])


def finals_by_rate(
    results: Results,
    optimizers: Sequence[str],
    rates: Sequence[float],
    betas: Mapping[str, float] | None = None,
    metric: str = "val_accuracy",
) -> dict[str, np.ndarray]:
    """Final values (the common definition, `claims.final`) per optimizer.

    Args:
        results: Results of a study made by `rate_settings`.
        optimizers: The optimizers to read.
        rates: The initial rates to read.
        betas: The hypergradient rate of each HD optimizer.
        metric: A metric of the results.

    Returns:
        `{optimizer: array of shape (rates, seeds)}`.
    """
    betas = betas or {}
    return {o: final(by_rate(results, o, rates, betas.get(o), metric)) for o in optimizers}


def with_start(runs: np.ndarray, rate: float) -> np.ndarray:
    """Per-epoch rates `(seeds, epochs)` with the initial rate in front, as epoch 0."""
    runs = np.asarray(runs, dtype=float)
    return np.concatenate([np.full((len(runs), 1), rate), runs], axis=1)


def adapted_rates(
    results: Results, optimizer: str, rates: Sequence[float], beta: float
) -> dict[str, np.ndarray]:
    """The learning rate at the end of each epoch, per initial rate.

    Args:
        results: Results with a `"learning_rate"` metric.
        optimizer: An HD optimizer.
        rates: The initial rates.
        beta: Its hypergradient rate.

    Returns:
        `{"start <rate>": array (seeds, 1 + epochs)}`, epoch 0 being the initial rate.
    """
    runs = by_rate(results, optimizer, rates, beta, "learning_rate")
    return {f"start {r:g}": with_start(v, r) for r, v in zip(rates, runs)}


def save_first_updates(
    rates: Mapping[str, np.ndarray], test_accuracy: Mapping[str, float], **meta: object
) -> None:
    """Keep the demo's per-update rates and test accuracies with the other results.

    Written to `<results>/08_hypergradient/first_updates.json`, so the numbers the
    chapter's text quotes can be checked against the run that drew the figure.

    Args:
        rates: Per run label, the initial rate followed by the rate of every update.
        test_accuracy: Per run label, the final test accuracy.
        **meta: How the runs were made (epochs, seed, data source, ...).
    """
    values = {
        "rates": {k: np.asarray(v).tolist() for k, v in rates.items()},
        "test_accuracy": {k: float(v) for k, v in test_accuracy.items()},
    }
    Record(values, {"quick": config.quick(), **meta}).save(
        config.results_dir() / "08_hypergradient" / "first_updates.json"
    )


# --- analysis ---------------------------------------------------------------------------


def range_over_rates(finals: np.ndarray) -> np.ndarray:
    """Per seed: best minus worst final accuracy over the initial rates.

    Args:
        finals: Shape `(rates, seeds)`.

    Returns:
        Shape `(seeds,)`.
    """
    finals = np.asarray(finals, dtype=float)
    return np.nanmax(finals, axis=0) - np.nanmin(finals, axis=0)


def best_initial_rate(finals: np.ndarray, rates: Sequence[float]) -> float:
    """The initial rate of the highest mean (over seeds) final accuracy.

    Args:
        finals: Shape `(rates, seeds)`.
        rates: The rates of the rows of `finals`.

    Returns:
        One of `rates`.
    """
    return rates[int(np.argmax(np.nanmean(np.asarray(finals, dtype=float), axis=1)))]


def beta_runs(
    sweep: Results,
    main: Results,
    optimizer: str,
    betas: Sequence[float],
    main_beta: float,
    rates: Sequence[float],
    metric: str = "val_accuracy",
) -> dict[float, np.ndarray]:
    """An HD optimizer's runs at each hypergradient rate, the main study's beta included.

    Args:
        sweep: Results of the beta sweep (the other betas).
        main: Results of the main study (its beta `main_beta`, same seeds).
        optimizer: An HD optimizer.
        betas: The sweep's betas for `optimizer`.
        main_beta: The main study's beta, read from `main`.
        rates: The sweep's initial rates (all of them also in the main study).
        metric: A metric of both results.

    Returns:
        `{beta: array (rates, seeds, epochs)}`, betas in increasing order.
    """
    out = {b: by_rate(sweep, optimizer, rates, b, metric) for b in betas}
    out[main_beta] = by_rate(main, optimizer, rates, main_beta, metric)
    return dict(sorted(out.items()))


class Harm(NamedTuple):
    """The runs (rate x seed) a hypergradient rate harmed; each field `(rates, seeds)`.

    Attributes:
        diverged: The loss diverged (`claims.diverged`).
        negative: The rate was driven to zero or below (a negative rate steps uphill).
        collapsed: HD cut the rate below a tenth of its start *and* of the plain
            optimizer's best initial rate, where the plain optimizer itself trains
            slowly.
        final_rate: The rate after the last epoch.
    """

    diverged: np.ndarray
    negative: np.ndarray
    collapsed: np.ndarray
    final_rate: np.ndarray

    def any(self) -> bool:
        """True if any run was harmed in any way."""
        return bool(any(getattr(self, k).any() for k in HARMS))

    def describe(self) -> str:
        """E.g. `"4 diverged of 15 runs"` or `"no run harmed"`."""
        parts = [f"{int(getattr(self, k).sum())} {k}" for k in HARMS if getattr(self, k).any()]
        if not parts:
            return "no run harmed"
        text = ", ".join(parts) + f" of {self.diverged.size} runs"
        if self.negative.any() or self.collapsed.any():
            text += f" (lowest final rate {np.nanmin(self.final_rate):.2g})"
        return text


def beta_harm(
    rate: np.ndarray, loss: np.ndarray, starts: Sequence[float], plain_best: float
) -> Harm:
    """Which runs a hypergradient rate harmed (see `Harm`).

    Args:
        rate: The adapted learning rate per epoch, shape `(rates, seeds, epochs)`.
        loss: The training loss per epoch, same shape.
        starts: The initial rate of each row.
        plain_best: The plain optimizer's best initial rate.

    Returns:
        The harmed runs; a run counts under the first harm that applies.
    """
    rate, loss = np.asarray(rate, dtype=float), np.asarray(loss, dtype=float)
    with warnings.catch_warnings():  # all-NaN slices of diverged runs
        warnings.simplefilter("ignore", RuntimeWarning)
        blew = diverged(loss.reshape(-1, loss.shape[-1])).reshape(loss.shape[:2])
        negative = (np.nanmin(rate, axis=2) <= 0) & ~blew
        end = rate[:, :, -1]
        low = np.asarray(starts, dtype=float)[:, None] / 10
        collapsed = (end < low) & (end < plain_best / 10) & ~blew & ~negative
    return Harm(blew, negative, collapsed, end)


class BetaSweep(NamedTuple):
    """An HD optimizer at several hypergradient rates (betas), with its baseline.

    Attributes:
        optimizer: The HD optimizer (`"sgd_hd"`, `"adam_hd"`).
        rates: The initial rates of the sweep.
        main_beta: The beta of the main study (its runs are included).
        finals: `{beta: final test accuracy (rates, seeds)}`, betas increasing.
        harm: `{beta: Harm}`.
        plain_finals: The plain optimizer at the same rates and seeds, `(rates, seeds)`.
        plain_best: The plain optimizer's best initial rate in the main study.
    """

    optimizer: str
    rates: tuple[float, ...]
    main_beta: float
    finals: dict[float, np.ndarray]
    harm: dict[float, Harm]
    plain_finals: np.ndarray
    plain_best: float

    def curves(self) -> dict[str, np.ndarray]:
        """Final accuracy per beta, labelled for a figure (diverged runs and the main
        study's beta named)."""
        return {
            f"beta = {b:g}"
            + (" (diverged)" if self.harm[b].diverged.any() else "")
            + (" (as above)" if b == self.main_beta else ""): v
            for b, v in self.finals.items()
        }


def beta_sweep(
    sweep: Results,
    main: Results,
    optimizer: str,
    betas: Sequence[float],
    main_beta: float,
    rates: Sequence[float],
    main_rates: Sequence[float],
) -> BetaSweep:
    """Final accuracies and harms of an HD optimizer at every beta tried.

    Args:
        sweep: Results of the beta sweep (the other betas).
        main: Results of the main study (beta `main_beta`, the plain optimizer, the
            same seeds).
        optimizer: The HD optimizer.
        betas: The sweep's betas for `optimizer`.
        main_beta: The main study's beta.
        rates: The sweep's initial rates (all of them in the main study too).
        main_rates: The main study's initial rates (for the plain optimizer's best).

    Returns:
        The `BetaSweep`.
    """
    plain = plain_of(optimizer)
    plain_best = best_initial_rate(final(by_rate(main, plain, main_rates)), main_rates)
    accuracy = beta_runs(sweep, main, optimizer, betas, main_beta, rates)
    rate = beta_runs(sweep, main, optimizer, betas, main_beta, rates, "learning_rate")
    loss = beta_runs(sweep, main, optimizer, betas, main_beta, rates, "loss")
    return BetaSweep(
        optimizer,
        tuple(rates),
        main_beta,
        {b: final(v) for b, v in accuracy.items()},
        {b: beta_harm(rate[b], loss[b], rates, plain_best) for b in accuracy},
        final(by_rate(main, plain, rates)),
        plain_best,
    )


# --- what a step costs --------------------------------------------------------------


def step_costs(
    x: np.ndarray,
    y: np.ndarray,
    optimizers: Mapping[str, Callable[[], keras.optimizers.Optimizer]],
    steps: int,
    rounds: int,
    batch: int = 128,
    build: Callable[[], keras.Model] = models.mnist_convnet,
) -> Record:
    """Milliseconds per training step and optimizer-state size, per optimizer.

    Each model is compiled and fitted on two batches first (a warm-up that builds and
    traces the step). Then the optimizers take turns, one epoch of `steps` batches
    each per round, so round k of every optimizer runs under the same machine load.

    Args:
        x: Training inputs; the first `steps * batch` are used (fewer make fewer
            steps, and the time is divided by the steps actually taken).
        y: Integer labels.
        optimizers: Per name, a function making a fresh optimizer.
        steps: Steps per timed epoch.
        rounds: Timed rounds; the best is reported, all are kept.
        batch: Batch size.
        build: Makes the model (the MNIST ConvNet by default).

    Returns:
        Per name: `ms_per_step` (best round), `all_ms` (every round), `weights`
        (trainable numbers of the model) and `optimizer_state` (numbers the
        optimizer keeps); the machine in `meta`.
    """
    x, y = x[: steps * batch], y[: steps * batch]
    steps = -(-len(x) // batch)  # the steps one epoch takes (fewer if x is short)
    fitted = {}
    for name, make in optimizers.items():
        keras.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
        model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, verbose=0)
        fitted[name] = model
    times = {name: [] for name in optimizers}
    for _ in range(rounds):
        for name, model in fitted.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
            times[name].append((time.perf_counter() - start) / steps * 1000)
    values = {}
    for name, model in fitted.items():
        values[name] = {
            "ms_per_step": min(times[name]),
            "all_ms": times[name],
            "weights": sum(int(np.prod(v.shape)) for v in model.trainable_variables),
            "optimizer_state": sum(int(np.prod(v.shape)) for v in model.optimizer.variables),
        }
    return Record(values, {"machine": platform.machine(), "processor": platform.processor()})


def describe_step_costs(costs: Mapping[str, Mapping[str, float]]) -> str:
    """One line per optimizer: time per step and optimizer state in copies of the weights."""
    return "\n".join(
        f"{name:8s} {v['ms_per_step']:6.1f} ms per step; optimizer state "
        f"{v['optimizer_state']:,} numbers for {v['weights']:,} weights "
        f"({v['optimizer_state'] / v['weights']:.2f} copies)"
        for name, v in costs.items()
    )
