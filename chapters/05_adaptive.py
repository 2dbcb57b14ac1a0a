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
# # 5. Adaptive learning rates
#
# How RMSprop, Adagrad and Adam give every weight its own step size, and what that buys
# over plain SGD with Keras' default settings. About 11 seconds of training from
# scratch on a 2-core CPU (its 30-seed study, measured), plus the chapter's one
# `model.fit` and TensorFlow's import.
#
# The adaptive optimizers divide each weight's step by a running measure of that weight's
# past gradients. Adam, for example, keeps averages $m$ and $v$ of the gradient $g$ and
# of its square and steps
#
# $$ w \leftarrow w - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}, $$
#
# so weights with small, consistent gradients move as far as those with large ones. We
# pass each optimizer by name, which uses Keras' defaults.
#
# As in chapters 1 to 5, the figure trains every optimizer from 30 seeds at once with
# the library's stacked engine, which restates each optimizer's Keras 3 update and
# reproduces `model.fit` (per-epoch metrics to float32 rounding over 20 epochs for
# SGD, RMSprop, Adagrad and Adam in its tests; details in
# [chapter 1](01_learning_rate.py#how-the-figures-are-made-all-runs-at-once));
# `lr-lessons figures --engine fit` trains them with `model.fit` instead.

# %% [markdown]
# The imports: Keras, and from this library the study definitions, chapter 1's model
# and input pipeline, the runner, the plots and the claims table (`adaptive_claims`).

# %%
import keras

from lr_lessons import config
from lr_lessons.lab import models, pipelines, studies
from lr_lessons.lab.runner import run_study
from lr_lessons.views import adaptive_claims, line_plots, plotting

# %% [markdown]
# ## Three ways to adapt the step
#
# All three keep, for every weight, a running record $s$ of its squared gradients
# $g^2$ and divide the step by $\sqrt{s}$:
#
# - **Adagrad** adds up every squared gradient, $s \leftarrow s + g^2$, and steps
#   $\eta\, g / \sqrt{s}$. The sum only grows, so the steps only shrink.
# - **RMSprop** keeps a moving average instead,
#   $s \leftarrow \rho\, s + (1-\rho)\, g^2$, so old gradients fade and the step
#   size can recover.
# - **Adam** does the same for the squares ($\hat v$ above) and also averages the
#   gradients themselves ($\hat m$), which is momentum (chapter 2) with a per-weight
#   scale.
#
# A small $\epsilon$ in each keeps the division finite.
#
# ## One setting: Adam by name
#
# The network is chapter 1's (`models.blobs_mlp()`), fed by chapter 1's pipeline
# (`pipelines.blobs_batches()`: a new order of the training batches every epoch, see
# [batch order in Keras 3](01_learning_rate.py#batch-order-in-keras-3)). The optimizer
# is given by name, `optimizer="adam"`, which builds `keras.optimizers.Adam()` with all
# its defaults, learning rate included.

# %%
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
train, test = pipelines.blobs_batches()
model = models.blobs_mlp()
model.compile(
    optimizer="adam",
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
# ## Keras 3's defaults
#
# The original ran in 2019. Some defaults have changed since (Adagrad's learning rate
# was 0.01 then); these are the ones our runs use, read from Keras itself. Each
# optimizer's `get_config()` lists its settings; we print the ones that shape the step.

# %%
STEP_SETTINGS = ["learning_rate", "momentum", "rho", "beta_1", "beta_2"]
STEP_SETTINGS += ["epsilon", "initial_accumulator_value"]
for name in studies.ADAPTIVE:
    cfg = keras.optimizers.get(name).get_config()
    shown = [f"{k}={cfg[k]:g}" for k in STEP_SETTINGS if k in cfg]
    print(f"{name:>8}: " + ", ".join(shown))

# %% [markdown]
# ## Four optimizers, several seeds
#
# The study trains the same network with `"sgd"`, `"rmsprop"`, `"adagrad"` and
# `"adam"`, each by name, from every seed.

# %%
results = run_study(studies.adaptive_study())
fig = line_plots.accuracy_grid(
    results, title="Keras' optimizers at their default settings"
)
plotting.save_figure(fig, "05_adaptive/accuracy_grid")
fig

# %% [markdown]
# RMSprop and Adam settle within a few dozen epochs and then hold steady, while SGD's
# test accuracy keeps jumping. Adagrad is the odd one out: its Keras 3 default rate
# (0.001, printed above; it was 0.01 in 2019 Keras) is ten times smaller than the
# original's, and its accumulated squared gradients shrink the steps further, so in 200
# epochs it does not catch up. That is a difference of defaults, not of the method.

# %% [markdown]
# ## What the original reported, and what we measured
#
# Three measurements carry the claims. How soon: the first epoch whose mean test
# accuracy over the last 5 epochs reaches 75%, a seed that never gets there counting as
# infinitely late. How volatile: the mean epoch-to-epoch change of test accuracy after
# the first quarter of training, when the adaptive methods have done their fast
# learning. And where each ends: the final test accuracy, for reference. "Nearly all
# 200 epochs" is at least half the run (or never); "about 50 epochs" at most 10% more,
# by epoch 55, for both RMSprop and Adam in the same seed; the comparisons with SGD hold
# for a seed when all three adaptive methods beat it. Each verdict counts the seeds that
# pass and gives the 95% interval of the pass rate
# ([how the verdicts are decided](../verdicts.md)); the rows are built by
# `lr_lessons.views.adaptive_claims`.

# %% tags=["ledger"]
table = adaptive_claims.table(results)
table.save("05_adaptive/claims")
table

# %% [markdown]
# ## What this chapter shows
#
# - Passing an optimizer by name (`"adam"`) uses its Keras defaults, and defaults move
#   between versions: Adagrad's rate fell from 0.01 to 0.001, which alone explains its
#   slow curves here (chapter 9 trains Adagrad at 0.01 on the same problem and seeds: it
#   ends within a point of Adam). Print `get_config()` before comparing with old
#   results.
# - RMSprop and Adam scale each weight's step by its own gradient history; on this
#   problem they reach 75% test accuracy within a few dozen epochs and then hold much
#   steadier than plain SGD at its default rate.
# - Chapter 1 found SGD's best rate by trying eight; the adaptive methods worked at
#   their defaults. That is their practical appeal, and chapter 6's range test is the
#   tool for when a default is not good enough.
