"""Chapter 7's printouts: the searches, what each method cost, the MNIST grid."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lr_lessons.views.claims import summary


def print_search(search, subset_search, subset: int) -> None:
    """Print a search's trials and choice, then the subset search's choice and cost.

    Args:
        search: The full-data `coarse_to_fine` result.
        subset_search: The same search on the first `subset` training points.
        subset: The subset's size.
    """
    for row in search.table():
        print(
            f"  {row['stage']:6s} lr {row['learning_rate']:<10.3g} test accuracy "
            f"{row['mean']:.3f} [{row['min']:.3f}, {row['max']:.3f}]"
        )
    print(f"best decade {search.decade}; chosen rate {search.chosen:.3g}")
    print(
        f"on the first {subset} training points: best decade {subset_search.decade}; "
        f"chosen rate {subset_search.chosen:.3g}; {subset_search.updates:,} updates "
        f"against the full search's {search.updates:,}"
    )


def print_costs(search, repeats, epochs: float, picks: Mapping[str, float]) -> None:
    """Print each method's rate, epochs of training and wall time, one line each.

    Args:
        search: The `coarse_to_fine` result.
        repeats: The range test's `RangeTestRepeats` (its `wall_time_s` in `meta`).
        epochs: The range test's epochs of training, every seed counted.
        picks: `{reading: rate}`, each a range-test reading.
    """
    wall = repeats.meta["wall_time_s"]
    rows = [("coarse-to-fine search", search.chosen, search.training_epochs, search.wall_time_s)]
    rows += [(f"range test ({name})", lr, epochs, wall) for name, lr in picks.items()]
    for name, lr, n, seconds in rows:
        print(f"{name:30s} rate {lr:.3g}, {n:.0f} epochs of training, {seconds:.1f} s")


def print_shapes(shapes: Mapping[str, np.ndarray], early: Mapping[str, float]) -> None:
    """Print each decay's rate at the start, half-way and the end, and its early fall.

    Args:
        shapes: `{kind: rate per update}`.
        early: `{kind: share of its whole fall done in the first tenth}`.
    """
    for kind, v in shapes.items():
        print(
            f"{kind:12s} start {v[0]:.3g}, half-way {v[(len(v) - 1) // 2]:.3g}, end "
            f"{v[-1]:.3g}; {early[kind]:.0%} of its fall in the first tenth"
        )


def print_grid(grid, acc: Mapping[str, np.ndarray], diverged: Mapping, epochs: int) -> None:
    """Print the rates a bracketing grid tried, its best, then each setting's accuracy.

    Args:
        grid: The `bracket_best` result.
        acc: `{setting: test accuracy per seed}`.
        diverged: `{setting: per-seed diverged flags}`.
        epochs: The epochs each setting trained.
    """
    where = "inside" if grid.interior else "still at the edge of"
    print(
        f"constant rates tried: {grid.rates} (added {grid.extended}); best "
        f"{grid.best:g}, {where} the grid"
    )
    for s in acc:
        print(
            f"{s:22s} test accuracy after {epochs} epoch(s): "
            f"{summary(acc[s], diverged=diverged[s])}"
        )
