"""Figures say what they mean: bars coloured by kind on a whole axis, one
readable scale per rate panel, legends that do not cover the curves."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from lr_lessons.lab.results import Results
from lr_lessons.views import bar_plots, line_plots

matplotlib.use("Agg")


def bars_of(fig):
    ax = fig.axes[0]
    return ax, [p for p in ax.patches if p.get_height() > 0]


def test_bars_are_coloured_by_kind_on_an_untruncated_axis_with_labels_on_their_bar():
    values = {
        "constant 0.01": np.array([0.83, 0.82]),
        "constant 0.1": np.array([0.81, 0.80]),
        "step decay": np.array([0.82, 0.82]),
        "one-cycle": np.array([0.80, np.nan]),
    }
    kinds = {"constant 0.01": "constant", "constant 0.1": "constant", "step decay": "decay",
             "one-cycle": "one-cycle"}  # fmt: skip
    fig = bar_plots.summary_bars(values, "accuracy", groups=kinds)
    ax, bars = bars_of(fig)
    colours = [tuple(b.get_facecolor()) for b in bars]
    assert colours[0] == colours[1] and len({colours[0], colours[2], colours[3]}) == 3
    assert ax.get_xlim() == (0.0, 1.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["constant", "decay", "one-cycle"]
    texts = [t for t in ax.texts]
    assert [t.get_text() for t in texts][:3] == ["0.825", "0.805", "0.820"]
    assert "1 of 2 seeds NaN" in texts[3].get_text()
    for i, t in enumerate(texts):  # each label on its own bar's row, inside the axis
        x, y = t.get_position()
        assert y == i and 0 <= x <= 1


def test_bars_need_a_kind_for_every_label():
    with pytest.raises(ValueError, match="no kind for"):
        bar_plots.summary_bars({"a": [0.5], "b": [0.6]}, "x", groups={"a": "k"})


def test_rate_panels_give_each_setting_its_own_scale():
    epochs = 20
    decay = 0.1 * 0.1 ** np.arange(epochs)  # falls to 1e-20
    rates = np.stack([np.full(epochs, 0.01), 0.3 + 0.1 * np.sin(np.arange(epochs)), decay])
    metrics = {"learning_rate": np.repeat(rates[:, None, :], 2, axis=1)}
    res = Results("r", ["constant", "cyclical", "plateau"], [0, 1], metrics, {})
    fig = line_plots.rate_panels(res, ncols=3)
    const, cyc, plateau = fig.axes[:3]
    assert const.get_yscale() == "linear" and const.get_ylim()[1] == pytest.approx(0.0115)
    assert cyc.get_yscale() == "linear" and cyc.get_ylim()[0] == 0
    assert plateau.get_yscale() == "log"
    assert plateau.get_ylim() == pytest.approx((decay.min() / 2, decay.max() * 2))


def test_shared_curves_get_one_legend_and_logy_per_panel():
    curves = {"a": np.linspace(1, 0.1, 5), "b": np.geomspace(1, 0.01, 5)}
    fig = line_plots.curves({"linear": curves, "log": curves}, logy=(False, True))
    left, right = fig.axes
    assert (left.get_yscale(), right.get_yscale()) == ("linear", "log")
    assert left.get_legend() is not None and right.get_legend() is None
    with pytest.raises(ValueError, match="one per panel"):
        line_plots.curves({"x": curves}, logy=(True, False))


def test_a_short_bar_writes_its_value_right_of_its_dots():
    fig = bar_plots.summary_bars({"diverged": np.array([0.10, 0.25])}, "accuracy")
    ax = fig.axes[0]
    (text,) = ax.texts
    assert text.get_text() == "0.175" and text.get_position()[0] > 0.25
