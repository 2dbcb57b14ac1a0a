"""Run-it-for-me range tests: `range_test` (one model) and `range_test_repeats`
(fresh weights for each seed). Both accept what `model.fit` accepts."""

from __future__ import annotations

import math
import random
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np

from lr_lessons.checks import InputError, probability, whole_number
from lr_lessons.tools.range_test.finder import (
    LRFinder,
    chance_level_loss,
    check_compiled,
    check_optimizer,
    loss_name,
    output_size,
)
from lr_lessons.tools.range_test.ramp import (
    STOP_INTERRUPTED,
    STOP_NONFINITE,
    check_range,
    check_steps,
)
from lr_lessons.tools.range_test.result import RangeTestRepeats, RangeTestResult


def _is_dataset(x: Any) -> bool:
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        return False
    return isinstance(x, tf.data.Dataset)


def _is_batched_source(x: Any) -> bool:
    """Data that comes in batches already: PyDataset, torch DataLoader, generators."""
    if isinstance(x, keras.utils.PyDataset):
        return True
    if type(x).__module__.startswith("torch.utils.data"):
        return True
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "__len__"))


def _length(leaf: Any, what: str) -> int:
    shape = getattr(leaf, "shape", None)
    if shape is not None and len(shape) > 0 and shape[0] is not None:
        return int(shape[0])
    try:
        return len(leaf)
    except TypeError:
        raise InputError(
            f"cannot tell how many samples {what} has ({type(leaf).__name__}): give arrays, "
            "a dict or list of arrays, a tf.data.Dataset, a PyDataset or a generator"
        ) from None


def _samples(data: Any, what: str) -> int | None:
    """The number of samples in `data` (arrays, or a dict/list/tuple of them)."""
    if data is None:
        return None
    leaves = keras.tree.flatten(data)
    if not leaves:
        raise InputError(f"{what} is empty: give it at least one array")
    sizes = {_length(leaf, what) for leaf in leaves}
    if len(sizes) > 1:
        raise InputError(f"the arrays in {what} differ in length: {sorted(sizes)}")
    return sizes.pop()


def _plan(x: Any, y: Any, batch_size: Any) -> tuple[Any, int | None, dict[str, Any]]:
    """`(x, batches per epoch or None, fit arguments)` for the kind of data given."""
    if _is_dataset(x) or _is_batched_source(x):
        if batch_size is not None:
            raise InputError(
                f"batch_size must be None for a {type(x).__name__} (it yields batches "
                f"already), got {batch_size!r}"
            )
        if y is not None:
            raise InputError(f"y must be None when x is a {type(x).__name__} (it holds y)")
    if _is_dataset(x):
        n = int(x.cardinality())
        if n == 0:
            raise InputError("the tf.data.Dataset is empty (cardinality 0): nothing to train on")
        if n > 0:
            return x, n, {}
        if n == -2:  # unknown length (e.g. after .filter()): cycle it, as documented
            x = x.repeat()
        return x, None, {}  # infinite: one long epoch
    if _is_batched_source(x):
        try:
            n = len(x)
        except TypeError:
            n = None  # a generator: consumed once
        if n == 0:
            raise InputError(f"the {type(x).__name__} has no batches: nothing to train on")
        return x, n, {}
    if batch_size is None:
        batch_size = 32
    batch_size = whole_number(batch_size, "batch_size", minimum=1)
    n = _samples(x, "x")
    ny = _samples(y, "y")
    if ny is not None and ny != n:
        raise InputError(f"x and y differ in length: {n} vs {ny} samples")
    if n == 0:
        raise InputError("x has 0 samples: the range test needs at least one batch of data")
    return x, math.ceil(n / batch_size), {"batch_size": batch_size}


