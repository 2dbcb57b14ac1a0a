"""Chapter 7's figures of a range test's bounds and of the coarse-to-fine search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lr_lessons.tools.schedules import rates
from lr_lessons.views import bar_plots, line_plots, plotting
from lr_lessons.views.claims import FINAL_DEFINITION
from lr_lessons.views.range_test_plots import plot_loss, plot_metric


def range_test_figures(
    repeats, ramp: str, peaks: Sequence[float], max_lr: float, folder: str
) -> tuple[Figure, Figure]:
    """Draw and save a range test's loss curve and the median seed's accuracy reading.

    Args:
        repeats: The `RangeTestRepeats` of the blobs network.
        ramp: One line describing the ramp, for both footers.
        peaks: Each seed's accuracy peak, in the order of `repeats.runs`.
        max_lr: The median seed's peak; the seed whose peak is nearest is shown.
        folder: The figures' folder (`range_test_loss.png`, `range_test_accuracy.png`).

    Returns:
        The loss figure and the accuracy figure.
    """
    loss = plot_loss(
        {"blobs MLP, SGD": repeats},
        title="Range test on the blobs network",
        note=plotting.caption(
            repeats,
            f"{ramp}; markers: each rule's median over the seeds' own curves, "
            "bar: min-max over seeds, hollow: unreliable",
            band="min-max",
        ),
    )
    plotting.save_figure(loss, f"{folder}/range_test_loss")
    run = repeats.runs[int(np.argmin(np.abs(np.log(np.asarray(peaks) / max_lr))))]
    accuracy = plot_metric(
        run,
        "accuracy",
        log_x=True,
        title="Smith's reading: where training accuracy stops rising",
        note=plotting.caption(
            repeats,
            f"{ramp}; shown: seed {run.meta.get('seed')}, the median seed's peak (max_lr)",
            band=None,
        ),
    )
    plotting.save_figure(accuracy, f"{folder}/range_test_accuracy")
    return loss, accuracy


def search_figure(search, picks: Mapping[str, float], folder: str) -> Figure:
    """Draw and save a coarse-to-fine search's trials with each method's pick.

    Args:
        search: The `coarse_to_fine` result (its trials are drawn, one dot per seed).
        picks: `{label: rate}`, each drawn as a dashed line.
        folder: The figure's folder (`search.png`).

    Returns:
        The figure.
    """
    fig = line_plots.search_trials(
        [(t.learning_rate, t.stage, t.scores) for t in search.trials],
        dict(picks),
        ylabel="test accuracy, mean of last 3 epochs",
        title=(f"Coarse-to-fine search on blobs (SGD, {search.epochs_per_trial} epochs per trial)"),
        note=plotting.caption([search.coarse, search.fine], "dots: seeds", band=None),
    )
    plotting.save_figure(fig, f"{folder}/search")
    return fig


def decay_figure(decays: Mapping, steps: int, note: str, folder: str) -> Figure:
    """Draw and save Keras decay schedules on a linear and a log axis (`decay_shapes.png`).

    Args:
        decays: `{kind: LearningRateSchedule}`, all from one start rate.
        steps: The last update drawn.
        note: The figure's footer.
        folder: The figure's folder.

    Returns:
        The figure.
    """
    labelled = {f"{k}: {type(s).__name__}": rates(s, steps + 1) for k, s in decays.items()}
    start = float(next(iter(labelled.values()))[0])
    fig = line_plots.curves(
        {"linear axis": labelled, "log axis": labelled},
        logy=(False, True),
        # below the step schedule's first level: no curve runs there
        legend_loc="upper right",
        legend_anchor=(1.0, 0.86),
        title=f"Four decays of one start rate ({start:g}) to a hundredth of it",
        note=note,
    )
    plotting.save_figure(fig, f"{folder}/decay_shapes")
    return fig


def cyclical_figure(cyclical: Mapping, steps: int, step_size: int, folder: str) -> Figure:
    """Draw and save cyclical schedules, one panel each (`cyclical_shapes.png`).

    Args:
        cyclical: `{name: LearningRateSchedule}` sharing one `base_lr` and `max_lr`.
        steps: The last update drawn.
        step_size: The cycles' step size, for the footer.
        folder: The figure's folder.

    Returns:
        The figure.
    """
    curves = {name: rates(s, steps + 1) for name, s in cyclical.items()}
    first = next(iter(cyclical.values()))
    fig = line_plots.curves(
        {name: {name: v} for name, v in curves.items()},
        title=(
            f"Cyclical schedules between {first.base_lr:.3g} and {first.max_lr:.3g} "
            "(range-test bounds)"
        ),
        note=(
            f"lr_lessons.tools.schedules evaluated at updates 0..{steps}; "
            f"step_size {step_size}; exp_range gamma = 0.01 ** (1 / steps)"
        ),
    )
    plotting.save_figure(fig, f"{folder}/cyclical_shapes")
    return fig


def study_figures(
    results, final_acc: Mapping[str, np.ndarray], kinds: Mapping[str, str], folder: str
) -> tuple[Figure, Figure, Figure]:
    """Draw and save the blobs study's rates, accuracy curves and final-accuracy bars.

    Args:
        results: The study's `Results`.
        final_acc: `{setting: final test accuracy per seed}`.
        kinds: `{setting: kind}`, one bar colour per kind.
        folder: The figures' folder (`study_rates.png`, `study_accuracy.png`,
            `study_final.png`).

    Returns:
        The three figures, in that order.
    """
    rate_fig = line_plots.rate_panels(
        results, ncols=2, title="The rate each setting trained with (last update of each epoch)"
    )
    plotting.save_figure(rate_fig, f"{folder}/study_rates")
    acc_fig = line_plots.accuracy_grid(results, ncols=2, title="Train and test accuracy per epoch")
    plotting.save_figure(acc_fig, f"{folder}/study_accuracy")
    final_fig = bar_plots.summary_bars(
        final_acc,
        f"final test accuracy ({FINAL_DEFINITION}; bar: mean, dots: seeds)",
        title="Final test accuracy on blobs, equal budget",
        note=plotting.caption(results, band=None),
        groups={s: kinds[s] for s in final_acc},
    )
    plotting.save_figure(final_fig, f"{folder}/study_final")
    return rate_fig, acc_fig, final_fig


def mnist_figure(
    acc: Mapping[str, np.ndarray],
    results,
    epochs: int,
    peak: float,
    safety: float,
    schedules: Sequence[str],
    folder: str,
) -> Figure:
    """Draw and save the MNIST study's test accuracies as bars (`mnist_one_cycle.png`).

    Args:
        acc: `{setting: test accuracy per seed}` (NaN for a diverged seed).
        results: The study's `Results`, for the footer.
        epochs: The epochs each setting trained.
        peak: The range test's accuracy peak (the unmargined `max_lr`).
        safety: The margin: one-cycle's `max_lr` is `peak / safety`.
        schedules: `(margined one-cycle, unmargined one-cycle)` setting names, each
            coloured on its own; the rest are constant rates.
        folder: The figure's folder.

    Returns:
        The figure.
    """
    top = peak / safety
    note = (
        f"one-cycle between {top / 4:.3g} and {top:.3g} (range-test accuracy peak "
        f"{peak:.3g} / {safety}); no margin: {peak / 4:.3g} to {peak:.3g}"
    )
    fig = bar_plots.summary_bars(
        acc,
        f"test accuracy after {epochs} epoch(s) (bar: mean, dots: seeds)",
        title="MNIST ConvNet, SGD: one-cycle vs constant rates",
        note=plotting.caption(results, note, band=None),
        groups={s: s if s in schedules else "constant rate" for s in acc},
    )
    plotting.save_figure(fig, f"{folder}/mnist_one_cycle")
    return fig
