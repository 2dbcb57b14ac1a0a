"""MkDocs hook: formulas typeset by KaTeX at build time, served from the site itself.

KaTeX comes from the npm registry at build time (``npm ci --prefix docs`` installs the
version pinned in ``docs/package-lock.json`` into ``docs/node_modules``). Every formula
``pymdownx.arithmatex`` marks (``<span class="arithmatex">\\(...\\)</span>``, and the
``<div>`` of a displayed one), and those the navigation repeats from headings, is
typeset into HTML when the page is built (``katex_render.js``, run with Node.js), so the
pages need no JavaScript to show them; only KaTeX's stylesheet and WOFF2 fonts are added
to the site, under ``assets/katex/``, where ``mkdocs.yml`` loads them. Nothing is vendored
into the repository.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ASSETS = ("katex.min.js", "katex.min.css")
INSTALL_HINT = "run `npm ci --prefix docs` (it installs KaTeX, pinned in docs/package-lock.json)"
RENDER_SCRIPT = Path(__file__).with_name("katex_render.js")
# a formula pymdownx.arithmatex (generic mode) wrapped: inline in a span, displayed in a div
ARITHMATEX_RE = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.DOTALL
)
# a navigation link (table of contents) that repeats a heading's formula as "\\(...\\)"
NAV_LINK_RE = re.compile(r'(<a [^>]*class="md-nav__link[^"]*"[^>]*>)(.*?)(</a>)', re.DOTALL)
INLINE_RE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)


def _strip_delimiters(tex: str) -> tuple[str, bool]:
    tex = tex.strip()
    for left, right, display in (("\\(", "\\)", False), ("\\[", "\\]", True)):
        if tex.startswith(left) and tex.endswith(right):
            return tex[len(left) : -len(right)], display
    return tex, False


def render(formulas: list[tuple[str, bool]], node: str | None = None) -> list[str]:
    """Typeset formulas with the npm-installed KaTeX, in one Node.js process.

    Args:
        formulas: `(tex, display)` pairs.
        node: The Node.js executable (default: `node` on the PATH).

    Returns:
        The HTML of each formula.

    Raises:
        PluginError: If Node.js is missing, or KaTeX cannot read a formula (named).
    """
    if not formulas:
        return []
    node = node or shutil.which("node")
    if node is None:
        raise PluginError(
            "Node.js not found: the formulas are typeset at build time with KaTeX "
            "(apt-get install nodejs, then npm ci --prefix docs)"
        )
    run = subprocess.run(
        [node, str(RENDER_SCRIPT)],
        input=json.dumps(formulas),
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    if run.returncode != 0:
        raise PluginError(run.stderr.strip() or f"{RENDER_SCRIPT.name} failed")
    return json.loads(run.stdout)


def typeset(page_html: str, node: str | None = None) -> str:
    """A page's HTML with every formula typeset (see the module docstring)."""
    found: list[tuple[str, bool]] = []

    def collect(match: re.Match) -> str:
        tex, display = _strip_delimiters(html.unescape(match.group("tex")))
        found.append((tex, display or match.group("tag") == "div"))
        return f"\0KATEX{len(found) - 1}\0"

    def collect_nav(match: re.Match) -> str:
        def inline(m: re.Match) -> str:
            found.append((html.unescape(m.group(1)), False))
            return f"\0KATEX{len(found) - 1}\0"

        return match.group(1) + INLINE_RE.sub(inline, match.group(2)) + match.group(3)

    text = ARITHMATEX_RE.sub(
        lambda m: f'<{m.group("tag")} class="arithmatex">{collect(m)}</{m.group("tag")}>',
        page_html,
    )
    text = NAV_LINK_RE.sub(collect_nav, text)
    if not found:
        return page_html
    rendered = render(found, node)
    return re.sub(r"\0KATEX(\d+)\0", lambda m: rendered[int(m.group(1))], text)


def katex_dist(config: MkDocsConfig) -> Path:
    """The ``dist`` folder of the npm-installed KaTeX, or a PluginError saying how to get it."""
    dist = Path(config.config_file_path).resolve().parent / "docs/node_modules/katex/dist"
    missing = [name for name in ASSETS if not (dist / name).is_file()]
    if missing:
        raise PluginError(f"KaTeX not found ({dist / missing[0]} is missing): {INSTALL_HINT}")
    return dist


def on_post_page(output: str, page, config: MkDocsConfig) -> str:
    return typeset(output)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    dist = katex_dist(config)
    paths = [dist / "katex.min.css"] + sorted((dist / "fonts").glob("*.woff2"))
    for path in paths:
        rel = path.relative_to(dist).as_posix()
        files.append(File.generated(config, f"assets/katex/{rel}", abs_src_path=str(path)))
    return files
