"""Run-time switches: strict true/false words, bounded seeds, known engines, outputs found."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lr_lessons import config
from lr_lessons.checks import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("word", ["1", "true", "TRUE", " yes ", "y", "on", "t"])
def test_quick_accepts_the_usual_true_words(monkeypatch, word):
    monkeypatch.setenv("LR_LESSONS_QUICK", word)
    assert config.quick() is True


@pytest.mark.parametrize("word", ["0", "false", "No", "n", "off", "f", "", "  "])
def test_quick_accepts_the_usual_false_words(monkeypatch, word):
    monkeypatch.setenv("LR_LESSONS_QUICK", word)
    assert config.quick() is False


@pytest.mark.parametrize("word", ["2", "quick", "ja", "1.0", "-1", "yes please"])
def test_quick_refuses_anything_else_instead_of_running_full_size(monkeypatch, word):
    monkeypatch.setenv("LR_LESSONS_QUICK", word)
    with pytest.raises(InputError, match=f"LR_LESSONS_QUICK={word!r} is neither true nor false"):
        config.quick()
    monkeypatch.delenv("LR_LESSONS_OUTPUT", raising=False)
    with pytest.raises(InputError):  # no silent full-size run into the committed folders
        config.output_root()


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("LR_LESSONS_ENGINE", "foo", "LR_LESSONS_ENGINE='foo' is not an engine"),
        ("LR_LESSONS_SEEDS", "0", "from 1 to 100, got 0"),
        ("LR_LESSONS_SEEDS", "101", "from 1 to 100, got 101"),
        ("LR_LESSONS_SEEDS", "99999999999", "got 99999999999"),
        ("LR_LESSONS_SEEDS", "3.5", "whole number from 1 to 100, got '3.5'"),
        ("LR_LESSONS_SEEDS", "٣", "got '٣'"),
        ("LR_LESSONS_RETRAIN", "always", "LR_LESSONS_RETRAIN='always'"),
        ("LR_LESSONS_MNIST", "/no/such/file.npz", "does not exist"),
    ],
)
def test_validate_refuses_every_bad_switch(monkeypatch, name, value, match):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=match):
        config.validate()


def test_validate_refuses_an_output_that_is_a_file(monkeypatch, tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("")
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(target))
    with pytest.raises(InputError, match="is a file, not a folder"):
        config.validate()


def test_validate_reports_the_switches(monkeypatch, tmp_path):
    monkeypatch.setenv("LR_LESSONS_SEEDS", " 7 ")
    monkeypatch.setenv("LR_LESSONS_ENGINE", "Fit")
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    monkeypatch.setenv("LR_LESSONS_RETRAIN", "yes")
    values = config.validate()
    assert values["seeds"] == 7 and values["engine"] == "fit" and values["retrain"] is True
    assert values["output"] == tmp_path.resolve() and config.seeds() == list(range(7))


def test_the_run_refuses_a_bad_switch_before_loading_anything(monkeypatch):
    from lr_lessons.lab import runner, studies

    monkeypatch.setenv("LR_LESSONS_ENGINE", "foo")
    monkeypatch.setattr(runner, "load_data", lambda problem: pytest.fail("data was loaded"))
    with pytest.raises(InputError, match="LR_LESSONS_ENGINE='foo'"):
        runner.run_study(studies.adaptive_study(), seeds=[0], engine="fit")


def test_outputs_resolve_to_the_checkout_from_any_folder(tmp_path):
    """A chapter run from another folder uses the checkout's outputs, not <cwd>/build."""
    code = "from lr_lessons import config; print(config.output_root()); print(config.results_dir())"
    env = {k: v for k, v in os.environ.items() if k != "LR_LESSONS_OUTPUT"}
    env["LR_LESSONS_QUICK"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    output, results = done.stdout.split()
    assert Path(output) == ROOT / "build" / "quick"
    assert Path(results) == ROOT / "build" / "quick" / "results"
    assert not (tmp_path / "build").exists()


def test_outside_any_checkout_a_warning_says_where_outputs_go(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LR_LESSONS_OUTPUT", raising=False)
    monkeypatch.setattr(config, "_is_checkout", lambda folder: False)
    config._warned_roots.discard(tmp_path.resolve())
    with pytest.warns(
        UserWarning, match=f"outputs go below {tmp_path.resolve()}.*LR_LESSONS_OUTPUT"
    ):
        assert config.project_root() == tmp_path.resolve()