@contextmanager
def global_random_state() -> Iterator[None]:
    """Put Python's, NumPy's and the backend's global random state back on exit.

    `keras.utils.set_random_seed` reseeds Python's `random`, NumPy's global generator,
    TensorFlow's global seed, torch's global generator (torch backend) and Keras' global
    `SeedGenerator`; inside this context that is allowed, and on exit each is as it was
    before, so code after a seeded range test draws what it would have drawn had the
    test never run.
    """
    from keras.src.backend.common import global_state

    saved_random = random.getstate()
    saved_numpy = np.random.get_state()
    keras_names = ("global_random_seed", "global_seed_generator")
    saved_keras = [global_state.get_global_attribute(name) for name in keras_names]
    torch = sys.modules.get("torch")
    saved_torch = torch.get_rng_state() if torch is not None else None
    tf_context = None
    if "tensorflow" in sys.modules:
        try:
            from tensorflow.python.eager import context as tf_context_module

            tf_context = tf_context_module.context()
            rng = getattr(tf_context, "_rng", None)
            saved_tf = (tf_context._seed, None if rng is None else rng.getstate())
        except (ImportError, AttributeError):  # pragma: no cover - TF internals moved
            tf_context = None
    try:
        yield
    finally:
        random.setstate(saved_random)
        np.random.set_state(saved_numpy)
        for name, value in zip(keras_names, saved_keras):
            global_state.set_global_attribute(name, value)
        if saved_torch is not None:
            torch.set_rng_state(saved_torch)
        if tf_context is not None:
            seed, rng_state = saved_tf
            tf_context._set_global_seed(seed)
            if rng_state is not None:
                tf_context._rng.setstate(rng_state)
            elif hasattr(tf_context, "_rng"):  # never seeded before: as TF starts
                del tf_context._rng


