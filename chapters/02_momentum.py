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

# %% [markdown]
# Momentum also moves the edge of stability. On a quadratic bowl with curvature $a$,
# descent with momentum $\mu$ diverges only past $\eta = 2(1+\mu)/a$ instead of $2/a$,
# and for most rates below that it swings past the minimum before it settles. See both
# with the momentum slider of
# [chapter 0's playground](00_concepts.py#try-it-a-gradient-descent-playground).

# %%
import keras
from keras import layers

from lr_lessons import config, plotting, studies
from lr_lessons.claims import (
    ClaimsTable,
    epochs_to_reach,
    final,
    median_epochs,
    summary,
    verdict,
    volatility,
)
from lr_lessons.data import load_blobs
from lr_lessons.runner import run_study

# %% [markdown]
# ## One setting: SGD at 0.01 with momentum 0.9

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
    optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
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
print(f"test accuracy after {EPOCHS} epochs: {history.history['val_accuracy'][-1]:.3f}")

# %% [markdown]
# ## Four momentums, several seeds

# %%
results = run_study(studies.momentum_study())
fig = plotting.accuracy_grid(results, title="SGD (learning rate 0.01) with momentum")
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
med = {s: median_epochs(r) for s, r in reach.items()}
table = ClaimsTable(
    note=f"Numbers: mean [min, max] over seeds {results.seeds}. "
    f"Data: {results.meta['data_source']}; {results.epochs} epochs."
)

fast = [med["momentum=0.9"], med["momentum=0.99"]]
table.add(
    "Momentum 0.9 and 0.99 reach reasonable accuracy far sooner than no momentum.",
    "epochs to 75% test accuracy: "
    + "; ".join(f"{s}: {summary(r, '.0f')}" for s, r in reach.items()),
    verdict(max(fast) * 3 <= med["momentum=0"], partly=max(fast) < med["momentum=0"]),
)
slow_end = med["momentum=0"]
table.add(
    "Without momentum it takes nearly all 200 epochs.",
    f"momentum=0: median {slow_end:.0f} epochs of {results.epochs} to 75% test accuracy",
    verdict(slow_end >= 0.5 * results.epochs, partly=slow_end >= 0.25 * results.epochs),
)
half = results.epochs // 2
wobble = {s: volatility(test_acc[s], start=half) for s in results.settings}
table.add(
    "Test accuracy is more stable with momentum.",
    "epoch-to-epoch change of test accuracy, second half: "
    + "; ".join(f"{s}: {summary(w, '.4f')}" for s, w in wobble.items()),
    verdict(
        all(wobble[s].mean() < wobble["momentum=0"].mean() for s in results.settings[1:]),
        partly=wobble["momentum=0.9"].mean() < wobble["momentum=0"].mean(),
    ),
)
final_test = {s: final(test_acc[s], last=10) for s in results.settings}
table.add(
    "(Not claimed by the original; for reference.) Final test accuracy, mean of the last 10 epochs.",
    "; ".join(f"{s}: {summary(v)}" for s, v in final_test.items()),
    "measured",
)
table.save("02_momentum/claims")
table
