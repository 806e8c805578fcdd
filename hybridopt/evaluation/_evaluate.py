"""Evaluating a batch: objective values, gradients, and failures as data.

An objective that raises or returns a non-finite value at some point does not end
the run: the candidate gets ``+inf`` and is counted as failed. Returning something
that is not one number is a bug in the objective and raises
:class:`~hybridopt.errors.ObjectiveReturnError` at once.
"""

from __future__ import annotations

import pickle
import traceback
from typing import Any

import numpy as np

from hybridopt.errors import ObjectiveReturnError
from hybridopt.evaluation.base import Executor
from hybridopt.problem import Problem
from hybridopt.strategy import Batch, Evaluations

__all__ = ["BatchEvaluator", "EvaluationError", "PointEvaluator", "evaluate_batch"]

# Forward-difference step relative to the coordinate's magnitude.
_FD_STEP = float(np.sqrt(np.finfo(float).eps))


class EvaluationError(RuntimeError):
    """Stands in for an objective's exception that could not be sent back."""


class PointEvaluator:
    """Evaluates chunks of points; sent once to each worker of a run.

    Calling it with an array of shape ``(m, dim)`` returns the values, the
    gradients (with ``with_jac``) and the ``(row, exception)`` pairs of failures.
    """

    def __init__(self, problem: Problem, with_jac: bool) -> None:
        self.fun = problem.fun
        self.jac = problem.jac if with_jac else None
        self.vectorized = problem.vectorized
        self.dim = problem.dim

    def __call__(
        self, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, list[tuple[int, BaseException]]]:
        m = points.shape[0]
        values = np.full(m, np.nan)
        grads = None if self.jac is None else np.full((m, self.dim), np.nan)
        errors: list[tuple[int, BaseException]] = []
        if self.vectorized and self.jac is None and m:
            try:
                out = np.asarray(self.fun(points.copy()), dtype=float)
                if out.shape != (m,):
                    raise ObjectiveReturnError(
                        f"a vectorized objective must return shape ({m},) for a batch "
                        f"of {m} points, got shape {out.shape}"
                    )
                return out, None, []
            except ObjectiveReturnError:
                raise
            except Exception:  # noqa: BLE001 - find the failing rows one by one
                pass
        for row in range(m):
            x = points[row].copy()
            try:
                if self.vectorized:
                    values[row] = _scalar(np.asarray(self.fun(x[None, :])).reshape(-1))
                else:
                    values[row] = _scalar(self.fun(x))
                if grads is not None:
                    assert self.jac is not None
                    grads[row] = _gradient(self.jac(x.copy()), self.dim)
            except ObjectiveReturnError:
                raise
            except Exception as err:  # noqa: BLE001 - objectives may raise anything
                errors.append((row, _sendable(err)))
        return values, grads, errors


class BatchEvaluator:
    """Evaluates the batches of one run on one executor.

    It keeps one :class:`PointEvaluator` per kind of request (values only, values
    and gradients), so an executor that ships functions to workers, such as Ray's,
    ships the objective once per run rather than once per batch.
    """

    def __init__(self, problem: Problem, executor: Executor) -> None:
        self.problem = problem
        self.executor = executor
        self._evaluators: dict[bool, PointEvaluator] = {}

    def __call__(
        self, batch: Batch
    ) -> tuple[Evaluations, list[tuple[int, BaseException]]]:
        """Same as :func:`evaluate_batch` with this run's problem and executor."""
        use_jac = batch.need_grad and self.problem.jac is not None
        if use_jac not in self._evaluators:
            self._evaluators[use_jac] = PointEvaluator(self.problem, with_jac=use_jac)
        return _evaluate(self.problem, batch, self.executor, self._evaluators[use_jac])


def evaluate_batch(
    problem: Problem, batch: Batch, executor: Executor
) -> tuple[Evaluations, list[tuple[int, BaseException]]]:
    """Evaluates a batch, computing gradients by forward differences if needed.

    Args:
        problem: The problem whose objective is evaluated.
        batch: Candidates from :meth:`~hybridopt.strategy.Strategy.ask`.
        executor: Where the evaluations run.

    Returns:
        The evaluations, and the ``(candidate, exception)`` pairs of objectives
        that raised, in candidate order.

    Raises:
        ObjectiveReturnError: If the objective or gradient returned the wrong kind
            of value.
    """
    use_jac = batch.need_grad and problem.jac is not None
    return _evaluate(problem, batch, executor, PointEvaluator(problem, use_jac))


