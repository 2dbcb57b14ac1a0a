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
# slowly, erratically or not at all. About 15 seconds of training from scratch on a
# 2-core CPU (its 30-seed study, measured), plus the chapter's own `model.fit` runs
# and TensorFlow's import.
#
# Plain stochastic gradient descent updates every weight $w$ with
#
# $$ w \leftarrow w - \eta \, \frac{\partial L}{\partial w}, $$
#
# where $\eta$ is the learning rate. We train the same small network with eight
# learning rates, from $10^0$ down to $10^{-7}$, and watch what happens.

# %% [markdown]
# The imports: Keras and TensorFlow (for `tf.data`), and from this library the data,
# the study definitions, the runner that trains (or reads back) a study, the plots,
# and `learning_rate_claims`, which turns results into the table at the end of the page.

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lr_lessons import config
from lr_lessons.lab import studies
from lr_lessons.lab.data import blobs_labels, load_blobs
from lr_lessons.lab.runner import run_study
from lr_lessons.views import (
    learning_rate_claims,
    line_plots,
    plotting,
    space_plots,
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
# about twice as fast on a 2-core CPU without changing a single number: the library's
# tests train it both ways and find the same history, bit for bit. What remains is
# per-epoch work: validation, callbacks, a new pass over the dataset.

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
# The network is defined once in the library too, as `models.blobs_mlp()` in
# `lr_lessons.lab.models`, and the two pipelines as `pipelines.blobs_batches()`;
# chapters 2 to 5 call those instead of repeating these lines. `jit_compile=True`, the
# other Keras switch for speed, compiles the step with XLA: for a model this small the
# compilation takes longer than the whole run saves, so we leave it off.
#
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
# almost never fires. The blobs studies of chapters 1 to 5, 8 and 9 draw a fresh order
# per epoch (chapter 4 also trains the repeated order, on purpose); the runs trained with
# `model.fit` on arrays (the MNIST runs of chapters 6 to 8, and chapter 8's first demo)
# repeat one order, as Keras 3 does. Every results file records which, in
# `meta["reshuffle"]`.
#
# ## How the figures are made: all runs at once
#
# Each figure below trains every setting from 30 seeds (0 to 29; two in quick mode):
# each seed fixes the initial weights and the batch orders. Thirty seeds are what it
# takes to tell "holds in nearly every seed" from "holds in most" (see the table at the
# end). Those 240 runs of 200 epochs, one `fit` after another, would take most of an
# hour, so the library's **stacked
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
# We run each learning rate from 30 seeds (each seed fixes the initial weights and
# the order of the batches) and draw the mean as a line and, as a band, the range
# that holds the middle 80% of the seeds (10th to 90th percentile). `run_study` trains all of them and saves the numbers; the figure only reads them.

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
# $10^{-3}$ and $10^{-4}$ it learns, slowly, and at $10^{-5}$ only a little; at $10^{-6}$
# and $10^{-7}$, 3,200 updates move the weights too little to change most predictions. "Too little" is not "not at all", though: the initial
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

# %% [markdown]
# Each row tests one statement of the original seed by seed, at the threshold the
# original used or implied: its "reasonable accuracy" is 75% on the test set, and the
# time to reach it is the first epoch whose mean over the last 5 epochs gets there (a
# single lucky epoch does not count). "Oscillates" is the mean epoch-to-epoch change of
# test accuracy over the second half of the run, more than twice rate 0.1's from the
# same seed; "learn nothing" is a gain of less than 5 points of training accuracy;
# "learn" a gain of more than 10; "good" both final accuracies at 75% or more, and
# within a point of the best rate's. The verdict counts the seeds that pass and gives
# the 95% interval of the pass rate; the words come from fixed thresholds on that
# interval ([how the verdicts are decided](../verdicts.md)). The code that builds the
# rows is `lr_lessons.views.learning_rate_claims`.

# %% tags=["ledger"]
table = learning_rate_claims.table(results, study)
table.save("01_learning_rate/claims")
table

# %% [markdown]
# ## What this chapter shows
#
# - The learning rate decides the regime: too large and the accuracy jumps from epoch
#   to epoch, in a band of good values the network learns, and below it the 3,200
#   updates of a 200-epoch run barely move the weights.
# - Among the rates that learn, each tenfold smaller rate takes longer to reach the
#   same accuracy; 0.1 gets there first and, on average over the seeds, ends within a
#   point of the best final test accuracy (seed by seed in most seeds, not all: the
#   table gives the count).
# - Keras 3's seeded `fit(x, y, shuffle=True)` repeats one batch order every epoch;
#   a `tf.data.Dataset` with `reshuffle_each_iteration=True` draws a new one, as Keras
#   2 did. Know which your code runs (chapter 4 shows when it matters).
# - A tiny model spends its time in the framework, not in arithmetic:
#   `steps_per_execution` removes most of that overhead without changing a number.
