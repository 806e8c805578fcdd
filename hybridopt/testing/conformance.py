"""Checks that every strategy, built-in or from a plugin, must pass.

Each check takes a factory that builds a fresh strategy and raises
``AssertionError`` with an explanation when the strategy breaks the contract. The
checks use only hybridopt's public interface, as a plugin author would. Run them
all with :func:`check_strategy`, or parametrize a pytest test over
:data:`CHECKS`::

    import pytest
    from hybridopt.testing import CHECKS

    @pytest.mark.parametrize("check", sorted(CHECKS))
    def test_conformance(check):
        CHECKS[check](lambda: MyStrategy(step=0.1))

Problems are tiny (2-3 variables, budgets of a few hundred to two thousand
evaluations), so the whole suite runs in seconds for a typical strategy.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import hybridopt
from hybridopt.evaluation import SerialExecutor, evaluate_batch
from hybridopt.problem import Problem
from hybridopt.strategy import Strategy

__all__ = [
    "CHECKS",
    "advance",
    "StrategyFactory",
    "check_bounds_kept",
    "check_budget_exact",
    "check_converges_on_sphere",
    "check_different_seeds_differ",
    "check_failing_objective_raises",
    "check_quiet",
    "check_same_seed_same_result",
    "check_state_round_trip",
    "check_strategy",
    "check_survives_nan",
    "check_survives_raising",
]

StrategyFactory = Callable[[], Strategy]

_CENTRE = np.array([0.3, -0.2, 0.1])
_BOUNDS = [(-2.0, 2.0)] * 3
_X0 = np.array([1.5, 1.0, -1.2])


def _sphere(x: np.ndarray) -> float:
    return float(np.sum((x - _CENTRE) ** 2))


def _minimize(
    make: StrategyFactory, fun: Callable[..., float], **kwargs: Any
) -> hybridopt.Result:
    kwargs.setdefault("bounds", _BOUNDS)
    kwargs.setdefault("x0", _X0)
    kwargs.setdefault("budget", 600)
    kwargs.setdefault("seed", 0)
    x0 = kwargs.pop("x0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hybridopt.BadObjectiveWarning)
        warnings.simplefilter("ignore", hybridopt.InefficientSettingsWarning)
        return hybridopt.minimize(fun, x0, strategy=make(), **kwargs)


def check_bounds_kept(make: StrategyFactory) -> None:
    """Every evaluated point lies inside the bounds, even when the optimum does not."""
    lower, upper = np.array([-1.0, 0.0, -0.5]), np.array([1.0, 0.5, 0.5])
    seen: list[np.ndarray] = []

    def fun(x: np.ndarray) -> float:
        seen.append(np.array(x))
        return float(np.sum((x - 10.0) ** 2))

    res = _minimize(
        make, fun, bounds=list(zip(lower, upper, strict=True)), x0=np.zeros(3)
    )
    pts = np.array(seen)
    assert pts.size, "the strategy evaluated nothing"
    assert np.all(pts >= lower) and np.all(pts <= upper), (
        "a point outside the bounds was evaluated: "
        f"{pts[np.any((pts < lower) | (pts > upper), axis=1)][0]}"
    )
    assert np.all(res.x >= lower) and np.all(res.x <= upper)


def check_budget_exact(make: StrategyFactory) -> None:
    """``nfev`` equals the number of objective calls and never exceeds the budget."""
    for budget in (1, 37, 400):
        calls = 0

        def fun(x: np.ndarray) -> float:
            nonlocal calls
            calls += 1
            return _sphere(x)

        try:
            res = _minimize(make, fun, budget=budget)
        except ValueError as err:
            # Refusing a budget too small for one step is fine; going over is not.
            if budget < 10 and "budget" in str(err) and calls == 0:
                continue
            raise
        assert calls == res.nfev, f"nfev={res.nfev} but the objective ran {calls} times"
        assert res.nfev <= budget, f"nfev={res.nfev} exceeds budget={budget}"


def _nan_region(x: np.ndarray) -> float:
    # The minimum (0.8, 0, 0) sits just beyond the edge of a region where the
    # objective fails, so a strategy has to walk into it.
    return float("nan") if x[0] > 0.6 else float(np.sum((x - [0.8, 0, 0]) ** 2))


def _raising_region(x: np.ndarray) -> float:
    if x[0] > 0.6:
        raise FloatingPointError("undefined for x[0] > 0.6")
    return float(np.sum((x - [0.8, 0, 0]) ** 2))


def check_survives_nan(make: StrategyFactory) -> None:
    """NaN values count as worst; the run goes on and reports them."""
    _check_survives(make, _nan_region)


def check_survives_raising(make: StrategyFactory) -> None:
    """An objective raising at some points does not end the run."""
    _check_survives(make, _raising_region)


def _check_survives(make: StrategyFactory, fun: Callable[..., float]) -> None:
    res = _minimize(make, fun, x0=np.array([-1.0, 0.5, 0.5]), budget=800)
    assert np.isfinite(res.fun), "the best value is not finite"
    assert res.x[0] <= 0.6, "the best point lies in the failing region"
    assert isinstance(res.nfail, int) and res.nfail >= 0
    # A gradient method may stall at the edge of the failing region (status 3),
    # which is honest; what it must not do is crash or report a failed point.
    assert res.status in (0, 1, 3), f"unexpected status {res.status}: {res.message}"


def check_failing_objective_raises(make: StrategyFactory) -> None:
    """An objective failing on its first evaluation raises its own error."""

    def broken(x: np.ndarray) -> float:
        raise ZeroDivisionError("bug in the objective")

    try:
        _minimize(make, broken)
    except ZeroDivisionError:
        return
    raise AssertionError("a run whose objective always raised did not raise")


def check_same_seed_same_result(make: StrategyFactory) -> None:
    """Two runs with the same seed give bit-identical results."""
    kwargs = {"x0": None, "budget": 500, "seed": 1234}
    a = _minimize(make, _sphere, **kwargs)
    b = _minimize(make, _sphere, **kwargs)
    assert np.array_equal(a.x, b.x), f"x differs: {a.x} vs {b.x}"
    assert a.fun == b.fun and a.nfev == b.nfev and a.nit == b.nit
    assert np.array_equal(a.history, b.history)


def check_different_seeds_differ(make: StrategyFactory) -> None:
    """Different seeds give different runs (from random starts)."""
    runs = [
        _minimize(make, _sphere, x0=None, budget=300, seed=s).history for s in (1, 2)
    ]
    assert not np.array_equal(runs[0], runs[1]), "seeds 1 and 2 gave the same run"


def check_converges_on_sphere(make: StrategyFactory) -> None:
    """Reaches f < 1e-3 on a shifted 3-D sphere with 2000 evaluations."""
    res = _minimize(make, _sphere, budget=2000)
    assert res.fun < 1e-3, f"f={res.fun:g} after {res.nfev} evaluations ({res.message})"


def advance(
    strategy: Strategy,
    problem: Problem,
    state: hybridopt.State,
    steps: int | None = None,
) -> hybridopt.State:
    """Runs ``steps`` ask/tell rounds serially (all of them with ``None``).

    The loop of :func:`hybridopt.run` without its checks, for tests that stop and
    resume runs.
    """
    executor = SerialExecutor()
    done = 0
    while not strategy.should_stop(state) and (steps is None or done < steps):
        batch, state = strategy.ask(state)
        evaluations, _ = evaluate_batch(problem, batch, executor)
        state = strategy.tell(state, batch, evaluations)
        done += 1
    return state


def check_state_round_trip(make: StrategyFactory) -> None:
    """A run serialized mid-way and resumed ends exactly like an uninterrupted one."""
    problem = Problem.create(_sphere, _X0, bounds=_BOUNDS)

    strategy = make()
    whole = advance(strategy, problem, strategy.init(problem.space, 7, budget=400))

    strategy = make()
    half = advance(strategy, problem, strategy.init(problem.space, 7, budget=400), 3)
    text = hybridopt.dumps(half)
    resumed = advance(make(), problem, hybridopt.loads(text))
    assert hybridopt.dumps(resumed) == hybridopt.dumps(whole), (
        "resuming from a serialized state changed the run"
    )


def check_quiet(make: StrategyFactory) -> None:
    """A run writes nothing to stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _minimize(make, _sphere, budget=200)
    assert out.getvalue() == "", f"the strategy printed: {out.getvalue()[:200]!r}"


CHECKS: dict[str, Callable[[StrategyFactory], None]] = {
    "bounds_kept": check_bounds_kept,
    "budget_exact": check_budget_exact,
    "converges_on_sphere": check_converges_on_sphere,
    "different_seeds_differ": check_different_seeds_differ,
    "failing_objective_raises": check_failing_objective_raises,
    "quiet": check_quiet,
    "same_seed_same_result": check_same_seed_same_result,
    "state_round_trip": check_state_round_trip,
    "survives_nan": check_survives_nan,
    "survives_raising": check_survives_raising,
}


def check_strategy(make: StrategyFactory) -> None:
    """Runs every check; raises ``AssertionError`` naming the first that fails."""
    for name, check in CHECKS.items():
        try:
            check(make)
        except AssertionError as err:
            raise AssertionError(f"conformance check {name!r} failed: {err}") from err
