"""Executors that evaluate batches: serially or on Ray (local or a cluster)."""

from __future__ import annotations

from typing import Any

from hybridopt.evaluation._evaluate import BatchEvaluator, evaluate_batch
from hybridopt.evaluation.base import Executor
from hybridopt.evaluation.serial import SerialExecutor

__all__ = [
    "BatchEvaluator",
    "Executor",
    "SerialExecutor",
    "evaluate_batch",
    "make_executor",
]


def make_executor(spec: Any, *, address: str | None = None) -> Executor:
    """Builds an executor from ``None``, ``"serial"``, ``"ray"`` or an executor.

    Raises:
        ValueError: For an unknown name.
        TypeError: For an object without ``map`` and ``n_workers``.
    """
    if spec is None or spec == "serial":
        return SerialExecutor()
    if spec == "ray":
        from hybridopt.evaluation.ray import RayExecutor

        return RayExecutor(address)
    if isinstance(spec, str):
        raise ValueError(f"executor must be 'serial' or 'ray', got {spec!r}")
    if isinstance(spec, Executor):
        return spec
    raise TypeError(
        "executor must be 'serial', 'ray' or an object with map(fn, items) and "
        f"n_workers, got {type(spec).__name__}"
    )
