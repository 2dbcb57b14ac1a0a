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
# # 2. Momentum
#
# How carrying part of the previous step into the next one speeds SGD up when the
# learning rate is small. About 1 minute on a laptop CPU (20 s in quick mode).
#
# Keras' SGD with momentum $\mu$ keeps a velocity $v$ for every weight:
#
# $$ v \leftarrow \mu\, v - \eta\, \frac{\partial L}{\partial w}, \qquad w \leftarrow w + v. $$
#
# With $\mu = 0$ this is plain SGD. With $\mu = 0.9$ a gradient that keeps pointing the same
# way is added up over about $1/(1-\mu) = 10$ steps, so the effective step grows tenfold
# along consistent directions while directions that flip sign cancel out. We keep the
# learning rate at 0.01, which chapter 1 showed to learn slowly, and vary $\mu$.
#
# As in chapters 1 to 5, the figure trains every momentum from five seeds at once with
# the library's stacked engine, which reproduces `model.fit` (per-epoch metrics to
# float32 rounding over 20 epochs in its tests; details in
# [chapter 1](01_learning_rate.py#how-the-figures-are-made-all-runs-at-once));
# `lr-lessons figures --engine fit` trains them with `model.fit` instead.

# %% [markdown]
# Momentum also moves the edge of stability. On a quadratic bowl with curvature $a$,
# descent with momentum $\mu$ diverges only past $\eta = 2(1+\mu)/a$ instead of $2/a$,
# and for most rates below that it swings past the minimum before it settles. See both
# with the momentum slider of
# [chapter 0's playground](00_concepts.py#try-it-a-gradient-descent-playground).

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lr_lessons import config
from lr_lessons.lab import studies
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.runner import run_study
from lr_lessons.views import line_plots, plotting
from lr_lessons.views.claims import (
    MEASURED,
    ClaimsTable,
    epochs_to_reach,
    final,
    numbers_note,
    seed_verdict,
    seeds_passing,
    summary,
    volatility,
)

# %% [markdown]
# ## One setting: SGD at 0.01 with momentum 0.9
#
# Written as in chapter 1: a dataset that draws a new order every epoch (see
# [batch order in Keras 3](01_learning_rate.py#batch-order-in-keras-3)) and
# `steps_per_execution=16`, one call into TensorFlow per epoch.

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
    optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=16,  # one call into TensorFlow per epoch
)
history = model.fit(
    train,
    validation_data=test,
    epochs=EPOCHS,
    shuffle=False,  # the dataset reshuffles itself
    verbose=0,
)
print(
    f"test accuracy after {EPOCHS} epochs: "
    f"{history.history['val_accuracy'][-1]:.3f}"
)

# %% [markdown]
# ## Four momentums, several seeds

# %%
results = run_study(studies.momentum_study())
fig = line_plots.accuracy_grid(
    results, title="SGD (learning rate 0.01) with momentum"
)
plotting.save_figure(fig, "02_momentum/accuracy_grid")
fig

# %% [markdown]
# Without momentum the curves creep upwards for most of the run; with 0.9 and 0.99 they
# rise within the first few epochs. Momentum 0.99 averages over about a hundred steps,
# so it can overshoot and wobble before settling.

# %% [markdown]
# ## What the original reported, and what we measured

# %%
TARGET = 0.75
test_acc = {s: results.get("val_accuracy", s) for s in results.settings}
reach = {s: epochs_to_reach(test_acc[s], TARGET) for s in results.settings}
late = {
    s: np.nan_to_num(r, nan=np.inf) for s, r in reach.items()
}  # never = infinitely late
table = ClaimsTable(note=numbers_note(results))

far_sooner = (
    np.maximum(late["momentum=0.9"], late["momentum=0.99"]) * 3
    <= late["momentum=0"]
)
sooner = (
    np.maximum(late["momentum=0.9"], late["momentum=0.99"])
    < late["momentum=0"]
)
table.add(
    "Momentum 0.9 and 0.99 reach reasonable accuracy far sooner than no "
    "momentum.",
    "epochs to 75% test accuracy: "
    + "; ".join(f"{s}: {summary(r, '.0f')}" for s, r in reach.items())
    + f"; both at least 3 times sooner than momentum 0 (same seed) in "
    f"{seeds_passing(far_sooner)}",
    seed_verdict(far_sooner, partly=bool(sooner.all())),
)
nearly_all = late["momentum=0"] >= 0.5 * results.epochs
table.add(
    "Without momentum it takes nearly all 200 epochs.",
    f"momentum=0: {summary(reach['momentum=0'], '.0f')} epochs of "
    f"{results.epochs} to 75% test accuracy; at least half the run (or never) "
    f"in {seeds_passing(nearly_all)}",
    seed_verdict(
        nearly_all,
        partly=bool((late["momentum=0"] >= results.epochs / 4).all()),
    ),
)
half = results.epochs // 2
wobble = {s: volatility(test_acc[s], start=half) for s in results.settings}
steadier = np.logical_and.reduce(
    [wobble[s] < wobble["momentum=0"] for s in results.settings[1:]]
)
table.add(
    "Test accuracy is more stable with momentum.",
    "epoch-to-epoch change of test accuracy, second half: "
    + "; ".join(f"{s}: {summary(w, '.4f')}" for s, w in wobble.items())
    + "; every momentum below momentum 0 (same seed) in "
    f"{seeds_passing(steadier)}",
    seed_verdict(
        steadier,
        partly=bool((wobble["momentum=0.9"] < wobble["momentum=0"]).all()),
    ),
    seed_dependent=True,
)
final_test = {s: final(test_acc[s]) for s in results.settings}
table.add(
    "(Not claimed by the original; for reference.) Final test accuracy.",
    "; ".join(f"{s}: {summary(v)}" for s, v in final_test.items()),
    MEASURED,
)
table.save("02_momentum/claims")
table
