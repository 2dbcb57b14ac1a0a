"""`LRFinder`: the range test as a Keras 3 callback, for the TensorFlow, JAX and PyTorch
backends alike.

How it drives the rate (the inner optimizer's under mixed precision): update `k` of
the test runs at `ramp(...)[k]`. A float rate is a variable that the compiled train
step takes as an input, so the finder assigns each update's rate to it before the batch
(under JAX, whose `fit` passes each step's output state to the next step, after
writing that state to the variables, as Keras intends callbacks to change state): the
step is neither retraced nor recompiled, with or without XLA. A
`LearningRateSchedule` is computed inside the step from the iteration count, so it is
replaced for the test by a `RampSchedule` that looks the rate up by the optimizer's
own update counter; that step is traced once for the test and the original traced
step put back after it. No variable is added to the optimizer (`optimizer.variables`,
and so `model.save`, stay as they were), with gradient accumulation the ramp advances
only on real updates, and the original rate (value or schedule object) is put back.

How it reads the loss: Keras 3 hands callbacks the running mean since the epoch
began, not the batch's loss. Keras' loss tracker (the `Mean` metric named `"loss"`
in `model.metrics`) keeps `total = sum(n_b * loss_b)` and `count = sum(n_b)`; the
loss of the batches since the last update is `(total_k - total_j) / (count_k - count_j)`,
exact for partial batches and sample weights up to the float32 rounding of Keras' own
running sum. Other logged metrics are de-averaged the same way from their running means.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras
import numpy as np

from lr_lessons.checks import InputError, one_of, positive_number, probability, whole_number
from lr_lessons.tools.range_test.ramp import (
    STOP_CHANCE,
    STOP_DATA,
    STOP_DIVERGED,
    STOP_END,
    STOP_INTERRUPTED,
    STOP_NONFINITE,
    check_range,
    check_steps,
    ramp,
)
from lr_lessons.tools.range_test.result import RangeTestResult

# The chance-level stop: after the smoothed loss fell below CHANCE_LEARNED x chance, it
# climbed back to within CHANCE_BACK of chance (see ramp.STOP_REASONS).
CHANCE_LEARNED, CHANCE_BACK = 0.5, 0.05
MONITORS = ("loss", "val_loss")


class RampSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The rate of the `k`-th optimizer update since the test began, from a table.

    `k = step // A - first_step // A` where `step` is the optimizer's raw iteration
    counter and `A` its gradient-accumulation steps (1 without accumulation): Keras
    counts every batch in `step` and updates on the batches where `(step + 1) % A == 0`.
    `k` is clipped to the table.

    Args:
        rates: The rate of each update.
        first_step: The optimizer's iteration count when the test began.
        accumulation: The optimizer's `gradient_accumulation_steps` (or 1).
        dtype: The dtype of the rate the optimizer expects.

    Example:

    ```python
    from lr_lessons.tools.range_test import RampSchedule, ramp

    schedule = RampSchedule(ramp(1e-4, 1.0, steps=100), first_step=0)
    print(float(schedule(0)), float(schedule(99)))  # 1e-4 and 1.0
    ```
    """

    def __init__(
        self, rates: Any, first_step: int, accumulation: int = 1, dtype: str = "float32"
    ) -> None:
        super().__init__()
        self.rates = np.asarray(rates, dtype=dtype)
        self.first_step = int(first_step)
        self.accumulation = int(accumulation)
        self.dtype = dtype

    def __call__(self, step):
        a = self.accumulation
        k = keras.ops.floor_divide(step, a) - self.first_step // a
        k = keras.ops.clip(keras.ops.cast(k, "int32"), 0, len(self.rates) - 1)
        return keras.ops.take(keras.ops.convert_to_tensor(self.rates, self.dtype), k)

    def get_config(self) -> dict[str, Any]:
        return {
            "rates": self.rates.tolist(),
            "first_step": self.first_step,
            "accumulation": self.accumulation,
            "dtype": self.dtype,
        }


