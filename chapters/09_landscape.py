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
# # 9. The learning-rate landscape
#
# Where the good learning rate sits when you change momentum, batch size or optimizer,
# and how wide the good region is: maps over two thousand runs. Several minutes on a
# 2-core laptop CPU for the training (saved, so re-plotting takes seconds); a few
# minutes in quick mode.
#
# Chapters 1 to 5 varied one thing at a time at one learning rate: momentum at 0.01,
# the optimizers at their defaults, one batch size. The question you face in practice
# is two-dimensional: *if I raise momentum or the batch size, where does the good
# learning rate move, and how much room is there around it?* Here we train whole grids,
# every learning rate from $10^{-5}$ to $4.6$ (18 rates, a third of a decade apart)
# against every momentum, every batch size from 8 to 500 and seven optimizers, each cell
# from five seeds, and check three rules of thumb from the literature against them:
#
# - **Effective learning rate.** Heavy-ball momentum (Keras' `SGD(momentum=mu)`) adds
#   up a gradient that keeps its direction over about $1/(1-\mu)$ steps, so in the long
#   run it moves like plain SGD at $\eta/(1-\mu)$. If that is all momentum does, the
#   best rate should fall in proportion to $1-\mu$ (Shallue et al., 2019, report the
#   optimal rate scaling with $1-\mu$).
# - **Linear scaling with batch size.** The noise of SGD grows with
#   $g = \eta N / (B (1-\mu))$ for $N$ training examples and batches of $B$ (Smith,
#   Kindermans, Ying and Le, 2018); keeping $g$ fixed means raising $\eta$ with $B$
#   (the linear scaling rule of Goyal et al., 2017), until the batch is so large that
#   noise no longer matters and the rate stops growing.
# - **Adaptive optimizers** (RMSprop, Adagrad, Adam) divide each step by a running size
#   of the gradients. The usual claims: their best rate grows more slowly with batch
#   size (as $\sqrt{B}$ for Adam), and they are less sensitive to the rate, i.e. their
#   good region is wider.

# %%
import resource
import sys

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from matplotlib.colors import LogNorm

from lr_lessons import config
from lr_lessons.lab import landscape
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.runner import run_study
from lr_lessons.views import landscape_plots as lp
from lr_lessons.views.claims import (
    ClaimsTable,
    combine,
    final,
    numbers_note,
    seed_verdict,
    seeds_passing,
    summary,
)
from lr_lessons.views.plotting import caption, save_figure

# %% [markdown]
# ## One cell of the map, written as you would write it
#
# Every cell of the maps below is this: the blobs network of chapter 1 (two inputs, 50
# ReLU units, three softmax outputs, 500 training and 500 test points), SGD at one
# learning rate and one momentum, 200 epochs of batches of 32 in a fresh order every
# epoch. Here $\eta = 0.001$ with $\mu = 0.9$: an effective rate of 0.01.

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
    optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=16,  # one call into TensorFlow per epoch of 16 batches
)
history = model.fit(
    train, validation_data=test, epochs=EPOCHS, shuffle=False, verbose=0
)
last = history.history["val_accuracy"][-10:]
print(
    f"test accuracy, mean of the last {len(last)} epochs: {np.mean(last):.3f}"
)

# %% [markdown]
# A map needs this 540 times for momentum alone (18 rates x 6 momenta x 5 seeds), and
# about 1,800 times more for the optimizers, batch sizes and chapters 3-4's settings. The library's stacked engine (chapter 1) trains all the cells
# of a grid, and all their seeds, as one TensorFlow program. A grid is an ordinary
# study whose settings are rows x learning rates; `lr_lessons.lab.landscape` builds them
# and lays their results out as arrays of shape (rows, rates, seeds, epochs).

# %% [markdown]
# ## 1. Learning rate x momentum
#
# The top map shows the final test accuracy of every cell (the mean of the last 10
# epochs, then the mean over seeds); the bottom map, how many epochs the median seed
# needed to reach 75% test accuracy (grey: it never did). Hatched cells diverged in at
# least one seed (the loss became NaN, or ended above its first epoch's); outlined
# cells are those where the seeds' final test accuracies lie more than 0.05 apart. The
# dashed lines join cells of equal effective rate $\eta / (1 - \mu)$ (0.001, 0.01, 0.1
# and 1, from left to right); the stars mark each row's best rate (refined between grid
# points).

