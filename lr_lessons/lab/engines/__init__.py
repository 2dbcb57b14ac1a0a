"""Engines: interchangeable ways to train every setting and seed of a study.

Each engine is a function `train(study, seeds, data, progress=None) -> dict` that
returns, per metric of `lr_lessons.lab.results.METRICS`, an array of shape
`(n_settings, n_seeds, n_epochs)`. `progress` (if given) is called with the
number of setting-seed-epochs just finished. The runner picks one by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

ENGINE_NAMES = ("fit", "stacked")


def get_engine(name: str) -> Callable:
    """The `train` function of the engine called `name`."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; choose one of {list(ENGINE_NAMES)}")
    return importlib.import_module(f"lr_lessons.lab.engines.{name}").train


def choose_engine(name: str, study) -> str:
    """`name`, or `"fit"` when that engine cannot train `study` (its `supports`)."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; choose one of {list(ENGINE_NAMES)}")
    module = importlib.import_module(f"lr_lessons.lab.engines.{name}")
    supports = getattr(module, "supports", None)
    return name if supports is None or supports(study) else "fit"
