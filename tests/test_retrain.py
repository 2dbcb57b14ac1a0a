"""``LR_LESSONS_RETRAIN`` (``lr-lessons figures --retrain``) reaches every cache: studies and
the library cache of range tests and measurements; both report what they did."""

from __future__ import annotations

from lr_lessons.lab import runner
from lr_lessons.lab.cache import Record, cached


def test_the_library_cache_computes_again_under_retrain_and_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return Record({"value": len(calls)})

    path = tmp_path / "results" / "06_range_test" / "finder.json"
    runner.EVENTS.clear()
    cached(path, {"n": 1}, compute, Record.load)
    cached(path, {"n": 1}, compute, Record.load)
    assert len(calls) == 1
    monkeypatch.setenv("LR_LESSONS_RETRAIN", "1")
    again = cached(path, {"n": 1}, compute, Record.load)
    assert len(calls) == 2 and again.values == {"value": 2}
    assert Record.load(path).values == {"value": 2}, "the retrained result was not saved over"
    assert [(e["study"], e["how"]) for e in runner.EVENTS] == [
        ("finder", "trained"),
        ("finder", "read from cache"),
        ("finder", "trained"),
    ]
    assert runner.EVENTS[1]["path"] == path
