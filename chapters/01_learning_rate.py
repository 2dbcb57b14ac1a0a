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
# # 1. The learning rate
#
# How the size of each gradient step decides whether a small network learns quickly,
# slowly, erratically or not at all. About 1 minute on a laptop CPU (20 s in quick mode).
#
# Plain stochastic gradient descent updates every weight $w$ with
#
# $$ w \leftarrow w - \eta \, \frac{\partial L}{\partial w}, $$
#
# where $\eta$ is the learning rate. We train the same small network with eight
# learning rates, from $10^0$ down to $10^{-7}$, and watch what happens.

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lr_lessons import config
from lr_lessons.lab import studies
from lr_lessons.lab.data import blobs_labels, load_blobs
from lr_lessons.lab.runner import run_study
from lr_lessons.views import line_plots, plotting, space_plots
from lr_lessons.views.claims import (
    ClaimsTable,
    combine,
    diverged,
    epochs_to_reach,
    final,
    numbers_note,
    seed_verdict,
    seeds_passing,
    summary,
    verdict,
    volatility,
)

# %% [markdown]
# ## The problem: three overlapping blobs
#
# A thousand points in two dimensions, drawn around three centres with a large spread,
# so the classes overlap and no classifier can be perfect. The first 500 points train
# the network; the last 500 test it (and serve as validation data during training).

# %%
x, labels = blobs_labels()
fig = space_plots.blobs_scatter(x, labels)
plotting.save_figure(fig, "01_learning_rate/blobs")
fig

# %% [markdown]
# ## One setting, written as you would write it
#
# A hidden layer of 50 ReLU units and a softmax output, trained with SGD at learning
# rate 0.1 for 200 epochs of batches of 32 (16 updates per epoch). This is all the
# Keras you need for one run; `config.epochs` only shortens it in quick mode.
#
# Two details are deliberate. The training data is a `tf.data.Dataset` that draws **a
# new order of the 500 points every epoch** (seeded, so the run is repeatable); see
# [batch order in Keras 3](#batch-order-in-keras-3) below for why we do not simply pass
# the arrays with `shuffle=True`. And `steps_per_execution=16` makes `fit` run a whole
# epoch of 16 batches per call into TensorFlow: this network has only 303 weights, so
# one batch is a few microseconds of arithmetic and nearly all of a plain `fit`'s time
# goes to the framework's work around each step (entering the compiled function,
# fetching the batch, updating metrics). Batching the calls, and passing the validation
# data as a dataset too (`fit` wraps validation arrays anew every epoch), makes this run
# several times faster without changing a single number (what remains is per-epoch
# work: validation, callbacks, a new pass over the dataset).

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
    optimizer=keras.optimizers.SGD(learning_rate=0.1),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=16,  # one call into TensorFlow per epoch of 16 batches
)
history = model.fit(
    train,
    validation_data=test,
    epochs=EPOCHS,
    # the dataset shuffles itself (fit's own shuffle is for arrays)
    shuffle=False,
    verbose=0,
)
print(
    f"after {EPOCHS} epochs: train accuracy "
    f"{history.history['accuracy'][-1]:.3f}, test accuracy "
    f"{history.history['val_accuracy'][-1]:.3f}"
)

# %% [markdown]
# ## Batch order in Keras 3
#
# A trap worth knowing before you seed any Keras 3 run: after
# `keras.utils.set_random_seed`, `model.fit(x, y, shuffle=True)` shuffles the arrays
# once and then visits the batches in **the same order in every epoch**. Keras 2 (which
# the originals used) drew a new order each epoch, and so does the dataset above. Ten
# points in batches of one make it visible:

# %%
seen = []


class OrderRecorder(keras.Sequential):
    """A model that notes which point each batch of one holds."""

    def train_step(self, data):
        seen.append(int(data[0][0, 0]))
        return super().train_step(data)


