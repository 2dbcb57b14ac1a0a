# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Drop the learning rate on a plateau
#
# How `ReduceLROnPlateau` cuts the learning rate when the validation loss stops
# improving, and how its patience decides between a quick, premature stop and a model
# that keeps learning. About 1 minute on a laptop CPU (20 s in quick mode).
#
# After every epoch the callback compares the validation loss with the best seen so far.
# If it has not improved by at least `min_delta` for `patience` epochs in a row, the
# rate is multiplied by `factor`:
#
# $$ \eta \leftarrow 0.1\,\eta . $$
#
# To see what the callback did we record the optimizer's rate at the end of every epoch
# with `LearningRateMonitor`, a small callback of this library. In Keras 3 it reads
# `model.optimizer.learning_rate`; the old `lr` attribute and `backend.get_value` are gone.
#
# This chapter depends on a detail most tutorials never mention: the **order of the
# batches**. The callback watches the validation loss at the end of each epoch, and how
# much that number jitters depends on whether each epoch visits the training points in
# a new order. Keras 3's `model.fit(shuffle=True)` after `keras.utils.set_random_seed`
# repeats one order every epoch ([chapter 1](01_learning_rate.py#batch-order-in-keras-3)
# shows it); our code, like the originals' Keras 2, draws a new order every epoch. Below
# we measure what the difference does to the callback.
#
# As in chapters 1 to 5, the figures train every patience from five seeds at once with
# the library's stacked engine, which reproduces `model.fit` (per-epoch metrics to
# float32 rounding over 20 epochs in its tests, including `ReduceLROnPlateau`;
# [chapter 1](01_learning_rate.py#how-the-figures-are-made-all-runs-at-once));
# `lr-lessons figures --engine fit` trains them with `model.fit` on arrays instead,
# which puts them in the repeated-order regime (the orange bars of the figure below).

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lr_lessons import LearningRateMonitor, config
from lr_lessons.lab import studies
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.runner import run_study
from lr_lessons.views import bar_plots, line_plots, plotting
from lr_lessons.views.claims import (
    ClaimsTable,
    combine,
    final,
    numbers_note,
    seed_verdict,
    seeds_passing,
    summary,
    volatility,
)

# %% [markdown]
# ## One setting: patience 10
#
# Written as in chapter 1: a dataset that reshuffles every epoch and
# `steps_per_execution=16` (one call into TensorFlow per epoch; the callbacks still run
# after every epoch).

# %%
blobs = load_blobs()
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
train = (
    tf.data.Dataset.from_tensor_slices((blobs.x_train, blobs.y_train))
    .shuffle(
        500, seed=0, reshuffle_each_iteration=True
    )  # a new order every epoch
    .batch(32)
)
test = tf.data.Dataset.from_tensor_slices((blobs.x_test, blobs.y_test)).batch(
    32
)
model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        layers.Dense(50, activation="relu", kernel_initializer="he_uniform"),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.01),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=16,  # one call into TensorFlow per epoch
)
monitor = LearningRateMonitor()
plateau = keras.callbacks.ReduceLROnPlateau(
    monitor="val_loss", factor=0.1, patience=10, min_delta=1e-7
)
history = model.fit(
    train,
    validation_data=test,
    epochs=EPOCHS,
    callbacks=[monitor, plateau],
    shuffle=False,  # the dataset reshuffles itself
    verbose=0,
)
rates = monitor.rates
drops = [
    e for e in range(1, len(rates)) if rates[e] < rates[e - 1]
]  # 1-based epochs
print(f"rate dropped after epochs {drops}; final rate {rates[-1]:.0e}")

# %% [markdown]
# ## Four patiences, several seeds
#
# Three figures, as in the original: the learning rate in force during each epoch (log
# scale, median over seeds, cut at $10^{-12}$: with patience 2 the rate keeps falling
# tenfold every few epochs until it underflows float32), the training loss and the
# training accuracy.

# %%
results = run_study(studies.plateau_study())
fig = line_plots.metric_grid(
    results,
    ["learning_rate"],
    ylabel="learning rate",
    logy=True,
    center="median",
    ylim=(1e-12, 0.1),
    title="Learning rate per epoch (ReduceLROnPlateau, factor 0.1)",
)
plotting.save_figure(fig, "04_plateau/learning_rate")
fig

