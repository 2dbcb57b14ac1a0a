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
# # 3. Learning-rate decay
#
# How shrinking the learning rate at every update trades early progress for late
# stability, and how to write old Keras' `decay=` in Keras 3. About 1 minute on a laptop
# CPU (20 s in quick mode).
#
# Old Keras (2.x) let you write `lr=0.01, decay=d` in `SGD(...)` and, before every update $t$, used
#
# $$ \eta_t = \frac{\eta_0}{1 + d\,t}. $$
#
# In Keras 3, `lr=` is an error, but `decay=` is a trap: the optimizer **accepts** it,
# emits a `UserWarning` ("no longer supported and will be ignored") and then trains at
# a constant rate. Old code that sets a decay therefore still runs, without decaying,
# and the warning is easy to miss in a notebook full of output. The cell below shows it.
# The same rule is now a learning-rate schedule,
# `keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=d)`,
# passed as the optimizer's `learning_rate`.
#
# As in every chapter from 1 to 5, the figures train every setting from five seeds at
# once with the library's stacked engine, which reproduces `model.fit` (per-epoch
# metrics to float32 rounding over 20 epochs in its tests; details in
# [chapter 1](01_learning_rate.py#how-the-figures-are-made-all-runs-at-once));
# `lr-lessons figures --engine fit` trains them with `model.fit` instead.

# %%
import warnings

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
    ClaimsTable,
    final,
    numbers_note,
    seed_verdict,
    seeds_passing,
    summary,
    verdict,
)

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old_style = keras.optimizers.SGD(
        learning_rate=0.01, decay=1e-3
    )  # Keras 2 code
print("warning:", caught[0].message)
print("decay in the optimizer's config:", "decay" in old_style.get_config())
print(
    f"learning rate used at every update: {float(old_style.learning_rate):g}"
)

# %% [markdown]
# ## The rule itself (pure arithmetic)
#
# Before training anything: what the rule does to a start rate of 0.01 over the first
# 200 updates, and where it ends after the 3,200 updates of a 200-epoch run. We ask
# Keras' own schedule for the values and check them against the formula.

# %%
steps = np.arange(3200)
rules = {}
for d in studies.DECAYS:
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=0.01, decay_steps=1, decay_rate=d
    )
    rates = keras.ops.convert_to_numpy(schedule(steps))
    np.testing.assert_allclose(rates, 0.01 / (1 + d * steps), rtol=1e-5)
    rules[f"decay {d:g}"] = rates

fig = line_plots.curves(
    {k: v[:200] for k, v in rules.items()},
    title="lr = 0.01 / (1 + decay * t), first 200 updates",
    note=(
        "Computed with keras.optimizers.schedules.InverseTimeDecay(0.01, 1, "
        "decay)."
    ),
)
plotting.save_figure(fig, "03_decay/decay_rule")
fig

# %%
for name, rates in rules.items():
    print(
        f"{name:>12}: the 3,200th update uses {rates[-1]:.2e} "
        f"({rates[-1] / 0.01:.2%} of the start)"
    )

# %% [markdown]
# ## One setting: decay 1E-3, written for Keras 3
#
# Written as in chapter 1: a dataset that draws a new order every epoch (see
# [batch order in Keras 3](01_learning_rate.py#batch-order-in-keras-3)) and
# `steps_per_execution=16`. The schedule still advances once per update, not per call.

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
schedule = keras.optimizers.schedules.InverseTimeDecay(
    initial_learning_rate=0.01, decay_steps=1, decay_rate=1e-3
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=schedule),
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
last_rate = float(schedule(model.optimizer.iterations - 1))
test_accuracy = history.history["val_accuracy"][-1]
print(f"test accuracy {test_accuracy:.3f}; last rate used {last_rate:.2e}")

# %% [markdown]
# ## Four decays, several seeds
#
# The reference without decay is SGD at a constant 0.01: the `momentum=0` setting of
# chapter 2, trained from the same seeds (same initial weights, same batch order).
# The runner finds it on disk if chapter 2 already ran.