def rate_optimizer(optimizer: Any) -> Any:
    """The optimizer that holds the learning rate.

    Args:
        optimizer: A Keras optimizer, possibly a `LossScaleOptimizer` (mixed precision).

    Returns:
        The `inner_optimizer` of a `LossScaleOptimizer`, else `optimizer` itself.
    """
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def loss_name(model: keras.Model) -> str:
    """The compiled loss's name, lower case ("" when it has none)."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "name", None) or getattr(loss, "__name__", "")
    return str(name).lower()


def output_size(model: keras.Model) -> int | None:
    """The size of the last axis of the model's single output, when the model says it.

    A subclassed model has no `outputs` (None): `range_test` then reads the size
    from the model's predictions on the first batch.

    Args:
        model: A built Keras model.

    Returns:
        The size, or None (no `outputs`, several outputs, or an unknown size).
    """
    outputs = getattr(model, "outputs", None)
    if not outputs or len(outputs) != 1:
        return None
    size = outputs[0].shape[-1]
    return None if size is None else int(size)


def chance_level_loss(model: keras.Model, classes: int | None = None) -> float | None:
    """The loss of a constant uniform guess, when the model's loss says what it is.

    Args:
        model: A compiled Keras model.
        classes: The size of the model's output (the last axis of its predictions);
            default: read from `model.outputs` (a subclassed model has none).

    Returns:
        `ln(C)` for (sparse) categorical cross-entropy with `C` outputs, `ln(2)` for
        binary cross-entropy with one output; None otherwise (regression, custom
        losses, several outputs, or the output size unknown).
    """
    name = loss_name(model)
    if classes is None:
        classes = output_size(model)
    if not classes:
        return None
    if "categorical_crossentropy" in name and classes > 1:
        return math.log(classes)
    if "binary_crossentropy" in name and classes == 1:
        return math.log(2.0)
    return None


def check_optimizer(optimizer: Any) -> int:
    """Refuse optimizer options that would defeat a range test; return its accumulation.

    Args:
        optimizer: The model's optimizer (a `LossScaleOptimizer` is unwrapped).

    Returns:
        The rate optimizer's gradient accumulation steps (1 without accumulation).

    Raises:
        InputError: If `loss_scale_factor` is not None or a positive finite number
            (0 makes every gradient NaN), or `gradient_accumulation_steps` is not
            None or a positive whole number.
    """
    opts = [optimizer, rate_optimizer(optimizer)]
    for opt in opts:
        factor = getattr(opt, "loss_scale_factor", None)
        if factor is not None:
            positive_number(factor, "the optimizer's loss_scale_factor (None or > 0)")
    steps = getattr(opts[1], "gradient_accumulation_steps", None)
    if steps is None:
        return 1
    return whole_number(steps, "the optimizer's gradient_accumulation_steps", minimum=1)


def _value(variable) -> Any:
    return keras.ops.convert_to_numpy(variable)


def _snapshot(variables) -> list[np.ndarray]:
    return [np.array(_value(v), copy=True) for v in variables]


def check_compiled(model: Any) -> None:
    """Check that `model` is a compiled, built `keras.Model`.

    Args:
        model: The object to check.

    Raises:
        InputError: If it is not a model, not compiled or not built.
    """
    if not isinstance(model, keras.Model):
        raise InputError(f"expected a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise InputError(
            f"model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=...) "
            "before the range test"
        )
    if not model.built:
        raise InputError(
            f"model {model.name!r} is not built: give it a keras.Input or call it on a batch first"
        )


def _is_validation_pair(data: Any) -> bool:
    return isinstance(data, (tuple, list)) and len(data) in (2, 3)


def check_validation_data(data: Any) -> Any:
    """`data` if it is `(x, y)`, `(x, y, sample_weight)`, a `tf.data.Dataset` or a
    `keras.utils.PyDataset`.

    Args:
        data: The validation data to check.

    Returns:
        `data`, unchanged.

    Raises:
        InputError: Naming what was given otherwise.
    """
    if data is None or _is_validation_pair(data):
        return data
    if isinstance(data, keras.utils.PyDataset):
        return data
    try:
        import tensorflow as tf

        if isinstance(data, tf.data.Dataset):
            return data
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        pass
    raise InputError(
        f"validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), "
        f"a tf.data.Dataset or a keras.utils.PyDataset, got {type(data).__name__}"
    )


class LRFinder(keras.callbacks.Callback):
    """The range test as a Keras callback: `model.fit(..., callbacks=[LRFinder()])`.

    Each optimizer update `k` is made at `ramp(start_lr, end_lr, steps, mode)[k]`;
    `steps` defaults to every update of the `fit` call (epochs left after
    `initial_epoch` x batches per epoch, divided by the optimizer's gradient
    accumulation steps). One point is recorded per real update: its rate and the loss
    of the batches it used. The test stops training at `end_lr`, when a loss is NaN
    or infinite, when the smoothed loss exceeds `diverge` times its best value, or
    (classification) when it climbs back to chance level; `result.stop_reason` says
    which (see `lr_lessons.tools.range_test.STOP_REASONS`). `result` (a
    `RangeTestResult`) is ready after `fit` returns.

    Restoring: with `restore=True` the weights, every optimizer variable and the
    learning rate (float or schedule) are put back bit for bit at the end of `fit`;
    `restore=False` keeps the weights and optimizer state the test left (the rate
    still goes back). If `fit` is interrupted (Ctrl-C, an error), Keras does not end
    the callback: use the finder as a context manager, which restores on exit and
    keeps the curve so far (`stop_reason == "interrupted"`), as in the example
    below, or call `restore_model` yourself.

    Args:
        start_lr: The first rate of the ramp.
        end_lr: The last rate.
        steps: Updates in the ramp; default: every update of the `fit` call.
        mode: "exponential" (equal steps per decade) or "linear" (Smith's original).
        beta: Smoothing of the loss (bias-corrected EMA), in [0, 1).
        diverge: Stop when the smoothed loss exceeds this multiple of its best (None:
            never).
        window: The loss-delta window in points (the original's 20).
        restore: Put the weights and optimizer state back after the test.
        validation_data: `(x, y)`, `(x, y, sample_weight)` or a `tf.data.Dataset`
            scored every `validate_every` updates (Smith's validation mode).
        validate_every: Updates between validation scores (default 10, or 1 with
            `monitor="val_loss"`).
        validation_batch_size: Batch size for array validation data.
        monitor: "loss" (the curve is the training loss) or "val_loss": the
            validation loss drives the curve, divergence and the suggestions, as
            pytorch-lr-finder's `val_loader` (the training points go to
            `result.train`).
        chance_loss: The chance-level loss for the chance-level stop and the
            reliability check: "auto" (from a cross-entropy loss and the output size),
            a number, or None (off).
        reset_optimizer: Run the test on fresh optimizer slots (momenta, moments,
            iteration count zero), as a freshly compiled model would; the old state
            comes back afterwards. Use it on a pre-trained model (fine-tuning), whose
            old momentum otherwise pushes the test to diverge early.
        skip_start: Points the suggestion rules skip at the start (a fraction if < 1).
        skip_end: Points the rules skip at the end.

    Example:

    ```python
    from lr_lessons import LRFinder

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with LRFinder(start_lr=1e-6, end_lr=1.0) as finder:  # restores the model on exit
        model.fit(x_train, y_train, epochs=4, callbacks=[finder], verbose=0)
    print(finder.result.stop_reason, finder.result.suggestion("valley"))
    ```
    """

    def __init__(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        steps: int | None = None,
        mode: str = "exponential",
        beta: float = 0.98,
        diverge: float | None = 4.0,
        window: int = 20,
        restore: bool = True,
        validation_data: Any = None,
        validate_every: int | None = None,
        validation_batch_size: int | None = None,
        monitor: str = "loss",
        chance_loss: float | str | None = "auto",
        reset_optimizer: bool = False,
        skip_start: float = 0.1,
        skip_end: int = 5,
    ) -> None:
        super().__init__()
        self.start_lr, self.end_lr = check_range(start_lr, end_lr, mode)
        self.mode = mode
        self.beta = probability(beta, "beta")
        if diverge is not None and positive_number(diverge, "diverge") <= 1:
            raise InputError(
                f"diverge must be above 1 (a multiple of the best loss), got {diverge!r}"
            )
        self.diverge = diverge
        self.window = whole_number(window, "window", minimum=1)
        self.steps = None if steps is None else check_steps(steps)
        self.restore = bool(restore)
        self.monitor = one_of(monitor, MONITORS, "monitor")
        self.validation_data = check_validation_data(validation_data)
        if monitor == "val_loss" and validation_data is None:
            raise InputError(
                "monitor='val_loss' needs validation_data=(x_val, y_val) or a tf.data.Dataset"
            )
        if validate_every is None:
            validate_every = 1 if monitor == "val_loss" else 10
        self.validate_every = whole_number(validate_every, "validate_every", minimum=1)
        if validation_batch_size is not None:
            validation_batch_size = whole_number(
                validation_batch_size, "validation_batch_size", minimum=1
            )
        self.validation_batch_size = validation_batch_size
        if not (chance_loss is None or (isinstance(chance_loss, str) and chance_loss == "auto")):
            chance_loss = positive_number(chance_loss, "chance_loss")
        self.chance_loss = chance_loss
        self.reset_optimizer = bool(reset_optimizer)
        self.skip_start = positive_number(skip_start, "skip_start", allow_zero=True)
        self.skip_end = whole_number(skip_end, "skip_end", minimum=0)
        self.result: RangeTestResult | None = None
        self.meta: dict[str, Any] = {}
        self._active = False

    # settings as stored with the result
    def settings(self) -> dict[str, Any]:
        """The test's settings, as stored in `result.settings`."""
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "steps": getattr(self, "_total", self.steps),
            "mode": self.mode,
            "beta": self.beta,
            "diverge": self.diverge,
            "window": self.window,
            "validate_every": self.validate_every if self.validation_data is not None else None,
            "monitor": self.monitor,
            "chance_loss": getattr(self, "_chance", None),
            "reset_optimizer": self.reset_optimizer,
            "accumulation": getattr(self, "_accumulation", 1),
            "backend": keras.backend.backend(),
            "skip_start": self.skip_start,
            "skip_end": self.skip_end,
        }

    def __enter__(self) -> LRFinder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.restore_model(STOP_INTERRUPTED if exc_type is not None else None)

    def _raw_model(self) -> keras.Model:
        # Under JAX, Keras' `Callback.model` writes the whole training state back to the
        # model's variables on every access (a sync `fit` otherwise does once per
        # epoch); the per-batch code reads the state itself and must not pay for that.
        return getattr(self, "_model", None) or self.model

    def _read(self, variable: Any, kind: str) -> Any:
        """A variable's current value; under JAX, from the state `fit` trains on."""
        model = self._raw_model()
        if self._jax and not getattr(model, "_jax_state_synced", True):
            state = getattr(model, "_jax_state", None) or {}
            i = self._index[kind].get(id(variable))
            if state.get(kind) and i is not None:
                return _value(state[kind][i])
        return _value(variable)

    def _sync(self) -> None:
        # JAX trains on a copy of the state; write it back before reading variables.
        sync = getattr(self._raw_model(), "jax_state_sync", None)
        if sync is not None and keras.backend.backend() == "jax":
            sync()

    def on_train_begin(self, logs=None) -> None:
        model = self.model
        check_compiled(model)
        if getattr(model, "steps_per_execution", 1) != 1:
            raise InputError(
                f"steps_per_execution={model.steps_per_execution}: the range test needs "
                "steps_per_execution=1 to read the loss at every batch"
            )
        self._tracker = next((m for m in model.metrics if m.name == "loss"), None)
        if self._tracker is None:
            raise InputError("the model has no loss tracker: compile it with a loss")
        self._active = False
        self.result = None

    def _start(self, epoch: int) -> None:
        """Set the test up before its first batch (`fit`'s first `on_epoch_begin`)."""
        model = self.model
        optimizer = model.optimizer
        if not optimizer.built:  # what its first update would do: zeroed slots
            optimizer.build(model.trainable_variables)
        self._rate_opt = rate_optimizer(optimizer)
        self._accumulation = a = check_optimizer(optimizer)
        total = self.steps
        if total is None:
            epochs, per_epoch = self.params.get("epochs"), self.params.get("steps")
            if not epochs or not per_epoch:
                raise InputError(
                    "LRFinder cannot tell how many batches fit will run (unknown steps per "
                    "epoch): pass steps=... to LRFinder"
                )
            batches = (int(epochs) - int(epoch)) * int(per_epoch)
            if a > 1 and batches // a < 2:
                raise InputError(
                    f"the optimizer's gradient_accumulation_steps={a} leaves {batches // a} "
                    f"updates in the {batches} batches of this fit: the range test needs "
                    "hundreds of updates; accumulate over fewer batches or fit longer"
                )
            total = batches // a
        self._total = total = check_steps(total, self.beta, a)
        self._chance = self.chance_loss
        if self.chance_loss == "auto":
            self._chance = chance_level_loss(model)
            if (
                self._chance is None
                and "crossentropy" in loss_name(model)
                and not getattr(model, "outputs", None)
            ):
                warnings.warn(
                    f"the chance-level stop and its reliability check are off: model "
                    f"{model.name!r} has no `outputs` (a subclassed model), so its number of "
                    "classes is unknown; pass chance_loss=math.log(classes) to LRFinder (or "
                    "use range_test, which reads it from the first batch's predictions)",
                    stacklevel=2,
                )
        self._model_vars = list(model.variables)
        self._opt_vars = list(optimizer.variables)
        self._model_state = _snapshot(self._model_vars) if self.restore else None
        self._opt_state = _snapshot(self._opt_vars)
        if self.reset_optimizer:
            self._reset_slots()
        rate = self._rate_opt._learning_rate
        dtype = rate.dtype if isinstance(rate, keras.Variable) else keras.config.floatx()
        self._original_rate = rate
        self._first_step = int(_value(self._rate_opt._iterations))
        self._ramp = RampSchedule(
            ramp(self.start_lr, self.end_lr, total, self.mode),
            self._first_step,
            self._accumulation,
            str(dtype),
        )
        # Each rate recorded as the optimizer sees it (rounded to its dtype).
        self._rates = self._ramp.rates.astype("float64")
        self._jax = keras.backend.backend() == "jax"
        self._index = {
            kind: {id(v): i for i, v in enumerate(variables)}
            for kind, variables in (
                ("metrics_variables", model.metrics_variables),
                ("optimizer_variables", optimizer.variables),
            )
        }
        self._saved_train_function = None
        in_state = id(rate) in self._index["optimizer_variables"]
        if isinstance(rate, keras.Variable) and (in_state or not self._jax):
            # A float rate: assign each update's rate to its variable before the batch
            # (under JAX after a state sync, so the next step reads it). The compiled
            # step takes it as an input, so it is neither retraced nor recompiled: the
            # test costs what plain fit costs.
            self._rate_var = rate
            self._original_value = np.array(_value(rate), copy=True)
        else:
            # A schedule (or callable): it is computed inside the step from the
            # iteration count, so swap in the ramp as a schedule and retrace; nothing
            # is added to the optimizer. The traced step of the original rate is kept
            # and put back afterwards.
            self._rate_var = None
            self._saved_train_function = model.train_function
            self._rate_opt._learning_rate = self._ramp
            model.make_train_function(force=True)
        # Under mixed precision a step with non-finite gradients is skipped: read the
        # counter. Otherwise every batch is one call of the optimizer.
        self._read_counter = self._rate_opt is not optimizer
        self._active = True
        self._batches = 0
        self._recorded = 0
        self._prev_total = self._prev_count = 0.0
        self._prev_means: dict[str, float] = {}
        self._pending = [0.0, 0.0]  # loss sum, count since the last update
        self._pending_metrics: dict[str, float] = {}
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._metrics: dict[str, list[float]] = {}
        self._val: dict[str, list[float]] = {}
        self._train: dict[str, list[float]] = {}
        self._avg = 0.0
        self._points = 0
        self._best = math.inf
        self._stop_reason: str | None = None
        self._stop_lr: float | None = None

    def _reset_slots(self) -> None:
        """Give the rate optimizer the state a freshly built copy of it has."""
        opt = self._rate_opt
        fresh = opt.__class__.from_config(opt.get_config())
        fresh.build(self.model.trainable_variables)
        for v, f in zip(opt.variables, fresh.variables):
            if tuple(v.shape) != tuple(f.shape):  # pragma: no cover - same class, same build
                raise RuntimeError(f"cannot reset optimizer variable {v.path}: shapes differ")
            v.assign(_value(f))

    def on_epoch_begin(self, epoch, logs=None) -> None:
        if not self._active and self.result is None:
            self._start(epoch)
        # fit resets every metric at the start of an epoch.
        self._prev_total = self._prev_count = 0.0
        self._prev_means = {}

    def on_train_batch_begin(self, batch, logs=None) -> None:
        if not self._active or self._rate_var is None or self._stop_reason is not None:
            return
        if self._jax:
            # JAX's fit hands each step's output state to the next step and writes it
            # to the variables only when a callback asks for a sync; after one, it
            # reads the state (with the new rate) back from the variables. The sync
            # moves references, not data: no copy, no retrace.
            self._sync()
        self._rate_var.assign(self._rates[min(self._recorded, self._total - 1)])

    def on_train_batch_end(self, batch, logs=None) -> None:
        if not self._active or self._stop_reason is not None:
            return
        total = float(self._read(self._tracker.total, "metrics_variables"))
        count = float(self._read(self._tracker.count, "metrics_variables"))
        if count < self._prev_count:  # the metrics were reset by someone else
            self._prev_total = self._prev_count = 0.0
            self._prev_means = {}
        n = count - self._prev_count
        if n <= 0:
            return  # no sample trained (a generator that ran out mid-step): not a batch
        self._pending[0] += total - self._prev_total
        self._pending[1] += n
        means = {k: float(v) for k, v in (logs or {}).items() if k != "loss" and np.ndim(v) == 0}
        for k, mean in means.items():
            part = count * mean - self._prev_count * self._prev_means.get(k, 0.0)
            self._pending_metrics[k] = self._pending_metrics.get(k, 0.0) + part
        self._prev_total, self._prev_count, self._prev_means = total, count, means
        self._batches += 1
        if self._read_counter:
            step = int(self._read(self._rate_opt._iterations, "optimizer_variables"))
        else:
            step = self._first_step + self._batches
        a = self._accumulation
        updates = step // a - self._first_step // a
        if updates <= self._recorded:
            return  # gradients accumulated (or a skipped step): no update yet
        lr = float(self._rates[min(self._recorded, self._total - 1)])
        loss_sum, n_sum = self._pending
        loss = loss_sum / n_sum if n_sum > 0 else math.nan
        metrics = {k: v / n_sum for k, v in self._pending_metrics.items()} if n_sum > 0 else {}
        self._pending = [0.0, 0.0]
        self._pending_metrics = {}
        self._recorded = updates
        if not math.isfinite(loss):
            self._stop(STOP_NONFINITE, lr)
            return
        train = self._train if self.monitor == "val_loss" else None
        if train is None:
            self._lrs.append(lr)
            self._losses.append(loss)
            self._add_metrics(self._metrics, metrics, len(self._lrs))
        else:
            train.setdefault("lr", []).append(lr)
            train.setdefault("loss", []).append(loss)
            self._add_metrics(train, metrics, len(train["lr"]))
        due = self.validation_data is not None and self._recorded % self.validate_every == 0
        if self.monitor == "loss":
            if due:
                self._validate(lr)
            self._check_stop(loss, lr)
        elif due:
            val_loss = self._validate(lr)
            if not math.isfinite(val_loss):
                self._stop(STOP_NONFINITE, lr)
                return
            self._lrs.append(lr)
            self._losses.append(val_loss)
            self._check_stop(val_loss, lr)
        if self._stop_reason is None and self._recorded >= self._total:
            self._stop(STOP_END, lr)

    @staticmethod
    def _add_metrics(store: dict[str, list[float]], values: dict[str, float], n: int) -> None:
        for k, v in values.items():
            column = store.setdefault(k, [])
            column.extend([math.nan] * (n - 1 - len(column)))
            column.append(v)

    def _check_stop(self, loss: float, lr: float) -> None:
        self._points += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        smooth = self._avg / (1 - self.beta**self._points)
        self._best = min(self._best, smooth)
        chance = self._chance
        if self.diverge is not None and smooth > self.diverge * self._best:
            self._stop(STOP_DIVERGED, lr)
        elif (
            chance is not None
            and self._best < CHANCE_LEARNED * chance
            and smooth >= (1 - CHANCE_BACK) * chance
        ):
            self._stop(STOP_CHANCE, lr)

    def _stop(self, reason: str, lr: float) -> None:
        self._stop_reason, self._stop_lr = reason, lr
        self._raw_model().stop_training = True

    def _validate(self, lr: float) -> float:
        # evaluate() resets the metrics fit is accumulating: keep their state around it.
        model = self.model
        self._sync()
        saved = _snapshot(model.metrics_variables)
        data = self.validation_data
        kw: dict[str, Any] = dict(verbose=0, return_dict=True)
        if _is_validation_pair(data):
            x, y, *w = data
            kw.update(x=x, y=y, batch_size=self.validation_batch_size)
            if w:
                kw.update(sample_weight=w[0])
        else:
            kw.update(x=data)
        out = model.evaluate(**kw)
        for v, value in zip(model.metrics_variables, saved):
            v.assign(value)
        self._val.setdefault("step", []).append(self._recorded - 1)
        self._val.setdefault("lr", []).append(lr)
        for k, v in out.items():
            self._val.setdefault(k, []).append(float(v))
        return float(out["loss"])

    def _make_result(self, reason: str) -> RangeTestResult:
        n = len(self._lrs)
        metrics = {k: np.array(v + [math.nan] * (n - len(v))) for k, v in self._metrics.items()}
        m = len(self._train.get("lr", []))
        train = {k: np.array(v + [math.nan] * (m - len(v))) for k, v in self._train.items()}
        return RangeTestResult(
            np.array(self._lrs),
            np.array(self._losses),
            reason,
            self.settings(),
            metrics,
            {k: np.array(v) for k, v in self._val.items()},
            self._stop_lr,
            dict(self.meta),
            train,
        )

    def restore_model(self, reason: str | None = None) -> None:
        """End the test: keep the curve so far and put the model back.

        The rate always goes back (the ramp belongs to the test, not to the model), so
        even `restore=False` never leaves the optimizer at the test's last, huge rate;
        with `restore` the weights and every optimizer variable go back too (with
        `reset_optimizer`, the optimizer state always does). Safe to call more than
        once and after an interrupted `fit`: the first call makes `result` from the
        points recorded so far (stop reason `reason`, by default the one the test
        recorded, else "training ended before end_lr").

        Args:
            reason: The stop reason to record if the test had none.
        """
        if not self._active:
            return
        self._active = False
        model = self.model
        self._sync()
        self.result = self._make_result(self._stop_reason or reason or STOP_DATA)
        if self._model_state is not None:
            for v, value in zip(self._model_vars, self._model_state):
                v.assign(value)
        if self.restore or self.reset_optimizer:
            for v, value in zip(self._opt_vars, self._opt_state):
                v.assign(value)
        if self._rate_var is not None:
            self._rate_var.assign(self._original_value)
        else:
            self._rate_opt._learning_rate = self._original_rate
            if self._saved_train_function is not None:
                model.train_function = self._saved_train_function
            else:
                model.make_train_function(force=True)

    def on_train_end(self, logs=None) -> None:
        self.restore_model()
