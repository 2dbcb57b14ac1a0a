"""Every chapter runs top to bottom in quick mode, as a script and as a notebook.

Each run has a time budget (the subprocess / cell timeout). The two runs share one
output folder, so the notebook re-plots the results the script saved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
BUDGET_S = int(os.environ.get("LR_LESSONS_CHAPTER_BUDGET", "600"))
PRE_KERAS_3 = ("SGD(lr=", "decay=0", "optimizer.lr", "samples_generator", "backend.get_value")


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


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_uses_current_keras(chapter):
    text = chapter.read_text()
    for old in PRE_KERAS_3:
        assert old not in text, f"{chapter.name} uses pre-Keras-3 API {old!r}"
    assert text.startswith("# ---\n# jupyter:"), "missing the jupytext header"
