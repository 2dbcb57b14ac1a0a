"""The stacked engine: every setting and seed of a study trained at once, in one TF program.

The package: `rules` (optimizer update rules), `layers` (Dense layers and losses on
stacked weights), `run` (the program and its driver), `compile_cache` (XLA's persistent
compilation cache, keyed by CPU and versions) and, here, the API (`train`,
`train_studies`, `supports`).

Any plain Dense MLP trains here: a key of `lr_lessons.lab.models.BUILDERS` that builds
one, or a `lr_lessons.lab.models.DenseSpec` (input size, widths, depth, activation,
per-layer initialisation and rate multipliers, an output multiplier), with
categorical cross-entropy or mean squared error. Studies of different networks (a width
grid) train in one call, one program per network.

The blobs MLP has 303 weights, so `model.fit` spends nearly all its time on per-step
framework overhead. Here the weights of all runs (setting x seed) are stacked on a leading
axis, each step is one batched forward and backward pass, and a `tf.function` runs a
chunk of epochs (batches, validation, learning-rate drops) without returning to Python.
With more than one run that program is compiled by XLA (`jit_compile`): every step is a
handful of fused kernels. `train_studies` trains several studies (same model, batch
size and epochs) as one program, so a suite pays for one compilation; a grid of rates x
momenta is one study, hence one program, because every hyperparameter is a per-run vector.

Where the time goes, and what is done about it (`benchmarks/bench_engines.py`, 120 runs
of the blobs studies on 2 cores): XLA runs one program's small kernels on one core at a
time, so the runs are split into one shard per core, and the shards run side by side
(Python threads; TensorFlow releases the GIL). The shards share one traced and compiled
program: the per-run vectors (hyperparameters, which rule updates which run, seeds,
schedules, plateau rules) are inputs of the program, not constants in it. Every optimizer
rule present updates every run of a shard and each run keeps its own rule's result (a
select, exact), so the program has no per-rule slices. Settings that train identically
(the same optimizer config, schedule and plateau rule under different names, as several
studies' baselines are) are trained once. What remains is about 0.2 s of tracing, about
1 s of XLA compilation and the steps themselves.

What stays the same as `model.fit` (tests/test_stacked_engine.py and
tests/test_stacked_hypergradient.py check it against Keras):

- initial weights: seed `k` gives exactly the weights `keras.utils.set_random_seed(k)`
  followed by building the Keras model gives (the fit engine's convention);
- the forward pass uses the Keras model's own activations, the loss is
  `keras.losses.categorical_crossentropy` (its clipping epsilon, or the logits path Keras
  takes for a softmax output, exactly as in `model.fit`),
  averaged over the batch; accuracy is `keras.metrics.categorical_accuracy`;
- batches of `study.batch_size` with a last partial batch; reported train loss and
  accuracy are the batch-size weighted means over the epoch's batches, computed during
  training as Keras reports them; validation on the test set after every epoch;
- the optimizers' update rules restate Keras 3's `update_step` of SGD (momentum,
  nesterov), RMSprop (momentum, centered), Adagrad and Adam (amsgrad), and the
  `_backend_update_step` of `lr_lessons.tools.hypergradient`'s SGD-HD and Adam-HD (the
  rate of each run is state, moved once per update by `beta` times the dot product of
  the run's gradient with its previous step's direction), with every hyperparameter read
  from `Setting.make_optimizer().get_config()`; a `LearningRateSchedule` is called on
  the step counter as the optimizer calls it; `ReduceLROnPlateau` is
  `lr_lessons.lab.engines.plateau`, applied at epoch end.

Numerics: a run trained alone (one setting, one seed, `shuffle=False`) runs TensorFlow's
own kernels and reproduces `model.fit` bit for bit. Stacked runs differ from fit in the
last bit now and then: XLA's kernels add in another order (the small layers are a fused
multiply-and-sum, see `_dense_xla`) and round exp and log differently, and without
XLA TensorFlow's element-wise kernels take a vectorised or a scalar path depending on
where a number sits in the tensor. Training amplifies such differences as it would any
float32 perturbation: hardly at all for Adam, strongly in chaotic settings (plain SGD at
learning rate 1). The tests bound them by each setting's measured rounding envelope.

Batch order (the one convention that differs): in epoch `e` seed `k` visits the training
set in the order `numpy.random.default_rng([k, e]).permutation(n)`, shared by all settings
of that seed: a fresh shuffle every epoch, as `shuffle=True` promises and as the originals
(Keras 2) trained. Keras 3's `model.fit(shuffle=True)` after `keras.utils.set_random_seed`
(the fit engine) in fact repeats one permutation in every epoch; `reshuffle=False` does the
same with each seed's first permutation. Per-epoch reshuffling makes the end-of-epoch
val_loss noisier, so ReduceLROnPlateau with a tiny min_delta fires earlier than under fit.
`shuffle=False` keeps the data order, as `model.fit(shuffle=False)` does, and then the
per-epoch numbers agree with fit's to float32 rounding. Validation loss and accuracy are
means over the whole test set; Keras' batch-weighted means over batches of 32 equal them
up to float32 rounding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np

from lr_lessons.lab.data import Dataset
from lr_lessons.lab.engines.plateau import PlateauRule
from lr_lessons.lab.engines.stacked import compile_cache
from lr_lessons.lab.engines.stacked.layers import (
    LOSSES,
    dense_xla,
    initial_weights,
    network,
    per_sample_loss,
)
from lr_lessons.lab.engines.stacked.rules import Unsupported, make_rule, rule_key
from lr_lessons.lab.engines.stacked.run import (
    MIN_SHARD_RUNS,
    StackedRun,
    batch_orders,
    shard_count,
)
from lr_lessons.lab.models import DenseSpec, dense_data
from lr_lessons.lab.studies import Setting, Study

__all__ = [
    "LOSSES",
    "MIN_SHARD_RUNS",
    "StackedRun",
    "Unsupported",
    "batch_orders",
    "dense_xla",
    "initial_weights",
    "make_rule",
    "rule_key",
    "shard_count",
    "supports",
    "train",
    "train_studies",
]

compile_cache.enable()


def _check_setting(setting: Setting, scaled_rates: bool) -> tuple:
    key = rule_key(setting.make_optimizer())
    if scaled_rates and key[0] in ("sgd_hd", "adam_hd"):
        raise Unsupported(
            f"setting {setting.name!r}: per-layer rate multipliers with {setting.optimizer!r} "
            "(a hypergradient rule adapts one rate per run)"
        )
    if setting.plateau is not None:
        if setting.schedule is not None:
            raise Unsupported(f"setting {setting.name!r}: ReduceLROnPlateau with a schedule")
        PlateauRule.from_kwargs(setting.plateau)
    return key


def _check_study(study: Study) -> list[tuple]:
    per_sample_loss(study.loss)
    net = network(study.model)
    return [_check_setting(s, net.scaled_rates) for s in study.settings]


def supports(study: Study) -> bool:
    """True if this engine can train `study`.

    It can train a plain Dense MLP (a `DenseSpec`, or a `BUILDERS` key that builds one)
    with categorical cross-entropy or mean squared error, SGD/RMSprop/Adagrad/Adam or the
    hypergradient SGD-HD/Adam-HD without clipping, weight decay or EMA, any schedule,
    and ReduceLROnPlateau on a recorded metric.

    Args:
        study: The study to train.

    Returns:
        Whether this engine supports every setting of `study`.
    """
    try:
        _check_study(study)
    except (Unsupported, ValueError):
        return False
    return True


def model_data(study: Study, data: Dataset) -> Dataset:
    """`data` as the study's model takes it.

    Args:
        study: The study; a `DenseSpec` model flattens images and one-hot encodes
            integer labels (`lr_lessons.lab.models.dense_data`).
        data: The data set.

    Returns:
        The data the engine trains on.
    """
    return dense_data(study.model, data) if isinstance(study.model, DenseSpec) else data


def _check_data(study: Study, data: Dataset) -> None:
    net = network(study.model)
    n_inputs, n_classes = net.n_inputs, net.n_outputs
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        if x.shape[1:] != (n_inputs,) or y.shape[1:] != (n_classes,):
            raise ValueError(
                f"model {study.model!r} needs inputs of shape (n, {n_inputs}) and one-hot "
                f"targets (n, {n_classes}); the {split} split of {data.source!r} has "
                f"{x.shape} and {y.shape}"
            )


def _identity(setting: Setting) -> str:
    """What a setting trains with, without its name: two settings of equal identity
    give the same run for a seed."""
    config = dict(setting.make_optimizer().get_config(), name=None)
    return json.dumps([config, setting.schedule, setting.plateau], sort_keys=True, default=str)


def train_studies(
    studies: Sequence[Study],
    seeds: Sequence[int],
    data: Dataset,
    progress: Callable[[int], None] | None = None,
    *,
    shuffle: bool = True,
    reshuffle: bool = True,
    jit_compile: bool | None = None,
) -> list[dict[str, np.ndarray]]:
    """Train several studies at once: every setting x seed of all of them.

    Studies that share the model, loss, batch size and number of epochs become one
    program (one compilation, one batched step for all their runs: what makes a suite
    of small studies fast); studies of other networks (a width grid) get one program per
    group, trained one group after another. Each study's numbers are those `train` gives
    it alone (up to float32 rounding, see the module docstring).

    Args:
        studies: The studies.
        seeds: The seeds every study is trained from.
        data: The dataset they all train on (flattened and one-hot encoded for a
            `DenseSpec` model if need be).
        progress: Called with the number of setting-seed-epochs just finished.
        shuffle: As for `train`.
        reshuffle: As for `train`.
        jit_compile: As for `train` (None: XLA when the call trains more than one run).

    Returns:
        One result dict per study, in order, shaped as `train`'s.

    Raises:
        Unsupported: (a `ValueError`) for a study `supports` rejects.
        ValueError: for no studies or no seeds, or data that does not fit a model.
    """
    studies = list(studies)
    if not studies:
        raise ValueError("studies is empty: give at least one study")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    keys = [_check_study(study) for study in studies]
    prepared = [model_data(study, data) for study in studies]
    for study, mine in zip(studies, prepared):
        _check_data(study, mine)
    if jit_compile is None:
        jit_compile = sum(len(s.settings) for s in studies) * len(seeds) > 1
    groups: dict[tuple, list[int]] = {}
    for k, study in enumerate(studies):
        shape = (study.model, study.loss, study.batch_size, study.epochs)
        groups.setdefault(shape, []).append(k)
    out: list[dict[str, np.ndarray]] = [{} for _ in studies]
    for members in groups.values():
        trained = _train_group(
            [studies[k] for k in members],
            [keys[k] for k in members],
            seeds,
            prepared[members[0]],
            progress,
            shuffle,
            reshuffle,
            jit_compile,
        )
        for k, result in zip(members, trained):
            out[k] = result
    return out


def _train_group(studies, keys, seeds, data, progress, shuffle, reshuffle, jit_compile):
    """Studies of one network, loss, batch size and epochs as one program."""
    first = studies[0]
    keys = [key for study_keys in keys for key in study_keys]
    settings = [s for study in studies for s in study.settings]
    # A setting that trains exactly as an earlier one (the same optimizer config, schedule
    # and plateau rule, whatever its name) is trained once and its numbers shared.
    first_of: dict[str, int] = {}
    copy_of = [first_of.setdefault(_identity(s), i) for i, s in enumerate(settings)]
    unique = sorted(first_of.values())
    counted = progress
    if progress is not None and len(unique) < len(settings):

        def counted(done: int) -> None:  # in settings x seeds x epochs, duplicates included
            progress(done // len(unique) * len(settings))

    run = StackedRun(
        [settings[i] for i in unique],
        first.model,
        first.loss,
        first.epochs,
        first.batch_size,
        seeds,
        data,
        [keys[i] for i in unique],
        jit_compile,
    )
    trained = run.run(counted, shuffle, reshuffle)
    place = [unique.index(i) for i in copy_of]
    merged = {m: values[place] for m, values in trained.items()}
    out, start = [], 0
    for study in studies:
        stop = start + len(study.settings)
        out.append({m: values[start:stop] for m, values in merged.items()})
        start = stop
    return out


def train(
    study: Study,
    seeds: Sequence[int],
    data: Dataset,
    progress: Callable[[int], None] | None = None,
    *,
    shuffle: bool = True,
    reshuffle: bool = True,
    jit_compile: bool | None = None,
) -> dict[str, np.ndarray]:
    """Train every setting x seed of `study` together; same result shape as the fit engine.

    Args:
        study: the study (see `supports` for what this engine trains).
        seeds: the seeds; each fixes initial weights and batch order.
        data: the dataset.
        progress: called with the number of setting-seed-epochs just finished.
        shuffle: False visits the data in order.
        reshuffle: False keeps each seed's first permutation for every epoch, which is
            what Keras 3's `model.fit(shuffle=True)` does after
            `keras.utils.set_random_seed` (see the module docstring).
        jit_compile: True compiles the program with XLA (fast: one fused program for
            all runs); False runs TensorFlow's own kernels, which reproduce `model.fit`
            bit for bit for a run trained alone. None (the default) uses XLA whenever
            more than one run trains, and TensorFlow's kernels for a single run.

    Returns:
        Per metric of `lr_lessons.lab.results.METRICS`, an array of shape
        `(n_settings, n_seeds, n_epochs)`.

    Raises:
        Unsupported: (a `ValueError`) for a study `supports` rejects.
    """
    return train_studies(
        [study],
        seeds,
        data,
        progress,
        shuffle=shuffle,
        reshuffle=reshuffle,
        jit_compile=jit_compile,
    )[0]
