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
# stability, and how to write old Keras' `decay=` in Keras 3. About 7 seconds of
# training from scratch on a 2-core CPU (its 30-seed study, measured; the constant
# rate is chapter 2's), plus the chapter's one `model.fit` and TensorFlow's import.
#
# Old Keras (2.x) let you write `lr=0.01, decay=d` in `SGD(...)` and, before every update $t$, used
#
# $$ \eta_t = \frac{\eta_0}{1 + d\,t}. $$
#
# In Keras 3, `lr=` is an error, but `decay=` is a trap: the optimizer **accepts** it,
# emits a `UserWarning` ("no longer supported and will be ignored") and then trains at
# a constant rate. Old code that sets a decay therefore still runs, without decaying,
# and the warning is easy to miss in a notebook full of output. The first section below shows it.
# The same rule is now a learning-rate schedule,
# `keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=d)`,
# passed as the optimizer's `learning_rate`.
#
# As in every chapter from 1 to 5, the figures train every setting from 30 seeds at
# once with the library's stacked engine, which reproduces `model.fit` (per-epoch
# metrics to float32 rounding over 20 epochs in its tests; details in
# [chapter 1](01_learning_rate.py#how-the-figures-are-made-all-runs-at-once));
# `lr-lessons figures --engine fit` trains them with `model.fit` instead.

# %% [markdown]
# The imports: Keras, and from this library the study definitions, chapter 1's model
# and input pipeline, the runner, the plots and the claims table (`decay_claims`).

# %%
import warnings

import keras
import numpy as np

from lr_lessons import config
from lr_lessons.lab import models, pipelines, studies
from lr_lessons.lab.runner import run_study
from lr_lessons.views import decay_claims, line_plots, plotting

# %% [markdown]
# ## The trap: `decay=` in Keras 3
#
# Keras 2 code, run under Keras 3. We catch the warnings it raises so they print here
# instead of scrolling past, then look at what the optimizer kept.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old_style = keras.optimizers.SGD(learning_rate=0.01, decay=1e-3)  # Keras 2
print("warning:", caught[0].message)
print("decay in the optimizer's config:", "decay" in old_style.get_config())
rate = float(old_style.learning_rate)
print(f"learning rate used at every update: {rate:g}")

# %% [markdown]
# The decay is gone from the optimizer's configuration and the rate stays at 0.01: the
# optimizer trains, without decaying. Nothing fails, so a port of old code can look
# right and still train at another rate than the one its author tuned; when you port,
# search for `decay=` and turn each into a schedule as below.
#
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
    note="Computed with keras.optimizers.schedules.InverseTimeDecay(0.01, 1, "
    "decay).",
)
plotting.save_figure(fig, "03_decay/decay_rule")
fig

# %% [markdown]
# Where each rule ends after a full run:

# %%
for name, rates in rules.items():
    print(
        f"{name:>12}: the 3,200th update uses {rates[-1]:.2e} "
        f"({rates[-1] / 0.01:.2%} of the start)"
    )

# %% [markdown]
# The rule is harsh at the large decays: after 3,200 updates, 1E-1 leaves a third of a
# percent of the start rate and 1E-2 three percent, so most of their runs take steps
# too small to matter. Because $\eta_t$ falls like $1/t$ once $d\,t \gg 1$, those two
# spend most of the run below $10^{-3}$ (1E-1 after about 90 updates, 1E-2 after about
# 900), a rate at which chapter 1's network learned only slowly. At 1E-4 the rate is
# still three quarters of the start at the end.
#
# ## One setting: decay 1E-3, written for Keras 3
#
# Chapter 1's network (`models.blobs_mlp()`) and input pipeline
# (`pipelines.blobs_batches()`: a new order every epoch, see
# [batch order in Keras 3](01_learning_rate.py#batch-order-in-keras-3)). The schedule
# object goes where the number used to go, `SGD(learning_rate=schedule)`. With
# `steps_per_execution=16` the schedule still advances once per update, not per call:
# the optimizer asks it for a rate at its own step counter, `optimizer.iterations`.
#
# The schedule's arguments map onto the old rule one to one: `InverseTimeDecay`
# computes $\eta_0 / (1 + r\, t / s)$ with `decay_rate` $r$ and `decay_steps` $s$, so
# `decay_steps=1` makes $t$ count single updates, as old Keras did, and `decay_rate` is
# the old `decay`. A larger `decay_steps` would stretch the same curve over more
# updates (and `staircase=True` would hold the rate constant between multiples of it).

# %%
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
train, test = pipelines.blobs_batches()
model = models.blobs_mlp()
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
    train, validation_data=test, epochs=EPOCHS, shuffle=False, verbose=0
)
# the optimizer counts its updates; the last one used the rate at count - 1
last_rate = float(schedule(model.optimizer.iterations - 1))
test_accuracy = history.history["val_accuracy"][-1]
print(f"test accuracy {test_accuracy:.3f}; last rate used {last_rate:.2e}")

# %% [markdown]
# At full length the last update is number 3,200, so the rate printed is
# $0.01 / (1 + 0.001 \times 3199) \approx 2.4 \times 10^{-3}$, the value the rule gave
# above: the schedule really did advance once per update.
#
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
# The panels follow the rule above. With decay 1E-1 the curves rise for a few epochs
# and then freeze well below the others: the rate reached a tenth of its start within
# the first 100 updates. Decay 1E-2 climbs for longer but also levels off early. Decays
# 1E-3 and 1E-4 keep enough of the rate to learn as constant 0.01 does (chapter 2's
# momentum-0 panel), and both steady the last epochs compared with it, decay 1E-3 the
# most (it ends at the smaller rate).

# %% [markdown]
# ## What the original reported, and what we measured
#
# The first two claims are about the rule, so they are checked on the formula itself
# (in float64; Keras' schedule matched it above), and so are the rates the runs used at
# their last update, which the rule fixes (every seed has the same). The original
# quotes its numbers to one or two digits; `claims.reads_as` accepts our value rounded
# or truncated to those digits, and nothing looser. "Almost no effect" is a rate still
# above 95% of its start at update 200. On the trained runs, seed by seed: "perform
# poorly" is a final test accuracy more than 5 points below the gentlest decay's, and
# "close to no decay" within 2 points of constant 0.01 from the same seed. Each verdict
# on runs counts the seeds that pass and gives the 95% interval of the pass rate
# ([how the verdicts are decided](../verdicts.md)); the rows are built by
# `lr_lessons.views.decay_claims`, which chapter 9 reuses at every momentum.

# %% tags=["ledger"]
table = decay_claims.table(results, constant)
table.save("03_decay/claims")
table

# %% [markdown]
# ## What this chapter shows
#
# - In Keras 3, `decay=` is accepted, warned about and ignored; the rule lives on as
#   `keras.optimizers.schedules.InverseTimeDecay(lr0, decay_steps=1, decay_rate=d)`,
#   passed as the optimizer's `learning_rate`.
# - The decay applies per update, not per epoch: over the 3,200 updates of this run,
#   1E-1 and 1E-2 cut the rate so fast that training stalls early, while 1E-4 is
#   hard to tell from no decay at all.
# - Check a schedule by evaluating it, as above, before spending a training run on it.
