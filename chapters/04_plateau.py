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
# that keeps learning. About 15 seconds of training from scratch on a 2-core CPU (its
# two 30-seed studies, measured), plus the chapter's one `model.fit` and TensorFlow's
# import.
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
# As in chapters 1 to 5, the figures train every patience from 30 seeds at once with
# the library's stacked engine, which reproduces `model.fit` (per-epoch metrics to
# float32 rounding over 20 epochs in its tests, including `ReduceLROnPlateau`;
# [chapter 1](01_learning_rate.py#how-the-figures-are-made-all-runs-at-once));
# `lr-lessons figures --engine fit` trains them with `model.fit` on arrays instead,
# which puts them in the repeated-order regime (the orange bars of the figure below).

# %% [markdown]
# The imports: Keras, this library's `LearningRateMonitor` callback, and the study
# definitions, chapter 1's model and input pipeline, the runner, the plots, the
# helpers that summarise per-seed numbers (`claims`) and the claims table
# (`plateau_claims`).

# %%
import keras
import numpy as np

from lr_lessons import LearningRateMonitor, config
from lr_lessons.lab import models, pipelines, studies
from lr_lessons.lab.runner import run_study
from lr_lessons.views import (
    bar_plots,
    claims,
    line_plots,
    plateau_claims,
    plotting,
)

# %% [markdown]
# ## How the callback decides
#
# `ReduceLROnPlateau` keeps two numbers between epochs: the best value of the monitored
# quantity so far and a counter of epochs without improvement. At the end of each epoch
# it reads `val_loss` from the logs. A value below `best - min_delta` is an
# improvement: it becomes the new best and the counter goes back to zero. Anything else
# adds one to the counter, and when the counter reaches `patience` the callback
# multiplies the optimizer's rate by `factor` (never going below `min_lr`, 0 by
# default) and resets the counter. With `min_delta=1e-7` nearly any new record counts
# as an improvement, so what decides is how often the validation loss fails to set one.
#
# ## One setting: patience 10
#
# Chapter 1's network (`models.blobs_mlp()`) and input pipeline
# (`pipelines.blobs_batches()`, which reshuffles every epoch), trained with SGD at
# 0.01. The two callbacks go to `fit`: the plateau rule, with the originals' settings
# (`factor=0.1`, `min_delta=1e-7`), and the monitor that records the rate after every
# epoch. `steps_per_execution=16` runs a whole epoch per call into TensorFlow; the
# callbacks still run after every epoch. (Keras 3's `ReduceLROnPlateau` also writes
# the rate into each epoch's logs; `LearningRateMonitor` does the same for any
# optimizer, including one driven by a schedule as in chapter 3.)

# %%
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
train, test = pipelines.blobs_batches()
model = models.blobs_mlp()
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
drops = (np.flatnonzero(np.diff(rates) < 0) + 1).tolist()  # 1-based epochs
print(f"rate dropped after epochs {drops}; final rate {rates[-1]:.0e}")

# %% [markdown]
# The printout lists the epochs after which the callback cut the rate, each cut a
# factor of ten, and the rate the run ended with. Every cut came after ten epochs in a
# row without a new lowest validation loss.
#
# ## Four patiences, several seeds
#
# Three figures, as in the original: the learning rate in force during each epoch (log
# scale, median over seeds, cut at $10^{-12}$: with patience 2 the rate keeps falling
# tenfold every few epochs until it underflows float32), the training loss and the
# training accuracy.
#
# The rate panel shows the median over seeds, not the mean: rates that differ by powers
# of ten average to roughly the largest of them, so a single seed that kept its rate
# would hide every other seed's drops, while the median follows the typical run.

# %%
study = studies.plateau_study()
results = run_study(study)
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

# %% [markdown]
# Each step down in a panel is one firing of the callback: the rate falls tenfold. With
# patience 2 the steps come every few epochs from early on; with 10 and 15 most seeds
# keep the start rate for a long time, and some never lose it.

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
# Loss and accuracy mirror the rate: once the rate is a thousandth of its start the
# curves go flat, wherever they happen to be. Patience 2 freezes the model early, at a
# high loss; the larger patiences keep learning for longer.
#
# The run above is one run in the figures' regime (a new order every epoch). Its orders
# come from `tf.data`, the study's from NumPy, so seed 0 above is not seed 0 of the
# figures; its number of drops should simply look like one more seed of the study:

# %%
lr = claims.per_setting(results, "learning_rate")
n_drops = claims.per_setting(results, "learning_rate", claims.rate_drops)
p10 = n_drops["patience=10"]
print(f"this run: {len(drops)} drops; the study's seeds: {p10.tolist()}")
demo_in_range = p10.min() <= len(drops) <= p10.max()
print(f"within the seeds' range: {demo_in_range}")

# %% [markdown]
# ## The batch-order trap, measured
#
# The same study, trained once more with one order of the training points repeated in
# every epoch: exactly what `model.fit(x, y, shuffle=True)` does after
# `keras.utils.set_random_seed` in Keras 3 (the stacked engine's `reshuffle=False`).
# Same seeds, same initial weights, same first epoch; only the later epochs' orders
# differ. The figure compares two numbers per patience under the two regimes: how often
# the callback fired, and the final training accuracy (the mean of the last 10 epochs).