# %%
fig = line_plots.metric_grid(
    results, ["loss"], ylabel="training loss", title="Training loss"
)
plotting.save_figure(fig, "04_plateau/loss")
fig

# %%
fig = line_plots.metric_grid(
    results,
    ["accuracy"],
    ylabel="training accuracy",
    title="Training accuracy",
)
plotting.save_figure(fig, "04_plateau/accuracy")
fig

# %% [markdown]
# The run above is one run in the figures' regime (a new order every epoch). Its orders
# come from `tf.data`, the study's from NumPy, so seed 0 above is not seed 0 of the
# figures; its number of drops should simply look like one more seed of the study:

# %%
lr = {s: results.get("learning_rate", s) for s in results.settings}
n_drops = {s: (np.diff(r, axis=1) < 0).sum(axis=1) for s, r in lr.items()}
p10 = n_drops["patience=10"]
print(f"this run: {len(drops)} drops; the study's seeds: {p10.tolist()}")
demo_in_range = p10.min() <= len(drops) <= p10.max()
print(
    "within the seeds' range" if demo_in_range else "outside the seeds' range"
)

# %% [markdown]
# ## The batch-order trap, measured
#
# The same study, trained once more with one order of the training points repeated in
# every epoch: exactly what `model.fit(x, y, shuffle=True)` does after
# `keras.utils.set_random_seed` in Keras 3 (the stacked engine's `reshuffle=False`).
# Same seeds, same initial weights, same first epoch; only the later epochs' orders
# differ.

# %%
repeated = run_study(studies.plateau_study(), reshuffle=False)
lr_rep = {s: repeated.get("learning_rate", s) for s in repeated.settings}
drops_rep = {
    s: (np.diff(r, axis=1) < 0).sum(axis=1) for s, r in lr_rep.items()
}
acc_fresh = {s: final(results.get("accuracy", s)) for s in results.settings}
acc_rep = {s: final(repeated.get("accuracy", s)) for s in repeated.settings}
regimes = (
    "a new order every epoch (Keras 2, our code)",
    "one order repeated (Keras 3 fit)",
)
short = {s: s.replace("patience=", "p=") for s in results.settings}
fig = bar_plots.grouped_bars(
    {
        "number of rate drops": {
            regimes[0]: {short[s]: n_drops[s] for s in results.settings},
            regimes[1]: {short[s]: drops_rep[s] for s in results.settings},
        },
        "final training accuracy": {
            regimes[0]: {short[s]: acc_fresh[s] for s in results.settings},
            regimes[1]: {short[s]: acc_rep[s] for s in results.settings},
        },
    },
    title=(
        "ReduceLROnPlateau(factor 0.1, min_delta 1e-7) under two batch orders"
    ),
    note=(
        f"bars: mean over seeds {results.seeds}; dots: seeds; final = mean of "
        f"the last 10 epochs. Data: {results.meta['data_source']}; "
        f"{results.epochs} epochs."
    ),
    fmt={"number of rate drops": ".1f", "final training accuracy": ".3f"},
)
plotting.save_figure(fig, "04_plateau/batch_order")
fig

# %%
for s in results.settings:
    print(
        f"{s:12s} drops: new order {summary(n_drops[s], '.1f')}, repeated "
        f"{summary(drops_rep[s], '.1f')}; final train accuracy: new order "
        f"{summary(acc_fresh[s])}, repeated {summary(acc_rep[s])}"
    )

# %% [markdown]
# With a new order every epoch, each epoch ends at a slightly different point of the
# loss landscape, so the validation loss jitters; with `min_delta=1e-7` any epoch that
# fails to set a new record by a hair counts towards the patience, and small patiences
# fire again and again. With one order repeated, every epoch makes nearly the same
# moves, the validation loss glides down smoothly, and the callback rarely fires (at
# most once per run in our seeds): the model keeps its rate and, at patiences 2 and 5,
# ends clearly more accurate. Neither regime is wrong,
# but they give different answers to this chapter's question, so know which one your
# code runs: pass a `tf.data.Dataset` with
# `.shuffle(n, seed=..., reshuffle_each_iteration=True)` (as above) for a new order
# every epoch, and keep in mind that a seeded `fit(x, y, shuffle=True)` does not.