class _Reseed(keras.callbacks.Callback):
    """Seed Keras again when training begins.

    Under JAX and PyTorch, `fit` on a model whose loss and metrics are not yet built
    reads one batch (and so draws one shuffle) before training, which only the first
    `fit` of a model does; seeding again here makes the batch order of the first range
    test the same as of every later one.
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def on_train_begin(self, logs=None) -> None:
        keras.utils.set_random_seed(self.seed)


def _first_inputs(x: Any, fit_args: Mapping[str, Any]) -> Any:
    """A few inputs of the first batch, without consuming the data (None for generators)."""
    try:
        if "batch_size" in fit_args:
            return keras.tree.map_structure(lambda a: a[:2], x)
        if _is_dataset(x):
            batch = next(iter(x.take(1)))
        elif isinstance(x, keras.utils.PyDataset):
            batch = x[0]
        else:
            return None
    except Exception:  # data that cannot be sliced or peeked: no probe
        return None
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _predicted_size(model: keras.Model, x: Any, fit_args: Mapping[str, Any]) -> int | None:
    """The output size from the model itself, else from its predictions on the first batch."""
    size = output_size(model)
    if size is not None or getattr(model, "outputs", None):
        return size
    inputs = _first_inputs(x, fit_args)
    if inputs is None:
        return None
    pred = model(inputs, training=False)
    shape = getattr(pred, "shape", None)
    return int(shape[-1]) if shape is not None and len(shape) > 1 else None


def check_labels(model: keras.Model, y: Any, classes: int | None, what: str = "y") -> None:
    """Refuse labels that do not fit the model's output, before training.

    Checked when cheap: array labels, a (sparse) categorical cross-entropy loss and
    a known output size.

    Args:
        model: The compiled model.
        y: The labels.
        classes: The model's output size (None: unknown, nothing checked).
        what: How the labels are named in the message.

    Raises:
        InputError: If a sparse label is not a class number `0 .. classes - 1`, or
            one-hot labels are not `classes` wide.
    """
    name = loss_name(model)
    if classes is None or y is None or isinstance(y, (Mapping, list, tuple)):
        return
    if "categorical_crossentropy" not in name:
        return
    try:
        labels = np.asarray(y)
    except Exception:  # not an array (e.g. a tensor on another device): not checked
        return
    if labels.dtype.kind not in "uif":
        return
    if "sparse" in name:
        bad = (labels < 0) | (labels >= classes) | (labels != np.round(labels))
        if bad.any():
            raise InputError(
                f"{what} holds {int(bad.sum())} labels that are not class numbers "
                f"0..{classes - 1} (e.g. {labels[bad].flat[0].item()!r}) for a model with "
                f"{classes} outputs: fix the labels or give the model more outputs"
            )
    elif labels.ndim >= 1 and labels.shape[-1] != classes:
        raise InputError(
            f"{what} has one-hot rows of width {labels.shape[-1]} for a model with "
            f"{classes} outputs: they must match"
        )


def range_test(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    sample_weight: Any = None,
    class_weight: Mapping[int, float] | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int | None = 100,
    epochs: int | None = None,
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
    shuffle: bool = True,
    skip_start: float = 0.1,
    skip_end: int = 5,
    seed: int | None = None,
    meta: Mapping[str, Any] | None = None,
    verbose: int = 0,
) -> RangeTestResult:
    """Run a complete range test on a compiled model; the model comes back unchanged.

    The model is restored even if training fails or is interrupted. Ctrl-C
    (`KeyboardInterrupt`) ends the test early and returns the curve so far with
    `stop_reason == "interrupted"`; any other error is raised after the restore.

    Args:
        model: A compiled Keras model (`steps_per_execution=1`).
        x: Arrays, a dict or list of arrays (multi-input models), a `tf.data.Dataset`
            (batched; one of unknown length, e.g. after `.filter()`, is repeated), a
            `keras.utils.PyDataset`, a torch `DataLoader` or a Python generator of
            batches (consumed once: it must yield `steps` batches).
        y: Targets for array `x` (None for the other kinds).
        batch_size: Batch size for arrays (default 32); None for batched data.
        sample_weight: Per-sample weights for array `x` (as `fit` takes them); batched
            data carries its weights in its `(x, y, w)` batches.
        class_weight: Class -> weight, as `fit` takes it.
        start_lr: The first rate.
        end_lr: The last rate.
        steps: Optimizer updates in the ramp; None with `epochs` for whole passes.
            Short data is cycled through as many epochs as needed.
        epochs: With `steps=None`: the ramp covers this many passes over the data.
        mode: "exponential" or "linear".
        beta: Loss smoothing (bias-corrected EMA).
        diverge: Stop when the smoothed loss exceeds this multiple of its best.
        window: The loss-delta window.
        restore: Put the weights and optimizer state back (the rate always goes back).
        validation_data: `(x, y)`, `(x, y, w)` or a `tf.data.Dataset` (validation mode).
        validate_every: Updates between validation scores.
        validation_batch_size: Batch size of array validation data.
        monitor: "loss" or "val_loss" (the validation loss drives the whole test).
        chance_loss: "auto", a number or None: see `LRFinder`.
        reset_optimizer: Fresh optimizer slots for the test (fine-tuning).
        shuffle: Shuffle array data each epoch.
        skip_start: Points the suggestion rules skip at the start (fraction if < 1).
        skip_end: Points the rules skip at the end.
        seed: Seeds Keras for the test (batch order, dropout masks), on every backend and
            from the first call on a model; the global random state (Python, NumPy,
            the backend, Keras) is put back afterwards.
        meta: Stored with the result.
        verbose: `fit`'s verbosity.

    Returns:
        The `RangeTestResult`.
    """
    check_compiled(model)
    check_range(start_lr, end_lr, mode)
    beta = probability(beta, "beta")
    window = whole_number(window, "window", minimum=1)
    accumulation = check_optimizer(model.optimizer)
    x, per_epoch, fit_args = _plan(x, y, batch_size)
    if sample_weight is not None:
        if "batch_size" not in fit_args:
            raise InputError(
                f"sample_weight must be None for a {type(x).__name__}: put the weights in "
                "its batches, as (x, y, sample_weight)"
            )
        if _samples(sample_weight, "sample_weight") != _samples(x, "x"):
            raise InputError(
                f"sample_weight has {_samples(sample_weight, 'sample_weight')} weights for "
                f"{_samples(x, 'x')} samples: give one weight per sample"
            )
        fit_args["sample_weight"] = sample_weight
    if class_weight is not None:
        if not isinstance(class_weight, Mapping):
            raise InputError(
                f"class_weight must be a dict of class -> weight, got {type(class_weight).__name__}"
            )
        fit_args["class_weight"] = dict(class_weight)
    if steps is None:
        if epochs is None or per_epoch is None:
            raise InputError(
                "give steps=..., or epochs=... with data of known length (a generator or "
                "a dataset of unknown length has no epochs to count)"
            )
        steps = whole_number(epochs, "epochs", minimum=1) * per_epoch // accumulation
    steps = check_steps(steps, None, accumulation)
    if seed is not None:
        seed = whole_number(seed, "seed", minimum=0)
    if "crossentropy" in loss_name(model):
        classes = _predicted_size(model, x, fit_args)
        check_labels(model, y, classes)
        if validation_data is not None and isinstance(validation_data, (tuple, list)):
            check_labels(model, validation_data[1], classes, "the validation labels")
        if chance_loss == "auto" and classes is not None:
            chance_loss = chance_level_loss(model, classes)
    finder = LRFinder(
        start_lr=start_lr,
        end_lr=end_lr,
        steps=steps,
        mode=mode,
        beta=beta,
        diverge=diverge,
        window=window,
        restore=restore,
        validation_data=validation_data,
        validate_every=validate_every,
        validation_batch_size=validation_batch_size,
        monitor=monitor,
        chance_loss=chance_loss,
        reset_optimizer=reset_optimizer,
        skip_start=skip_start,
        skip_end=skip_end,
    )
    finder.meta = dict(meta or {})
    callbacks: list[keras.callbacks.Callback] = [finder]
    if seed is not None:
        finder.meta.setdefault("seed", seed)
        callbacks.insert(0, _Reseed(seed))
    batches = steps * accumulation
    fit_args.update(callbacks=callbacks, verbose=verbose)
    if per_epoch is None:  # unknown or infinite length: one long "epoch"
        fit_args.update(epochs=1, steps_per_epoch=batches)
    else:
        fit_args.update(epochs=math.ceil(batches / per_epoch))
    fit_args.update(shuffle=shuffle if "batch_size" in fit_args else False)
    with global_random_state() if seed is not None else _nothing():
        if seed is not None:
            keras.utils.set_random_seed(seed)
        try:
            model.fit(x, y, **fit_args)
        except KeyboardInterrupt:
            finder.restore_model(STOP_INTERRUPTED)
            warnings.warn(
                f"range test interrupted after {len(finder.result or ())} points; the model "
                "is restored and the curve so far returned",
                stacklevel=2,
            )
        finally:
            finder.restore_model(STOP_INTERRUPTED)
    result = finder.result
    if result is not None and len(result) == 0 and result.stop_reason == STOP_NONFINITE:
        raise InputError(
            f"the range test recorded no point: the loss was NaN or infinite at the first "
            f"update (rate {result.stop_lr:.3g}), before the rate could matter: look for NaN "
            "or infinite values in the data, labels or weights, or a loss that cannot take them"
        )
    if result is None or (len(result) == 0 and result.stop_reason != STOP_INTERRUPTED):
        raise InputError(
            "the range test recorded no point: the data gave no batch (an empty dataset "
            "or generator?)"
        )
    return result


@contextmanager
def _nothing() -> Iterator[None]:
    yield


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

    The global random state (Python, NumPy, the backend, Keras) is put back afterwards.

    Args:
        build: `build(seed)` returns a new compiled model (called after Keras is
            seeded with `seed`, so the seed fixes the initial weights, batch order and
            dropout masks).
        x: The data, as for `range_test`.
        y: The targets, as for `range_test`.
        seeds: The seeds.
        meta: Stored with every run and the repeats.
        progress: `progress(seed, result)` is called after each run.
        **kwargs: Passed to `range_test`.

    Returns:
        The `RangeTestRepeats`.
    """
    if isinstance(build, keras.Model) or not callable(build):
        raise InputError(
            f"build must be a callable that returns a compiled model (build(seed) -> "
            f"keras.Model, e.g. a function that makes and compiles one), got a "
            f"{type(build).__name__}"
        )
    seeds = [whole_number(s, "seed", minimum=0) for s in seeds]
    if not seeds:
        raise InputError("seeds is empty: give at least one seed, e.g. seeds=[0, 1, 2]")
    runs = []
    with global_random_state():
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            model = build(seed)
            if not isinstance(model, keras.Model):
                raise InputError(
                    f"build({seed}) returned a {type(model).__name__}: build must be a "
                    "callable that returns a compiled model"
                )
            run = range_test(model, x, y, seed=seed, meta=meta, **kwargs)
            runs.append(run)
            if progress is not None:
                progress(seed, run)
    return RangeTestRepeats(seeds, runs, dict(meta or {}))