# %%
SPREAD = landscape.SPREAD_THRESHOLD
momentum = landscape.momentum_grid()
m_results = run_study(momentum.study)
rates = np.array(momentum.rates)
mus = np.array(landscape.MOMENTA)

m_val = momentum.values(
    m_results, "val_accuracy"
)  # (momenta, rates, seeds, epochs)
m_acc = final(m_val)  # (momenta, rates, seeds)
m_div = landscape.divergence(momentum.values(m_results, "loss"))
m_reach = landscape.epochs_to_target(m_val, landscape.TARGET)
m_best = landscape.best_rate(
    rates, np.swapaxes(m_acc, -1, -2)
)  # (momenta, seeds)
m_best_mean = landscape.best_rate(rates, m_acc.mean(-1))

fig = lp.grid_maps(
    {
        "final test accuracy (mean of the last 10 epochs, mean over "
        "seeds)": dict(
            values=m_acc.mean(-1),
            colorbar_label="final test accuracy",
            diverged=m_div.any(-1),
            noisy=landscape.spread(m_acc) > SPREAD,
            best=m_best_mean,
        ),
        "epochs to 75% test accuracy (median seed)": dict(
            values=landscape.median_epochs_to_target(m_reach),
            cmap="cividis_r",
            norm=LogNorm(1, m_results.epochs),
            fmt="{:.0f}",
            colorbar_label="epochs (log scale)",
            diverged=m_div.any(-1),
        ),
    },
    rates,
    [f"{m:g}" for m in mus],
    "momentum $\\mu$",
    theory=dict(
        factors=1 - mus,
        constants=(1e-3, 1e-2, 1e-1, 1.0),
        label=(
            "constant effective rate $\\eta/(1-\\mu)$ = 0.001, 0.01, 0.1, "
            "1 (left to right)"
        ),
    ),
    spread=SPREAD,
    title="SGD on the blobs problem: learning rate x momentum",
    note=caption([m_results], band=None),
)
save_figure(fig, "09_landscape/momentum_maps")
fig

# %% [markdown]
# Read along a row and the map is chapter 1 again: too small a rate learns slowly or
# not at all, a broad band of rates reaches about 0.82, and too large a rate ends near
# chance. Read down a column and raising momentum acts like raising the rate: the
# whole pattern slides to the left. The stars follow the dashed lines closely: with
# momentum $\mu$, the best rate is about $1-\mu$ times the best rate without it. The
# epochs map follows the same lines on its slow side (left): a cell and the cell
# $1/(1-\mu)$ times further left in a higher-momentum row need about as many epochs.
#
# On the fast side (right) the lines are no guide. The largest rate that still learns
# falls with momentum, but by less than $1-\mu$: heavy-ball momentum is stable up to a
# rate of about $2(1+\mu)/\lambda$ on a direction of curvature $\lambda$, a limit that
# barely moves with $\mu$, so in effective-rate terms high momentum tolerates *larger*
# steps before it fails, and fails by diverging (the hatched cells at $\mu \geq 0.8$).
#
# The same data, with each row's rates divided by $1 - \mu$: if the effective rate
# were all that mattered, the curves would fall on top of each other.

# %%
eff = {f"momentum {m:g}": rates / (1 - m) for m in mus}
fig = lp.collapse(
    eff,
    {
        "final test accuracy": {k: m_acc[i] for i, k in enumerate(eff)},
        "epochs to 75% test accuracy (never: not drawn)": {
            k: m_reach[i] for i, k in enumerate(eff)
        },
    },
    "effective learning rate $\\eta / (1 - \\mu)$",
    logy=(False, True),
    ylabels=("final test accuracy", "epochs"),
    title="SGD with momentum against its effective learning rate",
    note=caption([m_results]),
)
save_figure(fig, "09_landscape/effective_rate")
fig

# %% [markdown]
# Up to an effective rate of about 0.1 the curves coincide within their seed bands, in
# accuracy and in speed: there, momentum 0.99 at $\eta = 10^{-4}$ trains like no
# momentum at $10^{-2}$. Beyond it they part, in the order of the stability limit
# above: the higher the momentum, the larger the effective rate it survives.
#
# ## 2. Learning rate x optimizer
#
# The same rates for RMSprop, Adagrad and Adam (every other argument at Keras'
# default), next to plain SGD and SGD with momentum 0.9 (two rows of the momentum map,
# the same runs), and chapter 8's hypergradient optimizers SGD-HD and Adam-HD (their
# rate is the initial rate, which they then adapt; `hypergrad_lr` at the paper's
# values, 1E-3 and 1E-7). A bar under the curves marks each optimizer's **good region**: the
# rates whose final test accuracy is within 0.01 of that optimizer's best (edges
# interpolated between grid points).

# %%
TOL = landscape.GOOD_TOLERANCE
optimizers = landscape.optimizer_grid()
o_results = run_study(optimizers.study)
o_acc = final(
    optimizers.values(o_results, "val_accuracy")
)  # (optimizers, rates, seeds)
hypergradient = landscape.optimizer_grid(
    landscape.HD_ROWS, name="landscape_hd"
)
hd_results = run_study(hypergradient.study)
hd_acc = final(hypergradient.values(hd_results, "val_accuracy"))
all_optimizers = [m_results, o_results, hd_results]
curves = {
    "SGD": m_acc[list(mus).index(0.0)],
    "SGD, momentum 0.9": m_acc[list(mus).index(0.9)],
    **{name: o_acc[i] for i, name in enumerate(optimizers.rows)},
    **{name: hd_acc[i] for i, name in enumerate(hypergradient.rows)},
}
mean_regions = {
    k: landscape.good_region(rates, v.mean(-1), TOL) for k, v in curves.items()
}
fig = lp.accuracy_vs_rate(
    rates,
    curves,
    mean_regions,
    title="Final test accuracy against learning rate, per optimizer",
    note=caption(all_optimizers),
)
save_figure(fig, "09_landscape/optimizer_curves")
fig

# %% [markdown]
# Per seed, the width of the good region in decades of learning rate (a hollow dot: the
# region reaches an end of the grid, so it is at least that wide):

# %%
regions = {
    k: landscape.good_region(rates, v.T, TOL) for k, v in curves.items()
}
fig = lp.width_bars(
    {k: r.width for k, r in regions.items()},
    {k: r.censored for k, r in regions.items()},
    title=(
        f"Width of the good region (final test accuracy within {TOL} of the "
        "best)"
    ),
    note=caption(all_optimizers, "bar: mean over seeds", band=None),
)
save_figure(fig, "09_landscape/good_region")
fig

# %% [markdown]
# Each optimizer has its own scale: the plateaus of Adam and RMSprop start one to two
# decades left of SGD's (their steps are normalised, so the rate is roughly a step
# length per weight), Adagrad's reaches furthest right (its steps shrink as its sum of
# squared gradients grows). The claim is about the width, and the answer depends on
# what "good" means. Within 0.01 of the best (a tolerance about the size of the seeds'
# own spread) the adaptive optimizers' regions are no wider than SGD's. The range of
# rates that learn at all (ending at 75% test accuracy or more) is wider for all three
# adaptive optimizers; the table gives both. Adam-HD is the least sensitive of all: it
# learns its own rate (chapter 8), so its start hardly matters from $10^{-5}$ to about
# $5 \times 10^{-3}$; SGD-HD's runs scatter widely at most starts.
#
# ## 3. Learning rate x batch size
#
# SGD and Adam at batch sizes 8 to 500 (500 is the whole training set: full-batch
# gradient descent), the same rates and seeds. **The number of epochs is fixed at
# 200**, so a larger batch takes fewer updates: 12,600 at batch 8, 3,200 at 32, 200 at
# 500. This is the comparison the linear scaling rule is about (the same data seen, in
# fewer, larger steps). The batch-32 rows are the SGD row of the momentum map and the
# Adam row of the optimizer map.

# %%
BATCHES = (
    landscape.BATCH_SIZES if not config.quick() else (8, 32, 500)
)  # quick: 3 sizes
b_results = {
    b: run_study(landscape.batch_grid(b).study) for b in BATCHES if b != 32
}
b_acc = {"SGD": [], "Adam": []}  # per optimizer: (batches, rates, seeds)
for b in BATCHES:
    if b == 32:
        b_acc["SGD"].append(curves["SGD"])
        b_acc["Adam"].append(curves["Adam"])
    else:
        grid = landscape.batch_grid(b)
        acc = final(grid.values(b_results[b], "val_accuracy"))
        b_acc["SGD"].append(acc[grid.rows.index("sgd")])
        b_acc["Adam"].append(acc[grid.rows.index("adam")])
b_acc = {k: np.stack(v) for k, v in b_acc.items()}
b_best = {
    k: landscape.best_rate(rates, np.swapaxes(v, -1, -2))
    for k, v in b_acc.items()
}
b_region = {
    k: landscape.good_region(rates, v.mean(-1), TOL) for k, v in b_acc.items()
}
batch_x = np.repeat(
    np.array(BATCHES, float)[:, None], len(m_results.seeds), axis=1
)
b_fit = {k: landscape.hinge_fit(batch_x, v) for k, v in b_best.items()}
all_batch = [m_results, o_results, *b_results.values()]
fig = lp.best_rate_vs_batch(
    BATCHES,
    b_best,
    b_region,
    b_fit,
    guides={"SGD": 1.0, "Adam": 0.5},
    rates=rates,
    title=(
        "Best learning rate against batch size (200 epochs at every batch "
        "size)"
    ),
    note=caption(
        all_batch,
        "big dots: geometric mean over seeds; line: fitted",
        band=None,
    ),
)
save_figure(fig, "09_landscape/batch_scaling")
fig

# %% [markdown]
# SGD's best rate roughly doubles with every doubling of the batch from 32 to 256 and
# grows less from 256 to 500; below 32 the plateau of good rates is so flat that the
# seeds' best rates scatter over a decade or more. Adam's best rate grows with the
# batch about as fast as SGD's on this problem, closer to linear than to square-root
# scaling. The table below tests both rules seed by seed.
#
# The maps behind those points, with lines of the two scaling rules through the best
# rate at batch 32: $\eta \propto B$ for SGD and $\eta \propto \sqrt{B}$ for Adam.

# %%
scale = np.array(BATCHES, float) / 32
fig = lp.grid_maps(
    {
        f"{k}: final test accuracy": dict(
            values=v.mean(-1),
            colorbar_label="final test accuracy",
            noisy=landscape.spread(v) > SPREAD,
            best=landscape.best_rate(rates, v.mean(-1)),
            theory=dict(
                factors=scale if k == "SGD" else np.sqrt(scale),
                constants=(
                    landscape.best_rate(rates, v[BATCHES.index(32)].mean(-1)),
                ),
                label=f"{k}: "
                + (
                    "$\\eta \\propto B$"
                    if k == "SGD"
                    else "$\\eta \\propto \\sqrt{B}$"
                ),
            ),
        )
        for k, v in b_acc.items()
    },
    rates,
    [str(b) for b in BATCHES],
    "batch size",
    spread=SPREAD,
    title="Learning rate x batch size, 200 epochs at every batch size",
    note=caption(all_batch, band=None),
)
save_figure(fig, "09_landscape/batch_maps")
fig

# %% [markdown]
# ## 4. Chapters 3 and 4 along the momentum axis
#
# Chapters 3 and 4 drew their conclusions at one setting, SGD at 0.01 without momentum.
# Do they survive momentum? We rerun chapter 3's four decays and chapter 4's four
# patiences at every momentum of the map (the momentum-0 rows are the chapters' own
# settings; "none" is the map's constant rate 0.01 from the same seeds).

# %%
decay = run_study(landscape.momentum_decay_study())
plateau = run_study(landscape.momentum_plateau_study())
lr01 = list(rates).index(0.01)
decays, patiences = landscape.DECAYS, landscape.PATIENCES


def per_momentum(results, names, metric, reduce=True):
    """``final(metric)`` as (momenta, settings, seeds).

    For settings 'momentum=<mu> <name>'; with ``reduce=False``, whether
    each run diverged instead (in the map's column order).
    """
    runs = np.stack(
        [
            np.stack(
                [results.get(metric, f"momentum={m:g} {x}") for x in names]
            )
            for m in mus
        ]
    )
    return final(runs) if reduce else landscape.divergence(runs)[:, ::-1]


d_names = [f"decay {d:g}" for d in decays]
p_names = [f"patience={p}" for p in patiences]
d_acc = per_momentum(decay, d_names, "val_accuracy")
p_loss = per_momentum(plateau, p_names, "loss")
const_acc = m_acc[:, lr01]  # (momenta, seeds): constant 0.01
const_loss = final(momentum.values(m_results, "loss"))[:, lr01]
d_div = np.concatenate(
    [m_div[:, lr01, None], per_momentum(decay, d_names, "loss", False)], 1
)
p_div = np.concatenate(
    [m_div[:, lr01, None], per_momentum(plateau, p_names, "loss", False)], 1
)
d_cells = np.concatenate(
    [const_acc[:, None], d_acc[:, ::-1]], 1
)  # none, 1e-4 ... 0.1
p_cells = np.concatenate(
    [const_loss[:, None], p_loss[:, ::-1]], 1
)  # none, 15 ... 2
fig = lp.grid_maps(
    {
        "chapter 3: final test accuracy, decays of a 0.01 start rate": dict(
            values=d_cells.mean(-1),
            columns=["none", *[f"{d:g}" for d in decays[::-1]]],
            xlabel="decay (InverseTimeDecay decay_rate, per update)",
            colorbar_label="final test accuracy",
            noisy=landscape.spread(d_cells) > SPREAD,
            diverged=d_div.any(-1),
        ),
        "chapter 4: final training loss, ReduceLROnPlateau at rate 0.01": dict(
            values=p_cells.mean(-1),
            columns=["none", *[str(p) for p in patiences[::-1]]],
            xlabel="patience (epochs)",
            cmap="viridis_r",
            norm=LogNorm(),
            fmt="{:.3f}",
            colorbar_label="final training loss (log scale)",
            diverged=p_div.any(-1),
        ),
    },
    rates,
    [f"{m:g}" for m in mus],
    "momentum $\\mu$",
    spread=SPREAD,
    sharex=False,
    title="Chapters 3 and 4 at every momentum",
    note=caption([decay, plateau, m_results], band=None),
)
save_figure(fig, "09_landscape/momentum_rows")
fig

# %% [markdown]
# With momentum, chapter 3's fast decays stop hurting: momentum multiplies the effective
# starting rate by $1/(1-\mu)$, so the network gets far enough before the rate has
# decayed. Decay $10^{-4}$ stays close to no decay at every momentum. Chapter 4's
# ordering (smaller patience, higher final loss) holds along the row, and at momentum
# 0.99 (an effective rate of 1) it turns into failure: with patience 5 or 2 the rate is
# cut while the loss is still high, and those runs end above their first epoch's loss
# (hatched). Patience 15 rarely drops the rate exactly once at any momentum.
#
# ## How long it took
#
# Every study above was trained once and saved; running the chapter again re-plots
# from `results/` in seconds. The numbers below are the training times stored with the
# results (so they stay the original training's, also when read back from disk).

# %%
everything = [
    m_results,
    o_results,
    hd_results,
    *b_results.values(),
    decay,
    plateau,
]
n_runs = sum(len(r.settings) * len(r.seeds) for r in everything)
seconds = sum(r.meta["wall_time_s"] for r in everything)
rss = resource.getrusage(
    resource.RUSAGE_SELF
).ru_maxrss  # bytes on macOS, KiB on Linux
peak_mb = rss / (1e6 if sys.platform == "darwin" else 1024)
print(
    f"{n_runs} runs of {m_results.epochs} epochs in {len(everything)} "
    f"studies: {seconds:.0f} s of training, {n_runs / seconds:.1f} runs per "
    f"second (engine: {m_results.meta['engine']}); peak memory of this "
    f"process: {peak_mb:.0f} MB"
)

# %% [markdown]
# ## What the literature claims, and what we measured
#
# The verdicts follow the rules of the other chapters: each claim is tested seed by
# seed at its own statement (a slope of 1 for proportional, 0.5 for square root), and
# "within noise" means the seeds disagree. A slope read off best rates on our grid of
# thirds of a decade is uncertain by about 0.2 (half a grid step at each end of a
# two-decade span), so slopes within 0.2 of the claimed value count as agreeing.

# %%
TOL_SLOPE = landscape.SLOPE_TOLERANCE
table = ClaimsTable(
    note=numbers_note(
        m_results,
        "Best rate: the rate of the highest final test accuracy (per seed, "
        f"refined by a parabola in log rate); good region: within {TOL} of "
        f"the best; slopes agree within {TOL_SLOPE}. Batch sizes "
        f"{', '.join(map(str, BATCHES))}, {m_results.epochs} epochs each.",
    )
)

# 1. Effective learning rate.
m_slope = landscape.slope_per_seed(1 - mus, m_best)
proportional = np.abs(m_slope - 1) <= TOL_SLOPE
table.add(
    "The best rates lie along constant eta / (1 - mu), the effective rate of "
    "heavy-ball momentum (Shallue et al. 2019: the optimal rate scales with "
    "1 - mu).",
    "best rate per momentum: "
    + "; ".join(
        f"{m:g}: {summary(m_best[i], '.2g')}" for i, m in enumerate(mus)
    )
    + "; as eta / (1 - mu): "
    + "; ".join(
        f"{m:g}: {summary(m_best[i] / (1 - m), '.2g')}"
        for i, m in enumerate(mus)
    )
    + "; slope of log best rate against log(1 - mu): "
    f"{summary(m_slope, '.2f')}, within {TOL_SLOPE} of 1 in "
    f"{seeds_passing(proportional)}",
    seed_verdict(proportional, partly=bool((m_slope > 0).all())),
)

# Where the rule stops: the largest rate whose final test accuracy is
# still >= 75%.
learns = m_acc >= landscape.TARGET  # (momenta, rates, seeds)
top = np.where(
    learns.any(1), np.max(np.where(learns, rates[:, None], 0), axis=1), np.nan
)
top_slope = landscape.slope_per_seed(1 - mus, top)
table.add(
    "(Not claimed; where the rule stops.) The largest rate that still ends at "
    "75% test accuracy or more scales with 1 - mu too.",
    "largest such rate per momentum: "
    + "; ".join(f"{m:g}: {summary(top[i], '.2g')}" for i, m in enumerate(mus))
    + f"; slope against log(1 - mu): {summary(top_slope, '.2f')}",
    seed_verdict(
        np.abs(top_slope - 1) <= TOL_SLOPE, partly=bool((top_slope > 0).all())
    ),
)

# 2. Linear scaling with batch size, up to a point.
fits = {
    k: [landscape.hinge_fit(BATCHES, v[:, j]) for j in range(v.shape[1])]
    for k, v in b_best.items()
}
rise = {k: np.array([f.slope for f in fs]) for k, fs in fits.items()}
knee = {k: np.array([f.knee for f in fs]) for k, fs in fits.items()}
linear = np.abs(rise["SGD"] - 1) <= TOL_SLOPE
stops = knee["SGD"] < max(BATCHES)
table.add(
    "The best rate grows in proportion to the batch size (linear scaling, "
    "Goyal et al. 2017; noise scale eta N / (B (1 - mu)), Smith et al. 2018) "
    "up to a point where it stops growing.",
    "SGD best rate per batch size: "
    + "; ".join(
        f"{b}: {summary(b_best['SGD'][i], '.2g')}"
        for i, b in enumerate(BATCHES)
    )
    + f"; fitted slope below the knee {summary(rise['SGD'], '.2f')} (within "
    f"{TOL_SLOPE} of 1 in {seeds_passing(linear)}); knee at batch size "
    f"{summary(knee['SGD'], '.0f')}, inside the range in "
    f"{seeds_passing(stops)}",
    combine(
        seed_verdict(linear, partly=bool((rise["SGD"] > 0).all())),
        seed_verdict(stops),
    ),
)

# 3. Adam scales more slowly (square root).
slower = rise["Adam"] < rise["SGD"]
sqrt = np.abs(rise["Adam"] - 0.5) <= TOL_SLOPE
table.add(
    "For Adam the best rate grows more slowly with batch size than for SGD "
    "(square-root scaling is the usual claim).",
    "Adam best rate per batch size: "
    + "; ".join(
        f"{b}: {summary(b_best['Adam'][i], '.2g')}"
        for i, b in enumerate(BATCHES)
    )
    + f"; fitted slope below the knee {summary(rise['Adam'], '.2f')} (SGD: "
    f"{summary(rise['SGD'], '.2f')}); below SGD's (same seed) in "
    f"{seeds_passing(slower)}, within {TOL_SLOPE} of 0.5 in "
    f"{seeds_passing(sqrt)}",
    combine(seed_verdict(slower), seed_verdict(sqrt)),
)

# 4. Adaptive optimizers have a wider good region.
adaptive = list(optimizers.rows)  # RMSprop, Adagrad, Adam
wider = {k: regions[k].width > regions["SGD"].width for k in adaptive}
# A looser reading: the range of rates that learn at all (final test
# accuracy >= 75%).
learning = {
    k: landscape.good_region(rates, v.T, level=landscape.TARGET)
    for k, v in curves.items()
}
wider_loosely = all(
    (learning[k].width > learning["SGD"].width).all() for k in adaptive
)
table.add(
    "Adaptive optimizers are less sensitive to the learning rate than SGD: "
    "their good region is wider.",
    f"width of the good region (decades within {TOL} of the best): "
    + "; ".join(f"{k}: {summary(r.width, '.2f')}" for k, r in regions.items())
    + "; wider than SGD's (same seed): "
    + "; ".join(f"{k} {seeds_passing(w)}" for k, w in wider.items())
    + ". Looser reading, decades of rate ending at 75% test accuracy or more: "
    + "; ".join(
        f"{k}: {summary(r.width, '.2f')}"
        + (
            f" ({seeds_passing(r.censored)} reach the grid's end)"
            if r.censored.any()
            else ""
        )
        for k, r in learning.items()
    ),
    combine(*(seed_verdict(w, partly=wider_loosely) for w in wider.values())),
)


# 5. Chapters 3 and 4 across the momentum row, with each chapter's own rules.
def along_momentum(parts: dict) -> tuple[str, str]:
    """Measured text and verdict of a claim tested at every momentum.

    ``parts`` maps each part of the claim to its per-seed passes, shape
    (momenta, seeds).
    """
    texts, verdicts, reasons = [], [], []
    for name, passes in parts.items():
        at = [seed_verdict(p) for p in passes]
        texts.append(
            f"{name}: "
            + ", ".join(
                f"{m:g} {seeds_passing(p)}" for m, p in zip(mus, passes)
            )
        )
        verdicts += at
        failing = [f"{m:g}" for m, v in zip(mus, at) if v != "confirmed"]
        if failing:
            reasons.append(
                f"{name} not confirmed at momentum {', '.join(failing)}"
            )
    overall = combine(*verdicts)
    if reasons:
        overall += ": " + "; ".join(reasons)
    return "seeds passing per momentum, " + "; ".join(texts), overall


fast = d_acc[:, [decays.index(0.1), decays.index(0.01)]]  # (momenta, 2, seeds)
slow = d_acc[:, decays.index(1e-4)]
table.add(
    "Chapter 3 across the momentum row: decays 1E-1 and 1E-2 perform poorly "
    "(both more than 5 points below decay 1E-4), and decay 1E-4 is close to "
    "no decay (within 2 points).",
    *along_momentum(
        {
            "poorly": ((slow[:, None] - fast) > 0.05).all(1),
            "close to no decay": np.abs(slow - const_acc) < 0.02,
        }
    ),
)

p_rate = {
    p: np.stack(
        [
            plateau.get("learning_rate", f"momentum={m:g} patience={p}")
            for m in mus
        ]
    )
    for p in patiences
}  # patience -> (momenta, seeds, epochs)
below = p_rate[2] < 1e-6
floor_epoch = np.where(below.any(-1), np.argmax(below, -1) + 1, np.inf)
loss = dict(
    zip(patiences, np.moveaxis(p_loss, 1, 0))
)  # patience -> (momenta, seeds)
table.add(
    "Chapter 4 across the momentum row: patience 2 hits its floor (1E-6) "
    "within a quarter of the run; patience 15 drops the rate only once; small "
    "patiences end at a higher training loss than large ones.",
    *along_momentum(
        {
            "floor": floor_epoch <= plateau.epochs / 4,
            "one drop": (np.diff(p_rate[15], axis=-1) < 0).sum(-1) == 1,
            "premature": (
                np.maximum(loss[2], loss[5]) > np.minimum(loss[10], loss[15])
            )
            & (loss[2] > loss[5]),
        }
    ),
)
table.save("09_landscape/claims")
table
