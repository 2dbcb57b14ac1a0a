"""Chapter 6's printouts and check figures: rule readings, suggestion checks."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from lr_lessons.views import bar_plots, plotting
from lr_lessons.views.claims import seeds_passing, summary
from lr_lessons.views.range_test_plots import MARKER_LABELS


def print_suggestions(result) -> None:
    """Print how far one range test ran, why it stopped, and each rule's rate.

    Args:
        result: A `RangeTestResult`.
    """
    print(f"{len(result)} batches, stopped: {result.stop_reason} at lr {result.stop_lr:.3g}")
    print("model restored bit for bit:", result.meta["restored_bitwise"])
    for rule in result.suggestions().values():
        print(
            f"  {MARKER_LABELS[rule.name]:16s} {rule.lr:.2e}"
            + ("" if rule.reliable else f" (unreliable: {rule.reason})")
        )


def print_checks(suggestion_checks: Mapping) -> None:
    """Print, per rule and optimizer, whether the suggestion won, then every rate's score.

    Args:
        suggestion_checks: `{rule: check}` from `rate_checks.check_suggestions`.
    """
    for rule, check in suggestion_checks.items():
        for name, c in check.checks.items():
            means = ", ".join(f"{t}: {m:.3f}" for t, m in c.means.items())
            print(
                f"{rule:8s} {name:4s}: the suggested rate "
                f"{'won' if c.won else 'did not win'} ({means}); "
                f"best in {seeds_passing(c.won_seeds)}"
            )
    for rule, check in suggestion_checks.items():
        for label, acc in check.scores.items():
            print(f"{rule:8s} {label:28s} validation accuracy {summary(acc)}")


def check_figures(suggestion_checks: Mapping, note: str, folder: str) -> Figure:
    """Draw and save one bar figure per checked rule; return the last one drawn.

    The steepest-descent rule's figure is `suggestion_check.png`, another rule's
    `suggestion_check_<rule>.png`.

    Args:
        suggestion_checks: `{rule: check}` from `rate_checks.check_suggestions`.
        note: The footer of every figure.
        folder: The figures' folder.

    Returns:
        The last figure drawn.
    """
    fig = None
    for rule, check in suggestion_checks.items():
        fig = bar_plots.summary_bars(
            check.scores,
            "validation accuracy after 2 epochs (bar: mean, dots: seeds)",
            title=f"Training at the {rule} suggestion, 10x lower and 10x higher",
            note=note,
            groups=check.kinds,
        )
        name = "suggestion_check" + ("" if rule == "steepest" else f"_{rule}")
        plotting.save_figure(fig, f"{folder}/{name}")
    return fig
