"""The one cache (lr_lessons.lab.cache): measurements, named results, the path rule."""

from __future__ import annotations

import pytest

from lr_lessons.lab.cache import Record, cached


@pytest.fixture(autouse=True)
def _output(tmp_path, monkeypatch):
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    monkeypatch.delenv("LR_LESSONS_QUICK", raising=False)


def counter():
    calls = []

    def compute():
        calls.append(1)
        return Record({"value": len(calls)})

    return calls, compute


def test_second_call_reads_the_saved_result(tmp_path):
    calls, compute = counter()
    path = tmp_path / "results" / "x" / "timing.json"
    first = cached(path, {"n": 1}, compute, Record.load)
    second = cached(path, {"n": 1}, compute, Record.load)
    assert len(calls) == 1
    assert second.values == first.values == {"value": 1}
    assert (first.meta["cache"], second.meta["cache"]) == ("computed", "read")
    assert Record.load(path).meta["key"] == first.meta["key"] == second.meta["key"]
    assert "cache" not in Record.load(path).meta
    # a name and the path it stands for are the same result
    assert cached("x/timing.json", {"n": 1}, compute, Record.load).meta["cache"] == "read"


def test_other_settings_or_quick_mode_recompute(tmp_path, monkeypatch):
    calls, compute = counter()
    path = "timing.json"
    cached(path, {"n": 1}, compute, Record.load)
    assert cached(path, {"n": 2}, compute, Record.load).values == {"value": 2}
    monkeypatch.setenv("LR_LESSONS_QUICK", "1")
    assert cached(path, {"n": 2}, compute, Record.load).values == {"value": 3}
    assert len(calls) == 3


def test_corrupt_file_is_recomputed_and_cache_false_retrains(tmp_path):
    calls, compute = counter()
    path = tmp_path / "results" / "timing.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.warns(UserWarning, match="cannot read"):
        assert cached(path, {"n": 1}, compute, Record.load).values == {"value": 1}
    assert cached(path, {"n": 1}, compute, Record.load, cache=False).values == {"value": 2}
    assert Record.load(path).values == {"value": 2}


def test_bad_callables_fail_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="callables"):
        cached(tmp_path / "a.json", {}, compute=None, load=Record.load)


def test_retrain_switch_recomputes_and_the_runner_hears_of_it(tmp_path, monkeypatch):
    from lr_lessons.lab import runner

    calls, compute = counter()
    path = tmp_path / "results" / "timing.json"
    cached(path, {"n": 1}, compute, Record.load)
    monkeypatch.setenv("LR_LESSONS_RETRAIN", "1")
    before = len(runner.EVENTS)
    assert cached(path, {"n": 1}, compute, Record.load).meta["cache"] == "computed"
    assert len(calls) == 2
    assert runner.EVENTS[before]["how"] == "trained" and runner.EVENTS[before]["path"] == path
    monkeypatch.delenv("LR_LESSONS_RETRAIN")
    cached(path, {"n": 1}, compute, Record.load)
    assert runner.EVENTS[-1]["how"] == "read from cache" and len(calls) == 2


def test_names_cannot_leave_the_results_folder(tmp_path):
    from lr_lessons.checks import InputError
    from lr_lessons.lab.cache import result_path

    assert result_path("07_schedules/range_test_blobs") == (
        tmp_path / "results" / "07_schedules" / "range_test_blobs.npz"
    )
    calls, compute = counter()
    for bad in ("../../escaped", "/etc/x", "a/../../b", "a//b", "", "a/.hidden"):
        with pytest.raises(InputError, match="name"):
            result_path(bad)
        with pytest.raises(InputError):
            cached(bad, {"n": 1}, compute, Record.load)
    with pytest.raises(InputError, match="outside the results folder"):
        cached(tmp_path / "elsewhere.json", {"n": 1}, compute, Record.load)
    assert not calls and not (tmp_path.parent / "escaped.json").exists()


def test_a_measurement_of_another_definition_keeps_the_saved_one(tmp_path):
    calls, compute = counter()
    first = cached("topic/timing.json", {"n": 1}, compute, Record.load)
    with pytest.warns(UserWarning, match="another definition"):
        other = cached("topic/timing.json", {"n": 2}, compute, Record.load)
    saved = Record.load(tmp_path / "results" / "topic" / "timing.json")
    assert saved.values == first.values == {"value": 1} and other.values == {"value": 2}
    assert cached("topic/timing.json", {"n": 2}, compute, Record.load).meta["cache"] == "read"
    assert len(calls) == 2
