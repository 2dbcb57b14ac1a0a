"""The run: one TF program training every run of a group of settings x seeds at once.

`StackedRun` builds the constants, the initial state and the program of one network
(one shape), splits the runs into one shard per core and drives the shards side by side,
a chunk of epochs per call. Everything that differs between runs (each rule's
hyperparameters and which runs it updates, the seed, schedule and plateau rule of each
run) is a per-run vector passed to the program as an input, and handed explicitly to
every function that reads it, so the shards share one traced and compiled program.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lr_lessons.lab.data import Dataset
from lr_lessons.lab.engines.plateau import PlateauRule, PlateauRules, PlateauState
from lr_lessons.lab.engines.stacked import compile_cache
from lr_lessons.lab.engines.stacked.layers import (
    _initial_weights,
    forward,
    network,
    per_sample_loss,
)
from lr_lessons.lab.engines.stacked.rules import make_rule, per_run
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting

MAX_CHUNK_EPOCHS = 10
# Runs per shard at least (see shard_count).
MIN_SHARD_RUNS = 8


def batch_orders(
    seed: int, n_samples: int, epochs: Sequence[int], shuffle: bool = True
) -> np.ndarray:
    """Sample order of each listed epoch for `seed`: one permutation per epoch.

    Args:
        seed: The run's seed.
        n_samples: Training samples.
        epochs: The epochs (0-based) whose orders to draw.
        shuffle: False: every epoch in the data's order.

    Returns:
        `(len(epochs), n_samples)` int32 sample indices.
    """
    if not shuffle:
        return np.tile(np.arange(n_samples, dtype="int32"), (len(epochs), 1))
    # One generator per (seed, epoch) so any chunk of epochs can be drawn on its own.
    return np.stack(
        [np.random.default_rng([seed, e]).permutation(n_samples).astype("int32") for e in epochs]
    )


def chunk_size(epochs: int) -> int:
    """Epochs per call of the TF program: a divisor of `epochs` (so one traced shape fits
    all calls), at most MAX_CHUNK_EPOCHS, and small enough for about four calls or more
    (the progress bar moves, and TF does not warn about one trace per few calls).

    Args:
        epochs: Epochs per run.

    Returns:
        Epochs per call.
    """
    limit = max(1, min(MAX_CHUNK_EPOCHS, epochs // 4))
    return max(d for d in range(1, limit + 1) if epochs % d == 0)


def repeat(n: int, body: Callable, state: tuple) -> tuple:
    """`for i in range(n): state = body(i, *state)` as one `tf.while_loop`."""

    def step(i, *state):
        return (i + 1, *body(i, *state))

    return tuple(tf.while_loop(lambda i, *_: i < n, step, (tf.constant(0), *state))[1:])


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def shard_count(n_runs: int, jit_compile: bool) -> int:
    """Programs run side by side, one per core: XLA runs one program's small kernels on one
    core at a time (a 120-run program takes as long with two threads as with one), so
    two shards of 60 runs on two cores take half the time of one of 120.

    Args:
        n_runs: Runs to train.
        jit_compile: Whether the program is compiled by XLA (else one shard).

    Returns:
        The number of shards.
    """
    if not jit_compile:
        return 1
    return max(1, min(cores(), n_runs // MIN_SHARD_RUNS))


class StackedRun:
    """Everything one group of runs needs: constants, state and the TF program.

    `settings` may come from several studies that share the model, loss, batch size and
    number of epochs: they all become runs of one program. The runs are split into equal
    shards (the last one padded with copies of its last run) that run on separate cores.

    Args:
        settings: The settings (each trained from every seed).
        model: A key of `BUILDERS` or a `DenseSpec`.
        loss: A loss name of `layers.LOSSES`.
        epochs: Epochs per run.
        batch_size: Training batch size.
        seeds: The seeds.
        data: The data, as the model takes it.
        keys: Each setting's rule key (`rules.rule_key`).
        jit_compile: Compile with XLA.
    """

    def __init__(
        self,
        settings: Sequence[Setting],
        model: Any,
        loss: str,
        epochs: int,
        batch_size: int,
        seeds: Sequence[int],
        data: Dataset,
        keys: list[tuple],
        jit_compile: bool,
    ):
        self.settings, self.model, self.epochs = list(settings), model, epochs
        self.seeds, self.data = list(seeds), data
        self.net = network(model)
        self.loss = per_sample_loss(loss)
        n_seeds = len(self.seeds)
        self.runs = [(i, j) for i in range(len(self.settings)) for j in range(n_seeds)]
        self.n_runs = len(self.runs)
        # Per-run vectors, all fed to the program as inputs (see inputs()).
        vectors: dict[str, Any] = {}
        # One rule per optimizer kind, with vectors over all runs (a run of another kind
        # carries the rule's first member's values, which it never uses): every rule
        # updates every run and `member` selects the updates that count.
        config_of = [s.make_optimizer().get_config() for s in self.settings]
        run_keys = [keys[i] for i, _ in self.runs]
        self.rules = []
        for k, key in enumerate(dict.fromkeys(run_keys)):
            member = np.array([rk == key for rk in run_keys])
            first = config_of[self.runs[int(np.argmax(member))][0]]
            configs = [config_of[i] if m else first for (i, _), m in zip(self.runs, member)]
            rule = make_rule(key, configs)
            self.rules.append(rule)
            for name, values in rule.values.items():
                vectors[f"rule{k}/{name}"] = values
            vectors[f"rule{k}/member"] = member
        self.adapts_rate = any(rule.adapts_rate for rule in self.rules)
        self.slot_names = tuple(dict.fromkeys(n for rule in self.rules for n in rule.slots))
        vectors["run/seed_index"] = np.array([j for _, j in self.runs], dtype="int32")

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
        vectors["run/schedule_of_run"] = np.maximum(schedule_of_run, 0).astype("int32")
        vectors["run/scheduled"] = np.asarray(schedule_of_run) >= 0
        self.plateau = PlateauRules(plateaus)
        for name, values in self.plateau.values().items():
            vectors[f"plateau/{name}"] = values
        self.vectors = vectors

        n_shards = shard_count(self.n_runs, jit_compile)
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
        # Keras: a batch larger than the data is all of it.
        self.batch = min(batch_size, self.n_train)
        self.n_full = self.n_train // self.batch
        self.rest = self.n_train - self.n_full * self.batch
        weights = np.ones((self.n_full + 1, self.batch), dtype="float32")
        weights[-1, self.rest :] = 0
        self.batch_weights = tf.constant(weights)
        self.jit_compile = jit_compile
        self.program = self._new_program()

    def _new_program(self):
        # No autograph: the loops are explicit (repeat), and autograph's conversion of the
        # Keras functions the program calls costs seconds of tracing.
        return tf.function(self._chunk, jit_compile=self.jit_compile, autograph=False)

    def _first_call(self, pool, states, orders, inputs):
        """The first chunk: trace once, then run the shards; a saved program TensorFlow
        cannot read (another process was still writing it) is deleted and compiled."""
        compile_cache.verify()
        for attempt in (0, 1):
            try:
                self.program.get_concrete_function(states[0], orders, inputs[0])
                done = self._call_shards(pool, states, orders, inputs)
                compile_cache.seal()
                return done
            except tf.errors.DataLossError as err:
                where = compile_cache.folder()
                bad = re.search(r"Can't parse (\S+) as", str(err))
                if attempt or where is None or not bad or Path(bad.group(1)).parent != where:
                    raise
                Path(bad.group(1)).unlink(missing_ok=True)
                self.program = self._new_program()  # TF remembers the failure per function
        raise AssertionError("unreachable")

    def _call_shards(self, pool, states, orders, inputs):
        return list(
            pool.map(
                lambda k: self.program(states[k], orders, inputs[k]),
                range(len(self.shards)),
            )
        )

    # -- per-run inputs --------------------------------------------------------------------

    def inputs(self, runs: np.ndarray) -> dict[str, tf.Tensor]:
        """The per-run vectors of `runs` (indices into `self.runs`), as program inputs."""
        return {name: tf.gather(values, runs) for name, values in self.vectors.items()}

    @staticmethod
    def _part(v: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        """The vectors under `prefix/`, by their own names."""
        start = prefix + "/"
        return {name[len(start) :]: value for name, value in v.items() if name.startswith(start)}

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
            k, owner = next((k, r) for k, r in enumerate(self.rules) if name in r.slots)
            values = self._part(self.vectors, f"rule{k}")
            slots[name] = [owner.init_slot(name, p, values) for p in params]
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
        return forward(self.net, params, x, self.jit_compile)

    def _learning_rates(self, base: tf.Tensor, step: tf.Tensor, v) -> tf.Tensor:
        if not self.schedules:
            return base
        values = tf.stack([tf.cast(s(step), tf.float32) for s in self.schedules])
        return tf.where(v["run/scheduled"], tf.gather(values, v["run/schedule_of_run"]), base)

    def _update(self, grads, params, slots, lr, base, step, v):
        """Every rule's update of every run, each run keeping its own rule's: returns
        the new weights and slots, the rate applied and the new base rate."""
        multipliers = list(self.net.multipliers)
        if len(self.rules) == 1:
            rule = self.rules[0]
            mine = {name: slots[name] for name in rule.slots}
            new_params, new_slots, rate = rule.update_all(
                grads, params, mine, lr, step, self._part(v, "rule0"), multipliers
            )
            return new_params, new_slots, rate, rate if rule.adapts_rate else base
        new_params, new_slots = list(params), dict(slots)
        used, new_base = lr, base
        for k, rule in enumerate(self.rules):
            mine = {name: slots[name] for name in rule.slots}
            values = self._part(v, f"rule{k}")
            p_rule, s_rule, rate = rule.update_all(
                grads, params, mine, lr, step, values, multipliers
            )
            member = values["member"]
            new_params = [
                tf.where(per_run(member, p), q, n) for p, q, n in zip(params, p_rule, new_params)
            ]
            for name in rule.slots:
                new_slots[name] = [
                    tf.where(per_run(member, s), q, s)
                    for s, q in zip(new_slots[name], s_rule[name])
                ]
            used = tf.where(member, rate, used)
            if rule.adapts_rate:
                new_base = tf.where(member, rate, new_base)
        return new_params, new_slots, used, new_base

    def _train_step(self, state, metrics, index, v, weight=None):
        """One update of every run on the batch `index` (runs, batch); `weight` (batch,)
        marks real samples (1) and padding (0) when a short last batch is padded."""
        x = tf.gather(self.x_train, index)
        y = tf.gather(self.y_train, index)
        size = index.shape[1] if weight is None else tf.reduce_sum(weight)
        params, step = state["params"], state["step"]
        base = state["plateau"].learning_rate
        lr = self._learning_rates(base, step, v)
        with tf.GradientTape() as tape:
            tape.watch(params)
            y_pred = self._forward(params, x)
            per_sample = self.loss(y, y_pred)
            if weight is not None:
                per_sample = per_sample * weight
            loss = tf.reduce_sum(per_sample, axis=1) / size
            total = tf.reduce_sum(loss)
        grads = tape.gradient(total, params)
        correct = keras.metrics.categorical_accuracy(y, y_pred)
        accurate = tf.reduce_sum(correct if weight is None else correct * weight, axis=1)

        new_params, new_slots, lr_used, new_base = self._update(
            grads, params, state["slots"], lr, base, step, v
        )
        new_state = dict(state, params=new_params, slots=new_slots, step=step + 1)
        if self.adapts_rate:  # the rate variable of hypergradient runs holds the new rate
            new_state["plateau"] = state["plateau"]._replace(learning_rate=new_base)
        loss_sum, accurate_sum, _ = metrics
        return new_state, (loss_sum + loss * size, accurate_sum + accurate, lr_used)

    def _epoch(self, state, order, v):
        """One epoch for every run; `order` is (seeds, n_train) sample indices."""
        per_run_order = tf.gather(order, v["run/seed_index"])  # (runs, n_train)
        zeros = tf.zeros([self.width], tf.float32)
        metrics = (zeros, zeros, zeros)
        if self.jit_compile and self.rest:
            # One step body for all batches (half the program to trace and compile): the
            # short last batch is padded with sample 0, whose weight is 0.
            steps = self.n_full + 1
            pad = tf.zeros([self.width, steps * self.batch - self.n_train], tf.int32)
            batches = tf.transpose(
                tf.reshape(tf.concat([per_run_order, pad], 1), [self.width, steps, self.batch]),
                [1, 0, 2],
            )
            state, metrics = repeat(
                steps,
                lambda i, st, me: self._train_step(st, me, batches[i], v, self.batch_weights[i]),
                (state, metrics),
            )
        else:
            state, metrics = self._epoch_steps(state, metrics, per_run_order, v)
        return self._epoch_end(state, metrics, v)

    def _epoch_steps(self, state, metrics, order, v):
        if self.n_full:
            full = tf.reshape(
                order[:, : self.n_full * self.batch], [self.width, self.n_full, self.batch]
            )
            full = tf.transpose(full, [1, 0, 2])
            state, metrics = repeat(
                self.n_full,
                lambda i, st, me: self._train_step(st, me, full[i], v),
                (state, metrics),
            )
        if self.rest:
            state, metrics = self._train_step(
                state, metrics, order[:, self.n_full * self.batch :], v
            )
        return state, metrics

    def _epoch_end(self, state, metrics, v):
        loss_sum, accurate_sum, lr_used = metrics
        y_pred = self._forward(state["params"], self.x_test[None])
        y_test = tf.broadcast_to(self.y_test[None], tf.shape(y_pred))
        val_loss = tf.reduce_mean(self.loss(y_test, y_pred), axis=1)
        val_accuracy = tf.reduce_mean(keras.metrics.categorical_accuracy(y_test, y_pred), axis=1)
        logged = {
            "loss": loss_sum / float(self.n_train),
            "accuracy": accurate_sum / float(self.n_train),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
        }
        if self.plateau.active_any:
            values = self._part(v, "plateau")
            plateau = self.plateau.step(
                state["plateau"], self.plateau.select(logged, values), values
            )
            state = dict(state, plateau=PlateauState(*plateau))
        row = tf.stack([logged[m] for m in METRICS[:4]] + [lr_used])
        return state, row

    def _chunk(self, state, orders, v):
        """Several epochs; `orders` is (epochs, seeds, n_train), `v` the per-run vectors.
        Returns the new state and the metrics, (epochs, 5, runs)."""
        n = orders.shape[0]
        rows = tf.TensorArray(tf.float32, size=n, element_shape=[len(METRICS), self.width])

        def epoch(e, state, rows):
            state, row = self._epoch(state, orders[e], v)
            return state, rows.write(e, row)

        state, rows = repeat(n, epoch, (state, rows))
        return state, rows.stack()

    # -- driving it ----------------------------------------------------------------------

    def run(
        self, progress: Callable[[int], None] | None, shuffle: bool, reshuffle: bool
    ) -> dict[str, np.ndarray]:
        """Train every run; per metric an array `(settings, seeds, epochs)`."""
        epochs = self.epochs
        chunk = chunk_size(epochs)
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
                    done = self._first_call(pool, states, orders, inputs)
                else:
                    done = self._call_shards(pool, states, orders, inputs)
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