# %% [markdown]
# ## What the original reported, and what we measured

# %%
# 10,000 times below the start (four drops): updates barely move weights
FLOOR = 1e-6
floor_epoch = {
    s: np.array(
        [
            np.argmax(run < FLOOR) + 1 if (run < FLOOR).any() else np.nan
            for run in r
        ]
    )
    for s, r in lr.items()
}
train_acc = {s: results.get("accuracy", s) for s in results.settings}
train_loss = {s: final(results.get("loss", s)) for s in results.settings}
table = ClaimsTable(
    note=numbers_note(
        results, "Accuracy: training accuracy, as in the original's figures."
    )
)
p2 = floor_epoch["patience=2"]
quick = np.nan_to_num(p2, nan=np.inf) <= 25
table.add(
    "Patience 2 hits its floor within 25 epochs.",
    f"patience 2 falls below {FLOOR:g} (1/10,000 of the start) at epoch "
    f"{summary(p2, '.0f')}; within 25 epochs in {seeds_passing(quick)}; by "
    f"epoch 50 in {seeds_passing(np.nan_to_num(p2, nan=np.inf) <= 50)}",
    seed_verdict(quick, partly=bool(np.isfinite(p2).all())),
)
d15 = n_drops["patience=15"]
table.add(
    "Patience 15 drops the rate only once.",
    "number of drops: "
    + "; ".join(f"{s}: {summary(v, '.1f')}" for s, v in n_drops.items())
    + f"; patience 15 exactly once in {seeds_passing(d15 == 1)}",
    seed_verdict(d15 == 1, partly=bool((d15 <= 2).all())),
)


def first_drop(rates: np.ndarray) -> float:
    """The epoch (1-based) after which the callback first cut the rate.

    NaN if it never did.
    """
    fell = np.diff(rates) < 0
    return float(np.argmax(fell) + 1) if fell.any() else np.nan


first10 = np.array([first_drop(r) for r in lr["patience=10"]])
halfway = np.abs(np.nan_to_num(first10, nan=np.inf) - results.epochs / 2) <= 25
table.add(
    "Patience 10 first drops the rate about halfway through the run.",
    f"first drop at epoch {summary(first10, '.0f')}; within 25 epochs of "
    f"epoch {results.epochs // 2} in {seeds_passing(halfway)}",
    seed_verdict(halfway),
    seed_dependent=True,
)
acc2, acc5 = final(train_acc["patience=2"]), final(train_acc["patience=5"])
near65 = np.abs(acc2 - 0.65) <= 0.025
table.add(
    "Small patiences converge prematurely: about 65% accuracy with patience "
    "2, below 75% with patience 5.",
    f"final training accuracy: patience 2 {summary(acc2)} (about 65%, i.e. "
    f"62.5-67.5%, in {seeds_passing(near65)}); patience 5 {summary(acc5)} "
    f"(below 75% in {seeds_passing(acc5 < 0.75)})",
    combine(seed_verdict(near65), seed_verdict(acc5 < 0.75)),
    seed_dependent=True,
)
small = np.minimum(train_loss["patience=2"], train_loss["patience=5"])
large = np.maximum(train_loss["patience=10"], train_loss["patience=15"])
worse = (train_loss["patience=2"] > train_loss["patience=5"]) & (small > large)
table.add(
    "Small patiences converge to a worse model; larger patiences do better.",
    "final training loss: "
    + "; ".join(f"{s}: {summary(v)}" for s, v in train_loss.items())
    + f"; ordered 2 > 5 > both of 10 and 15 in {seeds_passing(worse)}",
    seed_verdict(worse, partly=bool((small > large).all())),
)
half = results.epochs // 2
wobble = {
    s: volatility(train_acc[s], start=half)
    for s in ("patience=10", "patience=15")
}
steadier = wobble["patience=15"] > wobble["patience=10"]
table.add(
    "Patience 15 stays volatile, its rate nearly unchanged.",
    "epoch-to-epoch change of training accuracy, second half: "
    + "; ".join(f"{s}: {summary(w, '.4f')}" for s, w in wobble.items())
    + "; patience 15 above patience 10 (same seed) in "
    f"{seeds_passing(steadier)}",
    seed_verdict(steadier),
)
table.save("04_plateau/claims")
table
