"""`run_studies`: several studies (a width grid) in one engine call, each cached as
`run_study` caches it."""

from __future__ import annotations

import numpy as np

from lr_lessons.lab import runner
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.engines import stacked
from lr_lessons.lab.models import DenseSpec
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study


def grid() -> list[Study]:
    return [
        Study(
            f"width_{w}",
            f"width {w}",
            (Setting("a", "sgd", 0.1), Setting("b", "adam", 0.01)),
            2,
            model=DenseSpec(2, (w,), 3),
        )
        for w in (4, 32)
    ]


def test_run_studies_trains_the_missing_studies_in_one_call_and_caches_each(
    output_dir, monkeypatch
):
    alone = stacked.train(grid()[1], [0, 1], load_blobs())
    calls: list[list[str]] = []
    original = stacked.train_studies

    def counting(studies, *args, **kwargs):
        calls.append([s.name for s in studies])
        return original(studies, *args, **kwargs)

    monkeypatch.setattr(stacked, "train_studies", counting)
    first = runner.run_study(grid()[0], [0, 1], "stacked", progress=False)
    calls.clear()  # run_study trained width_4 through the engine
    both = runner.run_studies(grid(), [0, 1], "stacked", progress=False)
    assert calls == [["width_32"]]  # width_4 was read from the cache
    for metric in METRICS:
        np.testing.assert_array_equal(both[0].metrics[metric], first.metrics[metric])
    for metric in METRICS:
        np.testing.assert_allclose(both[1].metrics[metric], alone[metric], atol=1e-5)
    assert both[1].meta["engine"] == "stacked"
    again = runner.run_studies(grid(), [0, 1], "stacked", progress=False)
    assert calls == [["width_32"]]  # both read from the cache now
    np.testing.assert_array_equal(again[1].metrics["loss"], both[1].metrics["loss"])
