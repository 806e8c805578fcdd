"""The driver: builds problem, strategy and executor, and runs the ask/tell loop."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hybridopt._warnings import user_stacklevel
from hybridopt.errors import BadObjectiveWarning, InvalidOptionError
from hybridopt.evaluation import BatchEvaluator, Executor, make_executor
from hybridopt.problem import Problem
from hybridopt.registry import get_strategy
from hybridopt.result import Result, result_from_state
from hybridopt.strategy import STATUS_CALLBACK, SeedLike, Strategy

__all__ = ["default_budget", "minimize", "run"]

logger = logging.getLogger(__name__)


def default_budget(dim: int) -> int:
    """Budget used when none is given: 1000 evaluations per variable, plus 1000."""
    return 1000 * (dim + 1)


def minimize(
    fun: Callable[..., Any],
    x0: Any = None,
    *,
    bounds: Any = None,
    jac: Callable[..., Any] | None = None,
    strategy: str | Strategy = "auto",
    options: Mapping[str, Any] | None = None,
    budget: int | None = None,
    seed: SeedLike = None,
    executor: str | Executor | None = None,
    callback: Callable[[Result], Any] | None = None,
    vectorized: bool = False,
    show_progress: bool = False,
) -> Result:
    """Minimizes ``fun`` with a registered strategy or a strategy object.

    Args:
        fun: Objective, ``fun(x) -> float`` for ``x`` of shape ``(dim,)``.
        x0: Start point of shape ``(dim,)``; optional if ``bounds`` are finite.
        bounds: ``(low, high)`` per coordinate, one pair for all coordinates (with
            ``x0``), or ``scipy.optimize.Bounds``.
        jac: Gradient of ``fun``; without it, gradient strategies use forward
            differences, which cost ``dim + 1`` evaluations per gradient.
        strategy: A name from :func:`hybridopt.strategies` or a strategy object.
        options: Options of the named strategy.
        budget: Objective evaluations the run may spend; default
            :func:`default_budget`.
        seed: Seed of the run; the same seed gives the same result whatever the
            executor.
        executor: ``"serial"`` (default), ``"ray"`` (a local Ray instance started on
            demand) or an executor object.
        callback: Called after every iteration with the intermediate
            :class:`~hybridopt.result.Result`; raise ``StopIteration`` to stop.
        vectorized: ``fun`` takes a batch ``(n, dim)`` and returns ``(n,)``.
        show_progress: Show a progress bar over the budget.

    Returns:
        The result: ``x``, ``fun``, ``nfev``, ``njev``, ``nit``, ``success``,
        ``status``, ``message``, ``nfail``, ``strategy`` and ``history``.

    Raises:
        ValueError: For invalid bounds, ``x0``, budget or strategy name.
        TypeError: For options of the wrong type or an objective that does not
            return one number.
        Exception: The objective's own error, if it fails on its first evaluation
            or on every evaluation.

    Example:
        >>> import numpy as np, hybridopt
        >>> res = hybridopt.minimize(lambda x: float(np.sum(x**2)), x0=[1.0, -2.0],
        ...                          strategy="lbfgsb", seed=0)
        >>> bool(res.fun < 1e-10)
        True
    """
    problem = Problem.create(fun, x0, bounds=bounds, jac=jac, vectorized=vectorized)
    strat = resolve_strategy(strategy, options)
    if budget is None:
        budget = default_budget(problem.dim)
    owned = executor is None or isinstance(executor, str)
    exe = make_executor(executor)
    try:
        return run(
            strat,
            problem,
            budget=budget,
            seed=seed,
            executor=exe,
            callback=callback,
            show_progress=show_progress,
        )
    finally:
        if owned:
            exe.close()


def resolve_strategy(
    strategy: str | Strategy, options: Mapping[str, Any] | None = None
) -> Strategy:
    """A strategy object from a name and options, or the object itself.

    Raises:
        InvalidOptionError: If ``options`` are given with a strategy object, or are
            not a mapping.
    """
    if isinstance(strategy, Strategy):
        if options:
            raise InvalidOptionError(
                "options apply to a strategy given by name; a strategy object "
                "already carries its options"
            )
        return strategy
    if options is not None and not isinstance(options, Mapping):
        raise InvalidOptionError(
            f"options must be a dict, got {type(options).__name__}"
        )
    bad_keys = [k for k in options or {} if not isinstance(k, str)]
    if bad_keys:
        raise InvalidOptionError(f"option names must be strings, got {bad_keys[0]!r}")
    if not isinstance(strategy, str):
        raise TypeError(
            "strategy must be a registered name or a hybridopt.Strategy, got "
            f"{type(strategy).__name__}"
        )
    return get_strategy(strategy, **dict(options or {}))


def run(
    strategy: Strategy,
    problem: Problem,
    *,
    budget: int,
    seed: SeedLike = None,
    executor: Executor | None = None,
    callback: Callable[[Result], Any] | None = None,
    show_progress: bool = False,
) -> Result:
    """Runs a strategy on a problem until it stops; the core of :func:`minimize`.

    Raises:
        Exception: The objective's own error if its first evaluation failed or if
            every evaluation failed.
    """
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    space = problem.space
    if (
        strategy.info.needs_gradient
        and not space.has_jac
        and isinstance(budget, int)
        and 0 < budget < space.evaluation_cost(True)
    ):
        raise ValueError(
            f"a budget of {budget} evaluations cannot pay for one finite-difference "
            f"gradient of strategy {strategy.name!r} ({space.dim + 1} evaluations "
            "in this dimension); raise the budget or pass jac"
        )
    exe = executor if executor is not None else make_executor(None)
    evaluate = BatchEvaluator(problem, exe)
    state = strategy.init(problem.space, seed, budget=budget)
    logger.info(
        "run %s on %s (dim %d), budget %d",
        strategy.name,
        problem.name,
        problem.dim,
        budget,
    )
    bar = _progress_bar(budget) if show_progress else None
    first_error: BaseException | None = None
    n_ok = 0
    warned = False
    try:
        while not strategy.should_stop(state):
            batch, state = strategy.ask(state)
            evaluations, errors = evaluate(batch)
            if errors and first_error is None:
                first_error = errors[0][1]
                row = errors[0][0]
                if state.nfev == 0 and row == 0:
                    _raise_objective_error(first_error, batch.x[0])
            if evaluations.failed.any() and not warned:
                warned = True
                warnings.warn(
                    f"the objective failed (raised or returned a non-finite value) at "
                    f"{int(evaluations.failed.sum())} point(s); such points count as "
                    "worst and the run goes on",
                    BadObjectiveWarning,
                    stacklevel=user_stacklevel(),
                )
            n_ok += int(np.count_nonzero(~evaluations.failed))
            nfev_before = state.nfev
            state = strategy.tell(state, batch, evaluations)
            if bar is not None:
                bar.update(state.nfev - nfev_before)
                bar.set_postfix(best=f"{state.best_f:.6g}", refresh=False)
            logger.debug(
                "%s: nit %d nfev %d best %g",
                strategy.name,
                state.nit,
                state.nfev,
                state.best_f,
            )
            if callback is not None and not strategy.should_stop(state):
                try:
                    callback(result_from_state(state, strategy.name))
                except StopIteration:
                    state = strategy.finish(
                        state, "stopped by the callback", status=STATUS_CALLBACK
                    )
    finally:
        if bar is not None:
            bar.close()
    if state.nfev > 0 and n_ok == 0:
        if first_error is not None:
            _raise_objective_error(first_error, None, every=True)
        raise ValueError(
            f"the objective returned a non-finite value at every one of the "
            f"{state.nfail} points evaluated"
        )
    logger.info(
        "%s finished: %s; best f %g", strategy.name, state.message, state.best_f
    )
    return result_from_state(state, strategy.name)


def _raise_objective_error(
    err: BaseException, x: np.ndarray | None, *, every: bool = False
) -> None:
    where = "every evaluation" if every else f"its first evaluation, at x={x!r}"
    if hasattr(err, "add_note"):
        err.add_note(f"hybridopt: the objective failed on {where}")
    raise err


def _progress_bar(budget: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=budget, unit="eval", dynamic_ncols=True, leave=False)
