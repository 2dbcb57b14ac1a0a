"""The claims our blobs chapters mark "confirmed", checked on the saved full-size results.

These read ``results/<study>.npz`` as committed by ``lr-lessons figures`` (200 epochs,
30 seeds); they train nothing. Each assertion restates the claim directly from the
numbers, independently of the chapter's own table code. The last test (slow) trains
one study again and checks that the same seeds give the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lr_lessons.lab.results import Results
from lr_lessons.views.claims import (
    epochs_to_sustain,
    final,
    median_epochs,
    volatility,
)
from lr_lessons.views.verdicts import wilson

RESULTS = Path(__file__).resolve().parents[1] / "results"


def saved(study: str) -> Results:
    path = RESULTS / f"{study}.npz"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `lr-lessons figures` at full size and commit it")
    results = Results.load(path)
    assert results.epochs == 200 and not results.meta["quick"], "not a full-size result"
    assert len(results.seeds) >= 30 and results.meta["data_source"] == "blobs"
    return results


def confirmed(passes: np.ndarray) -> bool:
    """The policy's `confirmed`: the 95% Wilson interval of the pass rate starts at 80%."""
    return wilson(int(np.sum(passes)), int(np.size(passes)))[0] >= 0.8


def test_learning_rate_1_oscillates_more_than_0_1():
    r = saved("learning_rate")
    wild = volatility(r.get("val_accuracy", "lr=1"), start=100)
    calm = volatility(r.get("val_accuracy", "lr=0.1"), start=100)
    assert confirmed(wild > 2 * calm)  # seed by seed


def test_rates_1e1_to_1e3_learn_each_more_slowly():
    r = saved("learning_rate")
    med = [
        median_epochs(epochs_to_sustain(r.get("val_accuracy", s), 0.75))
        for s in ("lr=0.1", "lr=0.01", "lr=0.001")
    ]
    assert med[0] < med[1] < med[2]  # never (inf) counts as infinitely late


def test_learning_rate_0_1_performs_well():
    r = saved("learning_rate")
    assert final(r.get("val_accuracy", "lr=0.1"), 10).mean() >= 0.75
    assert final(r.get("accuracy", "lr=0.1"), 10).mean() >= 0.75


def test_tiny_rates_barely_change_accuracy_on_average():
    r = saved("learning_rate")
    for s in ("lr=1e-06", "lr=1e-07"):
        acc = r.get("accuracy", s)
        assert abs((acc[:, -1] - acc[:, 0]).mean()) < 0.05


def test_momentum_reaches_75_percent_far_sooner():
    r = saved("momentum")
    med = {s: median_epochs(epochs_to_sustain(r.get("val_accuracy", s), 0.75)) for s in r.settings}
    assert 3 * max(med["momentum=0.9"], med["momentum=0.99"]) <= med["momentum=0"]


def test_momentum_steadies_test_accuracy():
    r = saved("momentum")
    base = volatility(r.get("val_accuracy", "momentum=0"), start=100).mean()
    for s in ("momentum=0.5", "momentum=0.9", "momentum=0.99"):
        assert volatility(r.get("val_accuracy", s), start=100).mean() < base


def test_fast_decays_perform_poorly_and_1e4_is_like_no_decay():
    r, constant = saved("decay"), saved("momentum")
    slowest = final(r.get("val_accuracy", "decay 0.0001"), 10)
    for s in ("decay 0.1", "decay 0.01"):
        assert slowest.mean() - final(r.get("val_accuracy", s), 10).mean() > 0.05
    no_decay = final(constant.get("val_accuracy", "momentum=0"), 10)
    assert np.abs(slowest - no_decay).max() < 0.02


def test_decayed_rates_after_3200_updates():
    r = saved("decay")
    np.testing.assert_allclose(r.get("learning_rate", "decay 0.0001")[:, -1], 0.0076, rtol=0.01)
    np.testing.assert_allclose(r.get("learning_rate", "decay 0.1")[:, -1], 3.1e-5, rtol=0.02)


