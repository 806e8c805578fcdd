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

_F64_EPS = float(np.finfo(np.float64).eps)


class EvaluationError(RuntimeError):
    """Stands in for an objective's exception that could not be sent back."""


ChunkResult = tuple[
    np.ndarray, np.ndarray | None, list[tuple[int, BaseException]], float
]


class PointEvaluator:
    """Evaluates chunks of points; sent once to each worker of a run.

    Calling it with an array of shape ``(m, dim)`` returns the values, the
    gradients (with ``with_jac``), the ``(row, exception)`` pairs of failures, and
    the machine epsilon of the objective's return type (``float32`` objectives need
    longer finite-difference steps than ``float64`` ones).
    """

    def __init__(self, problem: Problem, with_jac: bool) -> None:
        self.fun = problem.fun
        self.jac = problem.jac if with_jac else None
        self.vectorized = problem.vectorized
        self.dim = problem.dim

    def __call__(self, points: np.ndarray) -> ChunkResult:
        m = points.shape[0]
        values = np.full(m, np.nan)
        grads = None if self.jac is None else np.full((m, self.dim), np.nan)
        errors: list[tuple[int, BaseException]] = []
        eps = _F64_EPS
        if self.vectorized:
            try:
                out = self.fun(points.copy())
            except Exception as err:  # noqa: BLE001 - objectives may raise anything
                # A vectorized objective marks bad rows with NaN; if it raises
                # instead, the whole batch counts as failed rather than being
                # evaluated a second time, row by row, outside the budget.
                return values, grads, [(row, _sendable(err)) for row in range(m)], eps
            values, eps = _batch_values(out, m)
            if grads is None:
                return values, None, [], eps
        for row in range(m):
            x = points[row].copy()
            try:
                if not self.vectorized:
                    values[row], row_eps = _scalar(self.fun(x))
                    eps = max(eps, row_eps)
                if grads is not None:
                    assert self.jac is not None
                    grads[row] = _gradient(self.jac(x.copy()), self.dim)
            except ObjectiveReturnError:
                raise
            except Exception as err:  # noqa: BLE001 - objectives may raise anything
                errors.append((row, _sendable(err)))
                if self.vectorized:
                    values[row] = np.nan
        return values, grads, errors, eps


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

    Finite differences take two rounds: the candidates first, then every
    candidate's ``dim`` stencil points, with a step sized by the precision of the
    values the objective returned in the first round.

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
    values, grads, errors, eps = _run_chunks(evaluator, x, executor)
    if use_fd:
        space = problem.space
        points, steps = _difference_points(x, space.lower, space.upper, eps)
        shifted, _, _, _ = _run_chunks(evaluator, points, executor)
        with np.errstate(divide="ignore", invalid="ignore"):
            grads = (shifted.reshape(n, dim) - values[:, None]) / steps
        # Along a coordinate fixed by its bounds the objective cannot change.
        grads[steps == 0] = 0.0
        # A failed centre or stencil point leaves no usable gradient.
        grads[~np.isfinite(grads)] = np.nan
    failed = ~np.isfinite(values)
    values = np.where(failed, np.inf, values)
    if grads is not None:
        grads[failed] = np.nan
    evaluations = Evaluations(
        f=_frozen(values),
        failed=_frozen(failed),
        grad=None if grads is None else _frozen(grads),
        cost=dim + 1 if use_fd else 1,
        jac_calls=1 if use_jac else 0,
    )
    return evaluations, errors


def _run_chunks(
    evaluator: PointEvaluator, points: np.ndarray, executor: Executor
) -> ChunkResult:
    m = points.shape[0]
    if m == 0:
        grads = None if evaluator.jac is None else np.empty((0, evaluator.dim))
        return np.empty(0), grads, [], _F64_EPS
    n_chunks = max(1, min(m, int(getattr(executor, "n_workers", 1))))
    chunks = np.array_split(points, n_chunks)
    results = executor.map(evaluator, chunks)
    values = np.concatenate([r[0] for r in results])
    grads = None
    if evaluator.jac is not None:
        grads = np.concatenate([r[1] for r in results])
    errors: list[tuple[int, BaseException]] = []
    offset = 0
    for chunk, result in zip(chunks, results, strict=True):
        errors.extend((offset + row, err) for row, err in result[2])
        offset += chunk.shape[0]
    return values, grads, errors, max(r[3] for r in results)


def _difference_points(
    x: np.ndarray, lower: np.ndarray, upper: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The ``dim`` forward-difference points of each candidate, and their steps."""
    n, dim = x.shape
    h = np.sqrt(eps) * np.maximum(1.0, np.abs(x))
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
    stencil = np.repeat(x[:, None, :], dim, axis=1)
    idx = np.arange(dim)
    stencil[:, idx, idx] += steps
    # The step actually taken, after rounding, gives a more accurate quotient.
    steps = stencil[:, idx, idx] - x
    return stencil.reshape(n * dim, dim), steps


def _batch_values(out: Any, m: int) -> tuple[np.ndarray, float]:
    try:
        arr = np.asarray(out)
    except Exception:  # noqa: BLE001 - reported below
        arr = None
    if arr is None or arr.dtype.kind not in "iuf" or arr.shape != (m,):
        got = (
            type(out).__name__
            if arr is None
            else f"shape {arr.shape} and dtype {arr.dtype}"
        )
        raise ObjectiveReturnError(
            f"a vectorized objective must return a real array of shape ({m},) for "
            f"a batch of {m} points, got {got}"
        )
    return arr.astype(float), _eps_of(arr.dtype)


def _eps_of(dtype: np.dtype[Any]) -> float:
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else _F64_EPS


def _scalar(value: Any) -> tuple[float, float]:
    """The value as a float, and the machine epsilon of its type."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value), _F64_EPS
    if isinstance(value, np.floating | np.integer):
        return float(value), _eps_of(value.dtype)
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - report the type below
        arr = None
    if arr is not None and arr.size == 1 and arr.dtype.kind in "iuf":
        return float(arr.reshape(())), _eps_of(arr.dtype)
    shape = "" if arr is None else f" of shape {arr.shape} and dtype {arr.dtype}"
    raise ObjectiveReturnError(
        "the objective must return one real number (a float, an int, a numpy "
        f"scalar or a one-element array), got {type(value).__name__}{shape}"
    )


def _gradient(value: Any, dim: int) -> np.ndarray:
    try:
        grad = np.asarray(value)
    except Exception:  # noqa: BLE001 - reported below
        grad = None
    if grad is None or grad.dtype.kind not in "iuf" or grad.size != dim:
        got = (
            type(value).__name__
            if grad is None
            else f"shape {grad.shape} and dtype {grad.dtype}"
        )
        raise ObjectiveReturnError(
            f"jac must return a real array of shape ({dim},), got {got}"
        )
    return grad.astype(float).reshape(dim)


def _sendable(err: Exception) -> BaseException:
    """The exception if it survives a pickle round trip (for Ray), else a stand-in.

    Some exception classes pickle but cannot be rebuilt from their pickle.
    """
    try:
        pickle.loads(pickle.dumps(err))  # our own object, made in this process
    except Exception:  # noqa: BLE001 - any pickling failure
        text = "".join(traceback.format_exception_only(type(err), err)).strip()
        return EvaluationError(f"the objective raised {text}")
    return err


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr
