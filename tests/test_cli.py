"""The ``lr-lessons figures`` command: choosing chapters, running them, re-plotting from disk."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lr_lessons import cli
from lr_lessons.checks import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_chapters_are_found_in_order():
    chapters = cli.find_chapters(ROOT)
    names = [c.name for c in chapters]
    assert names == sorted(names) and "01_learning_rate.py" in names
    assert all(cli.CHAPTER_PATTERN.match(n) for n in names)


def test_chapters_are_chosen_by_number_or_name():
    chapters = cli.find_chapters(ROOT)
    picked = cli.select_chapters(chapters, ["3", "momentum"])
    assert [c.stem for c in picked] == ["02_momentum", "03_decay"]
    assert cli.select_chapters(chapters, None) == chapters


def test_an_unknown_chapter_is_named():
    with pytest.raises(InputError, match="--chapters 'nonsense' matches no chapter"):
        cli.select_chapters(cli.find_chapters(ROOT), ["nonsense"])


@pytest.mark.parametrize(
    "wanted, picked",
    [
        (["3"], ["03_decay"]),
        (["03"], ["03_decay"]),
        (["sched"], ["07_schedules"]),
        (["rate"], ["01_learning_rate"]),
        (["test"], ["06_range_test"]),
        (["range-test"], ["06_range_test"]),
        (["learning", "Momentum"], ["01_learning_rate", "02_momentum"]),
        (["08_hypergradient"], ["08_hypergradient"]),
    ],
)
def test_chapters_match_numbers_exactly_and_names_by_start_or_whole_word(wanted, picked):
    chapters = cli.find_chapters(ROOT)
    assert [c.stem for c in cli.select_chapters(chapters, wanted)] == picked


@pytest.mark.parametrize("wanted", ["t", "²", "3.0", "", "ate", "30", "-1", "mom entum"])
def test_chapter_names_that_only_appear_inside_a_word_match_nothing(wanted):
    with pytest.raises(InputError, match="matches no chapter"):
        cli.select_chapters(cli.find_chapters(ROOT), [wanted])


@pytest.mark.parametrize(
    "args, env, match",
    [
        (["--seeds", "0"], {}, "--seeds must be a whole number from 1 to 100, got 0"),
        (["--seeds", "99999999999"], {}, "from 1 to 100, got 99999999999"),
        (["--seeds", "two"], {}, "--seeds must be a whole number.*'two'"),
        (["--chapters", "²"], {}, "--chapters '²' matches no chapter"),
        (["--chapters", "t"], {}, "--chapters 't' matches no chapter"),
        ([], {"LR_LESSONS_QUICK": "quick"}, "LR_LESSONS_QUICK='quick' is neither true nor false"),
        ([], {"LR_LESSONS_QUICK": "2"}, "LR_LESSONS_QUICK='2'"),
        ([], {"LR_LESSONS_RETRAIN": "maybe"}, "LR_LESSONS_RETRAIN='maybe'"),
        ([], {"LR_LESSONS_ENGINE": "foo"}, "LR_LESSONS_ENGINE='foo' is not an engine"),
        ([], {"LR_LESSONS_SEEDS": "-3"}, "LR_LESSONS_SEEDS must be a whole number"),
        ([], {"LR_LESSONS_MNIST": "/no/such/mnist.npz"}, "LR_LESSONS_MNIST=.* does not exist"),
    ],
)
def test_bad_flags_and_switches_give_one_line_before_work(args, env, match, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "run_chapter", lambda path: pytest.fail("a chapter ran"))
    assert cli.main(["figures", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lr-lessons: error: ") and err.count("\n") == 1, err
    assert re.search(match, err), err


def test_a_bad_switch_from_the_shell_prints_no_traceback(tmp_path):
    env = {**os.environ, "LR_LESSONS_OUTPUT": str(tmp_path), "LR_LESSONS_QUICK": "y es"}
    done = subprocess.run(
        [sys.executable, "-m", "lr_lessons.cli", "figures", "--chapters", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "lr-lessons: error: LR_LESSONS_QUICK='y es' is neither true nor false: "
        "use 1/0, true/false, yes/no or on/off"
    ]
    assert "Traceback" not in done.stderr and not (tmp_path / "results").exists()


def test_the_command_names_which_chapters_matched(capsys):
    assert cli.main(["figures", "--chapters", "rate", "4", "--list"]) == 0
    out = capsys.readouterr().out
    assert "--chapters rate: 01_learning_rate" in out and "--chapters 4: 04_plateau" in out


def run_cli(*args: str, output: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LR_LESSONS_OUTPUT": str(output), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "lr_lessons.cli", "figures", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_figures_then_replot_from_saved_results(tmp_path):
    first = run_cli("--quick", "--seeds", "2", "--chapters", "decay", output=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    figures = sorted(p.name for p in (tmp_path / "figures" / "03_decay").iterdir())
    assert {"accuracy_grid.png", "decay_rule.png", "claims.md"} <= set(figures)
    results = sorted((tmp_path / "results").glob("*.npz"))
    assert {p.name for p in results} == {"decay.npz", "momentum.npz"}
    stamps = {p: p.stat().st_mtime_ns for p in results}
    assert "wall time per chapter" in first.stdout and "03_decay" in first.stdout
    assert "  decay: trained in" in first.stdout and "saved to results/decay.npz" in first.stdout
    # each code cell's printout, recorded next to the figures for the site
    from lr_lessons import cells

    chapter = ROOT / "chapters" / "03_decay.py"
    recorded = cells.load_outputs(tmp_path / "figures", "03_decay")
    sources = dict(cells.code_cells(chapter))
    assert sorted(recorded) == sorted(sources)
    assert all(recorded[i].hash == cells.cell_hash(sources[i]) for i in sources)
    printed = "".join(r.stdout for r in recorded.values())
    assert printed.strip() and all(line in first.stdout for line in printed.splitlines())
    assert "03_decay: slowest cells: cell " in first.stdout

    stale = tmp_path / "results" / f".decay.npz.{2**22 + 7}-0badc0de.lrtmp"  # a killed save
    stale.write_bytes(b"half a file")
    again = run_cli("--quick", "--seeds", "2", "--chapters", "3", output=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in results} == stamps, "the second run retrained"
    assert "  decay: read from cache (results/decay.npz)" in again.stdout
    assert "  momentum: read from cache (results/momentum.npz)" in again.stdout
    leftovers = [p for p in tmp_path.rglob(".*") if p.is_file()]
    assert not leftovers, f"temporary files left behind: {leftovers}"

    retrained = run_cli("--quick", "--seeds", "2", "--chapters", "3", "--retrain", output=tmp_path)
    assert retrained.returncode == 0, retrained.stderr[-3000:]
    assert "retraining every study" in retrained.stdout
    assert "  decay: trained in" in retrained.stdout and "read from cache" not in retrained.stdout
    assert all(p.stat().st_mtime_ns > stamps[p] for p in results), "--retrain read the cache"


FAKE_CHAPTER = """# %% [markdown]
# # A fake chapter
# Prose.

