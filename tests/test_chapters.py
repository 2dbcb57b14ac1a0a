"""Every chapter runs top to bottom in quick mode, as a script and as a notebook.

Each run has a time budget (the subprocess / cell timeout). The two runs share one
output folder, so the notebook re-plots the results the script saved.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
BUDGET_S = int(os.environ.get("LR_LESSONS_CHAPTER_BUDGET", "600"))
REMOVED_KWARGS = {"lr", "decay"}  # Keras 3 optimizers take neither
REMOVED_NAMES = {"lr", "get_value", "samples_generator"}  # optimizer.lr, backend.get_value, ...


@pytest.fixture(scope="module")
def shared_output(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chapters")


def chapter_env(output: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LR_LESSONS_QUICK": "1",
        "LR_LESSONS_OUTPUT": str(output),
        "MPLBACKEND": "Agg",
    }


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_as_a_script(chapter, shared_output):
    proc = subprocess.run(
        [sys.executable, str(chapter)],
        cwd=ROOT,
        env=chapter_env(shared_output),
        capture_output=True,
        text=True,
        timeout=BUDGET_S,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    topic = shared_output / "figures" / chapter.stem
    assert list(topic.glob("*.png")), f"{chapter.name} saved no figure into {topic}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_as_a_notebook(chapter, shared_output, monkeypatch):
    import jupytext
    from nbclient import NotebookClient

    for key, value in chapter_env(shared_output).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MPLBACKEND")  # the kernel picks its inline backend, as for a reader
    notebook = jupytext.read(chapter)
    assert notebook.cells[0].cell_type == "markdown"
    assert notebook.cells[0].source.startswith("# "), "the first cell must be the H1 title"
    client = NotebookClient(
        notebook,
        timeout=BUDGET_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(chapter.parent)}},
    )
    client.execute()
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    images = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, "the notebook shows no figure"


def _shown_as_a_trap(tree: ast.AST) -> set[int]:
    """Lines inside ``with warnings.catch_warnings(...)``: old code run to show its warning."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
            "catch_warnings" in ast.unparse(item.context_expr) for item in node.items
        ):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def pre_keras_3_uses(source: str) -> list[str]:
    """Calls with ``lr=``/``decay=`` keywords and ``.lr``/``get_value``-style names in code.

    A call inside ``with warnings.catch_warnings(...)`` is a demonstration of what Keras 3
    does with the old keyword (chapter 3), not a use of it.
    """
    found = []
    tree = ast.parse(source)
    demo = _shown_as_a_trap(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += [
                f"{kw.arg}= at line {node.lineno}"
                for kw in node.keywords
                if kw.arg in REMOVED_KWARGS and node.lineno not in demo
            ]
        elif isinstance(node, ast.Attribute) and node.attr in REMOVED_NAMES:
            owner = ast.unparse(node.value).lower()
            if node.attr != "lr" or "opt" in owner:  # optimizer.lr, not result.lr
                found.append(f"{ast.unparse(node)} at line {node.lineno}")
        elif isinstance(node, ast.alias) and node.name.split(".")[-1] in REMOVED_NAMES:
            found.append(f"import {node.name} at line {node.lineno}")
    return found


def test_the_old_api_detector_finds_old_code():
    old = "opt = SGD(lr=0.01, decay=1e-3)\nx = model.optimizer.lr\nbackend.get_value(x)"
    assert len(pre_keras_3_uses(old)) == 4
    new = "SGD(learning_rate=0.01)\nsettings = {'decay=0.1': 1}\nrate = result.lr"
    assert pre_keras_3_uses(new) == []
    demo = "with warnings.catch_warnings(record=True):\n    SGD(decay=1e-3)\nSGD(decay=1)"
    assert pre_keras_3_uses(demo) == ["decay= at line 3"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_uses_current_keras(chapter):
    text = chapter.read_text()
    assert text.startswith("# ---\n# jupyter:"), "missing the jupytext header"
    assert pre_keras_3_uses(text) == [], f"{chapter.name} uses pre-Keras-3 API"


def _chapter_width() -> int:
    """The line length chapters are formatted to (chapters/ruff.toml): the site's column."""
    text = (ROOT / "chapters" / "ruff.toml").read_text(encoding="utf-8")
    return int(re.search(r"^line-length\s*=\s*(\d+)", text, re.MULTILINE).group(1))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_code_fits_the_site_column(chapter):
    """Every code line fits the site's code column (the formatter does not split long
    strings, so a long string literal must be split by hand); the browser test measures
    the same on the built page."""
    import jupytext

    width = _chapter_width()
    assert 70 <= width <= 80, width
    too_long = [
        f"cell {index}: {len(line)} characters: {line.strip()[:60]}"
        for index, cell in enumerate(jupytext.read(chapter).cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > width
    ]
    assert not too_long, f"{chapter.name} code wider than {width}:\n" + "\n".join(too_long)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_text_has_no_control_characters(chapter):
    """A control character in a chapter is a typo's trace: `"\\beta"` written through a
    Python string becomes a backspace and `eta`, and the formula fails on the site."""
    bad = [
        f"line {number}: {line.strip()[:60]!r}"
        for number, line in enumerate(chapter.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line)
    ]
    assert not bad, f"{chapter.name} holds control characters:\n" + "\n".join(bad)