# %%
results = run_study(studies.decay_study())
constant = run_study(studies.momentum_study())
fig = line_plots.accuracy_grid(
    results, title="SGD from 0.01 with inverse-time decay"
)
plotting.save_figure(fig, "03_decay/accuracy_grid")
fig

# %% [markdown]
# ## What the original reported, and what we measured

# %%
test_acc = {s: results.get("val_accuracy", s) for s in results.settings}
final_test = {s: final(test_acc[s]) for s in results.settings}
no_decay = final(constant.get("val_accuracy", "momentum=0"))
last_lr = {s: results.get("learning_rate", s)[:, -1] for s in results.settings}
table = ClaimsTable(note=numbers_note(results))
rule_01 = 0.01 / (
    1 + 0.1 * steps
)  # the formula in float64 (the schedule matches it)
below = int(
    np.argmax(rule_01 < 0.002)
)  # first update whose rate is below 0.002


def quoted_as(value: float, quoted: str) -> bool:
    """Does ``value``, rounded or truncated to the digits of ``quoted``,
    read ``quoted``?"""
    q = float(quoted)
    digits = len(quoted.split("e")[0].replace(".", "").lstrip("0"))
    unit = 10.0 ** (np.floor(np.log10(q)) - digits + 1)
    return any(
        np.isclose(f(value / unit) * unit, q) for f in (np.round, np.floor)
    )


table.add(
    "Decay 1E-1 takes the rate below 0.002 within 50 updates and to about "
    "0.0004 at 200 (the rule, plotted).",
    f"below 0.002 from update {below}; rate at update 200: {rule_01[200]:.3g} "
    "(0.0004 truncated to the original's one digit; it truncates, as its "
    "0.0075 below shows)",
    verdict(below <= 50 and quoted_as(rule_01[200], "0.0004")),
)
table.add(
    "Decay 1E-4 has almost no effect over those 200 updates.",
    f"rate at update 200: {rules['decay 0.0001'][200]:.4g} "
    f"({rules['decay 0.0001'][200] / 0.01:.1%} of the start)",
    verdict(rules["decay 0.0001"][200] / 0.01 > 0.95),
)
fast = ["decay 0.1", "decay 0.01"]
poorer = np.logical_and.reduce(
    [final_test["decay 0.0001"] - final_test[s] > 0.05 for s in fast]
)
table.add(
    "Decays 1E-1 and 1E-2 shrink the rate too fast and perform poorly.",
    "final test accuracy: "
    + "; ".join(f"{s}: {summary(v)}" for s, v in final_test.items())
    + "; both more than 5 points below decay 1E-4 (same seed) in "
    f"{seeds_passing(poorer)}",
    seed_verdict(poorer),
)
diff = final_test["decay 0.0001"] - no_decay
curve_gap = np.abs(
    test_acc["decay 0.0001"] - constant.get("val_accuracy", "momentum=0")
)
close = np.abs(diff) < 0.02
table.add(
    "Decay 1E-4 is close to no decay.",
    "final test accuracy, decay 1E-4 minus constant 0.01 (same seeds): "
    f"{summary(diff)}, within 2 points in {seeds_passing(close)}; largest "
    "per-epoch gap between the mean curves: "
    f"{np.abs(curve_gap.mean(0)).max():.3f}",
    seed_verdict(close),
)
n = results.epochs * 16
for s, expected in (("decay 0.0001", "0.0075"), ("decay 0.1", "3.1e-5")):
    table.add(
        f"After 3,200 updates, {s} leaves about {expected}.",
        f"rate of update {n:,} in our runs: {summary(last_lr[s], '.4g')} (the "
        "original's figure is ours rounded or truncated to its digits)",
        verdict(n == 3200 and all(quoted_as(v, expected) for v in last_lr[s])),
    )
table.save("03_decay/claims")
table
