"""Input checks shared by the library: one clear error naming the bad value and the fix.

Every check raises `InputError` (a `ValueError`), whose message is one line that says
what was given, what is accepted and, where it helps, how to fix it. The `lr-lessons`
command prints these messages without a traceback.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy as np


class InputError(ValueError):
    """Bad input given by a user: a value, an environment switch, a file's contents."""


TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off", ""})


def is_real(value: Any) -> bool:
    """True for real numbers (Python or NumPy), False for bools and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_whole(value: Any) -> bool:
    """True for whole numbers (`int` or a NumPy integer), False for bools and floats."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def boolean(value: Any, what: str) -> bool:
    """`value` if it is `True` or `False` (a Python or NumPy bool; not 0, 1 or a text).

    Args:
        value: The value to check.
        what: How the value is named in the error message.

    Returns:
        `bool(value)`.

    Raises:
        InputError: If `value` is not a bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def finite_number(value: Any, what: str) -> float:
    """`value` as a float if it is a finite real number.

    Args:
        value: The value to check.
        what: How the value is named in the error message.

    Returns:
        `float(value)`.
    """
    if not is_real(value) or not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def positive_number(value: Any, what: str, *, allow_zero: bool = False) -> float:
    """`value` as a float if it is a finite number above zero (or zero, if allowed).

    Args:
        value: The value to check.
        what: How the value is named in the error message.
        allow_zero: Accept 0 as well.

    Returns:
        `float(value)`.
    """
    ok = is_real(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative number" if allow_zero else "a positive number"
        raise InputError(f"{what} must be {kind}, got {value!r}")
    return float(value)


def number_in(
    value: Any,
    what: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> float:
    """`value` as a float if it is a finite real number within the given bounds.

    Give at most one lower bound (`above` excludes it, `at_least` includes it) and at
    most one upper bound (`below`, `at_most`). The message names the accepted range,
    e.g. `gamma must be a number in (0, 1], got 1.5` or `factor must be a number > 1`.

    Args:
        value: The value to check (a Python or NumPy number; not a bool).
        what: How the value is named in the error message.
        above: Accept only numbers greater than this.
        at_least: Accept only numbers greater than or equal to this.
        below: Accept only numbers smaller than this.
        at_most: Accept only numbers smaller than or equal to this.

    Returns:
        `float(value)`.

    Raises:
        InputError: If `value` is not a finite number within the bounds.
    """
    if above is not None and at_least is not None or below is not None and at_most is not None:
        raise TypeError("number_in takes one lower bound and one upper bound at most")
    low, high = (
        (above if above is not None else at_least),
        (below if below is not None else at_most),
    )
    ok = is_real(value) and math.isfinite(value)
    if ok:
        ok = (
            (above is None or value > above)
            and (at_least is None or value >= at_least)
            and (below is None or value < below)
            and (at_most is None or value <= at_most)
        )
    if not ok:
        if low is not None and high is not None:
            left, right = "(" if above is not None else "[", ")" if below is not None else "]"
            accepted = f"in {left}{low:g}, {high:g}{right}"
        elif low is not None:
            accepted = f"{'>' if above is not None else '>='} {low:g}"
        elif high is not None:
            accepted = f"{'<' if below is not None else '<='} {high:g}"
        else:
            return finite_number(value, what)
        raise InputError(f"{what} must be a number {accepted}, got {value!r}")
    return float(value)


def whole_number(
    value: Any, what: str, *, minimum: int | None = 0, maximum: int | None = None
) -> int:
    """`value` as an int if it is a whole number in `[minimum, maximum]`.

    With `minimum=1` (and no maximum) every refusal reads "`what` must be a positive
    whole number, got ...".

    Args:
        value: The value to check (`int` or a NumPy integer; not a bool or a float).
        what: How the value is named in the error message.
        minimum: The smallest value accepted (None: no bound).
        maximum: The largest value accepted (None: no bound).

    Returns:
        `int(value)`.

    Raises:
        InputError: If `value` is not a whole number or lies outside the bounds.
    """
    positive = minimum == 1 and maximum is None
    if not is_whole(value):
        kind = "a positive whole number" if positive else "a whole number"
        raise InputError(f"{what} must be {kind}, got {value!r}")
    if minimum is not None and value < minimum:
        if positive:
            raise InputError(f"{what} must be a positive whole number, got {value!r}")
        raise InputError(f"{what} must be at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InputError(f"{what} must be at most {maximum}, got {value!r}")
    return int(value)


def probability(value: Any, what: str, *, include_one: bool = False) -> float:
    """`value` as a float if it lies in `[0, 1)` (or `[0, 1]` with `include_one`).

    Args:
        value: The value to check.
        what: How the value is named in the error message.
        include_one: Accept 1 as well.

    Returns:
        `float(value)`.
    """
    ok = is_real(value) and 0 <= value and (value <= 1 if include_one else value < 1)
    if not ok:
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise InputError(f"{what} must be a number in {interval}, got {value!r}")
    return float(value)


def true_or_false(raw: str, what: str) -> bool:
    """A true/false text (`1/0`, `true/false`, `yes/no`, `on/off`, `y/n`, `t/f`).

    Args:
        raw: The text, e.g. an environment variable's value; case and spaces are ignored;
            the empty text is false.
        what: How the value is named in the error message.

    Returns:
        The truth value.
    """
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InputError(
        f"{what}={raw!r} is neither true nor false: use 1/0, true/false, yes/no or on/off"
    )


SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=+-]*")
MAX_NAME_LENGTH = 100


def file_name(value: Any, what: str) -> str:
    """`value` if it is safe as a file name on every system.

    Safe: 1 to 100 characters, letters, digits and `_ . = + -`, not starting with a dot
    or a dash, no `..` (so it names a file inside its folder, never above it).

    Args:
        value: The name to check.
        what: How the value is named in the error message.

    Returns:
        `value`.
    """
    if (
        not isinstance(value, str)
        or not SAFE_NAME.fullmatch(value)
        or ".." in value
        or len(value) > MAX_NAME_LENGTH
    ):
        raise InputError(
            f"{what} must be a safe file name (1-{MAX_NAME_LENGTH} letters, digits or _ . = + -, "
            f"not starting with '.' or '-', no '..'), got {value!r}"
        )
    return value


def one_of(value: Any, choices: Any, what: str) -> Any:
    """`value` if it is one of `choices`.

    Args:
        value: The value to check.
        choices: The accepted values.
        what: How the value is named in the error message.

    Returns:
        `value`.
    """
    choices = list(choices)
    try:
        ok = value in choices
    except (TypeError, ValueError):  # incomparable, or an array
        ok = False
    if not ok:
        raise InputError(f"unknown {what} {value!r}; choose one of {sorted(map(str, choices))}")
    return value
