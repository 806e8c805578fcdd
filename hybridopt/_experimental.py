"""Marking features that may change without a deprecation period."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from hybridopt.errors import ExperimentalWarning

__all__ = ["experimental"]

F = TypeVar("F", bound=Callable[..., Any])


def experimental(version: str) -> Callable[[F], F]:
    """Warns with :class:`ExperimentalWarning` when the decorated callable is used.

    Args:
        version: The hybridopt version that introduced the feature.
    """

    def decorate(obj: F) -> F:
        note = (
            f"\n\n.. note:: Experimental since v{version}: the interface may change "
            "without a deprecation period."
        )
        message = f"{obj.__qualname__} is experimental (added in v{version})"

        @functools.wraps(obj)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            warnings.warn(message, ExperimentalWarning, stacklevel=2)
            return obj(*args, **kwargs)

        wrapper.__doc__ = (obj.__doc__ or "") + note
        return wrapper  # type: ignore[return-value]

    return decorate
