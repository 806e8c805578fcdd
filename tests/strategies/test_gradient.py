"""Tests of the first-order strategies and of L-BFGS-B.

The update rules are checked step by step against scalar re-derivations of the
formulas of the papers (in the form ``torch.optim`` documents them) and against
a few hand-computed numbers; L-BFGS-B is checked against
``scipy.optimize.minimize(method="L-BFGS-B")`` point for point.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import scipy.optimize
from scipy.optimize import rosen, rosen_der

import hybridopt
from hybridopt.evaluation import SerialExecutor, evaluate_batch
from hybridopt.problem import Problem
from hybridopt.strategy import Strategy

FIRST_ORDER = ("momentum", "adam", "rmsprop", "adagrad")
ALL = (*FIRST_ORDER, "lbfgsb")

# f(x) = 0.5 * sum(A * x**2): each coordinate evolves on its own, so the scalar
# reference updates below apply per coordinate.
A = np.array([1.0, 4.0, 0.25])
X0 = np.array([1.0, -1.5, 2.0])


def quad(x: np.ndarray) -> float:
    return float(0.5 * np.sum(A * x**2))


def quad_grad(x: np.ndarray) -> np.ndarray:
    return A * x


def iterates(
    strategy: Strategy,
    problem: Problem,
    steps: int,
    state: hybridopt.State | None = None,
    seed: int = 0,
    budget: int = 10_000,
) -> tuple[list[np.ndarray], hybridopt.State]:
    """The points evaluated by ``steps`` ask/tell rounds, and the last state."""
    if state is None:
        state = strategy.init(problem.space, seed, budget=budget)
    executor = SerialExecutor()
    points = []
    for _ in range(steps):
        if strategy.should_stop(state):
            break
        batch, state = strategy.ask(state)
        assert batch.need_grad and batch.x.shape == (1, problem.dim)
        points.append(np.array(batch.x[0]))
        evaluations, _ = evaluate_batch(problem, batch, executor)
        state = strategy.tell(state, batch, evaluations)
    return points, state


def reference_trajectory(
    update: Callable[[float, float, dict[str, float], int], float], steps: int
) -> np.ndarray:
    """Iterates of a scalar update rule applied to every coordinate of X0."""
    rows = [X0.copy()]
    for i, (x, a) in enumerate(zip(X0, A, strict=True)):
        memory: dict[str, float] = {}
        for t in range(1, steps):
            x = update(x, a * x, memory, t)
            if len(rows) <= t:
                rows.append(np.zeros_like(X0))
            rows[t][i] = x
    return np.array(rows)


def sgd_rule(lr: float, mu: float, damp: float, nesterov: bool):
    def update(x: float, g: float, mem: dict[str, float], t: int) -> float:
        mem["b"] = g if t == 1 else mu * mem["b"] + (1 - damp) * g
        d = g + mu * mem["b"] if nesterov else mem["b"]
        return x - lr * d

    return update


def adam_rule(lr: float, b1: float, b2: float, eps: float, amsgrad: bool):
    def update(x: float, g: float, mem: dict[str, float], t: int) -> float:
        mem["m"] = b1 * mem.get("m", 0.0) + (1 - b1) * g
        mem["v"] = b2 * mem.get("v", 0.0) + (1 - b2) * g * g
        mem["vmax"] = max(mem.get("vmax", 0.0), mem["v"])
        v = mem["vmax"] if amsgrad else mem["v"]
        m_hat = mem["m"] / (1 - b1**t)
        return x - lr * m_hat / (math.sqrt(v) / math.sqrt(1 - b2**t) + eps)

    return update


def rmsprop_rule(lr: float, alpha: float, eps: float, mu: float, centered: bool):
    def update(x: float, g: float, mem: dict[str, float], t: int) -> float:
        mem["v"] = alpha * mem.get("v", 0.0) + (1 - alpha) * g * g
        mem["a"] = alpha * mem.get("a", 0.0) + (1 - alpha) * g
        var = mem["v"] - mem["a"] ** 2 if centered else mem["v"]
        scale = math.sqrt(var) + eps
        if mu > 0:
            mem["b"] = mu * mem.get("b", 0.0) + g / scale
            return x - lr * mem["b"]
        return x - lr * g / scale

    return update


def adagrad_rule(lr: float, decay: float, init: float, eps: float):
    def update(x: float, g: float, mem: dict[str, float], t: int) -> float:
        mem["s"] = mem.get("s", init) + g * g
        return x - lr / (1 + (t - 1) * decay) * g / (math.sqrt(mem["s"]) + eps)

    return update


RULES = [
    ("momentum", {"learning_rate": 0.1, "momentum": 0.9}, sgd_rule(0.1, 0.9, 0, False)),
    (
        "momentum",
        {"learning_rate": 0.05, "momentum": 0.8, "dampening": 0.3},
        sgd_rule(0.05, 0.8, 0.3, False),
    ),
    (
        "momentum",
        {"learning_rate": 0.1, "momentum": 0.7, "nesterov": True},
        sgd_rule(0.1, 0.7, 0, True),
    ),
    ("momentum", {"learning_rate": 0.2, "momentum": 0}, sgd_rule(0.2, 0, 0, False)),
    ("adam", {}, adam_rule(0.01, 0.9, 0.999, 1e-8, False)),
    (
        "adam",
        {
            "learning_rate": 0.3,
            "beta1": 0.5,
            "beta2": 0.9,
            "eps": 1e-3,
            "amsgrad": True,
        },
        adam_rule(0.3, 0.5, 0.9, 1e-3, True),
    ),
    ("rmsprop", {}, rmsprop_rule(0.01, 0.99, 1e-8, 0.0, False)),
    (
        "rmsprop",
        {"learning_rate": 0.05, "alpha": 0.9, "momentum": 0.5, "centered": True},
        rmsprop_rule(0.05, 0.9, 1e-8, 0.5, True),
    ),
    ("adagrad", {}, adagrad_rule(0.1, 0.0, 0.0, 1e-10)),
    (
        "adagrad",
        {"learning_rate": 0.5, "lr_decay": 0.1, "initial_accumulator_value": 0.2},
        adagrad_rule(0.5, 0.1, 0.2, 1e-10),
    ),
]


@pytest.mark.parametrize(("name", "options", "rule"), RULES)
def test_first_three_steps_match_the_formulas(name, options, rule) -> None:
    problem = Problem.create(quad, X0, jac=quad_grad)
    points, _ = iterates(hybridopt.get_strategy(name, **options), problem, 4)
    expected = reference_trajectory(rule, 4)
    # Equal up to the rounding of a differently ordered sum.
    np.testing.assert_allclose(np.array(points), expected, rtol=1e-14, atol=1e-300)


def test_heavy_ball_by_hand() -> None:
    # f = x**2, x0 = 1, learning rate 0.1, momentum 0.5:
    # b = 2, 0.5*2 + 1.6 = 2.6, 0.5*2.6 + 1.08 = 2.38.
    problem = Problem.create(lambda x: float(x[0] ** 2), [1.0], jac=lambda x: 2 * x)
    strategy = hybridopt.get_strategy("momentum", learning_rate=0.1, momentum=0.5)
    points, _ = iterates(strategy, problem, 4)
    np.testing.assert_allclose(np.ravel(points), [1.0, 0.8, 0.54, 0.302], rtol=1e-15)


def test_adam_first_step_has_the_learning_rate_as_length() -> None:
    # After bias correction the first step is lr * g / (|g| + eps) per coordinate.
    problem = Problem.create(quad, X0, jac=quad_grad)
    points, _ = iterates(hybridopt.get_strategy("adam", learning_rate=0.25), problem, 2)
    g = A * X0
    np.testing.assert_allclose(
        points[1], X0 - 0.25 * g / (np.abs(g) + 1e-8), rtol=1e-15
    )


@pytest.mark.parametrize(
    ("name", "options", "tol"),
    [
        ("momentum", {"learning_rate": 0.1, "momentum": 0.5}, 1e-12),
        ("momentum", {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True}, 1e-12),
        ("adam", {"learning_rate": 0.05}, 1e-6),
        ("rmsprop", {"learning_rate": 0.01}, 1e-12),
        ("adagrad", {"learning_rate": 0.5}, 1e-8),
        ("lbfgsb", {}, 1e-16),
    ],
)
def test_converges_on_a_convex_quadratic(name, options, tol) -> None:
    # A rotated, shifted ill-conditioned quadratic with its minimum at c.
    q = np.array([[0.8, 0.6], [-0.6, 0.8]])
    h = q @ np.diag([1.0, 10.0]) @ q.T
    c = np.array([0.5, -0.25])

    def fun(x: np.ndarray) -> float:
        return float(0.5 * (x - c) @ h @ (x - c))

    res = hybridopt.minimize(
        fun,
        [2.0, 1.0],
        jac=lambda x: h @ (x - c),
        strategy=name,
        options=options,
        budget=2000,
    )
    assert res.fun < tol, res.message
    assert res.success


def test_lbfgsb_converges_on_rosenbrock_with_finite_differences() -> None:
    res = hybridopt.minimize(rosen, [-1.2, 1.0, 0.8], strategy="lbfgsb", budget=3000)
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, 1.0, atol=1e-3)
    assert res.njev == 0 and res.nfev % 4 == 0


ROSEN_X0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5])


@pytest.mark.parametrize(
    "bounds",
    [
        None,
        [(-2.0, 0.8)] * 5,
        [(-2, 2), (None, 0.5), (0.2, None), (None, None), (-1, 1)],
    ],
    ids=["unbounded", "box", "mixed"],
)
@pytest.mark.parametrize("options", [{}, {"m": 3, "gtol": 1e-8, "ftol": 1e-12}])
def test_lbfgsb_matches_scipy(bounds, options) -> None:
    x0 = ROSEN_X0
    if bounds is not None:
        low = [-np.inf if b[0] is None else b[0] for b in bounds]
        high = [np.inf if b[1] is None else b[1] for b in bounds]
        x0 = np.clip(x0, low, high)
    scipy_options = {
        "maxcor": options.get("m", 10),
        **{k: v for k, v in options.items() if k != "m"},
    }
    ref = scipy.optimize.minimize(
        rosen,
        x0,
        jac=rosen_der,
        bounds=bounds,
        method="L-BFGS-B",
        options=scipy_options,
    )
    res = hybridopt.minimize(
        rosen,
        x0,
        jac=rosen_der,
        bounds=bounds,
        strategy="lbfgsb",
        options=options,
        budget=10_000,
    )
    assert ref.success and res.success and res.status == 0
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.fun == ref.fun
    assert (res.nfev, res.njev, res.nit) == (ref.nfev, ref.njev, ref.nit)


def test_lbfgsb_max_iter_matches_scipy_maxiter() -> None:
    ref = scipy.optimize.minimize(
        rosen, ROSEN_X0, jac=rosen_der, method="L-BFGS-B", options={"maxiter": 7}
    )
    res = hybridopt.minimize(
        rosen, ROSEN_X0, jac=rosen_der, strategy="lbfgsb", options={"max_iter": 7}
    )
    assert res.nit == ref.nit == 7
    assert res.nfev == ref.nfev
    np.testing.assert_array_equal(res.x, ref.x)
    assert "max_iter=7" in res.message


def test_lbfgsb_state_round_trip_gives_the_identical_run() -> None:
    problem = Problem.create(rosen, ROSEN_X0, jac=rosen_der, bounds=[(-2, 1.5)] * 5)
    strategy = hybridopt.get_strategy("lbfgsb", m=4)
    _, whole = iterates(strategy, problem, 10_000)
    for k in (1, 2, 9, 30):
        _, half = iterates(strategy, problem, k)
        text = hybridopt.dumps(half)
        resumed_state = hybridopt.loads(text)
        assert hybridopt.dumps(resumed_state) == text
        _, resumed = iterates(
            hybridopt.get_strategy("lbfgsb", m=4), problem, 10_000, state=resumed_state
        )
        np.testing.assert_array_equal(resumed.best_x, whole.best_x)
        np.testing.assert_array_equal(resumed.x, whole.x)
        assert hybridopt.dumps(resumed) == hybridopt.dumps(whole)
    assert whole.status == 0 and whole.nit > 20


def test_lbfgsb_interleaved_runs_do_not_share_solver_memory() -> None:
    # Two runs advanced alternately give the same points as each run alone,
    # so the solver keeps nothing outside the arrays in the state.
    strategy = hybridopt.get_strategy("lbfgsb")
    problem_a = Problem.create(rosen, ROSEN_X0, jac=rosen_der)
    problem_b = Problem.create(quad, X0, jac=quad_grad)
    alone_a, _ = iterates(strategy, problem_a, 25)
    alone_b, _ = iterates(strategy, problem_b, 25)
    state_a = strategy.init(problem_a.space, 0, budget=1000)
    state_b = strategy.init(problem_b.space, 0, budget=1000)
    mixed_a, mixed_b = [], []
    for _ in range(25):
        points, state_a = iterates(strategy, problem_a, 1, state=state_a)
        mixed_a += points
        points, state_b = iterates(strategy, problem_b, 1, state=state_b)
        mixed_b += points
    np.testing.assert_array_equal(mixed_a, alone_a[: len(mixed_a)])
    np.testing.assert_array_equal(mixed_b, alone_b[: len(mixed_b)])


def test_lbfgsb_state_arrays_are_read_only() -> None:
    problem = Problem.create(quad, X0, jac=quad_grad)
    _, state = iterates(hybridopt.get_strategy("lbfgsb"), problem, 2)
    for name in ("x", "g", "wa", "iwa", "task", "ln_task", "lsave", "isave", "dsave"):
        assert not getattr(state, name).flags.writeable, name


@pytest.mark.parametrize("name", ALL)
def test_bounds_are_respected(name) -> None:
    # The minimum (3, -3, 0) lies outside the box; every evaluated point and the
    # result stay inside it, and the result sits on the active faces.
    lower, upper = np.array([-1.0, -0.5, -1.0]), np.array([1.0, 0.5, 1.0])
    seen = []

    def fun(x: np.ndarray) -> float:
        seen.append(np.array(x))
        return float(np.sum((x - [3.0, -3.0, 0.0]) ** 2))

    res = hybridopt.minimize(
        fun,
        [0.0, 0.0, 0.5],
        jac=lambda x: 2 * (x - [3.0, -3.0, 0.0]),
        bounds=list(zip(lower, upper, strict=True)),
        strategy=name,
        options={} if name in ("lbfgsb", "adagrad") else {"learning_rate": 0.1},
        budget=400,
    )
    pts = np.array(seen)
    assert np.all(pts >= lower) and np.all(pts <= upper)
    np.testing.assert_allclose(res.x[:2], [1.0, -0.5], atol=1e-9)


def _nan_half_space(x: np.ndarray) -> float:
    # The unconstrained minimum (0.8, 0, 0) lies where the objective is NaN.
    return float("nan") if x[0] > 0.6 else float(np.sum((x - [0.8, 0, 0]) ** 2))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("jac", [True, False], ids=["jac", "fd"])
def test_survives_a_nan_region(name, jac) -> None:
    with pytest.warns(hybridopt.BadObjectiveWarning):
        res = hybridopt.minimize(
            _nan_half_space,
            [-1.0, 0.5, 0.5],
            jac=(lambda x: 2 * (x - [0.8, 0, 0])) if jac else None,
            strategy=name,
            budget=1200,
            options={"learning_rate": 0.2} if name in ("momentum", "rmsprop") else {},
        )
    assert res.nfail > 0
    assert np.isfinite(res.fun) and res.x[0] <= 0.6
    # The best feasible value is 0.04 at (0.6, 0, 0); the start has 3.74.
    assert res.fun < 0.1, (res.fun, res.message)


def test_lbfgsb_steps_around_a_failing_ball_and_still_converges() -> None:
    # A NaN ball on scipy's own path for this start: one trial point falls in it.
    centre = np.array([1.467, 0.601, 0.080, -0.095, 0.064])

    def fun(x: np.ndarray) -> float:
        return float("nan") if np.linalg.norm(x - centre) < 0.5 else rosen(x)

    with pytest.warns(hybridopt.BadObjectiveWarning):
        res = hybridopt.minimize(
            fun, ROSEN_X0, jac=rosen_der, strategy="lbfgsb", budget=1000
        )
    assert res.success and res.nfail >= 1
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)


def test_lbfgsb_survives_a_raising_objective() -> None:
    def fun(x: np.ndarray) -> float:
        if x[0] > 0.6:
            raise FloatingPointError("undefined here")
        return float(np.sum((x - [0.8, 0, 0]) ** 2))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hybridopt.BadObjectiveWarning)
        res = hybridopt.minimize(fun, [-1.0, 0.5, 0.5], strategy="lbfgsb", budget=800)
    # It stalls honestly at the edge of the failing region.
    assert res.nfail > 0 and res.fun < 0.1 and res.status in (0, 3)


def test_lbfgsb_failure_at_the_start_ends_the_run() -> None:
    problem = Problem.create(lambda x: float("nan"), X0, jac=quad_grad)
    strategy = hybridopt.get_strategy("lbfgsb")
    _, state = iterates(strategy, problem, 5)
    assert strategy.should_stop(state) and state.nfev == 1
    assert "start point" in state.message


def test_lbfgsb_without_jac_counts_difference_evaluations() -> None:
    res = hybridopt.minimize(quad, X0, strategy="lbfgsb", budget=500)
    assert res.fun < 1e-10 and res.nfev == 4 * (res.nfev // 4)


def test_lbfgsb_budget_cuts_the_run() -> None:
    res = hybridopt.minimize(
        rosen, ROSEN_X0, jac=rosen_der, strategy="lbfgsb", budget=9
    )
    assert res.nfev == 9 and res.status == 1


@pytest.mark.parametrize(
    ("name", "options", "error", "match"),
    [
        ("momentum", {"learning_rate": -1}, ValueError, "learning_rate"),
        ("momentum", {"momentum": "a"}, TypeError, "momentum"),
        ("momentum", {"momentum": 1.5}, ValueError, "momentum"),
        ("momentum", {"nesterov": True, "momentum": 0}, ValueError, "nesterov"),
        ("momentum", {"nesterov": True, "dampening": 0.1}, ValueError, "dampening"),
        ("momentum", {"nesterov": 1}, TypeError, "nesterov"),
        ("adam", {"beta1": 1.0}, ValueError, "beta1"),
        ("adam", {"beta2": -0.1}, ValueError, "beta2"),
        ("adam", {"eps": float("nan")}, ValueError, "eps"),
        ("adam", {"amsgrad": "yes"}, TypeError, "amsgrad"),
        ("rmsprop", {"alpha": 2.0}, ValueError, "alpha"),
        ("rmsprop", {"centered": None}, TypeError, "centered"),
        ("adagrad", {"lr_decay": -0.5}, ValueError, "lr_decay"),
        ("adagrad", {"initial_accumulator_value": -1}, ValueError, "initial"),
        ("adagrad", {"learning_rate": 0}, ValueError, "learning_rate"),
        ("lbfgsb", {"m": 0}, ValueError, "'m'"),
        ("lbfgsb", {"m": 2.5}, TypeError, "'m'"),
        ("lbfgsb", {"maxls": 0}, ValueError, "maxls"),
        ("lbfgsb", {"ftol": -1e-9}, ValueError, "ftol"),
        ("lbfgsb", {"gtol": "small"}, TypeError, "gtol"),
        ("lbfgsb", {"max_iter": 0}, ValueError, "max_iter"),
        ("lbfgsb", {"learning_rate": 0.1}, TypeError, "learning_rate"),
    ],
)
def test_invalid_options_raise_clear_errors(name, options, error, match) -> None:
    with pytest.raises(error, match=match):
        hybridopt.get_strategy(name, **options)


@pytest.mark.parametrize("name", ALL)
def test_registered_with_gradient_info(name) -> None:
    strategy = hybridopt.get_strategy(name)
    assert strategy.name == name
    info = strategy.info
    assert info.family == "gradient" and info.needs_gradient and info.requires_start
    assert info.summary and info.reference


def test_lbfgsb_rejects_a_setulb_with_another_signature(monkeypatch) -> None:
    from scipy.optimize import _lbfgsb

    from hybridopt.builtin.gradient import lbfgsb

    def setulb(m, x, l, u, nbd, f, g, factr, pgtol, wa, iwa, task, csave):  # noqa: E741
        raise AssertionError("not reached")

    monkeypatch.setattr(_lbfgsb, "setulb", setulb)
    with pytest.raises(ImportError, match=r"scipy 1\.15 to 1\.17"):
        lbfgsb._load_setulb()
