"""The docs site: the chapter conversion hook, and the built site in a real browser.

The conversion tests run anywhere MkDocs is installed (``pip install -e ".[docs]"``).
The browser tests (``-m browser``) build the site with ``mkdocs build --strict``, serve it on
127.0.0.1 and open every page in Debian's headless Chromium through Selenium. They skip when
Chromium, its driver, MkDocs or the npm-installed KaTeX is missing, except under CI
(``CI=true``), where a missing piece is a failure: ``.ci/run`` installs them all.
Screenshots and per-page timings are kept in ``build/screenshots/``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
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


def _require(ok: bool, reason: str) -> None:
    """Skip with ``reason`` when a prerequisite is absent; under CI, fail instead."""
    if ok:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
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
    assert md.index('save_figure(fig, "03_decay/rule")') < positions[0]
    assert md.index("| x | y | confirmed |") > positions[-1]
    assert "hidden from the page" not in md
    assert '````python\nprint("a fence: ```")\n````' in md  # backticks in code keep their block
    assert "other.png" not in md
    # a figure the chapter saves but nobody committed is reported, and said on the page
    assert page.missing == ["03_decay/never_made"]
    assert "Not generated yet: figures/03_decay/never_made" in md


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


def test_sphinx_roles_show_as_plain_code(hook):
    html = (
        "<p>returns :class:<code>~lr_lessons.results.Results</code>, see "
        ":func:<code>lr_lessons.config.seeds</code> and :meth:<code>save</code>.</p>"
    )
    assert hook.strip_sphinx_roles(html) == (
        "<p>returns <code>Results</code>, see <code>lr_lessons.config.seeds</code> and "
        "<code>save</code>.</p>"
    )


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
def site(tmp_path_factory) -> Path:
    """The site, built from the working tree with ``mkdocs build --strict``."""
    _require(
        importlib.util.find_spec("mkdocs") is not None, 'MkDocs missing: pip install ".[docs]"'
    )
    _require(KATEX.is_file(), f"KaTeX missing ({KATEX}): npm ci --prefix docs")
    out = tmp_path_factory.mktemp("site")
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


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's Chromium, headless, driven by Selenium through /usr/bin/chromedriver."""
    _require(CHROMIUM.exists(), f"Chromium missing ({CHROMIUM}): apt-get install chromium")
    _require(
        CHROMEDRIVER.exists(),
        f"ChromeDriver missing ({CHROMEDRIVER}): apt-get install chromium-driver",
    )
    _require(
        importlib.util.find_spec("selenium") is not None, 'Selenium missing: pip install ".[docs]"'
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.ignore_local_proxy_environment_variables()
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


_TIMINGS: dict[str, object] = {}

PAGE_STATE = """
const images = Array.from(document.images);
const math = Array.from(document.querySelectorAll('.arithmatex'));
return {
  ready: document.readyState === 'complete' && images.every(i => i.complete),
  brokenImages: images.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src')),
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
