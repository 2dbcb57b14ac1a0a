"""The learning-rate range test for Keras 3: ``LRFinder`` (a callback) and ``range_test``.

Train for a few hundred batches while the learning rate grows from ``start_lr`` to
``end_lr`` (exponentially or linearly), record every batch's rate and loss, and read the
curve: the loss first barely moves, then falls, then explodes. Smith (2015, 2017)
introduced it; fastai's ``lr_find`` made it popular.

What this version does that the old Keras finders do not:

- **The batch's own loss.** In Keras 3, ``logs["loss"]`` in ``on_train_batch_end`` is the
  running mean since the epoch began, so a finder that records it plots a smeared, lagging
  curve. Keras' loss tracker (the ``Mean`` metric named ``"loss"`` in ``model.metrics``)
  keeps ``total = sum(n_b * loss_b)`` and ``count = sum(n_b)``, weighted by each batch's
  size ``n_b``. The finder reads both after every batch; the batch's loss is
  ``(total_k - total_{k-1}) / (count_k - count_{k-1})``. That is exact for a partial last
  batch and with sample weights (the weights are inside the batch loss), up to the
  float32 rounding of Keras' own running sum (about 1e-7 of the sum). Other logged
  metrics (``accuracy``...) are de-averaged the same way from their running means and the
  exact sample counts: ``m_k = (N_k * mean_k - N_{k-1} * mean_{k-1}) / n_k``.
- **Restore.** Weights (and dropout seed states), every optimizer variable (iterations,
  momenta, Adam moments) and the original learning rate, a float or a
  ``LearningRateSchedule``, are put back bit for bit, so training can start at once.
- Bias-corrected smoothing, the original's loss delta, early stopping with a recorded
  reason, three suggestion rules (see :mod:`lr_lessons.lr_suggestions`), repeats over
  seeds with spreads, and Smith's validation mode.

This module depends on Keras and NumPy only (drawing is in
:mod:`lr_lessons.range_test_plots`, imported when you call ``plot``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lr_lessons.files import atomic_path
from lr_lessons.lr_suggestions import (
    SUGGESTIONS,
    Suggestion,
    check_names,
    ema,
    loss_delta,
    peak,
    suggest,
)

MODES = ("exponential", "linear")
STOP_END = "end_lr reached"
STOP_DIVERGED = "loss diverged"
STOP_NONFINITE = "non-finite loss"
STOP_DATA = "training ended before end_lr"

__all__ = [
    "LRFinder",
    "RangeTestResult",
    "RangeTestRepeats",
    "range_test",
    "range_test_repeats",
    "ramp",
    "Suggestion",
    "SUGGESTIONS",
]


# --- settings -------------------------------------------------------------------------


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return float(value)


def _whole(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _check_range(start_lr: float, end_lr: float, mode: str) -> tuple[float, float]:
    start_lr = _positive(start_lr, "start_lr")
    end_lr = _positive(end_lr, "end_lr")
    if end_lr <= start_lr:
        raise ValueError(f"end_lr ({end_lr!r}) must be larger than start_lr ({start_lr!r})")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {list(MODES)}")
    return start_lr, end_lr


def _check_steps(steps: Any, window: int) -> int:
    steps = _whole(steps, "steps", 2)
    if steps <= window:
        raise ValueError(
            f"steps={steps} is too few for the smoothing window of {window} batches: "
            f"use more than {window} steps (a range test needs a few hundred) or a smaller window"
        )
    return steps


def ramp(start_lr: float, end_lr: float, steps: int, mode: str = "exponential") -> np.ndarray:
    """The learning rate of each of ``steps`` batches: ``start_lr`` first, ``end_lr`` last.

    Exponential: ``start * (end / start) ** (k / (steps - 1))``, equal steps per decade.
    Linear: ``start + (end - start) * k / (steps - 1)``, Smith's original ramp.
    """
    start_lr, end_lr = _check_range(start_lr, end_lr, mode)
    steps = _whole(steps, "steps", 2)
    t = np.arange(steps, dtype="float64") / (steps - 1)
    if mode == "exponential":
        return start_lr * (end_lr / start_lr) ** t
    return start_lr + (end_lr - start_lr) * t


def _check_compiled(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=...) "
            "before the range test"
        )
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built: give it a keras.Input or call it on a batch first"
        )


# --- results --------------------------------------------------------------------------


@dataclass
class RangeTestResult:
    """One range test: every batch's rate and loss, why it stopped, and how to read it.

    ``lrs[k]`` is the rate batch ``k`` was trained with and ``losses[k]`` that batch's
    own loss; ``metrics`` holds other per-batch values (e.g. ``accuracy``) and
    ``validation`` the validation-mode points (``step``, ``lr``, ``loss``, ...).
    ``settings`` holds the test's settings (``beta``, ``window``, ``skip_start``...),
    ``meta`` whatever the caller adds (data source, seed...).
    """

    lrs: np.ndarray
    losses: np.ndarray
    stop_reason: str
    settings: dict[str, Any]
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    validation: dict[str, np.ndarray] = field(default_factory=dict)
    stop_lr: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lrs = np.asarray(self.lrs, dtype="float64")
        self.losses = np.asarray(self.losses, dtype="float64")
        self.metrics = {k: np.asarray(v, dtype="float64") for k, v in self.metrics.items()}
        self.validation = {k: np.asarray(v, dtype="float64") for k, v in self.validation.items()}
        if self.lrs.shape != self.losses.shape:
            raise ValueError(f"lrs {self.lrs.shape} and losses {self.losses.shape} differ")

    def __len__(self) -> int:
        return len(self.lrs)

    @property
    def smoothed(self) -> np.ndarray:
        """The bias-corrected EMA of the batch losses (``settings["beta"]``)."""
        return ema(self.losses, self.settings.get("beta", 0.98))

    def loss_delta(self, window: int | None = None, smoothed: bool = False) -> np.ndarray:
        """The original's ``(loss[i] - loss[i - w]) / w`` (raw losses unless ``smoothed``)."""
        w = self.settings.get("window", 20) if window is None else window
        return loss_delta(self.smoothed if smoothed else self.losses, w)

    def smoothed_metric(self, name: str) -> np.ndarray:
        """A per-batch metric (e.g. ``"accuracy"``) smoothed like the loss."""
        if name not in self.metrics:
            raise KeyError(f"no per-batch metric {name!r}; there are {sorted(self.metrics)}")
        return ema(self.metrics[name], self.settings.get("beta", 0.98))

    def suggestion(self, name: str = "valley") -> Suggestion:
        """The rate suggested by rule ``name`` ("steepest", "minimum" or "valley")."""
        check_names([name])
        if len(self) < 3:
            raise ValueError(f"the test stopped after {len(self)} batches: too few to read")
        return suggest(
            name,
            self.lrs,
            self.smoothed,
            self.settings.get("skip_start", 0.1),
            self.settings.get("skip_end", 5),
        )

    def suggestions(self, names: Sequence[str] = SUGGESTIONS) -> dict[str, Suggestion]:
        """Every rule's suggestion, by name."""
        return {name: self.suggestion(name) for name in check_names(names)}

    def max_usable_lr(self, metric: str = "accuracy", validation: bool | None = None) -> float:
        """Smith's "maximum rate": where the (smoothed) metric stops improving.

        ``validation=None`` reads the validation points when the test recorded the metric
        there (validation mode), else the smoothed per-batch training metric. A metric
        whose name contains ``loss`` is best when lowest, any other when highest.
        """
        use_val = metric in self.validation if validation is None else validation
        higher = "loss" not in metric
        if use_val:
            if metric not in self.validation:
                raise KeyError(f"no validation {metric!r}; there are {sorted(self.validation)}")
            return float(self.validation["lr"][peak(self.validation[metric], higher)])
        values = self.smoothed if metric == "loss" else self.smoothed_metric(metric)
        return float(self.lrs[peak(values, higher)])

    def cyclical_bounds(
        self, fraction: float = 0.25, metric: str = "accuracy"
    ) -> tuple[float, float]:
        """``(base_lr, max_lr)`` for a cyclical schedule: the max usable rate and a
        ``fraction`` of it (Smith: a third to a quarter)."""
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
        top = self.max_usable_lr(metric)
        return top * fraction, top

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The arrays and a JSON header, as saved by :meth:`save`."""
        out = {f"{prefix}lrs": self.lrs, f"{prefix}losses": self.losses}
        out.update({f"{prefix}metric_{k}": v for k, v in self.metrics.items()})
        out.update({f"{prefix}val_{k}": v for k, v in self.validation.items()})
        header = {
            "stop_reason": self.stop_reason,
            "stop_lr": self.stop_lr,
            "settings": self.settings,
            "meta": self.meta,
        }
        out[f"{prefix}header"] = np.array(json.dumps(header, default=str))
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "") -> RangeTestResult:
        header = json.loads(str(arrays[f"{prefix}header"]))
        metrics, validation = {}, {}
        for key, value in arrays.items():
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            if rest.startswith("metric_"):
                metrics[rest[len("metric_") :]] = value
            elif rest.startswith("val_"):
                validation[rest[len("val_") :]] = value
        return cls(
            arrays[f"{prefix}lrs"],
            arrays[f"{prefix}losses"],
            header["stop_reason"],
            header["settings"],
            metrics,
            validation,
            header["stop_lr"],
            header["meta"],
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write to ``path`` (``.npz``) atomically."""
        return _save_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> RangeTestResult:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            return cls.from_arrays({k: f[k] for k in f.files})

    def plot(self, ax=None, label: str = "range test", **kwargs):
        """Loss against rate (log x) with the suggestions marked; returns the figure."""
        from lr_lessons.range_test_plots import plot_loss

        return plot_loss({label: self}, ax=ax, **kwargs)


