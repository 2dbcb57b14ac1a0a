"""One docstring style across the package: Google/Keras sections, markdown backticks.

mkdocstrings renders the API pages from these docstrings with its Google-style parser,
which reads `Args:`, `Returns:` and `Raises:` sections and passes the text on as
markdown. reST markup (`:class:` roles, double backticks, `:param x:` fields,
`.. note::` directives) would show up verbatim on the site, so none is allowed.

What is checked, for every module under `lr_lessons/` (read with `ast`, nothing is
imported):

1. No docstring (module, class, function, method) holds reST markup.
2. A public function or method (its name, and its class's, without a leading
   underscore) that takes arguments and whose docstring is longer than one line has an
   `Args:` section that names every argument. A one-line docstring may name its
   arguments in its sentence; Keras hooks a class overrides (`on_*`, `build`, `call`,
   `update_step`, `get_config`, `from_config`) follow Keras' own documentation;
   properties take no arguments.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "lr_lessons").rglob("*.py"))

REST = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|mod|data|obj|exc|ref|math|doc|term):`"  # roles
    r"|(?<!`)``(?!`)[^`\s][^`]*(?<!`)``(?!`)"  # reST literals (not markdown ``` fences)
    r"|^\s*\.\. \w+::"  # directives
    r"|^\s*:(?:param|parameter|arg|type|returns?|rtype|raises?)\b[^:]*:",  # field lists
    re.MULTILINE,
)
KERAS_HOOKS = re.compile(r"on_\w+|build|call|update_step|get_config|from_config")
SECTION = re.compile(r"^\s*(?:Args|Returns|Yields|Raises|Example|Examples|Note|Notes):\s*$")


def docstrings(tree: ast.Module):
    """(name, docstring) of the module and of every class and function in it."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            text = ast.get_docstring(node, clean=True)
            if text:
                yield getattr(node, "name", "<module>"), text


def public_functions(body, owner: str = ""):
    """(qualified name, node) of public functions and of public methods of public classes."""
    for node in body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield from public_functions(node.body, f"{owner}{node.name}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not node.name.startswith("_"):
                yield owner + node.name, node


def arguments(node: ast.FunctionDef) -> list[str]:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def args_section(doc: str) -> str | None:
    """The text of the `Args:` section, up to the next section or the end."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Args:":
            rest = []
            for following in lines[i + 1 :]:
                if SECTION.match(following):
                    break
                rest.append(following)
            return "\n".join(rest)
    return None


def args_problems(node: ast.FunctionDef, name: str) -> list[str]:
    short = name.rsplit(".", 1)[-1]
    is_property = any(
        isinstance(d, ast.Name) and d.id in ("property", "cached_property")
        for d in node.decorator_list
    )
    doc = ast.get_docstring(node, clean=True)
    args = arguments(node)
    if is_property or KERAS_HOOKS.fullmatch(short) or not args or not doc:
        return []
    section = args_section(doc)
    if section is None:
        if len(doc.strip().splitlines()) > 1:
            return [f"{name}: docstring has no Args: section for {args}"]
        return []
    missing = [a for a in args if not re.search(rf"(?<!\w){re.escape(a)}(?!\w)", section)]
    return [f"{name}: Args: does not name {missing}"] if missing else []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docstrings_use_markdown_and_google_sections(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = [
        f"{name}: reST markup {match.group(0).strip()!r}"
        for name, doc in docstrings(tree)
        if (match := REST.search(doc))
    ]
    for name, node in public_functions(tree.body):
        problems += args_problems(node, name)
    assert not problems, "\n".join(problems)


def test_the_checks_find_what_they_are_for():
    bad = '''
"""Uses :class:`Study` and ``code``."""


def fenced():
    """A markdown fence is fine.

    ```python
    fenced()
    ```
    """

def f(a, b):
    """Two lines.

    But no Args.
    """

def g(a, b):
    """Two lines.

    Args:
        a: Named; the other one is not.
    """

def h(a):
    """One line is enough."""

class C:
    def on_epoch_end(self, epoch, logs=None):
        """A Keras hook.

        Documented by Keras.
        """
'''
    tree = ast.parse(bad)
    assert [n for n, d in docstrings(tree) if REST.search(d)] == ["<module>"]
    found = [p for n, node in public_functions(tree.body) for p in args_problems(node, n)]
    assert found == [
        "f: docstring has no Args: section for ['a', 'b']",
        "g: Args: does not name ['b']",
    ]
