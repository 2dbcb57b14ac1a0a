"""The stacked engine: every setting and seed of a study trained at once, in one TF program.

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

import functools
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lr_lessons.lab import models
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.engines.plateau import PlateauRule, PlateauRules, PlateauState
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools.hypergradient import SGDHD, AdamHD

LOSSES = ("categorical_crossentropy",)
MAX_CHUNK_EPOCHS = 10
# Layers with at most this many weights in their kernel, on batches of at most SMALL_BATCH
# samples, run as a fused multiply-and-sum under XLA; layers with at most TINY_INPUTS
# inputs as a sum of products (see _dense_xla). Measured on the blobs MLP (180 runs):
# at batch size 128 the batched matmul takes 0.13 s per 10 epochs, the fused form 0.21 s;
# at 64 they are equal, at 32 the fused form is 10% faster.
SMALL_LAYER = 4096
SMALL_BATCH = 64
TINY_INPUTS = 4
# Runs per shard at least (see _shard_count).
MIN_SHARD_RUNS = 8
# Base-optimizer options the update rules below do not implement, with their neutral values.
_NEUTRAL_OPTIONS = {
    "weight_decay": (None, 0, 0.0),
    "clipnorm": (None,),
    "clipvalue": (None,),
    "global_clipnorm": (None,),
    "use_ema": (False,),
    "loss_scale_factor": (None, 1, 1.0),
    "gradient_accumulation_steps": (None, 1),
}


class Unsupported(ValueError):
    """A study this engine cannot train (the runner then uses the fit engine)."""


# --- update rules: Keras 3's update_step on stacked weights ------------------------------


def _f32(values: Sequence[float]) -> tf.Tensor:
    # Keras turns Python floats (including 1 - beta computed in float64) into float32.
    return tf.constant(np.asarray(values, dtype="float64").astype("float32"))


def _per_run(vector: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshape a per-run vector so it broadcasts against a stacked weight tensor."""
    return tf.reshape(vector, [-1] + [1] * (like.shape.rank - 1))


def _sum_per_run(values: tf.Tensor) -> tf.Tensor:
    """Each run's sum over all its elements (`ops.sum` of one run's tensor)."""
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


