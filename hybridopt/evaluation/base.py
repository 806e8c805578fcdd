"""The executor protocol: how batches of work are spread over processes.

Strategies never see an executor. The driver splits a batch into chunks, one per
worker, and calls :meth:`Executor.map`; results come back in submission order, so a
run gives the same result whichever executor evaluates it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["Executor"]

T = TypeVar("T")
R = TypeVar("R")


@runtime_checkable
class Executor(Protocol):
    """Anything that maps a function over items, in order.

    Attributes:
        n_workers: How many items can be evaluated at the same time; the driver
            splits batches into about this many chunks.
    """

    n_workers: int

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Applies ``fn`` to every item and returns the results in item order."""
        ...

    def close(self) -> None:
        """Releases what the executor holds; it may not be used afterwards."""
        ...
