"""Every name in ``lr_lessons.__all__`` is the object its docs describe, not a module."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

import lr_lessons

NAMES = [n for n in lr_lessons.__all__ if n != "__version__"]


@pytest.mark.parametrize("name", NAMES)
def test_public_name_is_the_documented_object(name):
    module = importlib.import_module(lr_lessons._PUBLIC[name])  # its home module
    obj = getattr(lr_lessons, name)
    assert not isinstance(obj, types.ModuleType)
    assert obj is getattr(module, name)
    assert obj.__doc__  # documented
    from_import = {}
    exec(f"from lr_lessons import {name} as got", from_import)
    assert from_import["got"] is obj


def test_range_test_is_the_function_whatever_was_imported_first():
    # The submodule of the same name imported first once bound the *module* to
    # lr_lessons.range_test, so `from lr_lessons import range_test` was not callable.
    code = (
        "import inspect, lr_lessons.tools.range_test.finder\n"
        "from lr_lessons.tools.range_test import LRFinder\n"
        "from lr_lessons import range_test\n"
        "assert inspect.isfunction(range_test), range_test\n"
        "import lr_lessons\n"
        "assert lr_lessons.range_test is range_test\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_version_is_a_string():
    assert isinstance(lr_lessons.__version__, str)
