"""Figures are drawn for the page: their smallest text is recorded in the PNG and is
legible (`plotting.SMALLEST_TEXT_PX`) at the site's content width."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from lr_lessons.views import landscape_plots, plotting

matplotlib.use("Agg")


@pytest.fixture
def output_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    return tmp_path


def test_the_smallest_drawn_text_is_measured_hidden_and_empty_texts_are_not():
    fig = plotting.new_figure((4.0, 3.0))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("title", fontsize=12)
    ax.text(0.5, 0.5, "", fontsize=2)  # empty: never drawn
    ax.text(0.5, 0.5, "hidden", fontsize=3).set_visible(False)
    ax.tick_params(labelsize=11)
    assert plotting.smallest_text_pt(fig) == 11
    ax.text(0.2, 0.2, "small", fontsize=6)
    assert plotting.smallest_text_pt(fig) == 6
    assert plotting.smallest_text_pt(plotting.new_figure((2.0, 2.0))) == float("inf")


def test_save_figure_records_the_smallest_text_in_png_pixels(output_dir):
    fig = plotting.new_figure((4.0, 3.0))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=10)
    plotting.add_footer(fig, "data: none")
    path = plotting.save_figure(fig, "00_test/small", dpi=100)
    recorded = float(Image.open(path).info[plotting.SMALLEST_TEXT_KEY])
    assert recorded == pytest.approx(plotting.SMALL_PT * 100 / 72, abs=0.01)


def test_shown_text_scales_only_figures_wider_than_the_page():
    assert plotting.shown_text_px(12.0, 600) == 12.0
    assert plotting.shown_text_px(12.0, 2 * plotting.PAGE_WIDTH_PX) == 6.0


def test_a_figure_is_never_wider_than_the_page_allows():
    fig = plotting.new_figure((20.0, 3.0))
    assert tuple(fig.get_size_inches()) == (plotting.MAX_WIDTH_IN, 3.0)


def test_small_text_at_the_widest_figure_is_legible_on_the_page():
    px = plotting.SMALL_PT * plotting.DPI / 72
    # bbox_inches="tight" may add a few percent around the axes; allow 5%
    width = 1.05 * plotting.MAX_WIDTH_IN * plotting.DPI
    assert plotting.shown_text_px(px, width) >= plotting.SMALLEST_TEXT_PX


def test_heatmap_numbers_sit_above_the_marks_on_their_cells_colour():
    fig = plotting.new_figure((6.0, 3.0))
    ax = fig.subplots()
    values = np.array([[0.1, 0.9], [np.nan, 0.5]])
    landscape_plots.heatmap(ax, values, [1e-3, 1e-2], ["a", "b"], best=np.array([1e-3, 1e-2]))
    landscape_plots.theory_lines(ax, [1.0, 2.0], [3e-3], "lines", [1e-3, 1e-2])
    numbers = [t for t in ax.texts if t.get_text()]
    marks = [line.get_zorder() for line in ax.lines]
    assert len(numbers) == 4 and all(t.get_zorder() > max(marks) for t in numbers)
    for t in numbers:
        patch = t.get_bbox_patch()
        assert patch is not None and patch.get_edgecolor()[3] == 0  # no outline
    assert {t.get_fontsize() for t in numbers} == {plotting.SMALL_PT}


def test_a_figure_describes_itself_from_title_panels_and_footer(output_dir):
    fig = plotting.new_figure((6.0, 3.0))
    left, right = fig.subplots(1, 2)
    left.set_title("loss")
    right.set_title(r"rate $\eta/(1-\mu)$")
    fig.suptitle("SGD on blobs")
    plotting.add_footer(fig, "data: blobs; 5 seeds")
    text = "SGD on blobs. Panels: loss; rate η/(1-μ). data: blobs; 5 seeds"
    assert plotting.describe(fig) == text
    path = plotting.save_figure(fig, "00_test/described")
    assert Image.open(path).info[plotting.DESCRIPTION_KEY] == text
    assert plotting.describe(plotting.new_figure((2.0, 2.0))) == ""


def test_save_table_writes_markdown_next_to_the_figures(output_dir):
    path = plotting.save_table("| a |\n|---|\n| 1 |\n", "07_test/table")
    assert path == output_dir / "figures" / "07_test" / "table.md"
    assert path.read_text() == "| a |\n|---|\n| 1 |\n"


def test_range_tests_get_the_same_footer():
    class Repeats:  # what caption reads of a RangeTestRepeats
        def __init__(self, seconds):
            self.runs, self.seeds = [object()] * 3, [0, 1, 2]
            self.settings = {"beta": 0.98}  # as RangeTestRepeats has
            self.meta = {"data_source": "mnist", "wall_time_s": seconds}

    text = plotting.caption([Repeats(10.0), Repeats(20.4)], "ramp: 1,200 steps", band="min-max")
    assert text == (
        "data: mnist; line: mean of 3 seeds, band: min-max; 6 range tests ran in 30 s; "
        "ramp: 1,200 steps"
    )
    assert plotting.caption(Repeats(float("nan")), band=None) == (
        "data: mnist; 3 seeds; 3 range tests"
    )