# %%
repeated = run_study(study, reshuffle=False)
drops_rep = claims.per_setting(repeated, "learning_rate", claims.rate_drops)
acc_fresh = claims.per_setting(results, "accuracy", claims.final)
acc_rep = claims.per_setting(repeated, "accuracy", claims.final)
fresh_order = "a new order every epoch (Keras 2, our code)"
one_order = "one order repeated (Keras 3 fit)"
short = {s.name: f"p={s.plateau['patience']}" for s in study.settings}


def by_patience(values: dict) -> dict:
    """The same numbers keyed by the bars' short labels (p=2, p=5, ...)."""
    return {short[s]: v for s, v in values.items()}


fig = bar_plots.grouped_bars(
    {
        "number of rate drops": {
            fresh_order: by_patience(n_drops),
            one_order: by_patience(drops_rep),
        },
        "final training accuracy": {
            fresh_order: by_patience(acc_fresh),
            one_order: by_patience(acc_rep),
        },
    },
    title="ReduceLROnPlateau(factor 0.1, min_delta 1e-7) under two batch "
    "orders",
    note=plotting.caption(
        [results, repeated],
        "bars: mean; dots: seeds; final = mean of the last 10 epochs",
        band=None,
    ),
    fmt={"number of rate drops": ".1f", "final training accuracy": ".3f"},
)
plotting.save_figure(fig, "04_plateau/batch_order")
fig

# %% [markdown]
# The same numbers as text, with each range over seeds. At patience 2 the count of
# drops is high because the callback keeps cutting the rate tenfold long after it has
# become too small to move the weights: each cut is counted, useful or not.

# %%
for s in results.settings:
    print(
        f"{s:12s} drops: new order {claims.summary(n_drops[s], '.1f')}, "
        f"repeated {claims.summary(drops_rep[s], '.1f')}; final train "
        f"accuracy: new order {claims.summary(acc_fresh[s])}, repeated "
        f"{claims.summary(acc_rep[s])}"
    )
most = max(int(drops_rep[s].max()) for s in results.settings)
print(f"most drops in any repeated-order run: {most}")
for s in ("patience=2", "patience=5"):
    gain = acc_rep[s] - acc_fresh[s]
    print(
        f"{s}: repeated order minus new order, final train accuracy "
        f"{claims.summary(gain)}; higher in "
        f"{claims.seeds_passing(gain > 0)}"
    )

# %% [markdown]
# With a new order every epoch, each epoch ends at a slightly different point of the
# loss landscape, so the validation loss jitters; with `min_delta=1e-7` any epoch that
# fails to set a new record by a hair counts towards the patience, and small patiences
# fire again and again. With one order repeated, every epoch makes nearly the same
# moves, the validation loss glides down smoothly, and the callback rarely fires (the
# printout gives the most drops of any repeated-order run): the model keeps its rate
# and, at patiences 2 and 5, ends more accurate (by how much, and in how many seeds,
# is printed above). Neither regime is wrong,
# but they give different answers to this chapter's question, so know which one your
# code runs: pass a `tf.data.Dataset` with
# `.shuffle(n, seed=..., reshuffle_each_iteration=True)` (as above) for a new order
# every epoch, and keep in mind that a seeded `fit(x, y, shuffle=True)` does not.

# %% [markdown]
# ## What the original reported, and what we measured
#
# The callback's decisions hinge on single epochs whose validation loss misses a record
# by a hair, so two seeds can cut their rates at very different times (the bands of
# the figures above show it), and a claim about *when* the rate drops is a claim about
# that noise. So each claim is decided seed by seed at the original's threshold, on 30
# seeds, and the verdict gives the count and the 95% interval of the pass rate
# ([how the verdicts are decided](../verdicts.md)). Each claim is judged twice: in the
# regime the original ran (a new order every epoch) and in the one a reader running its
# code under Keras 3 gets (one order repeated).
#
# The original read its claims off the training curves, so the accuracy here is
# training accuracy. Its "floor" is the point where the rate has become too small to
# move the weights; we put it at $10^{-6}$, 10,000 times below the start (four drops).
# "Only once" is exactly one drop; "about halfway" within 25 epochs of the middle (a
# seed whose rate never drops fails); "about 65%" is 62.5% to 67.5%, what rounds to 65
# at the original's precision of five points; "a worse model" a final training loss
# ordered patience 2 > 5 > both of 10 and 15; "volatile" a larger second-half
# epoch-to-epoch change of training accuracy than patience 10's, same seed. The rows
# are built by `lr_lessons.views.plateau_claims`, which chapter 9 reuses.

# %% tags=["ledger"]
table = plateau_claims.table(results, repeated)
table.save("04_plateau/claims")
table

# %% [markdown]
# ## What this chapter shows
#
# - `ReduceLROnPlateau` cuts the rate by `factor` whenever the monitored loss has not
#   improved by `min_delta` for `patience` epochs; `LearningRateMonitor` (or reading
#   `model.optimizer.learning_rate` yourself) shows what it did. The cut comes after
#   the epoch's updates, so the epoch that triggers it still trains at the old rate.
# - Small patiences fire on noise: patience 2 drives the rate below $10^{-6}$ within 50
#   epochs in most seeds and freezes the model at a poor loss. Larger patiences keep
#   learning.
# - How often the callback fires depends on the batch order: with Keras 3's repeated
#   order it hardly fires at all. A seeded `fit(x, y, shuffle=True)` and a reshuffling
#   dataset answer this chapter's question differently.
