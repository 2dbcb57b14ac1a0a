"""The reference engine: one plain `model.fit` per setting and seed, as a chapter shows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np

from lr_lessons.lab import models
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools.callbacks import LearningRateMonitor


def with_rate_multipliers(
    optimizer: keras.optimizers.Optimizer, multipliers: Sequence[float]
) -> keras.optimizers.Optimizer:
    """`optimizer` with each trainable variable updated at the rate times its multiplier.

    The copy is an instance of a subclass of the optimizer's class whose `update_step`
    passes `learning_rate * multipliers[i]` for the `i`-th trainable variable (in the
    order `model.trainable_variables` lists them): per-layer learning rates, as muP
    prescribes them. Multipliers of 1 leave the update unchanged.

    Args:
        optimizer: A Keras optimizer (not yet built).
        multipliers: One positive number per trainable variable.

    Returns:
        A new optimizer with the same configuration.
    """
    factors = [float(m) for m in multipliers]
    base = type(optimizer)

    def update_step(self, gradient, variable, learning_rate):
        factor = factors[self._get_variable_index(variable)]
        if factor != 1:
            learning_rate = learning_rate * np.float32(factor)
        return base.update_step(self, gradient, variable, learning_rate)

    scaled = type(f"{base.__name__}PerLayerRates", (base,), {"update_step": update_step})
    return scaled.from_config(optimizer.get_config())


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, progress: Callable[[int], None]) -> None:
        super().__init__()
        self.progress = progress

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.progress(1)


def fit_one(
    study: Study,
    setting: Setting,
    seed: int,
    data: Dataset,
    progress: Callable[[int], None] | None = None,
    shuffle: bool = True,
) -> dict[str, list[float]]:
    """Train one setting from one seed with `model.fit`.

    The seed fixes the initial weights and the order of the batches in every epoch.

    Args:
        study: The study (model, loss, epochs, batch size).
        setting: The setting to train (optimizer, rate, callbacks).
        seed: Passed to `keras.utils.set_random_seed` before the model is built.
        data: The training and test data (the test set is the validation data).
        progress: Called with 1 after every epoch (e.g. a progress bar's `update`).
        shuffle: `model.fit`'s `shuffle`.

    Returns:
        Keras' history dict, with the rate of every epoch under `learning_rate`.
    """
    if isinstance(study.model, models.DenseSpec):
        data = models.dense_data(study.model, data)
    keras.utils.set_random_seed(seed)
    model = models.build(study.model)
    optimizer = setting.make_optimizer()
    if isinstance(study.model, models.DenseSpec) and study.model.lr_multipliers is not None:
        optimizer = with_rate_multipliers(optimizer, study.model.rate_multipliers())
    model.compile(optimizer=optimizer, loss=study.loss, metrics=["accuracy"])
    callbacks = [LearningRateMonitor(), *setting.make_callbacks()]
    if progress is not None:
        callbacks.append(_EpochProgress(progress))
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_test, data.y_test),
        epochs=study.epochs,
        batch_size=study.batch_size,
        shuffle=shuffle,
        callbacks=callbacks,
        verbose=0,
    )
    return history.history


def train(
    study: Study,
    seeds: Sequence[int],
    data: Dataset,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run every setting x seed of `study` one after another with `model.fit`."""
    shape = (len(study.settings), len(seeds), study.epochs)
    out = {m: np.full(shape, np.nan) for m in METRICS}
    for i, setting in enumerate(study.settings):
        for j, seed in enumerate(seeds):
            history = fit_one(study, setting, seed, data, progress)
            for m in METRICS:
                values = np.asarray(history[m], dtype="float64")
                out[m][i, j, : len(values)] = values
    return out
