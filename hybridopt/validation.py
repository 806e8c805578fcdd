"""Checks for strategy options, with messages that name the option.

Public so that plugin strategies validate their options the way built-ins do.
"""

from __future__ import annotations

import numbers
from typing import Any

from hybridopt.errors import InvalidOptionError

__all__ = [
    "check_choice",
    "check_fraction",
    "check_int",
    "check_real",
]


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Returns ``value`` as a float after checking type and range.

    Raises:
        InvalidOptionError: If the value is not a real number.
        ValueError: If it lies outside the range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidOptionError(
            f"option {name!r} must be a real number, got {type(value).__name__} "
            f"{value!r}"
        )
    v = float(value)
    if v != v:
        raise ValueError(f"option {name!r} must not be NaN")
    if low is not None and (v < low or (low_open and v == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"option {name!r} must be {op} {low}, got {v!r}")
    if high is not None and v > high:
        raise ValueError(f"option {name!r} must be <= {high}, got {v!r}")
    return v


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None
) -> int:
    """Returns ``value`` as an int after checking type and range.

    Raises:
        InvalidOptionError: If the value is not an integer.
        ValueError: If it is below ``low`` or above ``high``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidOptionError(
            f"option {name!r} must be an integer, got {type(value).__name__} {value!r}"
        )
    v = int(value)
    if low is not None and v < low:
        raise ValueError(f"option {name!r} must be >= {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"option {name!r} must be <= {high}, got {v}")
    return v


def check_fraction(name: str, value: Any) -> float:
    """A real number in the open-closed interval (0, 1]."""
    return check_real(name, value, low=0.0, high=1.0, low_open=True)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """A string from a fixed set.

    Raises:
        InvalidOptionError: If the value is not a string.
        ValueError: If it is not one of ``choices``.
    """
    if not isinstance(value, str):
        raise InvalidOptionError(
            f"option {name!r} must be a string, got {type(value).__name__}"
        )
    if value not in choices:
        raise ValueError(
            f"option {name!r} must be one of {', '.join(map(repr, choices))}, "
            f"got {value!r}"
        )
    return value
