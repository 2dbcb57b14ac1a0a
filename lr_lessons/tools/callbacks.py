"""Keras callbacks a reader can copy into their own project. They depend on Keras alone
(no other part of `lr_lessons`)."""

from __future__ import annotations

import keras

__all__ = ["LearningRateMonitor", "learning_rate_used"]


def learning_rate_used(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer applied in its most recent update.

    A float or variable rate is read as it stands. For a `LearningRateSchedule` the
    optimizer evaluates `schedule(iterations)` before it counts the update, so the
    rate of the last update is `schedule(iterations - 1)`; reading
    `optimizer.learning_rate` instead would give the rate of the *next* update.

    Under mixed precision the rate and the update counter are those of the
    `LossScaleOptimizer`'s inner optimizer, which makes the updates.

    Args:
        optimizer: A Keras optimizer (built or not).

    Returns:
        The rate, as a float.
    """
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    rate = getattr(optimizer, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        done = int(keras.ops.convert_to_numpy(optimizer.iterations))
        return float(keras.ops.convert_to_numpy(rate(max(done - 1, 0))))
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class LearningRateMonitor(keras.callbacks.Callback):
    """Record the learning rate in force at the end of every epoch.

    `rates` holds one value per epoch: the rate applied to that epoch's last batch,
    whether the optimizer's rate is a float, a variable changed by another callback
    (`ReduceLROnPlateau` changes it only after the epoch's updates) or a schedule.
    The value is also written to the epoch's logs as `learning_rate`, so it appears
    in `model.fit(...).history`.

    Args:
        per_batch: Also keep the rate of every update, in `batch_rates`.

    Example:

    ```python
    from lr_lessons import LearningRateMonitor

    monitor = LearningRateMonitor(per_batch=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(x_train, y_train, epochs=2, callbacks=[monitor], verbose=0)
    print(monitor.rates, history.history["learning_rate"])  # one rate per epoch
    ```
    """

    def __init__(self, per_batch: bool = False) -> None:
        super().__init__()
        self.per_batch = per_batch
        self.rates: list[float] = []
        self.batch_rates: list[float] = []
        self._last: float | None = None

    def on_train_begin(self, logs=None) -> None:
        self._last = None

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._last = learning_rate_used(self.model.optimizer)
        if self.per_batch:
            self.batch_rates.append(self._last)

    def on_epoch_end(self, epoch, logs=None) -> None:
        rate = self._last if self._last is not None else learning_rate_used(self.model.optimizer)
        self.rates.append(rate)
        if logs is not None:
            logs["learning_rate"] = rate
