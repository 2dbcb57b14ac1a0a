"""The data of the site's range-test explorer: every committed range-test curve as JSON.

Chapter 6 calls `save_explorer_data` once, next to its figures; the explorer on
the chapter's page (`docs/src/javascripts/range-explorer.js`) loads the file, lets the
reader change the smoothing factor and the skip window, and places the four suggestion
rules of `lr_lessons.tools.range_test.rules` with a JavaScript port of them (a browser
test checks that port against the Python rules on every curve of the file).

The file holds, per optimizer and seed, each point's raw loss exactly as recorded (JSON
numbers that read back to the same float64) and its rate to 9 significant digits
(float32's precision, the precision of Keras' rate variable), the smoothed loss at the
chapter's smoothing factor, the Python suggestions at the chapter's settings, and the
2-epoch check results: each checked rate's validation accuracy per seed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lr_lessons import config
from lr_lessons.files import write_text
from lr_lessons.lab.results import Results
from lr_lessons.tools.range_test import SOURCES, SUGGESTIONS, RangeTestRepeats
from lr_lessons.tools.range_test.rules import SLIDE_THRESH, SLIDE_WINDOW_DECADES

FORMAT = "lr_lessons range-test explorer 1"
DEFAULT_NAME = "06_range_test/range_test_explorer"

# One line per rule, shown beside the rule's marker (the full text: the rules module).
DEFINITIONS = {
    "steepest": "the rate where the smoothed loss falls fastest per decade of rate, "
    "among the points up to the lowest loss",
    "minimum": "a tenth of the rate at the lowest smoothed loss",
    "valley": "fastai's default: about half-way down the longest stretch over which the "
    "smoothed loss keeps falling, before its lowest point",
    "slide": f"fastai's interval slide: two points {SLIDE_WINDOW_DECADES:g} decades apart "
    "slide left from the end until the loss's slopes there differ by at most "
    f"{SLIDE_THRESH:g} per decade, at or before the lowest loss; the left point",
}


def _number(x: float, digits: int | None = None) -> float | None:
    """A float JSON can carry (non-finite values become null), to `digits` significant
    digits if given."""
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}") if digits else x


def _numbers(values: np.ndarray, digits: int | None = None) -> list[float | None]:
    """The values, exactly (`digits=None`) or to `digits` significant digits."""
    return [_number(x, digits) for x in np.asarray(values, dtype="float64")]


def _suggestion(s) -> dict[str, Any]:
    return {
        "lr": s.lr,
        "index": int(s.index),
        "reliable": bool(s.reliable),
        "reason": s.reason,
    }


def _checks(rule: str, results: Results, optimizers: Mapping[str, str]) -> list[dict]:
    """One row per checked rate: the optimizer, the rate, each seed's final accuracy."""
    study = results.meta.get("study")
    if not isinstance(study, Mapping) or "settings" not in study:
        raise ValueError(
            f"the check results of rule {rule!r} carry no study settings in their meta: "
            "pass the Results that run_study returned (or loaded from its file)"
        )
    rows = []
    for setting in study["settings"]:
        name = setting["name"]
        optimizer = optimizers.get(str(setting["optimizer"]).lower())
        if optimizer is None:
            raise ValueError(
                f"check setting {name!r} uses optimizer {setting['optimizer']!r}, which has "
                f"no range test here ({sorted(optimizers.values())})"
            )
        accuracy = results.get("val_accuracy", name)[:, -1]
        rows.append(
            {
                "rule": rule,
                "optimizer": optimizer,
                "lr": float(setting["learning_rate"]),
                "epochs": int(results.epochs),
                "seeds": [int(s) for s in results.seeds],
                "val_accuracy": _numbers(accuracy),
                "mean": _number(np.nanmean(accuracy)),
            }
        )
    return rows


def explorer_data(
    tests: Mapping[str, RangeTestRepeats],
    checks: Mapping[str, Results] | None = None,
) -> dict[str, Any]:
    """The explorer's data from range tests over seeds and the checks of their suggestions.

    Args:
        tests: Range tests over seeds by optimizer name (e.g. `{"SGD": ..., "Adam": ...}`).
        checks: Optionally, by rule name, the study that trained at that rule's
            suggestion and its neighbours (its settings name each optimizer and rate).

    Returns:
        A JSON-ready dict (see the module docstring).
    """
    if not tests:
        raise ValueError("tests is empty: pass the range tests by optimizer name")
    curves, sources = [], set()
    settings: dict[str, Any] = {}
    for optimizer, repeats in tests.items():
        if not isinstance(repeats, RangeTestRepeats):
            raise ValueError(
                f"tests[{optimizer!r}] is a {type(repeats).__name__}, not a RangeTestRepeats"
            )
        for seed, run in zip(repeats.seeds, repeats.runs):
            s = run.settings
            settings = {
                k: s.get(k) for k in ("start_lr", "end_lr", "steps", "mode", "beta", "skip_start",
                                      "skip_end")
            }  # fmt: skip
            if "data_source" in run.meta or "data_source" in repeats.meta:
                sources.add(run.meta.get("data_source") or repeats.meta.get("data_source"))
            curves.append(
                {
                    "optimizer": optimizer,
                    "seed": int(seed),
                    "stop_reason": run.stop_reason,
                    "beta": float(s.get("beta", 0.98)),
                    "skip_start": float(s.get("skip_start", 0.1)),
                    "skip_end": int(s.get("skip_end", 5)),
                    "chance_loss": s.get("chance_loss"),
                    # rates to float32's precision (Keras' rate variable is float32)
                    "lr": _numbers(run.lrs, digits=9),
                    "loss": _numbers(run.losses),
                    "smoothed": _numbers(run.smoothed, digits=6),  # for reading; rules
                    # on the page smooth "loss" themselves
                    "suggestions": {k: _suggestion(v) for k, v in run.suggestions().items()},
                }
            )
    optimizers = {name.lower(): name for name in tests}
    rows = [row for rule, res in (checks or {}).items() for row in _checks(rule, res, optimizers)]
    return {
        "format": FORMAT,
        "data_source": "; ".join(sorted(sources)) or "unknown",
        "settings": settings,
        "rules": {
            name: {"definition": DEFINITIONS[name], "source": SOURCES[name]} for name in SUGGESTIONS
        },
        "slide": {"window_decades": SLIDE_WINDOW_DECADES, "thresh": SLIDE_THRESH},
        "curves": curves,
        "checks": rows,
    }


def save_explorer_data(
    tests: Mapping[str, RangeTestRepeats],
    checks: Mapping[str, Results] | None = None,
    name: str = DEFAULT_NAME,
) -> Path:
    """Write `explorer_data` to `<figures>/<name>.json` atomically.

    Args:
        tests: Range tests over seeds by optimizer name.
        checks: Optionally, by rule name, the results of training at its suggestions.
        name: `"NN_topic/file_name"` under the figures folder (`.json` is added).

    Returns:
        The path written.
    """
    path = (config.figures_dir() / name).with_suffix(".json")
    text = json.dumps(explorer_data(tests, checks), separators=(",", ":"), allow_nan=False)
    return write_text(path, text + "\n")