# %%
from __future__ import annotations

import os

from lr_lessons import config

print("first cell")
value = 6 * 7
os.chdir("/")

# %% [markdown]
# The printout above.

# %%
print(f"value {value}, run as {__name__}")
print("epoch 1/2\\repoch 2/2")
table = "| a | b |\\n|---|---|\\n| 1 | 2 |"
folder = config.figures_dir() / "98_fake"
folder.mkdir(parents=True, exist_ok=True)
(folder / "table.md").write_text(table + "\\n")
print(table)

# %%
import pickle
from dataclasses import dataclass

later: list[int] = []  # `from __future__` of cell 1 holds here too: a string


@dataclass
class Point:  # a class of the chapter's own __main__ module, as in a script
    x: int


same = pickle.loads(pickle.dumps(Point(3))) == Point(3)
print(type(__annotations__["later"]).__name__, same)

# %%
quiet = True
"""


@pytest.fixture
def fake_chapter(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path / "out"))
    path = tmp_path / "chapters" / "98_fake.py"
    path.parent.mkdir()
    path.write_text(FAKE_CHAPTER)
    return path


def test_a_chapter_runs_cell_by_cell_and_its_printouts_are_recorded(fake_chapter, capsys):
    from lr_lessons import cells, config

    cwd, main = os.getcwd(), sys.modules["__main__"]
    seconds = cli.run_chapter(fake_chapter)
    assert seconds > 0 and os.getcwd() == cwd  # a cell's chdir is undone
    assert sys.modules["__main__"] is main
    terminal = capsys.readouterr().out
    assert "first cell" in terminal and "value 42, run as __main__" in terminal  # the tee
    figures = config.figures_dir()
    saved = json.loads((figures / "98_fake" / "outputs.json").read_text())
    assert saved["chapter"] == "98_fake" and set(saved["cells"]) == {"1", "3", "4", "5"}
    records = cells.load_outputs(figures, "98_fake")
    sources = dict(cells.code_cells(fake_chapter))
    assert sorted(records) == sorted(sources) == [1, 3, 4, 5]
    for index, record in records.items():
        assert record.hash == cells.cell_hash(sources[index])
    assert records[1].stdout == "first cell\n"
    # the terminal's last state of a redrawn line; the table file the cell wrote
    assert records[3].stdout.splitlines()[:2] == ["value 42, run as __main__", "epoch 2/2"]
    assert "| 1 | 2 |" in records[3].stdout
    assert records[3].files == ["98_fake/table.md"]
    assert records[4].stdout == "str True\n"
    assert records[5].stdout == "" and records[5].files == []
    assert not [p for p in (figures / "98_fake").iterdir() if p.name.startswith(".")]


def test_a_failing_cell_names_its_line_and_records_nothing(fake_chapter, capsys):
    import traceback

    from lr_lessons import config

    fake_chapter.write_text(FAKE_CHAPTER + "\n# %%\nx = 1\nraise ValueError('cell four')\n")
    cwd = os.getcwd()
    with pytest.raises(ValueError, match="cell four") as caught:
        cli.run_chapter(fake_chapter)
    assert os.getcwd() == cwd
    # the traceback points at the chapter's own line
    where = traceback.extract_tb(caught.value.__traceback__)[-1]
    lines = fake_chapter.read_text().splitlines()
    assert where.filename == str(fake_chapter)
    assert lines[where.lineno - 1] == where.line == "raise ValueError('cell four')"
    assert not (config.figures_dir() / "98_fake" / "outputs.json").exists()