def test_patience_2_collapses_quickly_and_small_patiences_end_worse():
    r = saved("plateau")
    lr2 = r.get("learning_rate", "patience=2")
    reached = (lr2 < 1e-6).any(axis=1)
    first_tiny = np.where(reached, np.argmax(lr2 < 1e-6, axis=1) + 1, np.inf)
    assert confirmed(reached) and np.mean(first_tiny <= 50) > 0.5  # by epoch 50 in most
    loss = {s: final(r.get("loss", s), 10).mean() for s in r.settings}
    assert loss["patience=2"] > loss["patience=5"]
    assert min(loss["patience=2"], loss["patience=5"]) > max(
        loss["patience=10"], loss["patience=15"]
    )


def test_plateau_rates_only_ever_fall_by_the_factor():
    r = saved("plateau")
    for s in r.settings:
        lr = r.get("learning_rate", s)
        ratio = lr[:, 1:] / np.where(lr[:, :-1] > 0, lr[:, :-1], np.nan)
        changed = np.isfinite(ratio) & (np.abs(ratio - 1) > 1e-6) & (lr[:, 1:] > 1e-30)
        np.testing.assert_allclose(ratio[changed], 0.1, rtol=1e-4)


def test_adaptive_methods_are_steadier_and_rmsprop_adam_learn_within_50_epochs():
    r = saved("adaptive")
    sgd = volatility(r.get("val_accuracy", "sgd"), start=50).mean()
    for s in ("rmsprop", "adagrad", "adam"):
        assert volatility(r.get("val_accuracy", s), start=50).mean() < sgd
    for s in ("rmsprop", "adam"):
        assert median_epochs(epochs_to_sustain(r.get("val_accuracy", s), 0.75)) <= 60


@pytest.mark.slow
def test_the_saved_learning_rate_study_is_reproduced(tmp_path, monkeypatch):
    from lr_lessons.lab import runner, studies

    monkeypatch.setenv("LR_LESSONS_QUICK", "0")
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    r = saved("learning_rate")
    again = runner.run_study(
        studies.learning_rate_study(), seeds=r.seeds, engine=r.meta["engine"], progress=False
    )
    for m in ("loss", "val_accuracy", "learning_rate"):
        np.testing.assert_allclose(again.get(m), r.get(m), rtol=1e-5, atol=1e-6)


# --- verdicts on a second, disjoint set of seeds ----------------------------------------

BLOBS_CHAPTERS = (
    "00_concepts",
    "01_learning_rate",
    "02_momentum",
    "03_decay",
    "04_plateau",
    "05_adaptive",
)
SECOND_SEEDS = list(range(30, 60))


def claims_rows(path: Path) -> dict[str, tuple[str, str]]:
    """``{original: (measured, verdict)}`` from a saved claims table (Markdown)."""
    import re

    rows = {}
    for line in path.read_text().splitlines():
        if not line.startswith("| ") or line.startswith("| what the original"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) >= 3:
            rows[cells[0]] = (cells[1], " | ".join(cells[2:]))
    return rows


def seed_counts(verdict: str) -> list[tuple[int, int]]:
    """Every `k/n seeds` of a verdict cell, in order (one per part of a composite)."""
    import re

    return [(int(k), int(n)) for k, n in re.findall(r"(\d+)/(\d+) seeds", verdict)]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", BLOBS_CHAPTERS)
