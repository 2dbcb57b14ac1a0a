"""Run a chapter cell by cell and record what each code cell printed.

A chapter (`chapters/NN_topic.py`, jupytext percent format) is read with jupytext and its
code cells are executed in order in one namespace (`__name__ == "__main__"`, as when the
file runs as a script). While a cell runs, its standard output goes both to the terminal
and into a buffer (`Tee`); a Markdown file the cell writes into the chapter's figure
folder (chapter 7's `study_table.md`) is noted too. `run_cells` returns one `CellOutput`
per code cell and `save_outputs` writes them, atomically, to
`figures/NN_topic/outputs.json`, keyed by the cell's index in the notebook with a hash of
its source (`cell_hash`): the docs site shows each output under its cell and drops it
once the cell's source no longer matches.

The file is committed, so it holds only what the same code prints again from the same
results: each cell's wall time is measured (the `lr-lessons figures` report names the
slowest cells) but not written, and a re-plot of a clean checkout leaves it unchanged.
"""

from __future__ import annotations
import __future__ as future

import ast
import builtins
import hashlib
import io
import json
import linecache
import sys
import time
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import CodeType
from typing import TextIO

from lr_lessons.files import write_text

OUTPUTS_NAME = "outputs.json"
OUTPUTS_FORMAT = 1
_NOT_SAVED = {"index", "seconds"}  # the key, and what changes on every run
_FUTURE_FLAGS = 0
for _name in future.all_feature_names:
    _FUTURE_FLAGS |= getattr(future, _name).compiler_flag


def cell_hash(source: str) -> str:
    """A short fingerprint of a cell's source (leading and trailing blank lines ignored).

    Args:
        source: The cell's code, as jupytext reads it.

    Returns:
        16 hexadecimal digits of the source's SHA-256.
    """
    return hashlib.sha256(source.strip("\n").encode("utf-8")).hexdigest()[:16]


def terminal_text(text: str) -> str:
    """Text as a terminal shows it: a carriage return or a backspace overwrites.

    Progress bars redraw a line with `\\r` and `\\b`; only what is left on screen is kept.

    Args:
        text: Captured output.

    Returns:
        The text with carriage returns and backspaces applied, line by line.
    """
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if "\b" in line:
            kept: list[str] = []
            for ch in line:
                if ch == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(ch)
            line = "".join(kept)
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        lines.append(line)
    return "\n".join(lines)


class Tee(io.TextIOBase):
    """A text stream that writes to another stream and keeps a copy.

    Args:
        stream: Where the text still goes (the terminal).
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        """The terminal's descriptor (what a library writes there directly is not kept)."""
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        """Everything written so far."""
        return self.copy.getvalue()


@dataclass
class CellOutput:
    """What one code cell printed, and the Markdown files it wrote.

    Attributes:
        index: The cell's position among all cells of the notebook (from 0).
        hash: `cell_hash` of the cell's source when it ran.
        stdout: Its standard output, as the terminal showed it.
        files: Markdown files it wrote, relative to the figures folder
            (`07_schedules/study_table.md`).
        seconds: Its wall time (reported on the terminal, not saved by `save_outputs`).
    """

    index: int
    hash: str
    stdout: str = ""
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0


def code_cells(path: Path) -> list[tuple[int, str]]:
    """The `(index, source)` of each code cell of a jupytext chapter, in order.

    Args:
        path: The chapter script.

    Returns:
        Each code cell's position among all the notebook's cells, and its source.
    """
    import jupytext

    notebook = jupytext.read(path)
    return [
        (index, cell.source)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    ]


def _markdown_files(folder: Path) -> dict[Path, tuple[int, int]]:
    if not folder.is_dir():
        return {}
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.md")}


def _compile_cell(
    path: Path, text: str, position: int, index: int, source: str, flags: int
) -> tuple[CodeType, int]:
    """Compile a cell so that a traceback names the chapter's own file and line.

    The cell's source is looked up in the file after `position` (where the previous cell
    ended); a cell jupytext changed (an escaped magic) gets a name of its own instead.
    """
    tree = ast.parse(source, filename=str(path))
    start = text.find(source.strip("\n"), position) if source.strip() else -1
    if start >= 0:
        leading = len(source) - len(source.lstrip("\n"))  # blank lines jupytext kept
        ast.increment_lineno(tree, text.count("\n", 0, start) - leading)
        filename, position = str(path), start + len(source.strip("\n"))
    else:
        filename = f"{path} (cell {index})"
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
    return compile(tree, filename, "exec", flags=flags, dont_inherit=True), position