keras.utils.set_random_seed(0)
probe = OrderRecorder([keras.Input(shape=(1,)), layers.Dense(1)])
probe.compile(optimizer="sgd", loss="mse", run_eagerly=True)
points = np.arange(10, dtype="float32").reshape(-1, 1)
probe.fit(points, points, batch_size=1, epochs=2, shuffle=True, verbose=0)
print("fit(shuffle=True), epoch 1:", seen[:10])
print("fit(shuffle=True), epoch 2:", seen[10:])
fit_repeats = seen[:10] == seen[10:]
seen.clear()
fresh = tf.data.Dataset.from_tensor_slices((points, points))
fresh = fresh.shuffle(10, seed=0, reshuffle_each_iteration=True).batch(1)
probe.fit(fresh, epochs=2, shuffle=False, verbose=0)
print("reshuffling dataset, epoch 1:", seen[:10])
print("reshuffling dataset, epoch 2:", seen[10:])
dataset_reshuffles = seen[:10] != seen[10:]

# %% [markdown]
# It matters more than it looks. A repeated order makes each epoch's end state, and so
# the validation loss measured there, smoother from epoch to epoch; anything that reacts
# to that curve (`ReduceLROnPlateau`, `EarlyStopping`) then behaves differently. Chapter
# 4 shows by how much: with the repeated order the plateau callback of the originals
# almost never fires. Every run on these pages uses a fresh order per epoch.
#
# ## How the figures are made: all runs at once
#
# Each figure below trains every setting from five seeds (0 to 4; two in quick mode):
# each seed fixes the initial weights and the batch orders. Forty runs of 200 epochs,
# one `fit` after another, take a quarter of an hour or more, so the library's **stacked
# engine** (`lr_lessons.lab.engines.stacked`) trains them all at once: the weights of every
# run are stacked along a new first axis and each step is one batched forward and
# backward pass. It restates Keras' own layers, loss, metrics, optimizer updates and
# `ReduceLROnPlateau`; its test suite (`tests/test_stacked_engine.py`) trains every
# optimizer with both engines from the same seed and batch order for 20 epochs. Each
# update rule equals Keras' optimizer bit for bit; a run trained alone must match
# `fit`'s per-epoch metrics to float32 summation rounding ($2.7 \times 10^{-6}$
# relative, which it could not do if its weights drifted from `fit`'s); runs trained
# together may round a few numbers differently, and the fast early phase of training
# amplifies any rounding difference, so they must stay within twice the spread that
# moving the inputs by one unit in their last float32 digit causes in the same run. A
# slow test requires each setting's mean final accuracy over five seeds to fall within
# the range of `fit`'s five runs. To train every study with
# plain `model.fit` instead, run `lr-lessons figures --engine fit` (or set
# `LR_LESSONS_ENGINE=fit`); it is many times slower, and it passes arrays to `fit`, so
# it trains in the repeated-order regime described above (which matters in chapter 4).

# %% [markdown]
# ## Eight learning rates, several seeds
#
# The original ran every setting once and warned that results vary from run to run.
# We run each learning rate from several seeds (each seed fixes the initial weights and
# the order of the batches) and draw the mean as a line and the range over seeds as a
# band. `run_study` trains all of them and saves the numbers; the figure only reads them.

# %%
study = studies.learning_rate_study()
results = run_study(study)
fig = line_plots.accuracy_grid(
    results, ncols=2, title="SGD: train and test accuracy per epoch"
)
plotting.save_figure(fig, "01_learning_rate/accuracy_grid")
fig

# %% [markdown]
# Reading the panels from the top: at $\eta = 1$ the steps are so large that accuracy
# jumps around from epoch to epoch; at $10^{-1}$ and $10^{-2}$ the network learns; at
# $10^{-3}$ it learns, slowly; below that, 3,200 updates move the weights too little to
# change most predictions. "Too little" is not "not at all", though: the initial
# losses are large (the inputs reach $\pm 15$), so even tiny rates lower the loss a bit
# and, for an unlucky initialisation, flip a noticeable share of predictions. The table
# below checks each of the original's statements against our runs.

