"""MkDocs hook: serve KaTeX from the site itself, so formulas render with no internet.

KaTeX comes from the npm registry at build time (``npm ci --prefix docs`` installs the
version pinned in ``docs/package-lock.json`` into ``docs/node_modules``); this hook adds
its script, stylesheet and WOFF2 fonts to the site under ``assets/katex/``, where
``mkdocs.yml`` loads them. Nothing is vendored into the repository.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ASSETS = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")
INSTALL_HINT = "run `npm ci --prefix docs` (it installs KaTeX, pinned in docs/package-lock.json)"


def katex_dist(config: MkDocsConfig) -> Path:
    """The ``dist`` folder of the npm-installed KaTeX, or a PluginError saying how to get it."""
    dist = Path(config.config_file_path).resolve().parent / "docs/node_modules/katex/dist"
    missing = [name for name in ASSETS if not (dist / name).is_file()]
    if missing:
        raise PluginError(f"KaTeX not found ({dist / missing[0]} is missing): {INSTALL_HINT}")
    return dist


def on_files(files: Files, config: MkDocsConfig) -> Files:
    dist = katex_dist(config)
    paths = [dist / name for name in ASSETS] + sorted((dist / "fonts").glob("*.woff2"))
    for path in paths:
        rel = path.relative_to(dist).as_posix()
        files.append(File.generated(config, f"assets/katex/{rel}", abs_src_path=str(path)))
    return files
