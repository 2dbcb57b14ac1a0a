"""MkDocs hook: the chapters, their figures and the API reference as pages, generated at build time.

Nothing is executed and nothing trains. Each ``chapters/NN_topic.py`` (jupytext percent
format) is read with jupytext and written as one Markdown page:

- markdown cells as they are (the first one, the H1 title, is followed by download links);
- code cells as ```` ```python ```` blocks;
- after a code cell that calls ``save_figure(fig, "NN_topic/name")``, the committed
  ``figures/NN_topic/name.png`` as an image linked to itself (an f-string name matches
  every committed file it can produce, in name order, except the files another cell of
  the chapter names exactly or an earlier cell already shows: each figure appears once);
- after a code cell that calls ``<table>.save("NN_topic/name")``, the committed
  ``figures/NN_topic/name.md`` claims table;
- under each code cell, what it printed in the last ``lr-lessons figures`` run, as an
  output block, and the Markdown tables it wrote (both recorded in
  ``figures/NN_topic/outputs.json`` by `lr_lessons.cells`). A cell whose source changed
  since that run (its hash no longer matches) shows no output: the output of older code
  is not passed off as this code's.

Code cells tagged ``ledger`` (``# %% tags=["ledger"]``: the claims-table call, saving
results, the site's data) exist for the record, not for the learner: a run of them is
folded under a "How this table is made" toggle (``<details class="ledger">``), their
printout inside it; the tables and figures they save are shown after it, unfolded. The
script and the notebook still run them.

A figure's alt text is the description ``save_figure`` stored in the PNG (its title,
panel titles and footer: `lr_lessons.views.plotting.describe`), else its file name.

A line ``<!-- widget: NAME -->`` in a markdown cell (invisible in a notebook) becomes the
``<div class="lr-widget" data-widget="NAME">`` that ``docs/src/javascripts/`` fills
with an interactive figure (:data:`WIDGETS`); without JavaScript it shows only a
``<noscript>`` note (:data:`NOSCRIPT`) and the chapter's static figure stands alone. The
data a widget loads (``figures/**/*.json``) is served with the figures.

The site mirrors the checkout: pages in ``chapters/``, pictures in ``figures/``, so a link
such as ``../figures/01_learning_rate/x.png`` in a chapter's prose works in both. Each page
offers its notebook (made by jupytext here, unexecuted) and its script for download.

The chapters are the files ``lr-lessons figures`` runs (``lr_lessons.cli.CHAPTER_PATTERN``),
in order; they fill the ``Chapters`` entry of ``nav``, and the ``API reference`` entry is
filled with one mkdocstrings page per module of ``lr_lessons`` (the library's Sphinx-style
roles, ``:func:`name```, are shown there as plain code). A figure a chapter saves but that
is not committed is logged as a warning, so ``mkdocs build --strict`` fails.

Why a hook and not mkdocs-jupyter: that plugin either executes the chapters (training at
build time, with a cache keyed on file bytes alone, so quick and full runs collide) or
shows the code without any figures; it cannot know that ``save_figure`` wrote a committed
file. Its current release needs Python >= 3.12 (we support 3.10), and Material's successor
does not support it. This step needs only jupytext and emits plain Markdown, so the site
generator stays replaceable.
"""

from __future__ import annotations

import ast
import fnmatch
import html
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from lr_lessons.cells import OUTPUTS_NAME, CellOutput, cell_hash, load_outputs
from lr_lessons.cli import CHAPTER_PATTERN

log = logging.getLogger("mkdocs.hooks.chapters")