def test_verdicts_agree_on_a_second_set_of_seeds(chapter, tmp_path, monkeypatch):
    """Run the chapter at full size from seeds 30-59 (disjoint from the committed 0-29)
    and compare every count with the committed table: each pass rate's 95% Wilson
    interval must overlap the committed one's (two intervals apart would mean the
    verdicts rest on too few seeds, or on something other than the seeds)."""
    import runpy

    from lr_lessons import config

    committed = claims_rows(RESULTS.parent / "figures" / chapter / "claims.md")
    monkeypatch.setenv("LR_LESSONS_QUICK", "0")
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(config, "seeds", lambda problem=None: list(SECOND_SEEDS))
    runpy.run_path(str(RESULTS.parent / "chapters" / f"{chapter}.py"), run_name="__main__")
    second = claims_rows(tmp_path / "figures" / chapter / "claims.md")
    assert set(second) == set(committed), "the second run's table has other rows"
    apart = []
    for claim, (_, verdict) in committed.items():
        first, again = seed_counts(verdict), seed_counts(second[claim][1])
        assert len(first) == len(again), f"{claim!r}: the parts differ"
        for (k1, n1), (k2, n2) in zip(first, again):
            (lo1, hi1), (lo2, hi2) = wilson(k1, n1), wilson(k2, n2)
            if hi1 < lo2 or hi2 < lo1:
                apart.append(f"{claim!r}: {k1}/{n1} on seeds 0-29, {k2}/{n2} on seeds 30-59")
    assert not apart, "pass rates whose intervals do not overlap:\n" + "\n".join(apart)


def test_plateau_prose_on_the_two_batch_orders():
    """Chapter 4's prose: with a new order every epoch small patiences fire again and
    again; with one order repeated the callback fires at most once per run, and patiences
    2 and 5 end more accurate."""
    fresh, repeated = saved("plateau"), saved("plateau_one_permutation")
    assert repeated.meta["reshuffle"] is False and fresh.meta["reshuffle"] is True
    for s in fresh.settings:
        assert ((np.diff(repeated.get("learning_rate", s), axis=1) < 0).sum(axis=1) <= 1).all()
    for s in ("patience=2", "patience=5"):
        assert (np.diff(fresh.get("learning_rate", s), axis=1) < 0).sum(axis=1).mean() >= 10
        more = final(repeated.get("accuracy", s)).mean() - final(fresh.get("accuracy", s)).mean()
        assert more > 0.05


def test_chapter_0_band_where_50_steps_reach_the_floor():
    """Chapter 0's prose: after 50 steps on a w^2/2, the loss is below 1e-12 for rates
    from about 0.24/a to 1.76/a, and above it outside that band."""
    from lr_lessons.lab.gradient_descent import Bowl, descend

    for a in (0.5, 2.0, 8.0):
        bowl = Bowl((a,))
        for scaled, below in ((0.22, False), (0.26, True), (1.0, True), (1.74, True)):
            loss = bowl.loss(descend(bowl, [1.0], scaled / a, 50)[-1])
            assert (loss < 1e-12) == below, (a, scaled, loss)
        assert bowl.loss(descend(bowl, [1.0], 1.78 / a, 50)[-1]) > 1e-12


def test_chapter_3_keras_3_accepts_decay_warns_and_ignores_it():
    """Chapter 3's prose: Keras 3 accepts SGD(decay=...), warns, and keeps the rate."""
    import warnings

    import keras

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sgd = keras.optimizers.SGD(learning_rate=0.01, decay=1e-3)
    assert any("decay" in str(w.message) and "ignored" in str(w.message) for w in caught)
    w = keras.Variable(1.0)
    for _ in range(100):
        sgd.apply_gradients([(keras.ops.convert_to_tensor(1.0), w)])
    assert np.isclose(float(w.numpy()), 1.0 - 100 * 0.01, atol=1e-5)  # no decay


def test_chapter_0_prose_on_the_very_high_rate():
    """Chapter 0's prose: at lr=5 the first epoch's loss is in the tens to tens of
    millions, and the run ends near ln 3 (the loss of guessing among three classes)."""
    r = saved("concepts_loss_shapes")
    first = r.get("loss", "very high (5)")[:, 0]
    assert 10 <= first.min() < 100 and 1e7 <= first.max() < 1e8
    assert abs(final(r.get("loss", "very high (5)")).mean() - np.log(3)) < 0.1
