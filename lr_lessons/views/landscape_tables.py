"""Chapter 9's results laid out for its maps: one array per quantity, and the map panels.

`landscape.Grid.values` gives one study's runs as `(rows, rates, seeds, epochs)`. The
chapter's figures need more: the quantities a map shows (final test accuracy, diverged
runs, epochs to 75%), rows gathered from several studies (batch size 32 is a row of the
momentum and optimizer grids), chapters 3 and 4's settings rerun at every momentum next
to the map's constant rate, and the keyword arguments of each heatmap panel. The
functions here do that gathering, so the chapter names what it wants instead of
spelling setting names. Nothing here trains.
"""

from __future__ import annotations

import resource
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from matplotlib.colors import LogNorm

from lr_lessons.lab import landscape
from lr_lessons.lab.results import Results
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.views.claims import final


def _final(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # all-NaN epochs of diverged runs
        warnings.simplefilter("ignore", RuntimeWarning)
        return final(values)


def _diverged(loss: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # all-NaN epochs of diverged runs
        warnings.simplefilter("ignore", RuntimeWarning)
        return landscape.divergence(loss)


class RateMap(NamedTuple):
    """What a grid's map shows, per cell and seed: each array `(rows, rates, seeds)`.

    Attributes:
        rates: The grid's learning rates (its columns).
        rows: The grid's row labels.
        accuracy: Final test accuracy (`claims.final`).
        diverged: The run diverged (`landscape.divergence`).
        epochs_to_target: First epoch at 75% test accuracy (NaN: never).
        loss: Final training loss.
    """

    rates: np.ndarray
    rows: tuple[str, ...]
    accuracy: np.ndarray
    diverged: np.ndarray
    epochs_to_target: np.ndarray
    loss: np.ndarray

    def best_rate(self) -> np.ndarray:
        """Per row and seed, the best rate (`landscape.best_rate`): `(rows, seeds)`."""
        return landscape.best_rate(self.rates, np.swapaxes(self.accuracy, -1, -2))

    def best_rate_of_mean(self) -> np.ndarray:
        """Per row, the best rate of the mean over seeds: `(rows,)`."""
        return landscape.best_rate(self.rates, self.accuracy.mean(-1))


def rate_map(grid: landscape.Grid, results: Results) -> RateMap:
    """The `RateMap` of one grid's results.

    Args:
        grid: The grid (`landscape.momentum_grid()`, ...).
        results: What `run_study(grid.study)` returned.

    Returns:
        The arrays its maps and claims use.
    """
    accuracy = grid.values(results, "val_accuracy")
    loss = grid.values(results, "loss")
    return RateMap(
        np.array(grid.rates),
        tuple(grid.rows),
        _final(accuracy),
        _diverged(loss),
        landscape.epochs_to_target(accuracy, landscape.TARGET),
        _final(loss),
    )


def by_batch_size(
    batches: Sequence[int],
    results: Mapping[int, Results],
    at_32: Mapping[str, np.ndarray],
    rows: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Final test accuracy per optimizer, batch size, rate and seed.

    Args:
        batches: Batch sizes, in order.
        results: Per batch size other than 32, the results of
            `landscape.batch_grid(batch)`.
        at_32: Per optimizer label, its `(rates, seeds)` accuracy at batch size 32
            (rows of the momentum and optimizer grids: the same settings).
        rows: Optimizer label -> row of the batch grids (default SGD and Adam).

    Returns:
        `{label: array (batches, rates, seeds)}`.
    """
    rows = rows or {"SGD": "sgd", "Adam": "adam"}
    out: dict[str, list[np.ndarray]] = {k: [] for k in rows}
    for b in batches:
        if b == 32:
            for k in rows:
                out[k].append(np.asarray(at_32[k]))
            continue
        grid = landscape.batch_grid(b)
        accuracy = final(grid.values(results[b], "val_accuracy"))
        for k, row in rows.items():
            out[k].append(accuracy[grid.rows.index(row)])
    return {k: np.stack(v) for k, v in out.items()}


class BatchScaling(NamedTuple):
    """How the best rate moves with the batch size, per optimizer label.

    Attributes:
        best: The best rate per batch size and seed, `(batches, seeds)`.
        region: The good region of the mean over seeds, per batch size.
        fit: A line that turns flat (`landscape.hinge_fit`), through all seeds.
        seed_fits: The same fit, one per seed.
    """

    best: dict[str, np.ndarray]
    region: dict[str, landscape.Region]
    fit: dict[str, landscape.Hinge]
    seed_fits: dict[str, list[landscape.Hinge]]

    def slope(self, label: str) -> np.ndarray:
        """Per seed, the fitted slope below the knee."""
        return np.array([f.slope for f in self.seed_fits[label]])

    def knee(self, label: str) -> np.ndarray:
        """Per seed, the batch size where the fitted line turns flat."""
        return np.array([f.knee for f in self.seed_fits[label]])


def batch_scaling(
    batches: Sequence[int],
    rates: Sequence[float],
    accuracy: Mapping[str, np.ndarray],
    tol: float = landscape.GOOD_TOLERANCE,
) -> BatchScaling:
    """Best rates, good regions and fitted lines against the batch size.

    Args:
        batches: Batch sizes (the first axis of each array).
        rates: Learning rates.
        accuracy: `{label: (batches, rates, seeds)}` (see `by_batch_size`).
        tol: Tolerance of the good region.

    Returns:
        The `BatchScaling`.
    """
    best = {k: landscape.best_rate(rates, np.swapaxes(v, -1, -2)) for k, v in accuracy.items()}
    x = np.array(batches, float)
    return BatchScaling(
        best,
        {k: landscape.good_region(rates, v.mean(-1), tol) for k, v in accuracy.items()},
        {k: landscape.hinge_fit(np.repeat(x[:, None], v.shape[1], 1), v) for k, v in best.items()},
        {
            k: [landscape.hinge_fit(batches, v[:, j]) for j in range(v.shape[1])]
            for k, v in best.items()
        },
    )


# --- chapters 3 and 4 along the momentum axis ------------------------------------------


def decay_rate(setting: Setting) -> float:
    """The `decay_rate` of a setting's `InverseTimeDecay` schedule."""
    return float(setting.schedule["config"]["decay_rate"])


def patience(setting: Setting) -> int:
    """The `patience` of a setting's `ReduceLROnPlateau`."""
    return int(setting.plateau["patience"])


def by_momentum(
    results: Results,
    study: Study,
    metric: str,
    momenta: Sequence[float],
    columns: Sequence[Any],
    column: Callable[[Setting], Any],
) -> np.ndarray:
    """A study's runs arranged by momentum and one other setting, read from the settings.

    Args:
        results: What `run_study(study)` returned.
        study: A study whose settings each have a `momentum` option.
        metric: A metric of the results.
        momenta: The momenta (rows), in order.
        columns: The values of the other setting (columns), in order.
        column: Reads that value from a setting (e.g. `decay_rate`).

    Returns:
        Shape `(momenta, columns, seeds, epochs)`.
    """
    name = {(s.options.get("momentum", 0.0), column(s)): s.name for s in study.settings}
    return np.stack([np.stack([results.get(metric, name[m, c]) for c in columns]) for m in momenta])


class MomentumRows(NamedTuple):
    """A study rerun at every momentum, per momentum, column and seed.

    Attributes:
        columns: The values of the other setting (decay rates, patiences, ...).
        accuracy: Final test accuracy, `(momenta, columns, seeds)`.
        diverged: The run diverged, same shape.
        loss: Final training loss, same shape.
        learning_rate: The rate per epoch, `(momenta, columns, seeds, epochs)`.
    """

    columns: tuple[Any, ...]
    accuracy: np.ndarray
    diverged: np.ndarray
    loss: np.ndarray
    learning_rate: np.ndarray


def momentum_rows(
    results: Results,
    study: Study,
    momenta: Sequence[float],
    columns: Sequence[Any],
    column: Callable[[Setting], Any],
) -> MomentumRows:
    """What the chapter 3 and 4 maps and claims use, arranged by `by_momentum`.

    Args:
        results: What `run_study(study)` returned.
        study: A study whose settings each have a `momentum` option.
        momenta: The momenta (rows), in order.
        columns: The values of the other setting (columns), in order.
        column: Reads that value from a setting (e.g. `decay_rate`).

    Returns:
        The `MomentumRows`.
    """

    def runs(metric: str) -> np.ndarray:
        return by_momentum(results, study, metric, momenta, columns, column)

    loss = runs("loss")
    return MomentumRows(
        tuple(columns),
        _final(runs("val_accuracy")),
        _diverged(loss),
        _final(loss),
        runs("learning_rate"),
    )


def next_to_constant(constant: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Prepend the constant-rate column to per-setting columns given in reverse order.

    Args:
        constant: `(momenta, seeds)`.
        columns: `(momenta, columns, seeds)`, strongest setting last.

    Returns:
        `(momenta, 1 + columns, seeds)`: the constant rate, then the columns from the
        strongest to the weakest (as the maps show them).
    """
    return np.concatenate([constant[:, None], columns[:, ::-1]], 1)


# --- heatmap panels (keyword arguments of `landscape_plots.grid_maps`) ------------------


def accuracy_panel(
    accuracy: np.ndarray,
    diverged: np.ndarray | None = None,
    spread: float = landscape.SPREAD_THRESHOLD,
    **options: Any,
) -> dict[str, Any]:
    """A map of final test accuracy, mean over seeds, with its noisy and diverged cells.

    Args:
        accuracy: `(rows, columns, seeds)`.
        diverged: `(rows, columns, seeds)`; a cell is hatched if any seed diverged.
        spread: Cells whose seeds lie more than this apart are outlined.
        **options: More keyword arguments of `landscape_plots.heatmap` (`best`,
            `columns`, `xlabel`, `theory`, ...).

    Returns:
        The panel's keyword arguments.
    """
    panel = dict(
        values=accuracy.mean(-1),
        colorbar_label="final test accuracy",
        noisy=landscape.spread(accuracy) > spread,
    )
    if diverged is not None:
        panel["diverged"] = diverged.any(-1)
    return {**panel, **options}


def epochs_panel(epochs: np.ndarray, diverged: np.ndarray, max_epochs: int) -> dict[str, Any]:
    """A map of the median seed's epochs to 75% test accuracy (log colour scale).

    Args:
        epochs: `(rows, columns, seeds)`, NaN for never.
        diverged: `(rows, columns, seeds)`.
        max_epochs: The runs' length (the top of the colour scale).

    Returns:
        The panel's keyword arguments.
    """
    return dict(
        values=landscape.median_epochs_to_target(epochs),
        cmap="cividis_r",
        norm=LogNorm(1, max_epochs),
        fmt="{:.0f}",
        colorbar_label="epochs (log scale)",
        diverged=diverged.any(-1),
    )


def loss_panel(loss: np.ndarray, diverged: np.ndarray, **options: Any) -> dict[str, Any]:
    """A map of final training loss, mean over seeds (log colour scale, low is good).

    Args:
        loss: `(rows, columns, seeds)`.
        diverged: `(rows, columns, seeds)`.
        **options: More keyword arguments of `landscape_plots.heatmap`.

    Returns:
        The panel's keyword arguments.
    """
    return dict(
        values=loss.mean(-1),
        cmap="viridis_r",
        norm=LogNorm(),
        fmt="{:.3f}",
        colorbar_label="final training loss (log scale)",
        diverged=diverged.any(-1),
        **options,
    )


def chapters_3_4_panels(
    m: RateMap, decay: MomentumRows, plateau: MomentumRows, constant: int
) -> dict[str, dict[str, Any]]:
    """The maps of chapters 3 and 4 along the momentum axis, each next to a constant rate.

    Args:
        m: The momentum map; its column `constant` is the maps' "none" column.
        decay: Chapter 3's decays at every momentum (`momentum_rows`).
        plateau: Chapter 4's patiences at every momentum.
        constant: The index in `m.rates` of the rate both start from (0.01).

    Returns:
        `{panel title: keyword arguments}` for `landscape_plots.grid_maps`: the final
        test accuracy of the decays, the final training loss of the patiences.
    """
    rate = f"{m.rates[constant]:g}"
    return {
        f"chapter 3: final test accuracy, decays of a {rate} start rate": accuracy_panel(
            next_to_constant(m.accuracy[:, constant], decay.accuracy),
            next_to_constant(m.diverged[:, constant], decay.diverged),
            columns=["none", *[f"{x:g}" for x in decay.columns[::-1]]],
            xlabel="decay (InverseTimeDecay decay_rate, per update)",
        ),
        f"chapter 4: final training loss, ReduceLROnPlateau at rate {rate}": loss_panel(
            next_to_constant(m.loss[:, constant], plateau.loss),
            next_to_constant(m.diverged[:, constant], plateau.diverged),
            columns=["none", *[str(x) for x in plateau.columns[::-1]]],
            xlabel="patience (epochs)",
        ),
    }


def effective_rate_lines(
    momenta: Sequence[float], constants: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0)
) -> dict[str, Any]:
    """Lines of constant effective rate eta / (1 - mu) on a momentum map.

    Args:
        momenta: The map's rows.
        constants: The effective rates to draw.

    Returns:
        Keyword arguments of `landscape_plots.theory_lines`.
    """
    return dict(
        factors=1 - np.asarray(momenta, dtype=float),
        constants=tuple(constants),
        label=(
            "constant effective rate $\\eta/(1-\\mu)$ = "
            + ", ".join(f"{c:g}" for c in constants)
            + " (left to right)"
        ),
    )


def scaling_lines(label: str, batches: Sequence[int], at_32: float, power: float) -> dict[str, Any]:
    """The line eta proportional to B**power through the best rate at batch size 32.

    Args:
        label: The optimizer's name.
        batches: The map's rows.
        at_32: The best rate at batch size 32.
        power: 1 (linear scaling) or 0.5 (square-root scaling).

    Returns:
        Keyword arguments of `landscape_plots.theory_lines`.
    """
    rule = "$\\eta \\propto B$" if power == 1 else "$\\eta \\propto \\sqrt{B}$"
    return dict(
        factors=(np.array(batches, float) / 32) ** power,
        constants=(at_32,),
        label=f"{label}: {rule}",
    )


# --- speed ------------------------------------------------------------------------------


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, KiB on Linux
    return rss / (1e6 if sys.platform == "darwin" else 1024)


def training_speed(results: Sequence[Results]) -> str:
    """Runs, training time and runs per second of several studies, as stored with them.

    The times are those of the original training, also when the results are read
    back from disk.

    Args:
        results: The studies' results.

    Returns:
        One line, e.g. `"2310 runs of 200 epochs in 11 studies: 281 s of training,
        8.2 runs per second (engine: stacked)"`.
    """
    runs = sum(len(r.settings) * len(r.seeds) for r in results)
    seconds = sum(r.meta["wall_time_s"] for r in results)
    engines = sorted({r.meta["engine"] for r in results})
    return (
        f"{runs} runs of {results[0].epochs} epochs in {len(results)} studies: "
        f"{seconds:.0f} s of training, {runs / seconds:.1f} runs per second "
        f"(engine: {', '.join(engines)})"
    )
