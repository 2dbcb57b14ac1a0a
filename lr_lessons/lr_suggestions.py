"""Moved: the suggestion rules live in :mod:`lr_lessons.range_test.rules`.

This name stays so that ``from lr_lessons.lr_suggestions import ...`` keeps working.
"""

from lr_lessons.range_test.rules import *  # noqa: F403
from lr_lessons.range_test.rules import (  # noqa: F401
    RULES,
    SOURCES,
    SUGGESTIONS,
    Suggestion,
    assess,
    check_names,
    ema,
    loss_delta,
    minimum,
    peak,
    slide,
    span,
    steepest,
    suggest,
    valley,
)