class _Rule:
    """One optimizer kind for a group of runs; hyperparameters are per-run vectors.

    `adapts_rate` rules (the hypergradient ones) change each run's learning rate at every
    update; the rate they return from `update_all` is both the rate applied and the
    new value of the run's rate variable. `vectors` names the per-run attributes, which a
    program takes as inputs (see `_StackedRun`) so that one compiled program serves any
    runs of the same make-up.
    """

    slots: tuple[str, ...] = ()
    vectors: tuple[str, ...] = ()
    adapts_rate = False

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        self.configs = configs

    def init_slot(self, name: str, param: tf.Tensor) -> tf.Tensor:
        return tf.zeros_like(param)

    def update(self, g, p, slots, lr, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_all(self, grads, params, slots, lr, step):
        """One update of every parameter tensor: Keras' `apply` for each run.

        Args:
            grads, params: lists of stacked tensors, one per weight of the model.
            slots: slot name -> list of stacked tensors (one per weight).
            lr: the rate of each run for this update, shape `(runs,)`.
            step: the optimizer's `iterations` before this update.

        Returns:
            `(params, slots, rate)`: the new weights and slots, and the rate applied.
        """
        new_params, new_slots = [], {name: [] for name in self.slots}
        for k, (g, p) in enumerate(zip(grads, params)):
            mine = {name: slots[name][k] for name in self.slots}
            p, mine = self.update(g, p, mine, lr, step)
            new_params.append(p)
            for name in self.slots:
                new_slots[name].append(mine[name])
        return new_params, new_slots, lr


class _SGD(_Rule):
    def __init__(self, configs, momentum: bool, nesterov: bool) -> None:
        super().__init__(configs)
        self.has_momentum, self.nesterov = momentum, nesterov
        self.slots = ("momentum",) if momentum else ()
        self.vectors = ("momentum",)
        self.momentum = _f32([c["momentum"] for c in configs])

    def update(self, g, p, slots, lr, step):
        lr = _per_run(lr, p)
        if not self.has_momentum:
            return p - g * lr, slots
        mom = _per_run(self.momentum, p)
        m = slots["momentum"] * mom - g * lr
        p = p + (m * mom - g * lr) if self.nesterov else p + m
        return p, {"momentum": m}


class _RMSprop(_Rule):
    def __init__(self, configs, momentum: bool, centered: bool) -> None:
        super().__init__(configs)
        self.has_momentum, self.centered = momentum, centered
        self.slots = ("velocity",) + (("momentum",) if momentum else ())
        self.slots += ("average_gradient",) if centered else ()
        self.vectors = ("rho", "one_minus_rho", "momentum", "epsilon")
        self.rho = _f32([c["rho"] for c in configs])
        self.one_minus_rho = _f32([1 - c["rho"] for c in configs])
        self.momentum = _f32([c["momentum"] for c in configs])
        self.epsilon = _f32([c["epsilon"] for c in configs])

    def update(self, g, p, slots, lr, step):
        lr, rho, rho1 = (_per_run(v, p) for v in (lr, self.rho, self.one_minus_rho))
        eps = _per_run(self.epsilon, p)
        new = dict(slots)
        velocity = rho * slots["velocity"] + rho1 * tf.square(g)
        new["velocity"] = velocity
        if self.centered:
            average = rho * slots["average_gradient"] + rho1 * g
            new["average_gradient"] = average
            denominator = velocity - tf.square(average) + eps
        else:
            denominator = velocity + eps
        increment = (lr * g) / tf.sqrt(denominator)
        if self.has_momentum:
            m = _per_run(self.momentum, p) * slots["momentum"] + increment
            new["momentum"] = m
            return p - m, new
        return p - increment, new


class _Adagrad(_Rule):
    slots = ("accumulator",)
    vectors = ("initial", "epsilon")

    def __init__(self, configs) -> None:
        super().__init__(configs)
        self.initial = _f32([c["initial_accumulator_value"] for c in configs])
        self.epsilon = _f32([c["epsilon"] for c in configs])

    def init_slot(self, name, param):
        return tf.ones_like(param) * _per_run(self.initial, param)

    def update(self, g, p, slots, lr, step):
        accumulator = slots["accumulator"] + tf.square(g)
        lr, eps = _per_run(lr, p), _per_run(self.epsilon, p)
        return p - (lr * g) / tf.sqrt(accumulator + eps), {"accumulator": accumulator}


class _Adam(_Rule):
    def __init__(self, configs, amsgrad: bool) -> None:
        super().__init__(configs)
        self.amsgrad = amsgrad
        self.slots = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())
        self.vectors = ("beta_1", "beta_2", "one_minus_beta_1", "one_minus_beta_2", "epsilon")
        self.beta_1 = _f32([c["beta_1"] for c in configs])
        self.beta_2 = _f32([c["beta_2"] for c in configs])
        self.one_minus_beta_1 = _f32([1 - c["beta_1"] for c in configs])
        self.one_minus_beta_2 = _f32([1 - c["beta_2"] for c in configs])
        self.epsilon = _f32([c["epsilon"] for c in configs])

    def update(self, g, p, slots, lr, step):
        local_step = tf.cast(step + 1, tf.float32)
        beta_1_power = tf.pow(self.beta_1, local_step)
        beta_2_power = tf.pow(self.beta_2, local_step)
        alpha = _per_run(lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power), p)
        m = slots["momentum"] + (g - slots["momentum"]) * _per_run(self.one_minus_beta_1, p)
        v = slots["velocity"] + (tf.square(g) - slots["velocity"]) * _per_run(
            self.one_minus_beta_2, p
        )
        new = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = tf.maximum(slots["velocity_hat"], v)
            new["velocity_hat"] = v
        return p - (m * alpha) / (tf.sqrt(v) + _per_run(self.epsilon, p)), new


class _SGDHD(_Rule):
    """`SGDHD`:
    `alpha += beta * g_t . g_{t-1}`, then SGD."""

    slots = ("previous_gradient",)
    vectors = ("beta",)
    adapts_rate = True

    def __init__(self, configs) -> None:
        super().__init__(configs)
        self.beta = _f32([c["hypergrad_lr"] for c in configs])

    def update_all(self, grads, params, slots, lr, step):
        # The order of SGDHD._backend_update_step: agreement summed variable by variable
        # from zero, rate + beta * agreement, then every variable's SGD step at that rate.
        agreement = tf.zeros_like(lr)
        for g, previous in zip(grads, slots["previous_gradient"]):
            agreement = agreement + _sum_per_run(g * previous)
        rate = lr + self.beta * agreement
        new_params = [p - g * _per_run(rate, p) for g, p in zip(grads, params)]
        return new_params, {"previous_gradient": list(grads)}, rate