FIGURE_NAME_RE = re.compile(r"^\d\d_[a-z0-9_]+/[\w.*?\[\]-]+$")
CHAPTER_LINK_RE = re.compile(r"\]\((?:\./)?(\d\d_[a-z0-9_]+)\.py(#[^)\s]*)?\)")
IMAGE_SUFFIXES = (".png", ".svg")
CHAPTERS_NAV, API_NAV = "Chapters", "API reference"
CHAPTER_TABLE_MARK = "<!-- chapter-table -->"
HIDDEN_TAGS = {"remove-cell", "remove_cell", "hide-cell", "docs-hide"}
LEDGER_TAG = "ledger"  # cells for the record: folded on the page
LEDGER_SUMMARY = "How this table is made"
LEDGER_SUMMARY_NO_TABLE = "How the results are recorded"
DESCRIPTION_KEY = "Description"  # lr_lessons.views.plotting.DESCRIPTION_KEY
WIDGET_RE = re.compile(r"^<!--\s*widget:\s*([\w-]+)\s*-->[ \t]*$", re.MULTILINE)
# the interactive figures docs/src/javascripts/ provides
WIDGETS = {"gd-playground", "range-explorer"}
# what a widget's box says when JavaScript is off
NOSCRIPT = (
    "This interactive figure needs JavaScript, which is off in this browser. "
    "The static figure above shows the same experiment."
)
DATA_SUFFIXES = (".json",)
TABLE_DIV = '<div class="lr-output-table" markdown>'  # a Markdown table a cell wrote


