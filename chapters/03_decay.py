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
# Keras 3 removed both `lr=` and `decay=`. The same rule is a learning-rate schedule:
# `keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=d)`,
# passed as the optimizer's `learning_rate`.

# %%
import keras
import numpy as np
from keras import layers

from lr_lessons import config, plotting, studies
from lr_lessons.claims import ClaimsTable, final, summary, verdict
from lr_lessons.data import load_blobs
from lr_lessons.runner import run_study

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
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=d)
    rates = keras.ops.convert_to_numpy(schedule(steps))
    np.testing.assert_allclose(rates, 0.01 / (1 + d * steps), rtol=1e-5)
    rules[f"decay {d:g}"] = rates

fig = plotting.curves(
    {k: v[:200] for k, v in rules.items()},
    title="lr = 0.01 / (1 + decay * t), first 200 updates",
    note="Computed with keras.optimizers.schedules.InverseTimeDecay(0.01, 1, decay).",
)
plotting.save_figure(fig, "03_decay/decay_rule")
fig

# %%
for name, rates in rules.items():
    print(
        f"{name:>12}: the 3,200th update uses {rates[-1]:.2e} ({rates[-1] / 0.01:.2%} of the start)"
    )

# %% [markdown]
# ## One setting: decay 1E-3, written for Keras 3

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
schedule = keras.optimizers.schedules.InverseTimeDecay(
    initial_learning_rate=0.01, decay_steps=1, decay_rate=1e-3
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=schedule),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    blobs.x_train,
    blobs.y_train,
    validation_data=(blobs.x_test, blobs.y_test),
    epochs=EPOCHS,
    batch_size=32,
    verbose=0,
)
last_rate = float(schedule(model.optimizer.iterations - 1))
print(f"test accuracy {history.history['val_accuracy'][-1]:.3f}; last rate used {last_rate:.2e}")

# %% [markdown]
# ## Four decays, several seeds
#
# The reference without decay is SGD at a constant 0.01: the `momentum=0` setting of
# chapter 2, trained from the same seeds (same initial weights, same batch order).
# The runner finds it on disk if chapter 2 already ran.

# %%
results = run_study(studies.decay_study())
constant = run_study(studies.momentum_study())
fig = plotting.accuracy_grid(results, title="SGD from 0.01 with inverse-time decay")
plotting.save_figure(fig, "03_decay/accuracy_grid")
fig

# %% [markdown]
# ## What the original reported, and what we measured

# %%
test_acc = {s: results.get("val_accuracy", s) for s in results.settings}
final_test = {s: final(test_acc[s], last=10) for s in results.settings}
no_decay = final(constant.get("val_accuracy", "momentum=0"), last=10)
last_lr = {s: results.get("learning_rate", s)[:, -1] for s in results.settings}
table = ClaimsTable(
    note=f"Numbers: mean [min, max] over seeds {results.seeds}; final = mean of the last 10 "
    f"epochs. Data: {results.meta['data_source']}; {results.epochs} epochs."
)
fast = ["decay 0.1", "decay 0.01"]
gap = {s: final_test["decay 0.0001"].mean() - final_test[s].mean() for s in fast}
table.add(
    "Decays 1E-1 and 1E-2 shrink the rate too fast and perform poorly.",
    "final test accuracy: " + "; ".join(f"{s}: {summary(v)}" for s, v in final_test.items()),
    verdict(min(gap.values()) > 0.05, partly=max(gap.values()) > 0.05),
)
diff = final_test["decay 0.0001"] - no_decay
curve_gap = np.abs(test_acc["decay 0.0001"] - constant.get("val_accuracy", "momentum=0"))
table.add(
    "Decay 1E-4 is close to no decay.",
    f"final test accuracy, decay 1E-4 minus constant 0.01 (same seeds): {summary(diff)}; "
    f"largest per-epoch gap between the mean curves: {np.abs(curve_gap.mean(0)).max():.3f}",
    verdict(np.abs(diff).max() < 0.02, partly=abs(diff.mean()) < 0.02),
)
n = results.epochs * 16
for s, expected in (("decay 0.0001", 0.0076), ("decay 0.1", 3.1e-5)):
    table.add(
        f"After 3,200 updates, {s} leaves about {expected:g}.",
        f"rate of update {n:,} in our runs: {summary(last_lr[s], '.3g')}",
        verdict(n == 3200 and np.allclose(last_lr[s], expected, rtol=0.02)),
    )
table.save("03_decay/claims")
table
