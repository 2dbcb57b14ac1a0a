"""The settings of chapter 7's studies: the blobs schedules by kind, and MNIST one-cycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from lr_lessons.lab import studies
from lr_lessons.lab.constant_rates import ConstantRates, constant_settings
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools.schedules import OneCycle


def schedule_settings(
    constants: ConstantRates,
    cyclical: Mapping[str, Any],
    steps: int,
    decay_start: float = 0.1,
) -> dict[str, list[Setting]]:
    """The blobs study's settings by kind: constants, decays, cycles and one-cycle.

    The decays (inverse-time, step at half and three quarters of the run, and
    `ReduceLROnPlateau` with `patience=10`) start from `decay_start`; the cyclical
    settings take `cyclical["triangular"]`, `cyclical["triangular2"]` and
    `cyclical["one-cycle"]` as they are.

    Args:
        constants: The constant rates, each named after the methods that picked it.
        cyclical: Keras schedules keyed `"triangular"`, `"triangular2"`, `"one-cycle"`.
        steps: The run's number of updates (the step decay's clock).
        decay_start: The rate every decay starts from.

    Returns:
        `{kind: [Setting, ...]}`, kinds in the order the chapter shows them.
    """
    start = f"{decay_start:g}"
    return {
        "constant rate": constants.settings("sgd"),
        f"decay from {start}": [
            Setting(
                f"inverse-time decay from {start}",
                "sgd",
                schedule=studies.inverse_time_decay(1e-3, decay_start),
            ),
            Setting(
                f"step decay from {start}",
                "sgd",
                schedule=keras.optimizers.schedules.PiecewiseConstantDecay(
                    [steps // 2, 3 * steps // 4],
                    [decay_start, decay_start / 10, decay_start / 100],
                ),
            ),
            Setting(
                f"ReduceLROnPlateau from {start}",
                "sgd",
                decay_start,
                plateau={"patience": 10},
            ),
        ],
        "cyclical": [
            Setting("cyclical triangular", "sgd", schedule=cyclical["triangular"]),
            Setting("cyclical triangular2", "sgd", schedule=cyclical["triangular2"]),
        ],
        "one-cycle": [Setting("one-cycle", "sgd", schedule=cyclical["one-cycle"])],
    }


ONE_CYCLE = "one-cycle"
NO_MARGIN = "one-cycle, no margin"


def mnist_one_cycle_study(
    grid: tuple[float, ...],
    peak: float,
    safety: float,
    steps: int,
    epochs: int,
    batch_size: int,
) -> Study:
    """The MNIST study: constant rates, one-cycle with a safety margin, and without one.

    One-cycle (`ONE_CYCLE`) runs between `peak / safety / 4` and `peak / safety`; the
    unmargined one (`NO_MARGIN`) between `peak / 4` and `peak`.

    Args:
        grid: The constant rates.
        peak: The range test's accuracy peak.
        safety: The margin `max_lr` keeps below `peak`.
        steps: The run's total updates (`OneCycle`'s `total_steps`).
        epochs: Epochs per run.
        batch_size: The batch size.

    Returns:
        The `Study` (problem `mnist`, model `mnist_convnet`).
    """
    top = peak / safety
    return Study(
        "schedules_mnist",
        "SGD on MNIST: one-cycle vs constant rates",
        (
            *constant_settings(grid),
            Setting(ONE_CYCLE, "sgd", schedule=OneCycle(top / 4, top, steps)),
            Setting(NO_MARGIN, "sgd", schedule=OneCycle(peak / 4, peak, steps)),
        ),
        epochs=epochs,
        batch_size=batch_size,
        problem="mnist",
        model="mnist_convnet",
        loss="sparse_categorical_crossentropy",
    )