def _save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return Path(path)


@dataclass
class RangeTestRepeats:
    """The same range test from several seeds: a mean curve with a band, and spreads."""

    seeds: list[int]
    runs: list[RangeTestResult]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.seeds) != len(self.runs) or not self.runs:
            raise ValueError(
                f"need one run per seed: {len(self.seeds)} seeds, {len(self.runs)} runs"
            )

    @property
    def settings(self) -> dict[str, Any]:
        return self.runs[0].settings

    def curves(self, kind: str = "smoothed") -> tuple[np.ndarray, np.ndarray]:
        """``(lrs, values)``: values of shape (seeds, steps) over the steps all runs reached.

        Every run follows the same ramp, so step ``k`` has the same rate in each; the
        curves are cut where the first run stopped. ``kind``: "smoothed", "raw", "delta".
        """
        n = min(len(r) for r in self.runs)
        if kind == "smoothed":
            rows = [r.smoothed[:n] for r in self.runs]
        elif kind == "raw":
            rows = [r.losses[:n] for r in self.runs]
        elif kind == "delta":
            rows = [r.loss_delta()[:n] for r in self.runs]
        else:
            raise ValueError(f"unknown curve kind {kind!r}; choose smoothed, raw or delta")
        return self.runs[0].lrs[:n], np.vstack(rows)

    def mean_curve(
        self, kind: str = "smoothed"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(lrs, mean, low, high)`` over seeds, low/high the min and max."""
        lrs, values = self.curves(kind)
        with np.errstate(all="ignore"):
            return lrs, values.mean(0), values.min(0), values.max(0)

    def suggestion_spread(self, name: str) -> np.ndarray:
        """Each seed's suggested rate for rule ``name``."""
        return np.array([r.suggestion(name).lr for r in self.runs])

    def suggestion_summary(self, name: str) -> tuple[float, float, float]:
        """``(geometric mean, min, max)`` of the rule's rate over seeds."""
        lrs = self.suggestion_spread(name)
        return float(np.exp(np.log(lrs).mean())), float(lrs.min()), float(lrs.max())

    def suggestion(self, name: str = "valley") -> Suggestion:
        """The rule applied to the seed-mean smoothed curve (loss marked on that curve)."""
        lrs, mean, _, _ = self.mean_curve()
        s = self.runs[0].settings
        return suggest(name, lrs, mean, s.get("skip_start", 0.1), s.get("skip_end", 5))

    def min_loss(self) -> np.ndarray:
        """Each seed's lowest smoothed loss."""
        return np.array([np.min(r.smoothed) for r in self.runs])

    def save(self, path: str | os.PathLike) -> Path:
        """Write every run and the metadata to one ``.npz`` atomically."""
        arrays: dict[str, np.ndarray] = {
            "repeats": np.array(json.dumps({"seeds": self.seeds, "meta": self.meta}, default=str))
        }
        for i, run in enumerate(self.runs):
            arrays.update(run.to_arrays(prefix=f"run{i}_"))
        return _save_npz(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RangeTestRepeats:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        head = json.loads(str(arrays["repeats"]))
        runs = [RangeTestResult.from_arrays(arrays, f"run{i}_") for i in range(len(head["seeds"]))]
        return cls(head["seeds"], runs, head["meta"])

    def plot(self, ax=None, label: str = "range test", **kwargs):
        """Mean loss against rate with the min-max band and each rule's spread."""
        from lr_lessons.range_test_plots import plot_loss

        return plot_loss({label: self}, ax=ax, **kwargs)


# --- the callback ---------------------------------------------------------------------


def _value(variable) -> float:
    return float(keras.ops.convert_to_numpy(variable))


class LRFinder(keras.callbacks.Callback):
    """The range test as a Keras callback: ``model.fit(..., callbacks=[LRFinder()])``.

    Each batch ``k`` is trained at ``ramp(start_lr, end_lr, steps, mode)[k]``; ``steps``
    defaults to all batches of the ``fit`` call (``epochs x steps per epoch``). The test
    stops training at ``end_lr``, when a loss is NaN or infinite, or when the smoothed
    loss exceeds ``diverge`` times its best value. ``result`` (a
    :class:`RangeTestResult`) is ready after ``fit`` returns.

    With ``restore=True`` the weights, the optimizer's variables and its learning rate
    (float or schedule) are put back exactly at the end of ``fit``; ``restore=False``
    leaves the weights and optimizer state as the test left them (the rate still goes
    back). The model must be compiled with ``steps_per_execution=1``.

    ``validation_data=(x, y)`` turns on Smith's validation mode: every
    ``validate_every`` batches the model is evaluated on that fixed set (the training
    metrics' running state is kept intact).
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
        validation_data: tuple[Any, Any] | None = None,
        validate_every: int = 10,
        validation_batch_size: int | None = None,
        skip_start: float = 0.1,
        skip_end: int = 5,
    ) -> None:
        super().__init__()
        self.start_lr, self.end_lr = _check_range(start_lr, end_lr, mode)
        self.mode = mode
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta!r}")
        self.beta = float(beta)
        if diverge is not None and _positive(diverge, "diverge") <= 1:
            raise ValueError(
                f"diverge must be above 1 (a multiple of the best loss), got {diverge!r}"
            )
        self.diverge = diverge
        self.window = _whole(window, "window")
        self.steps = None if steps is None else _check_steps(steps, self.window)
        self.restore = bool(restore)
        if validation_data is not None and len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        self.validation_data = validation_data
        self.validate_every = _whole(validate_every, "validate_every")
        self.validation_batch_size = validation_batch_size
        self.skip_start, self.skip_end = float(skip_start), int(skip_end)
        self.result: RangeTestResult | None = None
        self.meta: dict[str, Any] = {}

    # settings as stored with the result
    def settings(self) -> dict[str, Any]:
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "steps": self._total,
            "mode": self.mode,
            "beta": self.beta,
            "diverge": self.diverge,
            "window": self.window,
            "validate_every": self.validate_every if self.validation_data is not None else None,
            "skip_start": self.skip_start,
            "skip_end": self.skip_end,
        }

    def on_train_begin(self, logs=None) -> None:
        model = self.model
        _check_compiled(model)
        total = self.steps
        if total is None:
            epochs, per_epoch = self.params.get("epochs"), self.params.get("steps")
            if not epochs or not per_epoch:
                raise ValueError(
                    "LRFinder cannot tell how many batches fit will run (unknown steps per "
                    "epoch): pass steps=... to LRFinder"
                )
            total = _check_steps(int(epochs) * int(per_epoch), self.window)
        self._total = total
        self._rates = ramp(self.start_lr, self.end_lr, total, self.mode)
        optimizer = model.optimizer
        if not optimizer.built:
            # What its first update would do: create zeroed slots for every weight.
            optimizer.build(model.trainable_variables)
        if getattr(model, "steps_per_execution", 1) != 1:
            raise ValueError(
                f"steps_per_execution={model.steps_per_execution}: the range test needs "
                "steps_per_execution=1 to change the rate and read the loss at every batch"
            )
        self._tracker = next((m for m in model.metrics if m.name == "loss"), None)
        if self._tracker is None:
            raise ValueError("the model has no loss tracker: compile it with a loss")
        if self.restore:
            self._model_state = [np.array(v.numpy(), copy=True) for v in model.variables]
            self._optimizer_state = [np.array(v.numpy(), copy=True) for v in optimizer.variables]
        # The finder drives the rate through a variable the compiled step reads each batch.
        self._original_rate = optimizer._learning_rate
        if isinstance(self._original_rate, keras.Variable):
            self._rate_var = self._original_rate
            self._original_value = np.array(self._rate_var.numpy(), copy=True)
            self._swapped = False
        else:  # a LearningRateSchedule (or callable): swap in a variable, retrace the step
            self._rate_var = keras.Variable(
                self.start_lr, trainable=False, name="range_test_learning_rate"
            )
            optimizer._learning_rate = self._rate_var
            model.make_train_function(force=True)
            self._swapped = True
        # Record each rate as the optimizer sees it (rounded to the variable's dtype).
        self._rates = self._rates.astype(self._rate_var.dtype).astype("float64")
        self._step = 0
        self._prev_total = self._prev_count = 0.0
        self._prev_means: dict[str, float] = {}
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._metrics: dict[str, list[float]] = {}
        self._val: dict[str, list[float]] = {}
        self._avg = 0.0
        self._best = math.inf
        self._stop_reason: str | None = None
        self._stop_lr: float | None = None
        self.result = None

    def on_epoch_begin(self, epoch, logs=None) -> None:
        # fit resets every metric at the start of an epoch.
        self._prev_total = self._prev_count = 0.0
        self._prev_means = {}

    def on_train_batch_begin(self, batch, logs=None) -> None:
        if self._step < self._total:
            self._rate_var.assign(self._rates[self._step])

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self._stop_reason is not None:
            return
        total, count = _value(self._tracker.total), _value(self._tracker.count)
        if count < self._prev_count:  # the metrics were reset by someone else
            self._prev_total = self._prev_count = 0.0
            self._prev_means = {}
        n = count - self._prev_count
        lr = float(self._rates[min(self._step, self._total - 1)])
        loss = (total - self._prev_total) / n if n > 0 else math.nan
        means = {k: float(v) for k, v in (logs or {}).items() if k != "loss" and np.ndim(v) == 0}
        self._prev_total, self._prev_count = total, count
        if not math.isfinite(loss):
            self._stop(STOP_NONFINITE, lr)
            return
        self._lrs.append(lr)
        self._losses.append(loss)
        for k, mean in means.items():
            before = self._prev_means.get(k, 0.0)
            value = (count * mean - (count - n) * before) / n
            self._metrics.setdefault(k, [math.nan] * (len(self._lrs) - 1)).append(value)
        self._prev_means = means
        self._step += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        smooth = self._avg / (1 - self.beta**self._step)
        self._best = min(self._best, smooth)
        if self.validation_data is not None and self._step % self.validate_every == 0:
            self._validate(lr)
        if self.diverge is not None and smooth > self.diverge * self._best:
            self._stop(STOP_DIVERGED, lr)
        elif self._step >= self._total:
            self._stop(STOP_END, lr)

    def _stop(self, reason: str, lr: float) -> None:
        self._stop_reason, self._stop_lr = reason, lr
        self.model.stop_training = True

    def _validate(self, lr: float) -> None:
        # evaluate() resets the metrics fit is accumulating: keep their state around it.
        saved = [np.array(v.numpy(), copy=True) for v in self.model.metrics_variables]
        x_val, y_val = self.validation_data
        out = self.model.evaluate(
            x_val, y_val, batch_size=self.validation_batch_size, verbose=0, return_dict=True
        )
        for v, value in zip(self.model.metrics_variables, saved):
            v.assign(value)
        self._val.setdefault("step", []).append(self._step - 1)
        self._val.setdefault("lr", []).append(lr)
        for k, v in out.items():
            self._val.setdefault(k, []).append(float(v))

    def restore_model(self) -> None:
        """Put back the learning rate, and with ``restore`` the weights and optimizer state.

        The rate always goes back (the ramp belongs to the test, not to the model), so
        even ``restore=False`` never leaves the optimizer at the test's last, huge rate.
        """
        model, optimizer = self.model, self.model.optimizer
        if self._swapped:
            optimizer._learning_rate = self._original_rate
            model.make_train_function(force=True)
            self._swapped = False
        else:
            self._rate_var.assign(self._original_value)
        if self.restore:
            for v, value in zip(model.variables, self._model_state):
                v.assign(value)
            for v, value in zip(optimizer.variables, self._optimizer_state):
                v.assign(value)

    def on_train_end(self, logs=None) -> None:
        reason = self._stop_reason or STOP_DATA
        n = len(self._lrs)
        metrics = {k: np.array(v + [math.nan] * (n - len(v))) for k, v in self._metrics.items()}
        self.result = RangeTestResult(
            np.array(self._lrs),
            np.array(self._losses),
            reason,
            self.settings(),
            metrics,
            {k: np.array(v) for k, v in self._val.items()},
            self._stop_lr,
            dict(self.meta),
        )
        self.restore_model()


# --- the one-call test ----------------------------------------------------------------


def _is_dataset(x: Any) -> bool:
    import tensorflow as tf

    return isinstance(x, tf.data.Dataset)


def _steps_per_epoch(x: Any, y: Any, batch_size: int | None) -> int | None:
    if _is_dataset(x):
        if batch_size is not None:
            raise ValueError("batch_size must be None for a tf.data.Dataset (it is batched)")
        n = int(x.cardinality())
        return n if n > 0 else None
    n = len(x)
    if y is not None and len(y) != n:
        raise ValueError(f"x and y differ in length: {n} vs {len(y)}")
    return math.ceil(n / (batch_size or 32))


def range_test(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int | None = 100,
    epochs: int | None = None,
    mode: str = "exponential",
    beta: float = 0.98,
    diverge: float | None = 4.0,
    window: int = 20,
    restore: bool = True,
    validation_data: tuple[Any, Any] | None = None,
    validate_every: int = 10,
    shuffle: bool = True,
    skip_start: float = 0.1,
    skip_end: int = 5,
    seed: int | None = None,
    meta: Mapping[str, Any] | None = None,
    verbose: int = 0,
) -> RangeTestResult:
    """Run a complete range test on a compiled model; the model comes back unchanged.

    ``x``/``y`` are arrays (batched by ``batch_size``, default 32) or ``x`` is a batched
    ``tf.data.Dataset``. The ramp covers ``steps`` batches, or ``epochs`` passes over the
    data when ``steps`` is None; short data is cycled through as many epochs as needed.
    ``seed`` (if given) seeds Keras first, fixing the batch order and dropout masks.
    ``skip_start``/``skip_end`` set how much of each end the suggestion rules ignore.
    """
    _check_compiled(model)
    _check_range(start_lr, end_lr, mode)
    per_epoch = _steps_per_epoch(x, y, batch_size)
    if steps is None:
        if epochs is None or per_epoch is None:
            raise ValueError("give steps, or epochs with data of known length")
        steps = _whole(epochs, "epochs") * per_epoch
    steps = _check_steps(steps, _whole(window, "window"))
    finder = LRFinder(
        start_lr,
        end_lr,
        steps,
        mode,
        beta,
        diverge,
        window,
        restore,
        validation_data,
        validate_every,
        skip_start=skip_start,
        skip_end=skip_end,
    )
    finder.meta = dict(meta or {})
    if seed is not None:
        keras.utils.set_random_seed(seed)
        finder.meta.setdefault("seed", seed)
    fit_args: dict[str, Any] = dict(callbacks=[finder], verbose=verbose)
    if per_epoch is None:  # a dataset of unknown length: one long "epoch"
        fit_args.update(epochs=1, steps_per_epoch=steps)
    else:
        fit_args.update(epochs=math.ceil(steps / per_epoch))
    if _is_dataset(x):
        fit_args.update(shuffle=False)  # a dataset is shuffled (or not) by its own pipeline
    else:
        fit_args.update(batch_size=batch_size or 32, shuffle=shuffle)
    model.fit(x, y, **fit_args)
    assert finder.result is not None
    return finder.result


def range_test_repeats(
    build: Callable[[int], keras.Model],
    x: Any,
    y: Any = None,
    seeds: Sequence[int] = (0, 1, 2),
    meta: Mapping[str, Any] | None = None,
    progress: Callable[[int, RangeTestResult], None] | None = None,
    **kwargs: Any,
) -> RangeTestRepeats:
    """The range test from fresh weights for each seed.

    ``build(seed)`` returns a new compiled model (it is called after Keras is seeded with
    ``seed``, so the seed fixes the initial weights, batch order and dropout masks).
    ``kwargs`` go to :func:`range_test`; ``progress(seed, result)`` is called after each.
    """
    seeds = [_whole(s, "seed", 0) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty")
    runs = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = build(seed)
        run = range_test(model, x, y, seed=seed, meta=meta, **kwargs)
        runs.append(run)
        if progress is not None:
            progress(seed, run)
    return RangeTestRepeats(seeds, runs, dict(meta or {}))