def _evaluate(
    problem: Problem, batch: Batch, executor: Executor, evaluator: PointEvaluator
) -> tuple[Evaluations, list[tuple[int, BaseException]]]:
    x = batch.x
    n, dim = x.shape
    use_jac = evaluator.jac is not None
    use_fd = batch.need_grad and problem.jac is None
    if use_fd:
        points, steps = _difference_points(x, problem.space.lower, problem.space.upper)
    else:
        points, steps = x, None
    values, grads, errors = _run_chunks(evaluator, points, executor)
    cost = dim + 1 if use_fd else 1

    if use_fd:
        assert steps is not None
        table = values.reshape(n, dim + 1)
        values = table[:, 0].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            grads = (table[:, 1:] - values[:, None]) / steps
        # Along a coordinate fixed by its bounds the objective cannot change.
        grads[:, np.all(steps == 0, axis=0)] = 0.0
        # A failed centre point or stencil point leaves no usable gradient.
        grads[~np.isfinite(grads)] = np.nan
        errors = [
            (row // (dim + 1), err) for row, err in errors if row % (dim + 1) == 0
        ]
    failed = ~np.isfinite(values)
    values = np.where(failed, np.inf, values)
    if grads is not None:
        grads[failed] = np.nan
    evaluations = Evaluations(
        f=_frozen(values),
        failed=_frozen(failed),
        grad=None if grads is None else _frozen(grads),
        cost=cost,
        jac_calls=1 if use_jac else 0,
    )
    return evaluations, errors


def _run_chunks(
    evaluator: PointEvaluator, points: np.ndarray, executor: Executor
) -> tuple[np.ndarray, np.ndarray | None, list[tuple[int, BaseException]]]:
    m = points.shape[0]
    if m == 0:
        grads = None if evaluator.jac is None else np.empty((0, evaluator.dim))
        return np.empty(0), grads, []
    n_chunks = max(1, min(m, int(getattr(executor, "n_workers", 1))))
    chunks = np.array_split(points, n_chunks)
    results = executor.map(evaluator, chunks)
    values = np.concatenate([r[0] for r in results])
    grads = None
    if evaluator.jac is not None:
        grads = np.concatenate([r[1] for r in results])
    errors: list[tuple[int, BaseException]] = []
    offset = 0
    for chunk, (_, _, errs) in zip(chunks, results, strict=True):
        errors.extend((offset + row, err) for row, err in errs)
        offset += chunk.shape[0]
    return values, grads, errors


def _difference_points(
    x: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n, dim = x.shape
    h = _FD_STEP * np.maximum(1.0, np.abs(x))
    room_up, room_down = upper - x, x - lower
    # Forward where the box allows, else backward, else the longer of the two
    # short sides; a coordinate fixed by its bounds gets no step at all.
    steps = np.where(
        room_up >= h,
        h,
        np.where(
            room_down >= h,
            -h,
            np.where(room_up >= room_down, room_up, -room_down),
        ),
    )
    stencil = np.repeat(x[:, None, :], dim + 1, axis=1)
    idx = np.arange(dim)
    stencil[:, idx + 1, idx] += steps
    # The step actually taken, after rounding, gives a more accurate quotient.
    steps = stencil[:, idx + 1, idx] - x
    return stencil.reshape(n * (dim + 1), dim), steps


def _scalar(value: Any) -> float:
    if isinstance(value, float | int | np.floating | np.integer) and not isinstance(
        value, bool | np.bool_
    ):
        return float(value)
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - report the type below
        arr = None
    if arr is not None and arr.size == 1 and arr.dtype.kind in "iuf":
        return float(arr.reshape(()))
    shape = "" if arr is None else f" of shape {arr.shape} and dtype {arr.dtype}"
    raise ObjectiveReturnError(
        "the objective must return one real number (a float, an int, a numpy "
        f"scalar or a one-element array), got {type(value).__name__}{shape}"
    )


def _gradient(value: Any, dim: int) -> np.ndarray:
    try:
        grad = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        grad = None
    if grad is None or grad.size != dim:
        got = type(value).__name__ if grad is None else f"shape {grad.shape}"
        raise ObjectiveReturnError(
            f"jac must return an array of shape ({dim},), got {got}"
        )
    return grad.reshape(dim)


def _sendable(err: Exception) -> BaseException:
    """The exception itself if it pickles (for Ray), else a stand-in."""
    try:
        pickle.dumps(err)
    except Exception:  # noqa: BLE001 - any pickling failure
        text = "".join(traceback.format_exception_only(type(err), err)).strip()
        return EvaluationError(f"the objective raised {text}")
    return err


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr
