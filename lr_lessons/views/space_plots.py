"""Points and paths in a plane: a data set's points, gradient descent's iterates on a loss.

Nothing here trains: every function draws numbers it is given (the blobs data, paths
computed by `lr_lessons.lab.gradient_descent`) and returns a figure for
`plotting.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lr_lessons.lab.gradient_descent import Bowl
from lr_lessons.views.plotting import SMALL_PT, add_footer, new_figure

_TINY = 1e-12  # the smallest loss a log axis shows (a loss of 0 has no logarithm)


def blobs_scatter(x: np.ndarray, labels: np.ndarray, n_train: int = 500) -> Figure:
    """The blobs points coloured by class; train points filled, test points hollow.

    Args:
        x: The points, shape (n, 2).
        labels: The class of each point.
        n_train: The first `n_train` points are the training set.

    Returns:
        The figure.
    """
    fig = new_figure((5.6, 4.6))
    ax = fig.subplots()
    train = np.arange(len(labels)) < n_train
    for k in np.unique(labels):
        pts = x[(labels == k) & train]
        ax.scatter(*pts.T, s=12, color=f"C{k}", alpha=0.8, label=f"class {k}, train")
    for k in np.unique(labels):
        pts = x[(labels == k) & ~train]
        ax.scatter(*pts.T, s=12, facecolors="none", edgecolors=f"C{k}", label=f"class {k}, test")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("make_blobs(1000, centers=3, cluster_std=2, random_state=2)", fontsize=9)
    ax.legend(fontsize=SMALL_PT, ncol=2, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def descent_paths(
    bowl: Bowl,
    paths: Mapping[str, np.ndarray],
    title: str | None = None,
    note: str | None = None,
    view: float | Sequence[float] | None = None,
) -> Figure:
    """Where gradient descent goes, and how fast the loss falls.

    1-D bowl: the iterates on the parabola (left) and the loss per step (right).
    2-D bowl: one contour panel per rate with its path (top row) and the loss per step
    of all rates (bottom). Loss axes are logarithmic; a diverging run leaves the top,
    and its path is drawn until it leaves the picture.

    Args:
        bowl: The quadratic the paths descend.
        paths: Label (e.g. "lr=0.1: too small") -> iterates of shape (steps + 1, dim),
            from `lr_lessons.lab.gradient_descent.descend`.
        title: The figure's title.
        note: Footer under the figure.
        view: Half-width of the picture, one number or one per axis (default: 1.6 x
            the start point's coordinates).

    Returns:
        The figure.

    Raises:
        ValueError: If `paths` is empty.
    """
    if not paths:
        raise ValueError("paths is empty")
    first = np.asarray(next(iter(paths.values())), dtype=float)
    if view is None:
        half = 1.6 * np.maximum(np.abs(first[0]), 1e-3)
    else:
        half = np.broadcast_to(np.asarray(view, dtype=float), (bowl.dim,))
    n = len(paths)
    if bowl.dim == 1:
        fig = new_figure((10.5, 4.0))
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        tracks = [left] * n
        w = np.linspace(-half[0], half[0], 400)
        top = float(bowl.loss(half[:1]))
        left.plot(w, bowl.loss(w[:, None]), color="0.6", lw=1.2)
        left.set(xlabel="weight $w$", ylabel="loss $f(w)$", xlim=(-half[0], half[0]))
        left.set_ylim(-0.05 * top, 1.1 * top)
        left.grid(alpha=0.3)
    else:
        # the paths' panels share the page's width; the loss panel below takes the rest
        fig = new_figure((3.0 * n, 5.2))
        grid = fig.add_gridspec(2, n, height_ratios=[1, 1.6])
        tracks = [fig.add_subplot(grid[0, i]) for i in range(n)]
        right = fig.add_subplot(grid[1, :])
        gx = np.linspace(-half[0], half[0], 300)
        gy = np.linspace(-half[1], half[1], 300)
        xx, yy = np.meshgrid(gx, gy)
        zz = bowl.loss(np.stack([xx, yy], axis=-1))
        levels = np.geomspace(zz.max() / 2000, zz.max(), 10)
        for ax in tracks:
            ax.contour(xx, yy, zz, levels=levels, colors="0.8", linewidths=0.8)
            ax.plot([0], [0], "k+", ms=8)
            ax.set(xlim=(-half[0], half[0]), ylim=(-half[1], half[1]), xlabel="$w_1$")
            ax.set_aspect("equal")
        tracks[0].set_ylabel("$w_2$")
    for i, ((label, path), ax) in enumerate(zip(paths.items(), tracks)):
        path = np.asarray(path, dtype=float)
        color = f"C{i}"
        inside = np.all(np.isfinite(path), axis=1) & np.all(np.abs(path) <= 50 * half, axis=1)
        shown = path[: len(path) if inside.all() else int(np.argmin(inside))]
        if bowl.dim == 1:
            ax.plot(shown[:, 0], bowl.loss(shown), "o-", color=color, ms=3, lw=0.9, label=label)
        else:
            ax.plot(shown[:, 0], shown[:, 1], "o-", color=color, ms=2.5, lw=0.9)
            ax.set_title(label, fontsize=9, color=color)
        with np.errstate(all="ignore"):
            losses = bowl.loss(path)
        right.plot(
            np.arange(len(path)), np.maximum(losses, _TINY), color=color, lw=1.5, label=label
        )
    if bowl.dim == 1:  # not on the parabola: a diverging path fills its top
        right.legend(fontsize=SMALL_PT, loc="lower right")
    else:
        right.legend(fontsize=SMALL_PT, loc="lower left")
    right.set_yscale("log")
    start = float(bowl.loss(first[0]))
    right.set_ylim(max(_TINY, start * 1e-8), start * 1e3)
    right.set_xlabel("step")
    right.set_ylabel("loss (log scale)")
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    add_footer(fig, note)
    return fig