# %% [markdown]
# A network's loss is not a quadratic bowl, but a bowl shows the mechanism exactly:
# gradient descent diverges once $\eta$ passes $2/a$, where $a$ is the curvature of the
# steepest direction. Try it in
# [chapter 0's playground](00_concepts.py#try-it-a-gradient-descent-playground): move
# the learning rate across the mark $2/a$ and watch the path creep, zig-zag, then fly off.

# %% [markdown]
# ## What the original reported, and what we measured

# %%
TARGET = 0.75  # "reached reasonable accuracy": 75% on the test set
test_acc = {s: results.get("val_accuracy", s) for s in results.settings}
train_acc = {s: results.get("accuracy", s) for s in results.settings}
blown = {s: diverged(results.get("loss", s)) for s in results.settings}
half = results.epochs // 2

table = ClaimsTable(note=numbers_note(results))

wobble = {s: volatility(test_acc[s], start=half) for s in ("lr=1", "lr=0.1")}
table.add(
    "Learning rate 1.0 makes the model oscillate.",
    "epoch-to-epoch change of test accuracy (second half): "
    f"lr=1 {summary(wobble['lr=1'], diverged=blown['lr=1'])}, "
    f"lr=0.1 {summary(wobble['lr=0.1'])}; more than twice lr=0.1's (same "
    "seed) in " + seeds_passing(wobble["lr=1"] > 2 * wobble["lr=0.1"]),
    seed_verdict(wobble["lr=1"] > 2 * wobble["lr=0.1"]),
)

gain = {
    s: final(train_acc[s]) - train_acc[s][:, 0]
    for s in ("lr=1e-06", "lr=1e-07")
}
loss_drop = {
    s: 1 - final(results.get("loss", s)) / results.get("loss", s)[:, 0]
    for s in gain
}
nothing = np.logical_and(*(np.abs(g) < 0.05 for g in gain.values()))
table.add(
    "Learning rates 1E-6 and 1E-7 learn nothing.",
    "gain in train accuracy from epoch 1 to the end: "
    + "; ".join(f"{s[3:]}: {summary(g)}" for s, g in gain.items())
    + "; relative fall of the training loss: "
    + "; ".join(f"{s[3:]}: {summary(d, '.1%')}" for s, d in loss_drop.items())
    + f"; both gains below 5 points in {seeds_passing(nothing)}",
    seed_verdict(nothing),
    seed_dependent=True,
)

slower = ("lr=0.1", "lr=0.01", "lr=0.001")
reach = {s: epochs_to_reach(test_acc[s], TARGET) for s in slower}
late = {
    s: np.where(np.isnan(r), np.inf, r) for s, r in reach.items()
}  # never = last
learns = np.logical_and.reduce(
    [final(train_acc[s]) - train_acc[s][:, 0] > 0.1 for s in slower]
)
ordered = (
    learns
    & (late["lr=0.1"] < late["lr=0.01"])
    & (late["lr=0.01"] < late["lr=0.001"])
)
table.add(
    "1E-1, 1E-2 and 1E-3 learn, each more slowly than the one before.",
    "epochs to reach 75% test accuracy: "
    + "; ".join(f"{s[3:]}: {summary(r, '.0f')}" for s, r in reach.items())
    + f"; in this order in {seeds_passing(ordered)}",
    seed_verdict(ordered, partly=bool(learns.all())),
)

final_test = {s: final(test_acc[s]) for s in results.settings}
best = max(final_test, key=lambda s: final_test[s].mean())
good = (final_test["lr=0.1"] >= TARGET) & (
    final(train_acc["lr=0.1"]) >= TARGET
)
table.add(
    "Learning rate 0.1 gives good train and test performance.",
    f"lr=0.1, final: train {summary(final(train_acc['lr=0.1']))}, test "
    f"{summary(final_test['lr=0.1'])}; both at least 75% in "
    f"{seeds_passing(good)}; best mean final test accuracy: {best} "
    f"({final_test[best].mean():.3f})",
    combine(
        seed_verdict(good),
        verdict(final_test["lr=0.1"].mean() >= final_test[best].mean() - 0.01),
    ),
)
table.save("01_learning_rate/claims")
table
