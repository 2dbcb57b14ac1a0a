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
# learning rate is small. About 8 seconds of training from scratch on a 2-core CPU
# (its 30-seed study, measured), plus the chapter's one `model.fit` and TensorFlow's
# import.
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
# As in chapters 1 to 5, the figure trains every momentum from 30 seeds at once with
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

# %% [markdown]
# The imports: Keras, and from this library the study definitions, chapter 1's model
# and input pipeline, the runner that trains (or reads back) a study, the plots, and
# `momentum_claims`, which turns the results into the table at the end.

# %%
import keras

from lr_lessons import config
from lr_lessons.lab import models, pipelines, studies
from lr_lessons.lab.runner import run_study
from lr_lessons.views import line_plots, momentum_claims, plotting

# %% [markdown]
# ## One setting: SGD at 0.01 with momentum 0.9
#
# `models.blobs_mlp()` is chapter 1's network (50 ReLU units, a softmax over the three
# classes), and `pipelines.blobs_batches()` is chapter 1's input pipeline: training
# batches of 32 drawn in a new order every epoch (see
# [batch order in Keras 3](01_learning_rate.py#batch-order-in-keras-3)) and the test
# points for validation. The only new line is the optimizer: momentum is an argument
# of `SGD`. `steps_per_execution=16` runs a whole epoch per call into TensorFlow, as in
# chapter 1.

# %%
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
train, test = pipelines.blobs_batches()
model = models.blobs_mlp()
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=16,  # one call into TensorFlow per epoch
)
history = model.fit(
    train, validation_data=test, epochs=EPOCHS, shuffle=False, verbose=0
)
print(
    f"test accuracy after {EPOCHS} epochs: "
    f"{history.history['val_accuracy'][-1]:.3f}"
)

# %% [markdown]
# ## Four momentums, several seeds
#
# The study trains SGD at 0.01 with momentum 0, 0.5, 0.9 and 0.99, each from every
# seed. Momentum 0 is plain SGD, the slow learner of chapter 1.

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
#
# The original called 75% test accuracy "reasonable", so "how soon" is the first epoch
# whose mean test accuracy over the last 5 epochs reaches 0.75 (one lucky epoch does not
# count). A seed that never gets there counts as infinitely late, so it loses every
# "sooner than" comparison. "Far sooner" is at least three times sooner, seed by seed
# (the same seed gives the same initial weights and batch order at every momentum);
# "nearly all 200 epochs" is at least half the run, or never; "more stable" is every
# momentum's mean epoch-to-epoch change of test accuracy over the second half of the
# run below momentum 0's. Each verdict counts the seeds that pass and gives the 95%
# interval of the pass rate ([how the verdicts are decided](../verdicts.md)); the rows
# are built by `lr_lessons.views.momentum_claims`.

# %% tags=["ledger"]
table = momentum_claims.table(results)
table.save("02_momentum/claims")
table

# %% [markdown]
# ## What this chapter shows
#
# - Momentum is one argument of `SGD`, and at a small learning rate it pays: at 0.9 or
#   0.99 the network reaches 75% test accuracy several times sooner than plain SGD, at
#   least three times sooner in most seeds (the table has the epochs and the count).
#   Plain SGD at 0.01 still gets there before half of our 200 epochs in every seed,
#   unlike the original's run.
# - A velocity that adds up about $1/(1-\mu)$ steps acts like a larger learning rate
#   along directions the gradient keeps; very high momentum (0.99) pays for its speed
#   with overshoot early on.
# - Every momentum steadies the late epochs in most of our 30 seeds, not in all: the
#   table gives the count and its interval rather than hiding it in an average.
