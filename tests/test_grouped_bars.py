"""bar_plots.grouped_bars: one bar per setting and group, seeds as dots, labelled means."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.views import bar_plots


def test_grouped_bars_draws_every_group_and_labels_its_mean():
    panels = {
        "drops": {
            "new order": {"p=2": np.array([36, 36]), "p=5": np.array([17, 35])},
            "one order": {"p=2": np.array([0, 1]), "p=5": np.array([0, 0])},
        }
    }
    fig = bar_plots.grouped_bars(panels, title="t", fmt={"drops": ".1f"})
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == [0.0, 0.5, 26.0, 36.0]
    labels = {t.get_text() for t in ax.texts}
    assert {"36.0", "26.0", "0.5", "0.0"} <= labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["new order", "one order"]


def test_grouped_bars_refuses_groups_with_other_settings():
    panels = {"x": {"a": {"s1": np.ones(2)}, "b": {"s2": np.ones(2)}}}
    with pytest.raises(ValueError, match="other settings"):
        bar_plots.grouped_bars(panels)
