"""The docs site: the chapter conversion hook, and the built site in a real browser.

The conversion tests run anywhere MkDocs is installed (``pip install -e ".[docs]"``).
The browser tests (``-m browser``) build the site with ``mkdocs build --strict``, serve it on
127.0.0.1 and open every page in Debian's headless Chromium through Selenium. They skip when
Chromium, its driver, MkDocs or the npm-installed KaTeX is missing, except when asked for
explicitly (``pytest -m browser``) or under CI (``CI=true``), where a missing piece is a
failure: ``.ci/run`` installs them all. The interactive figures (the gradient-descent
playground, the range-test explorer) are driven with the keyboard, the mouse and touch,
and what they compute is compared with the library's Python. Screenshots and per-page
timings are kept in ``build/screenshots/``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "docs" / "hooks" / "chapters.py"
KATEX = ROOT / "docs" / "node_modules" / "katex" / "dist" / "katex.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--window-size=1280,1000",
)
SEARCH_QUERY = "momentum"


_ASKED_FOR_BROWSER = re.compile(r"(?<!not )\bbrowser\b")


def _require(ok: bool, reason: str, config: pytest.Config | None = None) -> None:
    """Skip with ``reason`` when a prerequisite is absent; under CI, or when the browser
    tests were asked for explicitly (``-m browser``), fail instead."""
    if ok:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    markexpr = config.getoption("markexpr", "") if config is not None else ""
    if _ASKED_FOR_BROWSER.search(markexpr or ""):
        pytest.fail(f"{reason} (asked for with -m {markexpr!r}, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def hook():
    """The chapter conversion hook, loaded from docs/hooks/chapters.py."""
    _require(
        importlib.util.find_spec("mkdocs") is not None, 'MkDocs missing: pip install ".[docs]"'
    )
    spec = importlib.util.spec_from_file_location("docs_hook_chapters", HOOK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# -- how the browser tests are asked for ------------------------------------------------------

NEEDS_A_BROWSER = """
import importlib.util
import pathlib

import pytest

spec = importlib.util.spec_from_file_location("site_tests", {path!r})
site_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_tests)
site_tests.CHROMIUM = pathlib.Path("/no/such/chromium")


@pytest.mark.browser
def test_needs_a_browser(pytestconfig):
    site_tests._require_browser(pytestconfig)
"""


@pytest.mark.parametrize(
    "args, ci, outcome",
    [
        (["-m", "browser"], "", "1 failed"),  # asked for: a missing browser is a failure
        (["-m", "browser or slow"], "", "1 failed"),
        ([], "", "1 skipped"),  # the default run: skipped, said why
        ([], "true", "1 failed"),  # CI installs the browser: missing is a failure
        (["-m", "not browser"], "true", "1 deselected"),
    ],
)
def test_browser_tests_fail_when_asked_for_and_the_browser_is_missing(tmp_path, args, ci, outcome):
    test = tmp_path / "test_needs_a_browser.py"
    test.write_text(NEEDS_A_BROWSER.format(path=str(Path(__file__).resolve())))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = ci
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args, str(test)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in run.stdout, run.stdout[-2000:]
    assert run.returncode == (1 if "failed" in outcome else 5 if "deselected" in outcome else 0)
    if "failed" in outcome or "skipped" in outcome:
        assert "Chromium missing (/no/such/chromium): apt-get install chromium" in run.stdout


def test_the_docs_extra_installs_what_the_browser_tests_need():
    """`pip install -e ".[docs]"` (the README's docs section) brings pytest and Selenium, so
    `pytest -m browser` is the project's pytest, not a system one that skips everything."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["docs"]
    names = {re.split(r"[<>=\[ ;]", req, maxsplit=1)[0].lower() for req in extra}
    assert {"pytest", "selenium", "mkdocs", "ruff"} <= names
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Read the docs locally", 1)[1].split("\n## ", 1)[0]
    assert 'pip install -e ".[docs]"' in section and "npm ci --prefix docs" in section
    assert "chromium-driver" in section and "pytest -m browser" in section


# -- the conversion, on a chapter written here -----------------------------------------------

CHAPTER = """# %% [markdown]
# # Learning-rate decay
# What the decay rule does. Runs in a minute.
#
# The rule is $\\eta_t = \\eta_0 / (1 + d\\,t)$; momentum is in [chapter 2](02_momentum.py).

# %%
fig = curves({"a": [1, 2]})
save_figure(fig, "03_decay/rule")
fig

# %% tags=["remove-cell"]
print("hidden from the page")

# %%
for name in ("b", "a"):
    save_figure(curves({name: [1]}), f"03_decay/loop_{name}")

# %%
print("a fence: ```")

# %%
table = ClaimsTable()
table.save("03_decay/claims")
save_figure(fig, "03_decay/never_made")
"""


@pytest.fixture
def chapter(tmp_path) -> Path:
    (tmp_path / "chapters").mkdir()
    figures = tmp_path / "figures" / "03_decay"
    figures.mkdir(parents=True)
    for name in ("rule", "loop_a", "loop_b", "other"):
        (figures / f"{name}.png").write_bytes(b"png")
    (figures / "claims.md").write_text("| a | b | c |\n|---|---|---|\n| x | y | confirmed |\n")
    path = tmp_path / "chapters" / "03_decay.py"
    path.write_text(CHAPTER)
    return path


def test_saved_outputs_reads_figure_and_table_names(hook):
    code = (
        'save_figure(fig, "01_lr/grid")\n'
        'plotting.save_figure(fig, name=f"01_lr/{k}_curve")\n'
        'table.save("01_lr/claims")\n'
        "results.save(path)\n"
        "save_figure(fig, some_variable)\n"
    )
    assert hook.saved_outputs(code) == [
        ("figure", "01_lr/grid"),
        ("figure", "01_lr/*_curve"),
        ("table", "01_lr/claims"),
    ]
    assert hook.saved_outputs("%matplotlib inline\nsave_figure(fig, '01_lr/x')") == []


def test_chapter_page_shows_committed_figures_and_claims_in_place(hook, chapter):
    page = hook.convert_chapter(chapter, chapter.parents[1] / "figures", {"02_momentum"})
    md = page.markdown
    assert page.title == "Learning-rate decay"
    assert md.startswith("# Learning-rate decay\n")
    # the downloads follow the title cell; prose links to a chapter's script go to its page
    assert md.index("](03_decay.ipynb)") < md.index("```python")
    assert "[chapter 2](02_momentum.md)" in md
    # figures in the order the cells save them; an f-string name matches its files, sorted
    assert page.figures == ["03_decay/rule.png", "03_decay/loop_a.png", "03_decay/loop_b.png"]
    positions = [md.index(f"](../figures/{rel})") for rel in page.figures]
    assert positions == sorted(positions)
    for rel in page.figures:  # each image is a link to itself: it opens full size
        image = f"![{rel.rsplit('/', 1)[1][:-4].replace('_', ' ')}](../figures/{rel})"
        assert f'[{image}](../figures/{rel} "open the figure full size")' in md
    assert md.index('save_figure(fig, "03_decay/rule")') < positions[0]
    assert md.index("| x | y | confirmed |") > positions[-1]
    assert "hidden from the page" not in md
    assert '````python\nprint("a fence: ```")\n````' in md  # backticks in code keep their block
    assert "other.png" not in md
    # a figure the chapter saves but nobody committed is reported, and said on the page
    assert page.missing == ["03_decay/never_made"]
    assert "Not generated yet: figures/03_decay/never_made" in md


PRINTING_CHAPTER = """# %% [markdown]
# # Printing
# A chapter that prints.

# %%
from lr_lessons import config

print("loss <b>&</b> $x$ ```")
print()
print("after a blank line")

# %% [markdown]
# The printout above.

# %%
table = "| rate | accuracy |\\n|---|---|\\n| 0.1 | 0.93 |"
folder = config.figures_dir() / "97_printing"
(folder / "study_table.md").write_text(table + "\\n")
print("the table:")
print(table)

# %%
silent = 1
"""


def _recorded_chapter(tmp_path, monkeypatch) -> Path:
    """A chapter run by ``lr-lessons figures``' cell runner, its outputs recorded."""
    from lr_lessons import cli

    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    (tmp_path / "figures" / "97_printing").mkdir(parents=True)
    source = tmp_path / "chapters" / "97_printing.py"
    source.parent.mkdir()
    source.write_text(PRINTING_CHAPTER)
    cli.run_chapter(source, tmp_path / "figures")
    return source


def _html(markdown_text: str) -> str:
    """The page's Markdown as MkDocs renders it (the extensions of mkdocs.yml that matter)."""
    import markdown

    return markdown.markdown(
        markdown_text,
        extensions=["md_in_html", "tables", "attr_list", "pymdownx.superfences"],
    )


def test_each_cell_shows_what_it_printed_under_it(hook, tmp_path, monkeypatch):
    source = _recorded_chapter(tmp_path, monkeypatch)
    page = hook.convert_chapter(source, tmp_path / "figures")
    md = page.markdown
    assert page.outputs == 3 and page.stale == [] and page.missing == []
    first = md.index('<div class="lr-output no-copy">')
    assert md.index('print("after a blank line")') < first < md.index("The printout above.")
    html = _html(md)
    block = r'<div class="lr-output no-copy"><pre><code>(.*?)</code></pre></div>'
    outputs = re.findall(block, html, re.S)
    # escaped, whole (the blank line kept), not read as Markdown or code fences
    assert outputs[0] == "loss &lt;b&gt;&amp;&lt;/b&gt; $x$ ```\n\nafter a blank line"
    # the table the cell wrote and printed: shown once, as a table, under the printout
    assert outputs[1] == "the table:"
    assert len(outputs) == 2
    table = html.index('<div class="lr-output-table">')
    assert html.index(outputs[1]) < table
    assert "<td>0.93</td>" in html[table:]
    assert html.count("lr-output") == 3  # the silent cell shows no empty block


def test_a_cell_changed_since_its_recording_shows_no_output(hook, tmp_path, monkeypatch):
    source = _recorded_chapter(tmp_path, monkeypatch)
    text = source.read_text()
    # a prose cell added at the top shifts every index: outputs follow their cells' hashes
    shifted = text.replace(
        "# %%\nfrom lr_lessons", "# %% [markdown]\n# New prose.\n\n# %%\nfrom lr_lessons", 1
    )
    source.write_text(shifted)
    page = hook.convert_chapter(source, tmp_path / "figures")
    assert page.outputs == 3 and page.stale == []
    # the first code cell edited: its old printout is not shown as this code's
    source.write_text(shifted.replace('print("after a blank line")', 'print("changed")'))
    page = hook.convert_chapter(source, tmp_path / "figures")
    assert page.stale == [2] and page.outputs == 2
    assert "after a blank line" not in page.markdown
    assert "the table:" in page.markdown
    # no recording at all (a chapter never run): no output, nothing stale
    (tmp_path / "figures" / "97_printing" / "outputs.json").unlink()
    page = hook.convert_chapter(source, tmp_path / "figures")
    assert page.outputs == 0 and page.stale == [] and "lr-output" not in page.markdown


LEDGER_CHAPTER = """# %% [markdown]
# # Ledger
# A chapter with cells for the record.

# %%
print("the learner's code")

# %% tags=["ledger"]
print("rows built")
table = ClaimsTable()
table.save("96_ledger/claims")

# %% tags=["ledger"]
print("results saved")

# %% [markdown]
# After the record.

# %% tags=["ledger"]
save_results()
"""


def test_ledger_cells_are_folded_and_their_table_shown_after(hook, tmp_path):
    from lr_lessons.cells import CellOutput, cell_hash, save_outputs

    (tmp_path / "chapters").mkdir()
    figures = tmp_path / "figures" / "96_ledger"
    figures.mkdir(parents=True)
    (figures / "claims.md").write_text("| a | b | c |\n|---|---|---|\n| x | y | confirmed |\n")
    source = tmp_path / "chapters" / "96_ledger.py"
    source.write_text(LEDGER_CHAPTER)
    import jupytext

    cells = jupytext.read(source).cells
    records = [
        CellOutput(i, cell_hash(c.source), stdout=text + "\n")
        for i, c in enumerate(cells)
        for text in [c.source.split('print("', 1)[-1].split('")', 1)[0]]
        if c.cell_type == "code" and "print" in c.source
    ]
    save_outputs(tmp_path / "figures", "96_ledger", records)
    md = hook.convert_chapter(source, tmp_path / "figures").markdown
    html = _html(md)
    first, second = html.split('<details class="ledger">')[1:]
    folded, after = first.split("</details>", 1)
    # the two ledger cells in a row: one toggle, their code and printouts in it
    assert "<summary>How this table is made</summary>" in folded
    assert folded.count("<pre>") == 4 and "rows built" in folded and "results saved" in folded
    # the table they save is shown, after the toggle and before the next prose
    assert after.index("<td>confirmed</td>") < after.index("After the record.")
    assert "<summary>How the results are recorded</summary>" in second
    assert "save_results" in second
    # the learner's code is not folded
    assert html.index("the learner&#x27;s code") < html.index("<details")
    assert md.count("<details") == 2


def test_figure_alt_text_is_its_saved_description(hook, tmp_path, monkeypatch):
    from lr_lessons.views import plotting

    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    fig = plotting.new_figure((3.0, 2.0))
    fig.subplots().set_title("loss [log]")
    fig.suptitle("Decay")
    plotting.save_figure(fig, "03_decay/rule")
    assert hook._alt_text("03_decay/rule.png", tmp_path / "figures") == (
        "Decay. Panel: loss \\[log\\]"
    )
    (tmp_path / "figures" / "03_decay" / "old.png").write_bytes(b"png")
    assert hook._alt_text("03_decay/old.png", tmp_path / "figures") == "old"


def test_api_navigation_titles_drop_the_package_name(hook):
    assert hook.nav_title("lr_lessons.tools.range_test.finder") == "tools.range_test.finder"
    assert hook.nav_title("lr_lessons.cells") == "cells"
    assert hook.nav_title("lr_lessons") == "lr_lessons"


def test_formulas_are_typeset_at_build_time(hook):
    _require(KATEX.is_file(), f"KaTeX missing ({KATEX}): npm ci --prefix docs")
    _require(shutil.which("node") is not None, "Node.js missing: apt-get install nodejs")
    spec = importlib.util.spec_from_file_location("docs_hook_katex", HOOK.with_name("katex.py"))
    katex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(katex)
    page = (
        '<p>If <span class="arithmatex">\\(a &lt; 2/\\eta\\)</span>:</p>'
        '<div class="arithmatex">\\[ w \\leftarrow w - \\eta g \\]</div>'
        '<a href="#x" class="md-nav__link"><span>Choosing \\(\\beta\\)</span></a>'
        "<pre><code>re.compile(r'\\(')</code></pre>"
    )
    out = katex.typeset(page)
    assert out.count('class="katex"') == 3 and out.count('class="katex-display"') == 1
    assert "\\(a" not in out and "Choosing \\(" not in out
    assert '<annotation encoding="application/x-tex">a &lt; 2/\\eta</annotation>' in out
    assert "re.compile(r'\\(')" in out  # code is left alone
    assert katex.typeset("<p>no formulas</p>") == "<p>no formulas</p>"
    with pytest.raises(Exception, match="cannot typeset"):
        katex.typeset('<span class="arithmatex">\\(\\frac{1}\\)</span>')


def test_a_name_pattern_shows_only_figures_no_other_cell_names(hook, tmp_path):
    """Chapter 6's bug: ``save_figure(fig, f"06_x/{name}")`` matched every committed
    figure of the chapter, so the figures other cells show appeared twice."""
    (tmp_path / "chapters").mkdir()
    figures = tmp_path / "figures" / "06_x"
    figures.mkdir(parents=True)
    for name in ("loss", "check", "check_valley"):
        (figures / f"{name}.png").write_bytes(b"png")
    source = tmp_path / "chapters" / "06_x.py"
    source.write_text(
        "# %% [markdown]\n# # Title\n\n"
        '# %%\nsave_figure(fig, "06_x/loss")\n\n'
        '# %%\nfor name in names:\n    save_figure(fig, f"06_x/{name}")\n\n'
        '# %%\nsave_figure(fig, f"06_x/check{suffix}")\n'
    )
    page = hook.convert_chapter(source, tmp_path / "figures")
    assert page.figures == ["06_x/loss.png", "06_x/check.png", "06_x/check_valley.png"]
    assert page.markdown.count("](../figures/06_x/loss.png)") == 1
    assert page.missing == []


def test_chapter_notebook_is_unexecuted_and_complete(hook, chapter):
    import nbformat

    text = hook.notebook_text(chapter)
    nbformat.validate(nbformat.reads(text, as_version=4))
    notebook = json.loads(text)
    kinds = [cell["cell_type"] for cell in notebook["cells"]]
    assert kinds == ["markdown", "code", "code", "code", "code", "code"]
    assert all(not cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code")


def test_home_page_chapter_table_links_every_chapter(hook, chapter):
    page = hook.convert_chapter(chapter, chapter.parents[1] / "figures")
    table = hook.chapter_table([page])
    assert table.splitlines()[2] == (
        "| [Learning-rate decay](chapters/03_decay.md) | What the decay rule does. "
        "Runs in a minute. |"
    )


def test_search_index_shows_formulas_as_text(hook):
    text = r"momentum \(\mu\) keeps a velocity \(v\): \[ v \leftarrow \mu\, v - \eta\,"
    text += r" \frac{\partial L}{\partial w} \] below \(2(1+\mu)/a\) and \(10^{-4}\)"
    assert hook.plain_math(text) == (
        "momentum μ keeps a velocity v: v ← μ v - η ∂L/∂w below 2(1+μ)/a and 10⁻⁴"
    )
    assert hook.tex_to_text(r"\eta_t = \eta_0 / (1 + d\,t)") == "ηₜ = η₀ / (1 + d t)"
    assert hook.tex_to_text(r"\sqrt{\hat v_t} + \epsilon") == "√(vₜ) + ε"
    assert hook.tex_to_text(r"\text{lr}_{\min}") == "lr_min"


SPHINX_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc|const):`")


def test_api_pages_show_no_sphinx_roles(hook):
    """The API pages show no ``:func:`x``` markup: the docstrings use Markdown backticks
    (the hook no longer rewrites roles), so no module may hold one."""
    assert not hasattr(hook, "strip_sphinx_roles")
    holding = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "lr_lessons").rglob("*.py"))
        if SPHINX_ROLE.search(p.read_text(encoding="utf-8"))
    ]
    assert not holding, f"Sphinx roles left (use `name`): {holding}"


def test_package_page_links_the_exported_names_it_can_find(hook, tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""Doc."""\n_PUBLIC = {"Thing": "pkg.things", "gone": "pkg.things"}\n'
    )
    (package / "things.py").write_text("class Thing:\n    pass\n")
    page = hook.package_page(package, "pkg")
    assert page.startswith("::: pkg\n")
    assert "| [`Thing`][pkg.things.Thing] | [`pkg.things`][pkg.things] |" in page
    assert "| `gone` | `pkg.things` |" in page  # not defined there: no link to break the build


def test_katex_hook_names_the_install_command_when_katex_is_missing(hook, tmp_path):
    from types import SimpleNamespace

    from mkdocs.exceptions import PluginError

    spec = importlib.util.spec_from_file_location("docs_hook_katex", HOOK.with_name("katex.py"))
    katex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(katex)
    config = SimpleNamespace(config_file_path=str(tmp_path / "mkdocs.yml"))
    with pytest.raises(PluginError, match=r"npm ci --prefix docs"):
        katex.katex_dist(config)
    dist = tmp_path / "docs" / "node_modules" / "katex" / "dist"
    for name in katex.ASSETS:
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text("/* katex */")
    assert katex.katex_dist(config) == dist


def test_api_pages_cover_every_public_module(hook):
    modules = hook.api_modules(ROOT / "lr_lessons")
    assert modules[0] == "lr_lessons"
    expected = {
        "lr_lessons." + ".".join(p.relative_to(ROOT / "lr_lessons").with_suffix("").parts)
        for p in (ROOT / "lr_lessons").rglob("*.py")
        if not p.name.startswith("_")
    }
    assert expected <= set(modules)
    assert all(not part.startswith("_") for m in modules for part in m.split("."))


# -- the built site in Chromium --------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory, pytestconfig, hook) -> Path:
    """The site, built from the working tree with ``mkdocs build --strict``; the chapters
    as the hook converts them at that moment are kept in ``_BUILT_CHAPTERS``."""
    _require(
        importlib.util.find_spec("mkdocs") is not None,
        'MkDocs missing: pip install ".[docs]"',
        pytestconfig,
    )
    _require(KATEX.is_file(), f"KaTeX missing ({KATEX}): npm ci --prefix docs", pytestconfig)
    out = tmp_path_factory.mktemp("site")
    _BUILT_CHAPTERS.clear()
    _BUILT_CHAPTERS.update(
        (p.stem, hook.convert_chapter(p, ROOT / "figures"))
        for p in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
    )
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-4000:]}"
    _TIMINGS["build_s"] = round(time.perf_counter() - start, 2)
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(site):
    """The built site on http://127.0.0.1:<free port>/, served from a thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=site))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _chromium(profile: Path, javascript: bool = True):
    """Debian's Chromium, headless, driven by Selenium through /usr/bin/chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.ignore_local_proxy_environment_variables()
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    return driver


def _require_browser(config: pytest.Config) -> None:
    _require(CHROMIUM.exists(), f"Chromium missing ({CHROMIUM}): apt-get install chromium", config)
    _require(
        CHROMEDRIVER.exists(),
        f"ChromeDriver missing ({CHROMEDRIVER}): apt-get install chromium-driver",
        config,
    )
    _require(
        importlib.util.find_spec("selenium") is not None,
        'Selenium missing: pip install ".[docs]"',
        config,
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory, pytestconfig):
    """Debian's Chromium, headless, with JavaScript."""
    _require_browser(pytestconfig)
    driver = _chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


_TIMINGS: dict[str, object] = {}
_BUILT_CHAPTERS: dict[str, object] = {}  # stem -> the hook's ChapterPage at build time

PAGE_STATE = """
const images = Array.from(document.images);
const math = Array.from(document.querySelectorAll('.arithmatex'));
return {
  ready: document.readyState === 'complete' && images.every(i => i.complete),
  brokenImages: images.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  unlinkedFigures: images.filter(i => (i.getAttribute('src') || '').includes('figures/')
    && !(i.closest('a') && i.closest('a').href === i.src)).map(i => i.getAttribute('src')),
  repeatedImages: images.map(i => i.getAttribute('src'))
    .filter((src, k, all) => src.includes('figures/') && all.indexOf(src) !== k),
  images: images.length,
  math: math.length,
  mathRendered: math.filter(
    m => m.querySelector('.katex') && !m.querySelector('.katex-error')).length,
  unrendered: math.filter(m => !m.querySelector('.katex')).map(m => m.textContent.slice(0, 80))
    .concat(Array.from(document.querySelectorAll('.md-nav--secondary .md-nav__link'))
      .filter(a => a.textContent.includes('\\\\(') && !a.querySelector('.katex'))
      .map(a => 'table of contents: ' + a.textContent.trim())),
  navLinks: Array.from(document.querySelectorAll('.md-nav a.md-nav__link[href]')).map(a => a.href),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  resources: performance.getEntriesByType('resource').map(e => e.name),
  title: document.title,
};
"""


def _settle(driver, timeout: float = 15.0) -> dict:
    """The page's state once loaded, its images done and its formulas typeset (or timed out)."""
    deadline = time.monotonic() + timeout
    while True:
        state = driver.execute_script(PAGE_STATE)
        settled = state["ready"] and not state["unrendered"]
        if settled or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _built_pages(site: Path) -> list[str]:
    """Site paths of every built page (``chapters/01_x/``), the home page first."""
    pages = [
        p.parent.relative_to(site).as_posix() + "/"
        for p in site.rglob("index.html")
        if p.parent != site and "assets" not in p.relative_to(site).parts
    ]
    return [""] + sorted(pages)


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _status(url: str) -> int:
    try:
        with _DIRECT.open(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.browser
def test_every_page_renders_offline_with_images_math_and_working_links(site, server, browser):
    pages = _built_pages(site)
    assert any(p.startswith("chapters/") for p in pages), "no chapter page was built"
    problems: list[str] = []
    nav_links: set[str] = set()
    links: set[str] = set()
    timings: dict[str, float] = {}
    math_total = 0
    for path in pages:
        url = server + path
        start = time.perf_counter()
        browser.get(url)
        state = _settle(browser)
        timings[path or "/"] = round(time.perf_counter() - start, 3)
        if state["title"].startswith("404"):
            problems.append(f"{url}: the 404 page")
        for src in state["brokenImages"]:
            problems.append(f"{url}: image did not load: {src}")
        for src in state["unlinkedFigures"]:
            problems.append(f"{url}: figure does not open full size: {src}")
        for src in state["repeatedImages"]:
            problems.append(f"{url}: figure shown twice: {src}")
        for text in state["unrendered"]:
            problems.append(f"{url}: formula not rendered: {text!r}")
        if state["mathRendered"] != state["math"]:
            problems.append(f"{url}: {state['math'] - state['mathRendered']} formula(s) failed")
        math_total += state["mathRendered"]
        for resource in state["resources"]:
            if not resource.startswith((server, "data:", "blob:")):
                problems.append(f"{url}: loaded from outside the site: {resource}")
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{url}: console error: {entry['message']}")
        nav_links.update(urldefrag(link).url for link in state["navLinks"])
        links.update(urldefrag(link).url for link in state["links"] if link.startswith(server))

    # every page is reachable from the navigation, and every link on the site resolves
    visited = {server + p for p in pages}
    assert nav_links, "no navigation links found"
    for page in sorted(visited - {server + "404.html"} - nav_links):
        problems.append(f"{page}: built but not in the navigation")
    statuses = {link: _status(link) for link in sorted(links | nav_links)}
    problems += [f"{link}: HTTP {code}" for link, code in statuses.items() if code != 200]
    _TIMINGS.update(pages=timings, links_checked=len(statuses), formulas=math_total)
    _write_timings()
    assert not problems, "\n".join(problems)
    assert math_total > 0, "no formula on the site was rendered"


@pytest.mark.browser
def test_search_box_finds_a_chapter(site, server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    expected = {
        p.stem
        for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py")
        if SEARCH_QUERY in p.read_text(encoding="utf-8").lower()
    }
    assert expected, f"no chapter mentions {SEARCH_QUERY!r}"
    browser.get(server)
    start = time.perf_counter()
    box = WebDriverWait(browser, 10).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input"))
    )
    box.click()
    box.send_keys(SEARCH_QUERY)
    hits = WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(
            By.CSS_SELECTOR, ".md-search-result__item a.md-search-result__link"
        )
    )
    found = {
        m.group(1)
        for a in hits
        if (m := re.search(r"/chapters/(\d\d_[a-z0-9_]+)/", a.get_attribute("href") or ""))
    }
    teasers = [  # the prose previews (code previews may hold backslashes of their own)
        t.get_attribute("textContent")
        for t in browser.find_elements(By.CSS_SELECTOR, ".md-search-result__article p")
    ]
    assert teasers and any(t.strip() for t in teasers)
    raw_tex = [t for t in teasers if re.search(r"\\[(\[]|\\[a-zA-Z]+", t)]
    assert not raw_tex, f"search previews show raw TeX: {raw_tex[:3]}"
    index = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert not re.search(r"\\\\[(\[]", index), "the search index holds raw TeX"
    _TIMINGS["search_s"] = round(time.perf_counter() - start, 3)
    _TIMINGS["search_hits"] = sorted(found)
    _write_timings()
    assert found & expected, (
        f"search for {SEARCH_QUERY!r} found {found}, expected one of {expected}"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "search.png"))
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.browser
def test_screenshots_of_home_and_a_chapter(site, server, browser):
    from selenium.webdriver.common.by import By

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chapters = sorted(p.parent.name for p in (site / "chapters").glob("*/index.html"))
    with_figures = [
        c
        for c in chapters
        if (site / "chapters" / c / "index.html")
        .read_text(encoding="utf-8")
        .count('src="../../figures/')
    ]
    chapter = (with_figures or chapters)[0]
    shots = {}
    browser.get(server)
    shots["home.png"] = browser.get_screenshot_as_png()
    # the palette toggle switches to the dark scheme
    browser.find_element(By.CSS_SELECTOR, "form[data-md-component='palette'] label").click()
    scheme = browser.execute_script("return document.body.getAttribute('data-md-color-scheme')")
    assert scheme == "slate"
    shots["home-dark.png"] = browser.get_screenshot_as_png()
    browser.find_element(
        By.CSS_SELECTOR, "form[data-md-component='palette'] label:not([hidden])"
    ).click()
    browser.get(f"{server}chapters/{chapter}/")
    shots["chapter.png"] = browser.get_screenshot_as_png()
    figure = browser.find_elements(By.CSS_SELECTOR, "article img")
    if figure:
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure[0])
        time.sleep(0.3)
        shots["chapter-figure.png"] = browser.get_screenshot_as_png()
    for name, png in shots.items():
        (SCREENSHOTS / name).write_bytes(png)
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, name
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _write_timings() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "timings.json").write_text(json.dumps(_TIMINGS, indent=2) + "\n")


# -- the interactive figures -----------------------------------------------------------------

PLAYGROUND = "chapters/00_concepts/"
EXPLORER = "chapters/06_range_test/"
EXPLORER_DATA = "06_range_test/range_test_explorer.json"
# (curvatures, start, learning rate, steps, momentum): every regime of the playground
PLAYGROUND_CASES = [
    ((1.0, 8.0), (-4.0, 1.5), 0.02, 40, 0.0),  # converges
    ((1.0, 8.0), (-4.0, 1.5), 0.245, 60, 0.0),  # oscillates, just below 2/a
    ((1.0, 8.0), (-4.0, 1.5), 0.26, 60, 0.0),  # diverges, just above 2/a
    ((1.0, 0.5), (3.07, -2.11), 1.5, 50, 0.0),  # a < 1: the fixed direction is the steep one
    ((1.0, 3.7), (-1.23, 2.2), 0.3, 200, 0.9),  # momentum: complex roots
    ((1.0, 8.0), (-4.0, 1.5), 0.48, 120, 0.9),  # just above 2(1 + mu)/a
    ((1.0, 2.0), (0.5, 0.0), 1.2, 100, 0.99),  # on an axis
]


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _open_widget(driver, url: str, widget: str, width: int = 1280, height: int = 1000):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(width, height)
    driver.get(url)
    root = driver.find_element(By.ID, widget)
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return !!arguments[0].lrState", root)
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", root)
    return root


def _python_descent(curvatures, start, lr, steps, mu):
    from lr_lessons.lab.gradient_descent import Bowl, behaviour, descend

    bowl = Bowl(tuple(curvatures))
    return descend(bowl, list(start), lr, steps, momentum=mu), behaviour(bowl, lr, mu)


@pytest.mark.browser
def test_playground_arithmetic_is_pythons(site, server, browser):
    import numpy as np

    _open_widget(browser, server + PLAYGROUND, "gd-playground")
    for curvatures, start, lr, steps, mu in PLAYGROUND_CASES:
        js = browser.execute_script(
            "const g = window.lrLessons.gd;"
            "return {path: g.descend(...arguments), how: g.behaviour(arguments[0], arguments[2],"
            " arguments[4])};",
            list(curvatures),
            list(start),
            lr,
            steps,
            mu,
        )
        path, how = _python_descent(curvatures, start, lr, steps, mu)
        assert np.isfinite(path).all()  # JSON cannot carry inf: the cases stay finite
        np.testing.assert_allclose(np.array(js["path"], dtype=float), path, rtol=1e-9, atol=0)
        assert js["how"]["verdict"] == how.verdict, (curvatures, lr, mu)
        assert js["how"]["factor"] == pytest.approx(how.factor, rel=1e-12)
        assert js["how"]["threshold"] == pytest.approx(how.threshold, rel=1e-12)
        assert js["how"]["axis"] == how.axis
    verdicts = {_python_descent(*case)[1].verdict for case in PLAYGROUND_CASES}
    assert verdicts == {"converges", "oscillates", "diverges"}
    assert not _console_errors(browser)


def _check_playground_state(state: dict) -> None:
    """What the widget shows is what Python computes for the widget's inputs."""
    import numpy as np

    path, how = _python_descent(
        state["curvatures"], state["w0"], state["learningRate"], state["steps"], state["momentum"]
    )
    shown = np.array([[np.inf if v is None else v for v in p] for p in state["path"]], dtype=float)
    finite = np.isfinite(path)
    np.testing.assert_allclose(shown[finite], path[finite], rtol=1e-9, atol=0)
    assert state["verdict"] == how.verdict
    assert state["text"].startswith(how.verdict + ":")


@pytest.mark.browser
def test_playground_keyboard_mouse_and_touch(site, server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    root = _open_widget(browser, server + PLAYGROUND, "gd-playground")
    state = lambda: browser.execute_script("return arguments[0].lrState()", root)  # noqa: E731
    # every slider has a visible label naming it
    sliders = root.find_elements(By.CSS_SELECTOR, "input[type=range]")
    assert len(sliders) == 4
    for s in sliders:
        label = root.find_element(By.CSS_SELECTOR, f"label[for='{s.get_attribute('id')}']")
        assert label.text.strip() and label.is_displayed()
    first = state()
    assert first["curvatures"] == [1, 8] and first["learningRate"] == pytest.approx(0.1)
    _check_playground_state(first)
    assert first["verdict"] == "converges"
    marks = [m.text for m in root.find_elements(By.CSS_SELECTOR, ".lr-mark")]
    assert marks == ["2/a = 0.25"]

    # the keyboard moves the rate across 2/a = 0.25 in steps of 0.01 decade
    rate = root.find_element(By.ID, "gd-lr")
    rate.send_keys(*[Keys.ARROW_RIGHT] * 39)  # 10**-0.61 = 0.2455
    below = state()
    assert below["learningRate"] == pytest.approx(10**-0.61)
    assert below["verdict"] == "oscillates"
    _check_playground_state(below)
    rate.send_keys(Keys.ARROW_RIGHT)  # 10**-0.6 = 0.2512 > 0.25
    above = state()
    assert above["verdict"] == "diverges"
    _check_playground_state(above)
    # momentum 0.9 moves the limit to 2(1 + 0.9)/8 = 0.475: the same rate oscillates again
    mu = root.find_element(By.ID, "gd-mu")
    mu.send_keys(*[Keys.ARROW_RIGHT] * 90)
    with_mu = state()
    assert with_mu["momentum"] == pytest.approx(0.9)
    assert with_mu["verdict"] == "oscillates"
    _check_playground_state(with_mu)
    marks = [m.text for m in root.find_elements(By.CSS_SELECTOR, ".lr-mark")]
    assert marks == ["2/a = 0.25", "2(1+μ)/a = 0.475"]

    # the mouse drags the start point; the path starts there and is Python's
    x, y = _start_point(browser, root)
    for kind, dx, dy in (("mousePressed", 0, 0), ("mouseMoved", 30, 12), ("mouseMoved", 60, 25),
                         ("mouseReleased", 60, 25)):  # fmt: skip
        browser.execute_cdp_cmd(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x + dx, "y": y + dy, "button": "left", "clickCount": 1,
             "buttons": 0 if kind == "mouseReleased" else 1},
        )  # fmt: skip
    dragged = state()
    assert dragged["w0"] != first["w0"]
    assert dragged["w0"][0] > first["w0"][0] and dragged["w0"][1] < first["w0"][1]
    _check_playground_state(dragged)
    # the arrow keys move the focused start point
    handle = root.find_element(By.CSS_SELECTOR, ".lr-start")
    browser.execute_script("arguments[0].focus()", handle)
    ActionChains(browser).send_keys(Keys.ARROW_UP).perform()
    nudged = state()
    assert nudged["w0"] == [dragged["w0"][0], round(dragged["w0"][1] + 0.1, 2)]

    # touch: a finger drags the start point (Chromium's touch events, as on a phone)
    x, y = _start_point(browser, root)
    for kind, points in (
        ("touchStart", [(x, y)]),
        ("touchMove", [(x - 30, y - 10)]),
        ("touchMove", [(x - 60, y - 20)]),
        ("touchEnd", []),
    ):
        browser.execute_cdp_cmd(
            "Input.dispatchTouchEvent",
            {"type": kind, "touchPoints": [{"x": px, "y": py} for px, py in points]},
        )
    touched = state()
    assert touched["w0"][0] < nudged["w0"][0] and touched["w0"][1] > nudged["w0"][1]
    _check_playground_state(touched)

    # a below the fixed curvature 1: the fixed direction sets the thresholds
    root.find_element(By.ID, "gd-a").send_keys(Keys.HOME)
    flat = state()
    assert flat["curvatures"] == [1, 0.5]
    _check_playground_state(flat)
    marks = [m.text for m in root.find_elements(By.CSS_SELECTOR, ".lr-mark")]
    assert marks == ["2/1 = 2", "2(1+μ)/1 = 3.8"]
    assert not _console_errors(browser)


def _start_point(driver, root) -> tuple[float, float]:
    """The playground's start point, scrolled into view: its centre in viewport pixels."""
    return driver.execute_script(
        "const dot = arguments[0].querySelector('.lr-start-dot');"
        "dot.scrollIntoView({block: 'center'});"
        "const r = dot.getBoundingClientRect();"
        "return [r.x + r.width / 2, r.y + r.height / 2];",
        root,
    )


def _layout(driver, root) -> dict:
    return driver.execute_script(
        "const r = arguments[0], box = r.getBoundingClientRect();"
        "const inside = Array.from(r.querySelectorAll('svg, input, output, label')).filter("
        "  e => { const b = e.getBoundingClientRect();"
        "         return b.left < box.left - 1 || b.right > box.right + 1; }).length;"
        "return {overflow: r.scrollWidth - r.clientWidth, outside: inside,"
        " page: document.documentElement.scrollWidth - window.innerWidth,"
        " height: box.height, svgs: r.querySelectorAll('svg').length};",
        root,
    )


@pytest.mark.parametrize(
    "widget,page", [("gd-playground", PLAYGROUND), ("range-explorer", EXPLORER)]
)
@pytest.mark.browser
def test_widget_fits_desktop_and_phone_in_light_and_dark(site, server, browser, widget, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for width in (1400, 390):
            root = _open_widget(browser, server + page, widget, width, height=3200)
            for scheme in ("default", "slate"):
                browser.execute_script(
                    "document.body.setAttribute('data-md-color-scheme', arguments[0])", scheme
                )
                layout = _layout(browser, root)
                assert layout["svgs"] >= 2 and layout["height"] > 200, layout
                assert layout["overflow"] <= 0 and layout["outside"] == 0, (width, layout)
                assert layout["page"] <= 0, (width, layout)
                png = root.screenshot_as_png
                (SCREENSHOTS / f"{widget}-{width}-{scheme}.png").write_bytes(png)
                assert len(png) > 10_000
    finally:
        browser.set_window_size(1280, 1000)
    assert not _console_errors(browser)


@pytest.mark.parametrize(
    "widget,page,figure",
    [
        ("gd-playground", PLAYGROUND, "00_concepts/bowl.png"),
        ("range-explorer", EXPLORER, "06_range_test/variant1_loss.png"),
    ],
)
@pytest.mark.browser
def test_without_javascript_the_static_figure_stands_in(
    site, server, tmp_path, pytestconfig, widget, page, figure
):
    from selenium.webdriver.common.by import By

    _require_browser(pytestconfig)
    driver = _chromium(tmp_path / "profile", javascript=False)
    try:
        driver.get(server + page)
        assert driver.execute_script("return typeof window.lrLessons") == "undefined"
        root = driver.find_element(By.ID, widget)
        # the box says why it is empty, and nothing else is in it
        note = root.find_element(By.CSS_SELECTOR, ".lr-noscript")
        assert note.is_displayed() and "needs JavaScript" in note.text
        assert root.text.strip() == note.text.strip()
        assert not root.find_elements(By.CSS_SELECTOR, "svg, input, button")
        image = driver.find_element(By.CSS_SELECTOR, f"img[src$='figures/{figure}']")
        assert image.is_displayed()
        assert driver.execute_script("return arguments[0].naturalWidth", image) > 0
        # the formulas are typeset at build time: all there without JavaScript
        math = driver.execute_script(
            "const m = Array.from(document.querySelectorAll('.arithmatex'));"
            "return [m.length, m.filter(e => e.querySelector('.katex-html')).length,"
            " m.filter(e => e.textContent.includes('\\\\(')).length];"
        )
        assert math[0] > 0 and math[1] == math[0] and math[2] == 0, math
    finally:
        driver.quit()


# the explorer's sliders: smoothing factor, skip at the start (share), skip at the end (points)
EXPLORER_GRID = [
    (beta, skip_start, skip_end)
    for beta in (0.0, 0.5, 0.9, 0.98, 0.995)
    for skip_start in (0.0, 0.05, 0.1, 0.3, 0.5)
    for skip_end in (0, 5, 60)
]

JS_READ_ALL = """
const [url, grid, done] = arguments;
fetch(url).then(r => r.json()).then(data => {
  const rt = window.lrLessons.rangeTest, out = [];
  for (const c of data.curves) {
    const lrs = c.lr, raw = c.loss.map(v => v === null ? NaN : v);
    for (const [beta, skipStart, skipEnd] of grid) {
      const smoothed = rt.ema(raw, beta);
      const read = rt.suggest(lrs, smoothed, {skipStart, skipEnd, chance: c.chance_loss,
        windowDecades: data.slide.window_decades, thresh: data.slide.thresh, beta});
      out.push({smoothed: beta === grid[0][0] ? smoothed : null, ...read});
    }
  }
  done(out);
}).catch(e => done({error: String(e)}));
"""


def _explorer_data() -> dict:
    return json.loads((ROOT / "figures" / EXPLORER_DATA).read_text(encoding="utf-8"))


def _python_reading(curve: dict, beta: float, skip_start: float, skip_end: int) -> dict:
    import numpy as np

    from lr_lessons.tools.range_test.rules import SUGGESTIONS, ema, suggest

    lrs = np.array(curve["lr"], dtype=float)
    raw = np.array([np.nan if v is None else v for v in curve["loss"]], dtype=float)
    smoothed = ema(raw, beta)
    return {
        name: suggest(
            name, lrs, smoothed, skip_start, skip_end, chance=curve["chance_loss"], beta=beta
        )
        for name in SUGGESTIONS
    }


@pytest.mark.browser
def test_explorer_rules_are_pythons_on_every_committed_curve(site, server, browser):
    import numpy as np

    from lr_lessons.tools.range_test.rules import ema

    data = _explorer_data()
    assert {c["optimizer"] for c in data["curves"]} == {"SGD", "Adam"}
    _open_widget(browser, server + EXPLORER, "range-explorer")
    browser.set_script_timeout(120)
    js = browser.execute_async_script(
        JS_READ_ALL, server + "figures/" + EXPLORER_DATA, EXPLORER_GRID
    )
    assert isinstance(js, list), js
    assert len(js) == len(data["curves"]) * len(EXPLORER_GRID)
    mismatches, unreliable = [], 0
    for k, (curve, (beta, skip_start, skip_end)) in enumerate(
        (c, g) for c in data["curves"] for g in EXPLORER_GRID
    ):
        read = js[k]
        if read["smoothed"] is not None:  # the smoothing itself (first beta of the grid)
            raw = np.array([np.nan if v is None else v for v in curve["loss"]], dtype=float)
            shown = np.array([np.nan if v is None else v for v in read["smoothed"]], dtype=float)
            np.testing.assert_allclose(shown, ema(raw, beta), rtol=1e-12, atol=0)
        for name, expected in _python_reading(curve, beta, skip_start, skip_end).items():
            got = read["suggestions"][name]
            where = (
                f"{curve['optimizer']} seed {curve['seed']} beta {beta} "
                f"skip {skip_start}/{skip_end} {name}"
            )
            if (got["index"], got["reliable"], got["reason"]) != (
                expected.index,
                expected.reliable,
                expected.reason,
            ) or got["lr"] != pytest.approx(expected.lr, rel=1e-12):
                mismatches.append(f"{where}: JS {got} != Python {expected}")
            unreliable += not expected.reliable
    assert not mismatches, "\n".join(mismatches[:20])
    assert unreliable > 0  # the grid reaches the reliability flags too
    assert not _console_errors(browser)


# curves cut short, read at smoothing factors whose span the cut does or does not cover
EXPLORER_SHORT = [(points, beta) for points in (60, 150, 300) for beta in (0.9, 0.98, 0.995)]

JS_READ_SHORT = """
const [url, cuts, done] = arguments;
fetch(url).then(r => r.json()).then(data => {
  const rt = window.lrLessons.rangeTest, out = [];
  for (const c of data.curves) {
    for (const [points, beta] of cuts) {
      const lrs = c.lr.slice(0, points);
      const smoothed = rt.ema(c.loss.slice(0, points).map(v => v === null ? NaN : v), beta);
      out.push(rt.suggest(lrs, smoothed, {skipStart: c.skip_start, skipEnd: c.skip_end,
        chance: c.chance_loss, windowDecades: data.slide.window_decades,
        thresh: data.slide.thresh, beta}).suggestions);
    }
  }
  done(out);
}).catch(e => done({error: String(e)}));
"""


@pytest.mark.browser
def test_explorer_flags_short_curves_as_python_does(site, server, browser):
    """The "too short" flag (fewer points than twice the smoothing's span) and the other
    reasons on curves cut short, in JavaScript as in Python, text included."""
    data = _explorer_data()
    _open_widget(browser, server + EXPLORER, "range-explorer")
    browser.set_script_timeout(60)
    js = browser.execute_async_script(
        JS_READ_SHORT, server + "figures/" + EXPLORER_DATA, EXPLORER_SHORT
    )
    assert isinstance(js, list), js
    assert len(js) == len(data["curves"]) * len(EXPLORER_SHORT)
    mismatches, reasons = [], set()
    for k, (curve, (points, beta)) in enumerate(
        (c, g) for c in data["curves"] for g in EXPLORER_SHORT
    ):
        cut = {**curve, "lr": curve["lr"][:points], "loss": curve["loss"][:points]}
        expected = _python_reading(cut, beta, curve["skip_start"], curve["skip_end"])
        for name, want in expected.items():
            got = js[k][name]
            if (got["index"], got["reliable"], got["reason"]) != (
                want.index,
                want.reliable,
                want.reason,
            ) or got["lr"] != pytest.approx(want.lr, rel=1e-12):
                mismatches.append(f"{curve['optimizer']} seed {curve['seed']} {points} points "
                                  f"beta {beta} {name}: JS {got} != Python {want}")  # fmt: skip
            reasons.add(want.reason.split(":")[0])
    assert not mismatches, "\n".join(mismatches[:20])
    assert "too short" in reasons and "" in reasons  # both sides of the flag are reached
    assert not _console_errors(browser)


def test_explorer_data_is_the_committed_range_tests():
    """The file the page loads holds the committed curves and Python's suggestions on it."""
    import numpy as np

    data = _explorer_data()
    from lr_lessons.tools.range_test import RangeTestRepeats

    for curve in data["curves"]:
        path = ROOT / "results" / "06_range_test" / f"variant1_{curve['optimizer'].lower()}.npz"
        run = RangeTestRepeats.load(path).runs[
            RangeTestRepeats.load(path).seeds.index(curve["seed"])
        ]
        np.testing.assert_array_equal(np.array(curve["loss"], dtype=float), run.losses)
        np.testing.assert_allclose(np.array(curve["lr"], dtype=float), run.lrs, rtol=1e-8)
        ours = _python_reading(curve, curve["beta"], curve["skip_start"], curve["skip_end"])
        for name, stored in curve["suggestions"].items():
            assert run.suggestion(name).index == stored["index"] == ours[name].index, name
    assert {row["optimizer"] for row in data["checks"]} == {"SGD", "Adam"}
    assert set(data["rules"]) == {"steepest", "minimum", "valley", "slide"}


@pytest.mark.browser
def test_explorer_sliders_toggles_and_checks(site, server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    data = _explorer_data()
    root = _open_widget(browser, server + EXPLORER, "range-explorer")
    state = lambda: browser.execute_script("return arguments[0].lrState()", root)  # noqa: E731

    def agrees_with_python(s: dict) -> None:
        assert s["curves"], "no curve read"
        by_key = {(c["optimizer"], c["seed"]): c for c in data["curves"]}
        for shown in s["curves"]:
            curve = by_key[shown["optimizer"], shown["seed"]]
            expected = _python_reading(curve, s["beta"], s["skipStart"], s["skipEnd"])
            for name, sug in expected.items():
                got = shown["suggestions"][name]
                assert (got["index"], got["reliable"]) == (sug.index, sug.reliable), (
                    shown["optimizer"],
                    shown["seed"],
                    name,
                    s["beta"],
                    s["skipStart"],
                )

    first = state()
    assert (first["beta"], first["skipStart"], first["skipEnd"]) == (0.98, 0.1, 5)
    for shown in first["curves"]:  # the chapter's settings: the chapter's suggestions
        curve = next(
            c for c in data["curves"]
            if (c["optimizer"], c["seed"]) == (shown["optimizer"], shown["seed"])
        )  # fmt: skip
        assert {k: v["index"] for k, v in shown["suggestions"].items()} == {
            k: v["index"] for k, v in curve["suggestions"].items()
        }
    # labelled sliders; every rule's definition beside its marker
    for s in root.find_elements(By.CSS_SELECTOR, "input[type=range]"):
        label = root.find_element(By.CSS_SELECTOR, f"label[for='{s.get_attribute('id')}']")
        assert label.text.strip() and label.is_displayed()
    legend = root.find_element(By.CSS_SELECTOR, ".lr-legend").text
    for rule in data["rules"].values():
        assert rule["definition"] in legend
    # every rule of every seed is marked, in both optimizers' panels
    markers = root.find_elements(By.CSS_SELECTOR, "svg.lr-rt .lr-rule")
    assert len(markers) == 4 * len(data["curves"])
    # the 2-epoch checks: one mark per checked rate, the table names each checked rate
    assert len(root.find_elements(By.CSS_SELECTOR, ".lr-check-rate")) == len(data["checks"])
    outside = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('svg.lr-rt')).flatMap(svg => {"
        "  const frame = svg.querySelector('.lr-check rect.lr-frame').getBoundingClientRect();"
        "  return Array.from(svg.querySelectorAll('.lr-check-bar')).filter(b => {"
        "    const r = b.getBoundingClientRect();"
        "    return r.left < frame.left || r.right > frame.right; }).length; })",
        root,
    )
    assert sum(outside) == 0, "a checked rate is drawn outside its panel"
    checks = root.find_element(By.CSS_SELECTOR, ".lr-checks").text
    assert checks.count("→") == len(data["checks"])
    for row in data["checks"]:
        assert f"{row['mean']:.3g}" in checks

    # the keyboard lowers beta from 0.98 to 0.9 (16 steps of 0.005)
    beta = root.find_element(By.ID, "rt-beta")
    beta.send_keys(*[Keys.ARROW_LEFT] * 16)
    lowered = state()
    assert lowered["beta"] == pytest.approx(0.9)
    agrees_with_python(lowered)
    moved = sum(
        a["suggestions"][n]["index"] != b["suggestions"][n]["index"]
        for a, b in zip(first["curves"], lowered["curves"])
        for n in a["suggestions"]
    )
    assert moved > 0
    # the skip window: no skip at the start
    skip = root.find_element(By.ID, "rt-skip-start")
    skip.send_keys(Keys.HOME)
    agrees_with_python(state())
    assert state()["skipStart"] == 0
    # a seed toggled off takes its markers away; the reset button restores the chapter's
    box = root.find_element(By.ID, "rt-seed-1")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    WebDriverWait(browser, 5).until(lambda d: 1 not in state()["seeds"])
    assert not root.find_elements(By.CSS_SELECTOR, ".lr-rule[data-seed='1']")
    assert root.find_elements(By.CSS_SELECTOR, ".lr-rule[data-seed='0']")
    root.find_element(By.CSS_SELECTOR, "button.lr-reset").click()
    back = state()
    assert (back["beta"], back["skipStart"], back["skipEnd"]) == (0.98, 0.1, 5)
    assert not _console_errors(browser)


@pytest.mark.browser
def test_chapters_1_and_2_link_to_the_playground(site, server, browser):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for page in ("chapters/01_learning_rate/", "chapters/02_momentum/"):
        browser.get(server + page)
        try:
            links = WebDriverWait(browser, 10).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "article a[href*='00_concepts/#']")
            )
        except TimeoutException:
            links = []
        assert links, f"{page} does not link to chapter 0's playground"
        browser.get(links[0].get_attribute("href"))
        anchor = browser.execute_script("return location.hash.slice(1)")
        heading = browser.find_element(By.ID, anchor)
        # the playground follows the heading the link points at, in the same section
        follows = browser.execute_script(
            "const h = arguments[0], w = document.getElementById('gd-playground');"
            "return !!(h.compareDocumentPosition(w) & Node.DOCUMENT_POSITION_FOLLOWING)"
            " && Array.from(document.querySelectorAll('article h2')).filter("
            "  x => (h.compareDocumentPosition(x) & Node.DOCUMENT_POSITION_FOLLOWING)"
            "   && (x.compareDocumentPosition(w) & Node.DOCUMENT_POSITION_FOLLOWING))"
            " .length === 0;",
            heading,
        )
        assert follows, f"{page}: the link's target #{anchor} is not the playground's section"
    assert not _console_errors(browser)


CODE_SCROLLS = """
const blocks = Array.from(document.querySelectorAll('article pre > code'));
const scrolls = c => c.scrollWidth > c.clientWidth + 1;
const line = c => c.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '');
return {
  signatures: blocks.filter(c => c.closest('.doc-signature')).length,
  clippedSignatures: blocks.filter(c => c.closest('.doc-signature') && scrolls(c)).map(line),
  // code cells only: a printout (.lr-output) scrolls rather than wrap (checked elsewhere)
  chapterCode: blocks.filter(c => !c.closest('.doc-signature, details, .doc, .lr-output'))
    .length,
  scrollingCode: blocks.filter(
    c => !c.closest('.doc-signature, details, .doc, .lr-output') && scrolls(c)).map(line),
};
"""


def _pages_at_desktop_width(site, server, browser, prefix: str) -> dict[str, dict]:
    pages = [p for p in _built_pages(site) if p.startswith(prefix)]
    assert pages, f"no {prefix} page was built"
    browser.set_window_size(1400, 900)
    try:
        found = {}
        for page in pages:
            browser.get(server + page)
            found[page] = browser.execute_script(CODE_SCROLLS)
    finally:
        browser.set_window_size(1280, 1000)
    return found


@pytest.mark.browser
def test_api_signatures_are_not_clipped_at_desktop_width(site, server, browser):
    """mkdocstrings' separate signatures are formatted (ruff, in the docs extra) to fit."""
    found = _pages_at_desktop_width(site, server, browser, "api/")
    assert sum(f["signatures"] for f in found.values()) > 50
    clipped = [f"{p}: {line}" for p, f in found.items() for line in f["clippedSignatures"]]
    assert not clipped, f"{len(clipped)} signatures scroll sideways:\n" + "\n".join(clipped[:10])


@pytest.mark.browser
def test_chapter_code_fits_the_column_at_desktop_width(site, server, browser):
    """A reader at 1400 px sees each code line whole (chapters are formatted to fit)."""
    found = _pages_at_desktop_width(site, server, browser, "chapters/")
    assert sum(f["chapterCode"] for f in found.values()) > 20
    scrolling = [f"{p}: {line!r}" for p, f in found.items() for line in f["scrollingCode"]]
    assert not scrolling, f"{len(scrolling)} code blocks scroll sideways:\n" + "\n".join(
        scrolling[:10]
    )


OUTPUT_STATE = """
const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
const background = e => {  // the colour behind e: the first ancestor that paints one
  for (; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const luminance = c => {
  const [r, g, b] = c.map(v => v / 255).map(
    v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a, b) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};
const codeBlock = document.querySelector('article .highlight pre > code');
return Array.from(document.querySelectorAll('article .lr-output, article .lr-output-table'))
  .map(block => {
    const text = block.querySelector('pre > code') || block;
    // a table scrolls inside Material's wrapper (which overhangs the block by design)
    const scroller = block.querySelector('pre > code, .md-typeset__scrollwrap') || block;
    const prev = block.previousElementSibling;
    const style = getComputedStyle(text);
    return {
      table: block.classList.contains('lr-output-table'),
      underCode: !!prev && prev.matches('.highlight, .lr-output, .lr-output-table'),
      label: getComputedStyle(block, '::before').content,
      rule: parseFloat(getComputedStyle(block).borderLeftWidth),
      contrast: contrast(rgb(style.color).slice(0, 3), background(text)),
      unlikeCode: !codeBlock
        || background(text).join() !== background(codeBlock).join(),
      sideways: scroller.scrollWidth > scroller.clientWidth + 1,
      // a printed line never wraps: the block is as tall as its lines (tables aside)
      lines: text.textContent.replace(/\\n$/, '').split('\\n').length,
      lineBoxes: block.classList.contains('lr-output-table') ? 0 : Math.round(
        (text.scrollHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom))
        / parseFloat(style.lineHeight)),
      whiteSpace: style.whiteSpace,
      scrollsWhenLong: block.classList.contains('lr-output-table')
        || (style.maxHeight !== 'none' && ['auto', 'scroll'].includes(style.overflowY)),
      copyButton: !!block.querySelector('.md-clipboard'),
    };
  });
"""


@pytest.mark.browser
def test_each_recorded_output_shows_under_its_cell(hook, site, server, browser):
    """The printouts recorded by `lr-lessons figures` (figures/NN_topic/outputs.json) are
    on the pages, under their cells, set apart from code, readable in both colour schemes
    at desktop and phone widths; a long printed line scrolls, it never wraps."""
    from selenium.webdriver.common.by import By

    pages = dict(_BUILT_CHAPTERS)  # as the site was built (chapters may change meanwhile)
    shown = sum(p.outputs for p in pages.values())
    assert pages and shown > 0, "no chapter shows a recorded output"
    assert not list(site.glob("figures/*/outputs.json")), "the records are not site files"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = max(pages, key=lambda stem: pages[stem].outputs)
    problems = []
    try:
        for width, height, where in ((1400, 900, "desktop"), (390, 844, "phone")):
            browser.set_window_size(width, height)
            for stem, page in pages.items():
                browser.get(f"{server}chapters/{stem}/")
                browser.execute_script(  # the folded ledger cells too; colours settle at once
                    "document.querySelectorAll('details').forEach(d => d.open = true);"
                    "const s = document.createElement('style');"
                    "s.textContent = '*, *::before { transition: none !important; }';"
                    "document.head.appendChild(s);"
                )
                for scheme in ("default", "slate"):
                    browser.execute_script(
                        "document.body.setAttribute('data-md-color-scheme', arguments[0])",
                        scheme,
                    )
                    time.sleep(0.5)  # the palette's colour transitions
                    found = browser.execute_script(OUTPUT_STATE)
                    at = f"{stem} ({where}, {scheme})"
                    if len(found) != page.outputs:
                        problems.append(f"{at}: {len(found)} outputs, {page.outputs} recorded")
                    for k, b in enumerate(found):
                        bad = [
                            name
                            for name, ok in (
                                ("not under a code cell", b["underCode"]),
                                ("no 'Output' label", b["label"] == '"Output"'),
                                ("no rule on the left", b["rule"] >= 2),
                                ("low contrast", b["contrast"] >= 4.5),
                                ("looks like code", b["unlikeCode"]),
                                # printed columns stay aligned: a long line scrolls inside
                                # its block at any width, it never wraps
                                (
                                    "wraps",
                                    b["table"]
                                    or (b["whiteSpace"] == "pre" and b["lineBoxes"] == b["lines"]),
                                ),
                                ("no scrolling when long", b["scrollsWhenLong"]),
                                ("a copy button", not b["copyButton"]),
                            )
                            if not ok
                        ]
                        if bad:
                            problems.append(f"{at} output {k}: {', '.join(bad)} {b}")
                    if stem == shot:
                        blocks = browser.find_elements(By.CSS_SELECTOR, "article .lr-output")
                        browser.execute_script(
                            "arguments[0].scrollIntoView({block: 'center'})", blocks[0]
                        )
                        time.sleep(0.3)
                        dark = "-dark" if scheme == "slate" else ""
                        browser.save_screenshot(str(SCREENSHOTS / f"output-{where}{dark}.png"))
    finally:
        browser.set_window_size(1280, 1000)
    assert not problems, "\n".join(problems[:20])
    assert not _console_errors(browser)


def test_api_overview_groups_every_module_with_a_summary(hook):
    package_dir = ROOT / "lr_lessons"
    modules = hook.api_modules(package_dir)
    ungrouped = [m for m in modules[1:] if hook.api_group(m) == hook.OTHER_GROUP]
    assert not ungrouped, f"add these modules to API_GROUPS in docs/hooks/chapters.py: {ungrouped}"
    page = hook.api_index(package_dir, modules)
    assert [line for line in page.splitlines() if line.startswith("## ")] == [
        "## Tools",
        "## Lab",
        "## Views",
        "## Support",
    ]
    rows = [line for line in page.splitlines() if line.startswith("| [<code>")]
    assert len(rows) == len(modules) - 1
    # a name wraps only after a dot (<wbr>), never inside a word
    linked = {re.sub(r"<[^>]+>", "", row.split("](", 1)[0][3:]): row for row in rows}
    assert set(linked) == set(modules[1:])
    for module, row in linked.items():
        shown = "<code>" + module.replace(".", ".<wbr>") + "</code>"
        assert row.startswith(f"| [{shown}](api/{module}.md) | ")
        summary = row.split(" | ", 1)[1].rstrip(" |")
        assert summary and ":mod:" not in summary and "``" not in summary, row
    assert hook.api_group("lr_lessons.tools.range_test.rules") == "Tools"
    assert hook.api_group("lr_lessons.lab.engines.stacked") == "Lab"
    assert hook.api_group("lr_lessons.views.plotting") == "Views"
    assert hook.api_group("lr_lessons.tools.anything") == "Tools"  # a new tool module
    # The package's layout is the grouping: no module of a group's folder is elsewhere.
    for group, folder in (("Tools", "tools"), ("Lab", "lab"), ("Views", "views")):
        assert all(hook.api_group(m) == group for m in modules if m.split(".")[1:2] == [folder])


@pytest.mark.browser
def test_api_reference_nav_is_grouped(site, server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "api/")
    headings = [h.text.strip("¶ ") for h in browser.find_elements(By.CSS_SELECTOR, "article h2")]
    assert headings == ["Tools", "Lab", "Views", "Support"]
    nav = browser.execute_script(
        "return Array.from(document.querySelectorAll('.md-nav__item--nested > label,"
        " .md-nav__item--nested > .md-nav__link')).map(e => e.textContent.trim())"
    )
    for group in ("Tools", "Lab", "Views"):
        assert group in nav, nav
    links = browser.find_elements(By.CSS_SELECTOR, "article table a[href*='lr_lessons']")
    assert len(links) >= 20
    assert not _console_errors(browser)


class _SiteWith404(_QuietHandler):
    """Serves the site like a static host: a missing page gets the site's 404.html."""

    not_found: Path

    def send_error(self, code, message=None, explain=None):
        if code != 404:
            return super().send_error(code, message, explain)
        body = self.not_found.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.mark.browser
def test_404_page_under_a_sub_path_finds_its_assets(site, tmp_path, browser):
    """With site_url set (LR_LESSONS_SITE_URL), a missing page deep under a sub-path gets
    a styled 404 page, and the header links the repository (LR_LESSONS_REPO_URL)."""
    root = tmp_path / "host"
    handler = type("Handler", (_SiteWith404,), {"not_found": root / "sub" / "404.html"})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
    base = f"http://127.0.0.1:{httpd.server_address[1]}/sub/"
    repo = "https://example.org/owner/lr_lessons"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(root / "sub")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "NO_MKDOCS_2_WARNING": "1",
            "LR_LESSONS_SITE_URL": base,
            "LR_LESSONS_REPO_URL": repo,
        },
    )
    assert run.returncode == 0, run.stderr[-3000:]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        assert _status(base + "chapters/no/such/page/") == 404
        browser.get(base + "chapters/no/such/page/")
        state = browser.execute_script(
            "return {title: (document.querySelector('article h1') || {}).textContent || '',"
            " styled: Array.from(document.styleSheets).some(s => (s.href || '').includes("
            "'assets/stylesheets/main') && s.cssRules.length > 100),"
            " header: getComputedStyle(document.querySelector('.md-header')).position,"
            " repo: (document.querySelector('.md-header a.md-source') || {}).href};"
        )
        assert state["title"].startswith("404"), state  # Material's "404 - Not found"
        assert state["styled"] and state["header"] == "sticky", state
        assert state["repo"] == repo, state
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- read as a reader: figures, names, colours ------------------------------------------------

FIGURE_STATE = """
const content = document.querySelector('article.md-content__inner');
return {
  column: content.clientWidth - parseFloat(getComputedStyle(content).paddingLeft)
    - parseFloat(getComputedStyle(content).paddingRight),
  figures: Array.from(content.querySelectorAll('img[src*="figures/"]')).map(i => ({
    src: new URL(i.src).pathname, alt: i.alt, natural: i.naturalWidth,
    shown: i.getBoundingClientRect().width})),
};
"""


@pytest.mark.browser
def test_figures_are_legible_at_the_content_width_and_described(site, server, browser):
    """Each figure's smallest text (recorded in its PNG by `save_figure`) is at least
    `plotting.SMALLEST_TEXT_PX` tall as shown in the content column of a 1280 px window,
    and its alt text is the description stored with it, not its file name."""
    from PIL import Image

    from lr_lessons.views import plotting

    browser.set_window_size(1280, 1000)
    problems, seen = [], 0
    for page in [p for p in _built_pages(site) if p.startswith("chapters/")]:
        browser.get(server + page)
        _settle(browser)
        state = browser.execute_script(FIGURE_STATE)
        assert state["column"] == pytest.approx(plotting.PAGE_WIDTH_PX, abs=2)
        for f in state["figures"]:
            seen += 1
            name = f["src"].split("/figures/", 1)[1]
            with Image.open(site / "figures" / name) as image:
                info = dict(image.info)
            if plotting.SMALLEST_TEXT_KEY not in info:
                problems.append(f"{name}: no recorded text size (re-plot: lr-lessons figures)")
                continue
            shown = float(info[plotting.SMALLEST_TEXT_KEY]) * f["shown"] / f["natural"]
            if shown < plotting.SMALLEST_TEXT_PX:
                problems.append(f"{name}: smallest text {shown:.1f} px as shown")
            if f["shown"] > state["column"] + 1:
                problems.append(f"{name}: {f['shown']:.0f} px, wider than the column")
            stem = name.rsplit("/", 1)[1].rsplit(".", 1)[0]
            if f["alt"] != info.get(plotting.DESCRIPTION_KEY) or f["alt"] == stem.replace("_", " "):
                problems.append(f"{name}: alt text {f['alt']!r} is not its description")
    assert seen >= 30
    assert not problems, f"{len(problems)} of {seen} figures:\n" + "\n".join(problems)


NAV_STATE = """
document.querySelectorAll('.md-sidebar--primary input.md-nav__toggle')
  .forEach(t => { t.checked = true; });
return Array.from(document.querySelectorAll('.md-sidebar--primary .md-nav__link .md-ellipsis'))
  .filter(e => e.getClientRects().length)
  .map(e => ({text: e.textContent.trim(), cut: e.scrollWidth > e.clientWidth + 1,
              right: e.getBoundingClientRect().right,
              sidebar: e.closest('.md-sidebar').getBoundingClientRect().right}));
"""


@pytest.mark.browser
def test_navigation_shows_whole_names(hook, site, server, browser):
    """Every entry of the left navigation, the API modules included, is shown whole:
    nothing is cut with an ellipsis or runs out of the sidebar."""
    browser.set_window_size(1280, 1000)
    browser.get(server + "api/")
    entries = browser.execute_script(NAV_STATE)
    texts = {e["text"] for e in entries}
    modules = hook.api_modules(ROOT / "lr_lessons")
    missing = [hook.nav_title(m) for m in modules[1:] if hook.nav_title(m) not in texts]
    assert not missing, f"API modules not in the navigation: {missing}"
    cut = [e["text"] for e in entries if e["cut"] or e["right"] > e["sidebar"] + 1]
    assert not cut, f"{len(cut)} of {len(entries)} navigation entries cut: {cut}"


CONTRAST_STATE = """
const rgba = c => { const v = (c.match(/[\\d.]+/g) || []).map(Number);
  return v.length === 3 ? [...v, 1] : v; };
const over = (top, below) => top.slice(0, 3).map((v, k) => v * top[3] + below[k] * (1 - top[3]));
const background = e => {  // the colour behind e, its ancestors' translucent layers blended
  const layers = [];
  for (; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] === 1) break;
  }
  return layers.reverse().reduce((below, top) => over(top, below), [255, 255, 255]);
};
const luminance = c => {
  const [r, g, b] = c.map(v => v / 255).map(
    v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05); };
const out = [];
for (const e of document.querySelectorAll('.md-container *')) {
  const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !e.getClientRects().length || e.closest('.highlight, .katex, [aria-hidden=true]'))
    continue;
  const style = getComputedStyle(e);
  if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) continue;
  const bg = background(e);
  const paint = e instanceof SVGElement ? style.fill : style.color;  // SVG text is filled
  if (!paint.startsWith('rgb')) continue;
  const fg = over(rgba(paint), bg);
  const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
  const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  const r = ratio(fg, bg);
  if (r < needed) out.push({text: e.textContent.trim().slice(0, 40), tag: e.tagName,
    cls: String(e.className).slice(0, 40), ratio: Math.round(r * 100) / 100});
}
return out;
"""


@pytest.mark.browser
def test_text_contrast_is_at_least_4_5_in_both_schemes(site, server, browser):
    """All text outside code highlighting (buttons, links, printouts, tables, the
    widgets' labels and buttons, navigation) has WCAG AA contrast in light and dark."""
    pages = ["", "chapters/00_concepts/", "chapters/01_learning_rate/", EXPLORER, "api/"]
    problems = []
    browser.set_window_size(1280, 1000)
    for page in pages:
        browser.get(server + page)
        _settle(browser)
        time.sleep(1.0)  # the widgets build
        browser.execute_script(
            "document.querySelectorAll('details').forEach(d => d.open = 1);"
            "const s = document.createElement('style');"  # colours settle at once
            "s.textContent = '*, *::before { transition: none !important; }';"
            "document.head.appendChild(s);"
        )
        for scheme in ("default", "slate"):
            browser.execute_script(
                "document.body.setAttribute('data-md-color-scheme', arguments[0])", scheme
            )
            time.sleep(0.3)
            for low in browser.execute_script(CONTRAST_STATE):
                problems.append(f"{page or 'home'} ({scheme}): {low}")
    assert not problems, f"{len(problems)} texts under 4.5:1:\n" + "\n".join(problems[:30])