def run_cells(
    path: Path,
    figures_dir: Path,
    on_cell: Callable[[CellOutput], None] | None = None,
) -> list[CellOutput]:
    """Run a chapter's code cells in order in one `__main__` namespace, recording each.

    Standard output still reaches the terminal. A cell that raises stops the run (the
    exception propagates, its traceback showing the cell's lines).

    Args:
        path: The chapter script (`chapters/NN_topic.py`).
        figures_dir: The figures folder; Markdown files written into
            `figures_dir / path.stem` while a cell runs are recorded as that cell's.
        on_cell: Called with each cell's record as soon as the cell has run.

    Returns:
        One `CellOutput` per code cell, in order.
    """
    path = Path(path)
    # the chapter's own `__main__` module while it runs, as `runpy` makes one: classes and
    # functions it defines belong to it (pickling, dataclasses, Keras' registry)
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=str(path), __builtins__=builtins)
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        return _run(path, Path(figures_dir), module.__dict__, on_cell)
    finally:
        if previous is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = previous


def _run(
    path: Path,
    figures_dir: Path,
    namespace: dict,
    on_cell: Callable[[CellOutput], None] | None,
) -> list[CellOutput]:
    folder = figures_dir / path.stem
    flags = 0
    records = []
    text = path.read_text(encoding="utf-8")
    position = 0
    for index, source in code_cells(path):
        code, position = _compile_cell(path, text, position, index, source, flags)
        flags |= code.co_flags & _FUTURE_FLAGS  # `from __future__` holds for later cells
        before = _markdown_files(folder)
        tee = Tee(sys.stdout)
        saved = sys.stdout
        start = time.perf_counter()
        sys.stdout = tee
        try:
            exec(code, namespace)  # noqa: S102 - running the chapter is the point
        finally:
            sys.stdout = saved
            seconds = time.perf_counter() - start
        after = _markdown_files(folder)
        written = sorted(p for p, stamp in after.items() if before.get(p) != stamp)
        record = CellOutput(
            index=index,
            hash=cell_hash(source),
            stdout=terminal_text(tee.getvalue()),
            files=[p.relative_to(figures_dir).as_posix() for p in written],
            seconds=round(seconds, 3),
        )
        records.append(record)
        if on_cell is not None:
            on_cell(record)
    return records


def outputs_path(figures_dir: Path, chapter: str) -> Path:
    """Where a chapter's recorded outputs live: `figures/NN_topic/outputs.json`."""
    return Path(figures_dir) / chapter / OUTPUTS_NAME


def save_outputs(figures_dir: Path, chapter: str, records: list[CellOutput]) -> Path:
    """Write a chapter's cell records to `outputs.json` (atomically).

    Wall times are left out: they change on every run, and the file is committed.

    Args:
        figures_dir: The figures folder.
        chapter: The chapter's stem (`07_schedules`).
        records: What `run_cells` returned.

    Returns:
        The file written.
    """
    data = {
        "format": OUTPUTS_FORMAT,
        "chapter": chapter,
        "cells": {
            str(r.index): {k: v for k, v in asdict(r).items() if k not in _NOT_SAVED}
            for r in records
        },
    }
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return write_text(outputs_path(figures_dir, chapter), text)


def load_outputs(figures_dir: Path, chapter: str) -> dict[int, CellOutput]:
    """A chapter's recorded outputs by cell index; empty if none were recorded.

    A file that cannot be read (corrupt, or of another format) counts as none.

    Args:
        figures_dir: The figures folder.
        chapter: The chapter's stem.

    Returns:
        The records, keyed by the cell's index in the notebook.
    """
    path = outputs_path(figures_dir, chapter)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != OUTPUTS_FORMAT:
            return {}
        return {
            int(key): CellOutput(
                index=int(key),
                hash=str(cell["hash"]),
                stdout=str(cell.get("stdout", "")),
                files=[str(f) for f in cell.get("files", [])],
                seconds=float(cell.get("seconds", 0.0)),
            )
            for key, cell in data["cells"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