class _AdamHD(_Adam):
    """`AdamHD`:
    `alpha += beta * g_t . d_{t-1}`, then Adam."""

    adapts_rate = True

    def __init__(self, configs, amsgrad: bool) -> None:
        super().__init__(configs, amsgrad)
        self.vectors += ("beta",)
        self.beta = _f32([c["hypergrad_lr"] for c in configs])

    def update_all(self, grads, params, slots, lr, step):
        # AdamHD._previous_direction: d = m / (sqrt(v) + eps) * c, with
        # c = sqrt(1 - beta_2**t) / (1 - beta_1**t) after t updates (0 before any).
        done = tf.cast(step, tf.float32)
        bias_1 = 1 - tf.pow(self.beta_1, done)
        bias_2 = 1 - tf.pow(self.beta_2, done)
        started = done > 0
        scale = tf.where(
            started, tf.sqrt(bias_2) / tf.where(started, bias_1, tf.ones_like(bias_1)), 0.0
        )
        velocities = slots["velocity_hat"] if self.amsgrad else slots["velocity"]
        agreement = tf.zeros_like(lr)
        for g, m, v in zip(grads, slots["momentum"], velocities):
            eps = _per_run(self.epsilon, m)
            direction = (m / (tf.sqrt(v) + eps)) * _per_run(scale, m)
            agreement = agreement + _sum_per_run(g * direction)
        rate = lr + self.beta * agreement
        new_params, new_slots, _ = super().update_all(grads, params, slots, rate, step)
        return new_params, new_slots, rate


def _rule_key(optimizer: keras.optimizers.Optimizer) -> tuple:
    """The static part of an optimizer (kind and flags); the rest becomes per-run vectors."""
    config = optimizer.get_config()
    for option, neutral in _NEUTRAL_OPTIONS.items():
        if config.get(option) not in neutral:
            raise Unsupported(f"optimizer option {option}={config.get(option)!r}")
    kind = type(optimizer)
    if kind is SGDHD:
        return ("sgd_hd",)
    if kind is AdamHD:
        return ("adam_hd", bool(config["amsgrad"]))
    if kind is keras.optimizers.SGD:
        return ("sgd", config["momentum"] != 0, bool(config["nesterov"]))
    if kind is keras.optimizers.RMSprop:
        return ("rmsprop", config["momentum"] > 0, bool(config["centered"]))
    if kind is keras.optimizers.Adagrad:
        return ("adagrad",)
    if kind is keras.optimizers.Adam:
        return ("adam", bool(config["amsgrad"]))
    raise Unsupported(f"optimizer {kind.__name__}")


def _make_rule(key: tuple, configs: list[dict[str, Any]]) -> _Rule:
    kind, flags = key[0], key[1:]
    if kind == "sgd":
        return _SGD(configs, *flags)
    if kind == "rmsprop":
        return _RMSprop(configs, *flags)
    if kind == "adagrad":
        return _Adagrad(configs)
    if kind == "sgd_hd":
        return _SGDHD(configs)
    if kind == "adam_hd":
        return _AdamHD(configs, *flags)
    return _Adam(configs, *flags)


# --- what a study needs -----------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _dense_stack(model_name: str) -> tuple[tuple[int, int, Callable], ...]:
    """(inputs, units, activation) of each layer if the model is a plain Dense MLP."""
    model = models.build(model_name)
    layers = []
    for layer in model.layers:
        if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
            raise Unsupported(f"model {model_name!r} has layer {layer.name!r}")
        if len(layer.kernel.shape) != 2:
            raise Unsupported(f"model {model_name!r}: layer {layer.name!r} is not 2-D")
        layers.append((int(layer.kernel.shape[0]), int(layer.units), layer.activation))
    if not layers:
        raise Unsupported(f"model {model_name!r} has no layers")
    return tuple(layers)


def _check_setting(setting: Setting) -> tuple:
    key = _rule_key(setting.make_optimizer())
    if setting.plateau is not None:
        if setting.schedule is not None:
            raise Unsupported(f"setting {setting.name!r}: ReduceLROnPlateau with a schedule")
        PlateauRule.from_kwargs(setting.plateau)
    return key


