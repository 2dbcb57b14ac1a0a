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

# %%
import keras
import numpy as np
from keras import layers

from lr_lessons import LearningRateMonitor, config, plotting, studies
from lr_lessons.claims import ClaimsTable, final, summary, verdict
from lr_lessons.data import load_blobs
from lr_lessons.runner import run_study

# %% [markdown]
# ## One setting: patience 10

# %%
blobs = load_blobs()
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
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
)
monitor = LearningRateMonitor()
plateau = keras.callbacks.ReduceLROnPlateau(
    monitor="val_loss", factor=0.1, patience=10, min_delta=1e-7
)
history = model.fit(
    blobs.x_train,
    blobs.y_train,
    validation_data=(blobs.x_test, blobs.y_test),
    epochs=EPOCHS,
    batch_size=32,
    callbacks=[monitor, plateau],
    verbose=0,
)
drops = [e + 1 for e in range(1, len(monitor.rates)) if monitor.rates[e] < monitor.rates[e - 1]]
print(f"rate dropped after epochs {drops}; final rate {monitor.rates[-1]:.0e}")

# %% [markdown]
# ## Four patiences, several seeds
#
# Three figures, as in the original: the learning rate in force during each epoch (log
# scale, median over seeds, cut at $10^{-12}$: with patience 2 the rate keeps falling
# tenfold every few epochs until it underflows float32), the training loss and the
# training accuracy.

# %%
results = run_study(studies.plateau_study())
fig = plotting.metric_grid(
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
fig = plotting.metric_grid(results, ["loss"], ylabel="training loss", title="Training loss")
plotting.save_figure(fig, "04_plateau/loss")
fig

# %%
fig = plotting.metric_grid(
    results, ["accuracy"], ylabel="training accuracy", title="Training accuracy"
)
plotting.save_figure(fig, "04_plateau/accuracy")
fig

# %% [markdown]
# ## What the original reported, and what we measured

# %%
lr = {s: results.get("learning_rate", s) for s in results.settings}
n_drops = {s: (np.diff(r, axis=1) < 0).sum(axis=1) for s, r in lr.items()}
FLOOR = 1e-6  # 10,000 times below the start: updates no longer move the weights
floor_epoch = {
    s: np.array([np.argmax(run < FLOOR) + 1 if (run < FLOOR).any() else np.nan for run in r])
    for s, r in lr.items()
}
train_loss = {s: final(results.get("loss", s), last=10) for s in results.settings}
table = ClaimsTable(
    note=f"Numbers: mean [min, max] over seeds {results.seeds}; final = mean of the last 10 "
    f"epochs. Data: {results.meta['data_source']}; {results.epochs} epochs."
)
p2 = floor_epoch["patience=2"]
table.add(
    "Patience 2 hits its floor quickly.",
    f"patience 2 falls below {FLOOR:g} (1/10,000 of the start) at epoch {summary(p2, '.0f')}; "
    f"final rate {summary(lr['patience=2'][:, -1], '.0e')}",
    verdict(
        np.isfinite(p2).all() and np.nanmax(p2) <= results.epochs / 4, partly=np.isfinite(p2).any()
    ),
)
d15 = n_drops["patience=15"]
table.add(
    "Patience 15 drops the rate only once.",
    "number of drops: " + "; ".join(f"{s}: {summary(v, '.1f')}" for s, v in n_drops.items()),
    verdict((d15 == 1).all(), partly=(d15 == 1).any()),
)
small = max(train_loss["patience=2"].mean(), train_loss["patience=5"].mean())
large = min(train_loss["patience=10"].mean(), train_loss["patience=15"].mean())
table.add(
    "Small patiences converge prematurely to a worse model; larger patiences do better.",
    "final training loss: " + "; ".join(f"{s}: {summary(v)}" for s, v in train_loss.items()),
    verdict(
        small > large and train_loss["patience=2"].mean() > train_loss["patience=5"].mean(),
        partly=train_loss["patience=2"].mean() > large,
    ),
)
table.save("04_plateau/claims")
table
