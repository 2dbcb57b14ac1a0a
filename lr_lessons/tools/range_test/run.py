"""Run-it-for-me range tests: `range_test` (one model) and `range_test_repeats`
(fresh weights for each seed). Both accept what `model.fit` accepts."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras

from lr_lessons.checks import InputError, whole_number
from lr_lessons.tools.range_test.finder import LRFinder, check_compiled, rate_optimizer
from lr_lessons.tools.range_test.ramp import STOP_INTERRUPTED, check_range, check_steps
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
        seed: Seeds Keras first (batch order, dropout masks).
        meta: Stored with the result.
        verbose: `fit`'s verbosity.

    Returns:
        The `RangeTestResult`.
    """
    check_compiled(model)
    check_range(start_lr, end_lr, mode)
    window = whole_number(window, "window", minimum=1)
    x, per_epoch, fit_args = _plan(x, y, batch_size)
    accumulation = int(
        getattr(rate_optimizer(model.optimizer), "gradient_accumulation_steps", 0) or 1
    )
    if steps is None:
        if epochs is None or per_epoch is None:
            raise InputError(
                "give steps=..., or epochs=... with data of known length (a generator or "
                "a dataset of unknown length has no epochs to count)"
            )
        steps = whole_number(epochs, "epochs", minimum=1) * per_epoch // accumulation
    steps = check_steps(steps, window)
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
    if seed is not None:
        keras.utils.set_random_seed(whole_number(seed, "seed", minimum=0))
        finder.meta.setdefault("seed", seed)
    batches = steps * accumulation
    fit_args.update(callbacks=[finder], verbose=verbose)
    if per_epoch is None:  # unknown or infinite length: one long "epoch"
        fit_args.update(epochs=1, steps_per_epoch=batches)
    else:
        fit_args.update(epochs=math.ceil(batches / per_epoch))
    fit_args.update(shuffle=shuffle if "batch_size" in fit_args else False)
    try:
        model.fit(x, y, **fit_args)
    except KeyboardInterrupt:
        finder.restore_model(STOP_INTERRUPTED)
        warnings.warn(
            f"range test interrupted after {len(finder.result or ())} points; the model is "
            "restored and the curve so far returned",
            stacklevel=2,
        )
    finally:
        finder.restore_model(STOP_INTERRUPTED)
    result = finder.result
    if result is None or (len(result) == 0 and result.stop_reason != STOP_INTERRUPTED):
        raise InputError(
            "the range test recorded no point: the data gave no batch (an empty dataset "
            "or generator?)"
        )
    return result


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
    seeds = [whole_number(s, "seed", minimum=0) for s in seeds]
    if not seeds:
        raise InputError("seeds is empty: give at least one seed, e.g. seeds=[0, 1, 2]")
    runs = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = build(seed)
        run = range_test(model, x, y, seed=seed, meta=meta, **kwargs)
        runs.append(run)
        if progress is not None:
            progress(seed, run)
    return RangeTestRepeats(seeds, runs, dict(meta or {}))