@dataclass
class ChapterPage:
    """One chapter converted: its title, its Markdown, and the figures it shows or lacks."""

    source: Path
    title: str
    markdown: str
    summary: str = ""
    figures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    widgets: list[str] = field(default_factory=list)
    outputs: int = 0
    stale: list[int] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.source.stem


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _name_pattern(node: ast.expr | None) -> str | None:
    """A figure name from a string constant, or a glob pattern from an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append("*")
        return "".join(parts)
    return None


def saved_outputs(code: str) -> list[tuple[str, str]]:
    """The ``("figure" | "table", name)`` outputs a code cell saves, in source order.

    A figure is a ``save_figure(fig, name)`` call; a table is a ``.save(name)`` call whose
    name looks like ``NN_topic/name`` (as ``ClaimsTable.save`` takes). Names may be
    f-strings, returned as glob patterns (``"04_plateau/*"``).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # a cell with IPython magics: nothing we can read
    found: list[tuple[int, int, str, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        keywords = {k.arg: k.value for k in node.keywords}
        if name == "save_figure":
            arg = node.args[1] if len(node.args) > 1 else keywords.get("name")
            kind = "figure"
        elif name == "save" and isinstance(node.func, ast.Attribute):
            arg = node.args[0] if node.args else keywords.get("name")
            kind = "table"
        else:
            continue
        pattern = _name_pattern(arg)
        if pattern and FIGURE_NAME_RE.match(pattern):
            found.append((node.lineno, node.col_offset, kind, pattern))
    return [(kind, pattern) for _, _, kind, pattern in sorted(found)]


def _figure_files(figures_dir: Path, pattern: str) -> list[str]:
    """Committed image files (relative to ``figures_dir``) a figure name or pattern names."""
    base = pattern[:-4] if pattern.endswith(IMAGE_SUFFIXES) else pattern
    folder = figures_dir / base.split("/", 1)[0]
    if not folder.is_dir():
        return []
    hits = []
    for path in sorted(folder.iterdir()):
        rel = path.relative_to(figures_dir).as_posix()
        if path.suffix in IMAGE_SUFFIXES and fnmatch.fnmatchcase(rel[: -len(path.suffix)], base):
            hits.append(rel)
    if not any(ch in base for ch in "*?["):
        # an exact name: prefer the PNG that save_figure writes by default
        hits = sorted(hits, key=lambda rel: not rel.endswith(".png"))[:1]
    return hits


def _alt_text(rel: str, figures_dir: Path | None = None) -> str:
    """A figure's alt text: the description stored in its PNG, else its file name."""
    if figures_dir is not None and rel.endswith(".png"):
        try:
            from PIL import Image

            with Image.open(figures_dir / rel) as image:
                text = str(image.info.get(DESCRIPTION_KEY, "")).strip()
        except (ImportError, OSError):
            text = ""
        if text:
            # in Markdown's ![...]: brackets and backslashes escaped, one line
            return re.sub(r"([\\\[\]])", r"\\\1", " ".join(text.split()))
    stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.replace("_", " ")


def _title(markdown: str, fallback: str) -> str:
    for line in markdown.splitlines():
        match = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
        if match:
            return match.group(1)
    return fallback


def _summary(markdown: str) -> str:
    """The first paragraph after the title: what the reader learns and how long it runs."""
    text = "\n".join(line for line in markdown.splitlines() if not line.startswith("#"))
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if paragraph.strip():
            return " ".join(line.strip() for line in paragraph.splitlines())
    return ""


def _hidden(cell) -> bool:
    return bool(HIDDEN_TAGS & set(cell.metadata.get("tags", [])))


def _ledger(cell) -> bool:
    return LEDGER_TAG in cell.metadata.get("tags", [])


def ledger_block(inside: list[str], summary: str = LEDGER_SUMMARY) -> str:
    """Blocks (code, printout) folded under a toggle, closed until the reader opens it."""
    body = "\n\n".join(inside)
    return (
        f'<details class="ledger" markdown="1">\n<summary>{html.escape(summary)}</summary>'
        f"\n\n{body}\n\n</details>"
    )


def link_chapter_pages(markdown: str, chapters: set[str]) -> str:
    """Point prose links to a sibling chapter's script (``02_momentum.py``) at its page."""

    def page(match: re.Match) -> str:
        stem, anchor = match.group(1), match.group(2) or ""
        return f"]({stem}.md{anchor})" if stem in chapters else match.group(0)

    return CHAPTER_LINK_RE.sub(page, markdown)


def insert_widgets(markdown: str, page: ChapterPage) -> str:
    """Replace each ``<!-- widget: NAME -->`` line by the div its script fills."""

    def div(match: re.Match) -> str:
        name = match.group(1)
        page.widgets.append(name)
        if name not in WIDGETS:
            log.warning(
                "%s asks for the widget %r; known widgets: %s",
                page.source.name,
                name,
                sorted(WIDGETS),
            )
            return match.group(0)
        return (
            f'<div class="lr-widget" data-widget="{name}" id="{name}">'
            f'<noscript><p class="lr-noscript">{NOSCRIPT}</p></noscript></div>'
        )

    return WIDGET_RE.sub(div, markdown)


def convert_chapter(
    source: Path, figures_dir: Path, chapters: set[str] | None = None
) -> ChapterPage:
    """Convert one jupytext chapter to a Markdown page showing its committed figures.

    ``chapters`` (stems) are the pages that prose links to ``NN_topic.py`` are pointed at.
    """
    chapters = {source.stem} if chapters is None else chapters
    notebook = jupytext.read(source)
    stem = source.stem
    # figures some cell names exactly: an f-string pattern elsewhere does not show them
    exact = {
        pattern
        for cell in notebook.cells
        if cell.cell_type == "code"
        for kind, pattern in saved_outputs(cell.source)
        if kind == "figure" and not any(ch in pattern for ch in "*?[")
    }
    fallback = stem[3:].replace("_", " ").capitalize()
    page = ChapterPage(source=source, title=fallback, markdown="")
    recorded = load_outputs(figures_dir, stem)
    blocks: list[str] = []
    titled = False
    folded: list[str] = []  # the current run of ledger cells: code and printout
    shown: list[str] = []  # and the tables and figures they save, shown after the toggle
    made_table = False

    def fold() -> None:
        nonlocal made_table
        if folded:
            summary = LEDGER_SUMMARY if made_table else LEDGER_SUMMARY_NO_TABLE
            blocks.append(ledger_block(folded, summary))
            blocks.extend(shown)
        folded.clear()
        shown.clear()
        made_table = False

    for index, cell in enumerate(notebook.cells):
        text = cell.source.strip("\n")
        if not text.strip() or _hidden(cell):
            continue
        if not (cell.cell_type == "code" and _ledger(cell)):
            fold()
        if cell.cell_type == "markdown":
            blocks.append(insert_widgets(link_chapter_pages(text, chapters), page))
            if not titled:
                page.title = _title(text, fallback)
                page.summary = _summary(text)
                blocks.append(_downloads(stem))
                titled = True
        elif cell.cell_type == "code":
            longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
            fence = "`" * max(3, longest + 1)  # a fence no backtick run in the code can close
            code = f"{fence}python\n{text}\n{fence}"
            record = find_record(recorded, index, cell.source)
            if record is None and recorded:  # changed (or added) since the recording
                page.stale.append(index)
            tables = {f"{p}.md" for kind, p in saved_outputs(text) if kind == "table"}
            printed = printed_outputs(record, figures_dir, page, tables)
            saved = _outputs(text, figures_dir, page, exact)
            if _ledger(cell):
                printout = [b for b in printed if not b.startswith(TABLE_DIV)]
                folded.extend([code, *printout])
                shown.extend([b for b in printed if b.startswith(TABLE_DIV)] + saved)
                made_table = made_table or bool(tables) or len(printout) < len(printed)
            else:
                blocks.extend([code, *printed, *saved])
    fold()
    if not titled:
        blocks.insert(0, f"# {fallback}\n\n{_downloads(stem)}")
    page.markdown = "\n\n".join(blocks) + "\n"
    return page


def find_record(recorded: dict[int, CellOutput], index: int, source: str) -> CellOutput | None:
    """The recorded output of the code cell at ``index``, if it is this source's.

    The record at the same index counts when its hash matches the cell's source; else a
    single record with that hash elsewhere (a markdown cell added above shifts indices).
    A cell whose source changed since the recording has none.
    """
    digest = cell_hash(source)
    same = recorded.get(index)
    if same is not None and same.hash == digest:
        return same
    moved = [r for r in recorded.values() if r.hash == digest]
    return moved[0] if len(moved) == 1 else None


def output_block(text: str) -> str:
    """Printed text as an output block: raw HTML, so nothing in it is read as Markdown.

    ``no-copy``: Material gives code blocks a copy button, not what a cell printed.
    """
    return f'<div class="lr-output no-copy"><pre><code>{html.escape(text)}</code></pre></div>'


def printed_outputs(
    record: CellOutput | None,
    figures_dir: Path,
    page: ChapterPage,
    shown_tables: set[str] | None = None,
) -> list[str]:
    """A cell's recorded output: its printout, then the Markdown tables it wrote.

    A table the cell also printed is shown once, as a table. Tables shown anyway (claims
    tables, ``shown_tables``) are skipped.
    """
    if record is None:
        return []
    stdout = record.stdout
    tables = []
    for rel in record.files:
        if rel in (shown_tables or set()):
            continue
        path = figures_dir / rel
        if not path.is_file():
            page.missing.append(rel)
            tables.append(_missing_note(rel, page.stem))
            continue
        table = path.read_text(encoding="utf-8").strip("\n")
        if table and table in stdout:
            stdout = stdout.replace(table, "", 1)
        tables.append(f"{TABLE_DIV}\n\n{table}\n\n</div>")
    stdout = re.sub(r"\n{3,}", "\n\n", stdout).strip("\n")
    blocks = [output_block(stdout)] if stdout.strip() else []
    page.outputs += len(blocks) + len(tables)
    return blocks + tables


def _downloads(stem: str) -> str:
    return (
        f"[:material-notebook-outline: Notebook ({stem}.ipynb)]({stem}.ipynb)"
        f'{{ .md-button download="{stem}.ipynb" }} '
        f"[:material-language-python: Script ({stem}.py)]({stem}.py)"
        f'{{ .md-button download="{stem}.py" }}'
    )


def _outputs(
    code: str, figures_dir: Path, page: ChapterPage, exact: set[str] | None = None
) -> list[str]:
    blocks = []
    for kind, pattern in saved_outputs(code):
        if kind == "table":
            table = figures_dir / f"{pattern}.md"
            if table.is_file():
                claims = table.read_text(encoding="utf-8").strip("\n")
                blocks.append(f'<div class="claims" markdown>\n\n{claims}\n\n</div>')
            else:
                page.missing.append(f"{pattern}.md")
                blocks.append(_missing_note(f"{pattern}.md", page.stem))
            continue
        files = _figure_files(figures_dir, pattern)
        if not files:
            page.missing.append(pattern)
            blocks.append(_missing_note(pattern, page.stem))
        if any(ch in pattern for ch in "*?["):  # each figure once, where it is named
            claimed = exact or set()
            files = [
                rel
                for rel in files
                if rel.rsplit(".", 1)[0] not in claimed and rel not in page.figures
            ]
        for rel in files:
            page.figures.append(rel)
            # the image links to itself: a multi-panel figure opens full size on a phone
            image = f"![{_alt_text(rel, figures_dir)}](../figures/{rel})"
            blocks.append(f'[{image}](../figures/{rel} "open the figure full size")')
    return blocks


def _missing_note(name: str, stem: str) -> str:
    return (
        f'!!! warning "Not generated yet: figures/{name}"\n\n'
        f"    Run `lr-lessons figures --chapters {stem[:2]}` and commit `figures/`."
    )


def notebook_text(source: Path) -> str:
    """The chapter as an unexecuted ``.ipynb`` (JSON text), as jupytext converts it."""
    return jupytext.writes(jupytext.read(source), fmt="ipynb")


def api_modules(package_dir: Path, package: str = "lr_lessons") -> list[str]:
    """Dotted names of the package and its public modules, in a stable order."""
    names = [package]
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir).with_suffix("")
        parts = list(rel.parts)
        if any(p.startswith("_") for p in parts if p != "__init__"):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
            if not parts:
                continue
        names.append(".".join([package, *parts]))
    return names


# The API reference, grouped the way the package is built: the tools a reader copies into
# their own training, the lab that reproduces the lessons, the views that draw and report.
API_GROUPS = (
    ("Tools", "Keras-native tools to use in your own training (lr_lessons.tools).",
     ("tools",)),
    ("Lab", "What reproduces the lessons: data, models, studies, engines, results, cache "
     "(lr_lessons.lab).", ("lab",)),
    ("Views", "Figures, claims tables and the site's data, drawn from saved results "
     "(lr_lessons.views).", ("views",)),
    ("Support", "Input checks, settings, atomic files, the command line and the cell runner "
     "that records each chapter cell's output.", ("checks", "config", "files", "cli", "cells")),
)  # fmt: skip
OTHER_GROUP = "Other"


def api_group(module: str) -> str:
    """The API group (:data:`API_GROUPS`) of a dotted module name; "Other" if none."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else ""
    for name, _, members in API_GROUPS:
        if first in members:
            return name
    return OTHER_GROUP


def nav_title(module: str) -> str:
    """A module's title in the API navigation, under its group: its name without the
    package (``lr_lessons.tools.range_test.finder`` -> ``tools.range_test.finder``), so
    the sidebar shows whole names; the page itself carries the full dotted name."""
    return module.split(".", 1)[1] if "." in module else module


def module_summary(package_dir: Path, module: str) -> str:
    """The first line of a module's docstring, without reST markup."""
    parts = module.split(".")[1:]
    path = package_dir.joinpath(*parts)
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        doc = ""
    first = doc.strip().split("\n\n", 1)[0].replace("\n", " ")
    first = re.sub(r":\w+:`~?([\w.]+)`", r"\1", first).replace("``", "`")
    return first.replace("|", "\\|")


def module_name_html(module: str) -> str:
    """A dotted name as code that may wrap after a dot, never inside a word."""
    return "<code>" + ".<wbr>".join(html.escape(part) for part in module.split(".")) + "</code>"


def api_index(package_dir: Path, modules: list[str], package: str = "lr_lessons") -> str:
    """The API reference's overview page: each group's modules with a one-line summary."""
    lines = [
        "# API reference",
        "",
        f"[`{package}`](api/{package}.md) itself: {module_summary(package_dir, package)}",
    ]
    groups = [(n, about) for n, about, _ in API_GROUPS] + [(OTHER_GROUP, "Not grouped yet.")]
    for name, about in groups:
        members = [m for m in modules if m != package and api_group(m) == name]
        if not members:
            continue
        lines += ["", f"## {name}", "", about, "", "| module | what it is for |", "|---|---|"]
        for m in members:
            lines.append(
                f"| [{module_name_html(m)}](api/{m}.md) | {module_summary(package_dir, m)} |"
            )
    return "\n".join(lines) + "\n"


def _top_level_names(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def public_names(package_dir: Path, package: str = "lr_lessons") -> list[tuple[str, str]]:
    """``(name, module)`` pairs of the package's lazily exported ``_PUBLIC`` mapping."""
    tree = ast.parse((package_dir / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(t, ast.Name) and t.id == "_PUBLIC"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            and isinstance(node.value, ast.Dict)
        ):
            return sorted(
                (k.value, v.value)
                for k, v in zip(node.value.keys, node.value.values)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            )
    return []


def package_page(package_dir: Path, package: str = "lr_lessons") -> str:
    """The package's API page: its docstring and a linked table of the names it exports."""
    rows = []
    for name, module in public_names(package_dir, package):
        path = package_dir.joinpath(*module.split(".")[1:]).with_suffix(".py")
        if name in _top_level_names(path):  # link only what the module page documents
            rows.append(f"| [`{name}`][{module}.{name}] | [`{module}`][{module}] |")
        else:
            rows.append(f"| `{name}` | `{module}` |")
    text = f"::: {package}\n    options:\n      members: false\n"
    if rows:
        text += (
            f"\n## What `import {package}` gives you\n\n"
            "| name | defined in |\n|---|---|\n" + "\n".join(rows) + "\n"
        )
    return text


# -- MkDocs events ---------------------------------------------------------------------------

_state: dict[str, object] = {}


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _chapter_sources(root: Path) -> list[Path]:
    folder = root / "chapters"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if CHAPTER_PATTERN.match(p.name))


def _fill_nav(nav: list, key: str, entries: list) -> bool:
    for i, item in enumerate(nav):
        if isinstance(item, dict) and key in item:
            nav[i] = {key: entries}
            return True
        if isinstance(item, dict):
            for value in item.values():
                if isinstance(value, list) and _fill_nav(value, key, entries):
                    return True
    return False


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    root = _root(config)
    figures_dir = root / "figures"
    sources = _chapter_sources(root)
    stems = {src.stem for src in sources}
    pages = [convert_chapter(src, figures_dir, stems) for src in sources]
    modules = api_modules(root / "lr_lessons")
    _state.update(root=root, figures_dir=figures_dir, pages=pages, modules=modules)
    if config.nav is None:
        raise PluginError("mkdocs.yml needs a nav with 'Chapters' and 'API reference' entries")
    chapters = [{page.title: f"chapters/{page.stem}.md"} for page in pages]
    api: list = [{"Overview": "api.md"}, {modules[0]: f"api/{modules[0]}.md"}]
    groups = [n for n, _, _ in API_GROUPS] + [OTHER_GROUP]
    for group in groups:
        members = [{nav_title(m): f"api/{m}.md"} for m in modules[1:] if api_group(m) == group]
        if members:
            api.append({group: members})
    for key, entries in ((CHAPTERS_NAV, chapters), (API_NAV, api)):
        if not _fill_nav(config.nav, key, entries):
            raise PluginError(f"mkdocs.yml's nav has no {key!r} entry for the hook to fill")
    return config


def chapter_table(pages: list[ChapterPage]) -> str:
    """A Markdown table of the chapters (title linked, summary), for the home page."""
    lines = ["| chapter | what you learn |", "|---|---|"]
    for page in pages:
        summary = page.summary.replace("|", "\\|")
        lines.append(f"| [{page.title}](chapters/{page.stem}.md) | {summary} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config: MkDocsConfig, files: Files) -> str:
    if CHAPTER_TABLE_MARK in markdown:
        markdown = markdown.replace(CHAPTER_TABLE_MARK, chapter_table(_state["pages"]))
    return markdown


# -- formulas in the search index: readable text instead of raw TeX -------------------------

TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "varepsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π",
    "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω", "nabla": "∇",
    "partial": "∂", "cdot": "·", "times": "×", "pm": "±", "approx": "≈", "le": "≤",
    "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "infty": "∞", "to": "→",
    "rightarrow": "→", "leftarrow": "←", "sum": "Σ", "top": "ᵀ", "ln": "ln", "log": "log",
    "exp": "exp", "min": "min", "max": "max", "quad": " ", "qquad": " ", ",": " ", ";": " ",
    " ": " ", "!": "", "left": "", "right": "", "{": "{", "}": "}", "%": "%", "_": "_",
}  # fmt: skip
SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
SUBSCRIPT = str.maketrans("0123456789+-=()aeiotk", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢₒₜₖ")
MATH_RE = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)


def _group(tex: str, i: int) -> tuple[str, int]:
    """The braced group (or single character) at ``tex[i]`` and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        if tex[i] == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            return match.group(0), i + len(match.group(0))
        return tex[i], i + 1
    depth, j = 0, i
    while j < len(tex):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1 : j], j + 1
        j += 1
    return tex[i + 1 :], len(tex)


def tex_to_text(tex: str) -> str:
    """A TeX formula as plain text for the search index: ``\\frac{2}{a}`` -> ``2/a``,
    ``10^{-4}`` -> ``10⁻⁴``, ``\\eta`` -> ``η``."""
    out, i = [], 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name, i = match.group(1), i + len(match.group(0))
            if name in ("frac", "dfrac", "tfrac"):
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                top, bottom = tex_to_text(top), tex_to_text(bottom)
                wrap = lambda t: t if re.fullmatch(r"[\w.·ᵀ∂∇⁰-⁹₀-₉]+", t) else f"({t})"  # noqa: E731
                out.append(f"{wrap(top)}/{wrap(bottom)}")
            elif name == "sqrt":
                arg, i = _group(tex, i)
                arg = tex_to_text(arg)
                out.append(f"√{arg}" if len(arg) == 1 else f"√({arg})")
            elif name in ("text", "mathrm", "mathbf", "mathit", "operatorname", "hat", "bar",
                          "tilde", "vec", "boldsymbol", "mathcal"):  # fmt: skip
                arg, i = _group(tex, i)
                out.append(tex_to_text(arg))
            else:
                out.append(TEX_SYMBOLS.get(name, name))
            if name.isalpha():  # TeX drops the space after a control word before a letter
                rest = tex[i:].lstrip(" ")
                if rest[:1].isalpha():
                    i = len(tex) - len(rest)
        elif ch in "^_":
            arg, i = _group(tex, i + 1)
            text = tex_to_text(arg)
            table = SUPERSCRIPT if ch == "^" else SUBSCRIPT
            if text and all(ord(c) in table for c in text):
                out.append(text.translate(table))
            elif text == "ᵀ":
                out.append(text)
            else:
                out.append(f"{ch}{text}" if text.isalnum() else f"{ch}({text})")
        elif ch in "{}":
            i += 1
        else:
            out.append(ch)
            i += 1
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def plain_math(text: str) -> str:
    """Every ``\\(...\\)`` and ``\\[...\\]`` formula in ``text`` as readable text."""
    return MATH_RE.sub(lambda m: tex_to_text(m.group(1) or m.group(2)), text)


def on_post_build(config: MkDocsConfig) -> None:
    """Search previews show formulas as text: rewrite the search index the plugin wrote."""
    index = Path(config.site_dir) / "search" / "search_index.json"
    if not index.is_file():
        return
    data = json.loads(index.read_text(encoding="utf-8"))
    for doc in data.get("docs", []):
        for key in ("title", "text"):
            if key in doc:
                doc[key] = plain_math(doc[key])
    index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    figures_dir: Path = _state["figures_dir"]  # type: ignore[assignment]
    for page in _state["pages"]:  # type: ignore[union-attr]
        for name in page.missing:
            log.warning(
                "%s saves figures/%s, which is missing: run `lr-lessons figures "
                "--chapters %s` and commit figures/",
                page.source.name,
                name,
                page.stem[:2],
            )
        if page.stale:
            log.info(
                "%s: %d cell(s) changed since their output was recorded (shown without "
                "output): run `lr-lessons figures --chapters %s` and commit figures/",
                page.source.name,
                len(page.stale),
                page.stem[:2],
            )
        base = f"chapters/{page.stem}"
        files.append(File.generated(config, f"{base}.md", content=page.markdown))
        files.append(File.generated(config, f"{base}.ipynb", content=notebook_text(page.source)))
        files.append(File.generated(config, f"{base}.py", abs_src_path=str(page.source)))
    if figures_dir.is_dir():
        for path in sorted(figures_dir.rglob("*")):
            if path.suffix in IMAGE_SUFFIXES + DATA_SUFFIXES and path.name != OUTPUTS_NAME:
                rel = path.relative_to(figures_dir).as_posix()
                files.append(File.generated(config, f"figures/{rel}", abs_src_path=str(path)))
    package_dir = _state["root"] / "lr_lessons"  # type: ignore[operator]
    index = api_index(package_dir, _state["modules"])  # type: ignore[arg-type]
    files.append(File.generated(config, "api.md", content=index))
    for name in _state["modules"]:  # type: ignore[union-attr]
        content = package_page(package_dir) if name == "lr_lessons" else f"::: {name}\n"
        files.append(File.generated(config, f"api/{name}.md", content=content))
    return files