def _check_study(study: Study) -> list[tuple]:
    if study.loss not in LOSSES:
        raise Unsupported(f"loss {study.loss!r}")
    _dense_stack(study.model)
    return [_check_setting(s) for s in study.settings]


def supports(study: Study) -> bool:
    """True if this engine can train `study`.

    It can train a Dense MLP with categorical cross-entropy, SGD/RMSprop/Adagrad/Adam or
    the hypergradient SGD-HD/Adam-HD without clipping, weight decay or EMA, any schedule,
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


@functools.lru_cache(maxsize=64)
def _initial_weights(model_name: str, seed: int) -> tuple[np.ndarray, ...]:
    keras.utils.set_random_seed(seed)
    weights = tuple(models.build(model_name).get_weights())
    for w in weights:
        w.setflags(write=False)
    return weights


def initial_weights(model_name: str, seed: int) -> list[np.ndarray]:
    """The weights `model.fit` starts from for `seed` (the fit engine's convention).

    Args:
        model_name: a model of `lr_lessons.lab.models.BUILDERS`.
        seed: the seed given to `keras.utils.set_random_seed` before building it.

    Returns:
        The model's weights in Keras' order (copies; built once per process and seed).
    """
    return [w.copy() for w in _initial_weights(model_name, seed)]


def batch_orders(
    seed: int, n_samples: int, epochs: Sequence[int], shuffle: bool = True
) -> np.ndarray:
    """Sample order of each listed epoch for `seed`: one permutation per epoch."""
    if not shuffle:
        return np.tile(np.arange(n_samples, dtype="int32"), (len(epochs), 1))
    # One generator per (seed, epoch) so any chunk of epochs can be drawn on its own.
    return np.stack(
        [np.random.default_rng([seed, e]).permutation(n_samples).astype("int32") for e in epochs]
    )


@tf.custom_gradient
def _add_bias(z: tf.Tensor, bias: tf.Tensor):
    """`z + bias` for every run (z: runs, batch, units; bias: runs, units).

    Keras' Dense adds its bias with `bias_add`, whose gradient is `BiasAddGrad`; a
    broadcasting add would sum the batch in another order and differ in the last bit,
    which momentum amplifies to ~1e-4 within a few epochs. So the biases' gradient is
    that same kernel, run on (batch, runs * units): bit for bit Keras' gradient.
    """

    def grad(upstream: tf.Tensor):
        runs, batch, units = upstream.shape
        flat = tf.reshape(tf.transpose(upstream, [1, 0, 2]), [batch, runs * units])
        bias_grad = tf.raw_ops.BiasAddGrad(out_backprop=flat)
        return upstream, tf.reshape(bias_grad, [runs, units])

    return z + bias[:, None, :], grad


def _dense(h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Keras' Dense without its activation, for every run: h is (runs, batch, inputs)."""
    return _add_bias(tf.matmul(h, kernel), bias)


def _dense_xla(h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """`_dense` as XLA runs it fastest (measured on the blobs MLP, 120 runs): a layer
    with at most TINY_INPUTS inputs as a sum of that many products (no reduction at all:
    11% less time per epoch, at any batch size), another small layer as one fused
    multiply-and-sum (XLA's CPU matmul is a loop of tiny matrix products over the runs), a
    large one as a batched matmul. The sums are the same up to the order of the additions."""
    inputs, units = kernel.shape[1], kernel.shape[2]
    if inputs <= TINY_INPUTS:
        z = h[..., 0:1] * kernel[:, None, 0, :]
        for i in range(1, inputs):
            z = z + h[..., i : i + 1] * kernel[:, None, i, :]
    elif inputs * units <= SMALL_LAYER and h.shape[-2] <= SMALL_BATCH:
        z = tf.reduce_sum(h[..., None] * kernel[:, None], axis=2)
    else:
        z = tf.matmul(h, kernel)
    return z + bias[:, None, :]


def _chunk_size(epochs: int) -> int:
    """Epochs per call of the TF program: a divisor of `epochs` (so one traced shape fits
    all calls), at most MAX_CHUNK_EPOCHS, and small enough for about four calls or more
    (the progress bar moves, and TF does not warn about one trace per few calls)."""
    limit = max(1, min(MAX_CHUNK_EPOCHS, epochs // 4))
    return max(d for d in range(1, limit + 1) if epochs % d == 0)


def _repeat(n: int, body: Callable, state: tuple) -> tuple:
    """`for i in range(n): state = body(i, *state)` as one `tf.while_loop`."""

    def step(i, *state):
        return (i + 1, *body(i, *state))

    return tuple(tf.while_loop(lambda i, *_: i < n, step, (tf.constant(0), *state))[1:])


def _cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _shard_count(n_runs: int, jit_compile: bool) -> int:
    """Programs run side by side, one per core: XLA runs one program's small kernels on one
    core at a time (a 120-run program takes as long with two threads as with one), so
    two shards of 60 runs on two cores take half the time of one of 120."""
    if not jit_compile:
        return 1
    return max(1, min(_cores(), n_runs // MIN_SHARD_RUNS))


class _StackedRun:
    """Everything one call of `train` builds: constants, state and the TF program.

    `settings` may come from several studies that share the model, loss, batch size and
    number of epochs (`train_studies`): they all become runs of one program. The runs are
    split into equal shards (the last one padded with copies of its last run) that run on
    separate cores. The shards share one traced and compiled program: everything that
    differs between runs (each rule's hyperparameters and which runs it updates, the seed,
    schedule and plateau rule of each run) is a per-run vector the program takes as
    input.
    """

    def __init__(
        self,
        settings: Sequence[Setting],
        model: str,
        epochs: int,
        batch_size: int,
        seeds: Sequence[int],
        data: Dataset,
        keys: list[tuple],
        jit_compile: bool,
    ):
        self.settings, self.model, self.epochs = list(settings), model, epochs
        self.seeds, self.data = list(seeds), data
        self.layers = _dense_stack(model)
        n_seeds = len(self.seeds)
        self.runs = [(i, j) for i in range(len(self.settings)) for j in range(n_seeds)]
        self.n_runs = len(self.runs)
        # One rule per optimizer kind, with vectors over all runs (a run of another kind
        # carries the rule's first member's values, which it never uses): every rule
        # updates every run and `member` selects the updates that count.
        config_of = [s.make_optimizer().get_config() for s in self.settings]
        run_keys = [keys[i] for i, _ in self.runs]
        self.rules = []
        for key in dict.fromkeys(run_keys):
            member = np.array([k == key for k in run_keys])
            first = config_of[self.runs[int(np.argmax(member))][0]]
            configs = [config_of[i] if m else first for (i, _), m in zip(self.runs, member)]
            rule = _make_rule(key, configs)
            rule.member = tf.constant(member)
            rule.vectors = (*rule.vectors, "member")
            self.rules.append(rule)
        self.adapts_rate = any(rule.adapts_rate for rule in self.rules)
        self.slot_names = tuple(dict.fromkeys(n for rule in self.rules for n in rule.slots))
        self.seed_index = tf.constant([j for _, j in self.runs], tf.int32)

        # Learning rates: a float32 variable per run (ReduceLROnPlateau or a hypergradient
        # rule may change it) or a schedule called on the step counter.
        rates, plateaus, schedule_of_run = [], [], []
        self.schedules: list[keras.optimizers.schedules.LearningRateSchedule] = []
        position: dict[int, int] = {}  # setting index -> its schedule's place in the list
        for i, _ in self.runs:
            setting = self.settings[i]
            if setting.schedule is not None:
                if i not in position:
                    position[i] = len(self.schedules)
                    self.schedules.append(setting.make_schedule())
                schedule_of_run.append(position[i])
                rates.append(0.0)  # unused: the schedule gives the rate
            else:
                schedule_of_run.append(-1)
                rates.append(float(config_of[i]["learning_rate"]))
            plateaus.append(
                None if setting.plateau is None else PlateauRule.from_kwargs(setting.plateau)
            )
        self.initial_rates = np.asarray(rates, dtype="float32")
        self.schedule_of_run = tf.constant(np.maximum(schedule_of_run, 0), tf.int32)
        self.scheduled = tf.constant(np.asarray(schedule_of_run) >= 0)
        self.plateau = PlateauRules(plateaus)
        self.per_run = [
            (self, ("seed_index", "schedule_of_run", "scheduled")),
            (self.plateau, PlateauRules.vectors),
            *((rule, rule.vectors) for rule in self.rules),
        ]

        n_shards = _shard_count(self.n_runs, jit_compile)
        self.width = -(-self.n_runs // n_shards)  # runs per program
        order = np.arange(n_shards * self.width)
        self.shards = [
            np.minimum(order[k * self.width : (k + 1) * self.width], self.n_runs - 1)
            for k in range(n_shards)
        ]

        self.x_train = tf.constant(data.x_train, tf.float32)
        self.y_train = tf.constant(data.y_train, tf.float32)
        self.x_test = tf.constant(data.x_test, tf.float32)
        self.y_test = tf.constant(data.y_test, tf.float32)
        self.n_train = len(data.x_train)
        self.batch = batch_size
        self.n_full = self.n_train // self.batch
        self.rest = self.n_train - self.n_full * self.batch
        weights = np.ones((self.n_full + 1, self.batch), dtype="float32")
        weights[-1, self.rest :] = 0
        self.batch_weights = tf.constant(weights)
        self.jit_compile = jit_compile
        # No autograph: the loops are explicit (_repeat), and autograph's conversion of the
        # Keras functions the program calls costs seconds of tracing.
        self.program = tf.function(self._bound_chunk, jit_compile=jit_compile, autograph=False)

    # -- per-run inputs --------------------------------------------------------------------

    def inputs(self, runs: np.ndarray) -> dict[str, tf.Tensor]:
        """The per-run vectors of `runs` (indices into `self.runs`), as program inputs."""
        return {
            f"{k}/{name}": tf.gather(getattr(owner, name), runs)
            for k, (owner, names) in enumerate(self.per_run)
            for name in names
        }

    def _bound_chunk(self, state, orders, inputs):
        """`_chunk` with every per-run vector read from `inputs` while it is traced."""
        saved = []
        try:
            for k, (owner, names) in enumerate(self.per_run):
                for name in names:
                    saved.append((owner, name, getattr(owner, name)))
                    setattr(owner, name, inputs[f"{k}/{name}"])
            return self._chunk(state, orders)
        finally:
            for owner, name, value in saved:
                setattr(owner, name, value)

    # -- state ---------------------------------------------------------------------------

    def initial_state(self) -> dict[str, Any]:
        """The state of every run before training (weights, slots, step, plateau)."""
        per_seed = [_initial_weights(self.model, s) for s in self.seeds]
        params = [
            tf.constant(np.stack([per_seed[j][k] for _, j in self.runs]).astype("float32"))
            for k in range(len(per_seed[0]))
        ]
        slots = {}
        for name in self.slot_names:
            owner = next(rule for rule in self.rules if name in rule.slots)
            slots[name] = [owner.init_slot(name, p) for p in params]
        return {
            "params": params,
            "slots": slots,
            "step": tf.constant(0, tf.int64),
            "plateau": self.plateau.initial_state(self.initial_rates),
        }

    def shard_state(self, state: dict[str, Any], runs: np.ndarray) -> dict[str, Any]:
        """The part of `state` that belongs to `runs`."""
        return tf.nest.map_structure(
            lambda t: t if t.shape.rank == 0 else tf.gather(t, runs), state
        )

    # -- the program ---------------------------------------------------------------------

    def _forward(self, params, x):
        dense = _dense_xla if self.jit_compile else _dense
        h = x
        for (_, _, activation), k in zip(self.layers, range(0, len(params), 2)):
            h = activation(dense(h, params[k], params[k + 1]))
        return h

    def _learning_rates(self, base: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        if not self.schedules:
            return base
        values = tf.stack([tf.cast(s(step), tf.float32) for s in self.schedules])
        return tf.where(self.scheduled, tf.gather(values, self.schedule_of_run), base)

    def _update(self, grads, params, slots, lr, base, step):
        """Every rule's update of every run, each run keeping its own rule's: returns
        the new weights and slots, the rate applied and the new base rate."""
        if len(self.rules) == 1:
            rule = self.rules[0]
            mine = {name: slots[name] for name in rule.slots}
            new_params, new_slots, rate = rule.update_all(grads, params, mine, lr, step)
            return new_params, new_slots, rate, rate if rule.adapts_rate else base
        new_params, new_slots = list(params), dict(slots)
        used, new_base = lr, base
        for rule in self.rules:
            mine = {name: slots[name] for name in rule.slots}
            p_rule, s_rule, rate = rule.update_all(grads, params, mine, lr, step)
            member = rule.member
            new_params = [
                tf.where(_per_run(member, p), q, n) for p, q, n in zip(params, p_rule, new_params)
            ]
            for name in rule.slots:
                new_slots[name] = [
                    tf.where(_per_run(member, s), q, s)
                    for s, q in zip(new_slots[name], s_rule[name])
                ]
            used = tf.where(member, rate, used)
            if rule.adapts_rate:
                new_base = tf.where(member, rate, new_base)
        return new_params, new_slots, used, new_base

    def _train_step(self, state, metrics, index, weight=None):
        """One update of every run on the batch `index` (runs, batch); `weight` (batch,)
        marks real samples (1) and padding (0) when a short last batch is padded."""
        x = tf.gather(self.x_train, index)
        y = tf.gather(self.y_train, index)
        size = index.shape[1] if weight is None else tf.reduce_sum(weight)
        params, step = state["params"], state["step"]
        base = state["plateau"].learning_rate
        lr = self._learning_rates(base, step)
        with tf.GradientTape() as tape:
            tape.watch(params)
            y_pred = self._forward(params, x)
            per_sample = keras.losses.categorical_crossentropy(y, y_pred)
            if weight is not None:
                per_sample = per_sample * weight
            loss = tf.reduce_sum(per_sample, axis=1) / size
            total = tf.reduce_sum(loss)
        grads = tape.gradient(total, params)
        correct = keras.metrics.categorical_accuracy(y, y_pred)
        accurate = tf.reduce_sum(correct if weight is None else correct * weight, axis=1)

        new_params, new_slots, lr_used, new_base = self._update(
            grads, params, state["slots"], lr, base, step
        )
        new_state = dict(state, params=new_params, slots=new_slots, step=step + 1)
        if self.adapts_rate:  # the rate variable of hypergradient runs holds the new rate
            new_state["plateau"] = state["plateau"]._replace(learning_rate=new_base)
        loss_sum, accurate_sum, _ = metrics
        return new_state, (loss_sum + loss * size, accurate_sum + accurate, lr_used)

    def _epoch(self, state, order):
        """One epoch for every run; `order` is (seeds, n_train) sample indices."""
        per_run = tf.gather(order, self.seed_index)  # (runs, n_train)
        zeros = tf.zeros([self.width], tf.float32)
        metrics = (zeros, zeros, zeros)
        if self.jit_compile and self.rest:
            # One step body for all batches (half the program to trace and compile): the
            # short last batch is padded with sample 0, whose weight is 0.
            steps = self.n_full + 1
            pad = tf.zeros([self.width, steps * self.batch - self.n_train], tf.int32)
            batches = tf.transpose(
                tf.reshape(tf.concat([per_run, pad], 1), [self.width, steps, self.batch]),
                [1, 0, 2],
            )
            state, metrics = _repeat(
                steps,
                lambda i, st, me: self._train_step(st, me, batches[i], self.batch_weights[i]),
                (state, metrics),
            )
        else:
            state, metrics = self._epoch_steps(state, metrics, per_run)
        return self._epoch_end(state, metrics)

    def _epoch_steps(self, state, metrics, per_run):
        if self.n_full:
            full = tf.reshape(
                per_run[:, : self.n_full * self.batch], [self.width, self.n_full, self.batch]
            )
            full = tf.transpose(full, [1, 0, 2])
            state, metrics = _repeat(
                self.n_full,
                lambda i, st, me: self._train_step(st, me, full[i]),
                (state, metrics),
            )
        if self.rest:
            state, metrics = self._train_step(
                state, metrics, per_run[:, self.n_full * self.batch :]
            )
        return state, metrics

    def _epoch_end(self, state, metrics):
        loss_sum, accurate_sum, lr_used = metrics
        y_pred = self._forward(state["params"], self.x_test[None])
        y_test = tf.broadcast_to(self.y_test[None], tf.shape(y_pred))
        val_loss = tf.reduce_mean(keras.losses.categorical_crossentropy(y_test, y_pred), axis=1)
        val_accuracy = tf.reduce_mean(keras.metrics.categorical_accuracy(y_test, y_pred), axis=1)
        logged = {
            "loss": loss_sum / float(self.n_train),
            "accuracy": accurate_sum / float(self.n_train),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
        }
        if self.plateau.active_any:
            plateau = self.plateau.step(state["plateau"], self.plateau.select(logged))
            state = dict(state, plateau=PlateauState(*plateau))
        row = tf.stack([logged[m] for m in METRICS[:4]] + [lr_used])
        return state, row

    def _chunk(self, state, orders):
        """Several epochs; `orders` is (epochs, seeds, n_train). Returns (epochs, 5, runs)."""
        n = orders.shape[0]
        rows = tf.TensorArray(tf.float32, size=n, element_shape=[len(METRICS), self.width])

        def epoch(e, state, rows):
            state, row = self._epoch(state, orders[e])
            return state, rows.write(e, row)

        state, rows = _repeat(n, epoch, (state, rows))
        return state, rows.stack()

    # -- driving it ----------------------------------------------------------------------

    def run(
        self, progress: Callable[[int], None] | None, shuffle: bool, reshuffle: bool
    ) -> dict[str, np.ndarray]:
        epochs = self.epochs
        chunk = _chunk_size(epochs)
        full = self.initial_state()
        states = [self.shard_state(full, runs) for runs in self.shards]
        inputs = [self.inputs(runs) for runs in self.shards]
        out = np.full((len(METRICS), self.n_runs, epochs), np.nan)
        with ThreadPoolExecutor(len(self.shards)) as pool:
            for start in range(0, epochs, chunk):
                span = range(start, start + chunk) if reshuffle else [0] * chunk
                orders = tf.constant(
                    np.stack(
                        [batch_orders(s, self.n_train, span, shuffle) for s in self.seeds],
                        axis=1,
                    )
                )
                if start == 0:  # trace once, here, before the shards run side by side
                    self.program.get_concrete_function(states[0], orders, inputs[0])
                done = list(
                    pool.map(
                        lambda k, orders=orders: self.program(states[k], orders, inputs[k]),
                        range(len(self.shards)),
                    )
                )
                for k, (runs, (state, rows)) in enumerate(zip(self.shards, done)):
                    states[k] = state
                    real = k * self.width + np.arange(self.width) < self.n_runs  # not padding
                    rows = np.transpose(rows.numpy(), (1, 2, 0))
                    out[:, runs[real], start : start + chunk] = rows[:, real]
                if progress is not None:
                    progress(self.n_runs * chunk)
        n_settings, n_seeds = len(self.settings), len(self.seeds)
        result = {m: np.full((n_settings, n_seeds, epochs), np.nan) for m in METRICS}
        for r, (i, j) in enumerate(self.runs):
            for m_index, m in enumerate(METRICS):
                result[m][i, j] = out[m_index, r]
        return result


def _check_data(study: Study, data: Dataset) -> None:
    layers = _dense_stack(study.model)
    n_inputs, n_classes = layers[0][0], layers[-1][1]
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
    """Train several studies in one program: every setting x seed of all of them at once.

    Each study's numbers are those `train` gives it alone (up to float32 rounding,
    see the module docstring); one program means one compilation and one batched step for
    all runs, which is what makes a suite of small studies fast.

    Args:
        studies: studies that share the model, loss, batch size and number of epochs.
        seeds: the seeds every study is trained from.
        data: the dataset they all train on.
        progress: called with the number of setting-seed-epochs just finished.
        shuffle, reshuffle, jit_compile: as for `train`.

    Returns:
        One result dict per study, in order, shaped as `train`'s.

    Raises:
        Unsupported: (a `ValueError`) for a study `supports` rejects.
        ValueError: for studies that differ in model, loss, batch size or epochs.
    """
    studies = list(studies)
    if not studies:
        raise ValueError("studies is empty: give at least one study")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    first = studies[0]
    for study in studies[1:]:
        for what in ("model", "loss", "batch_size", "epochs"):
            if getattr(study, what) != getattr(first, what):
                raise ValueError(
                    f"train_studies needs one {what} for all studies: {first.name!r} has "
                    f"{getattr(first, what)!r}, {study.name!r} has {getattr(study, what)!r}; "
                    f"train them in separate calls"
                )
    keys = [key for study in studies for key in _check_study(study)]
    for study in studies:
        _check_data(study, data)
    settings = [s for study in studies for s in study.settings]
    if jit_compile is None:
        jit_compile = len(settings) * len(seeds) > 1
    # A setting that trains exactly as an earlier one (the same optimizer config, schedule
    # and plateau rule, whatever its name) is trained once and its numbers shared.
    first_of: dict[str, int] = {}
    copy_of = [first_of.setdefault(_identity(s), i) for i, s in enumerate(settings)]
    unique = sorted(first_of.values())
    counted = progress
    if progress is not None and len(unique) < len(settings):

        def counted(done: int) -> None:  # in settings x seeds x epochs, duplicates included
            progress(done // len(unique) * len(settings))

    run = _StackedRun(
        [settings[i] for i in unique],
        first.model,
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
