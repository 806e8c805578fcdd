"""Evaluation in the calling process, one item after the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["SerialExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class SerialExecutor:
    """Runs every item in the current process; the default executor."""

    n_workers = 1

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Applies ``fn`` to each item in turn."""
        return [fn(item) for item in items]

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "SerialExecutor()"
