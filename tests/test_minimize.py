from __future__ import annotations

import warnings

import numpy as np
import pytest

import hybridopt
from hybridopt.evaluation import SerialExecutor, evaluate_batch
from hybridopt.strategy import Batch


def sphere(x):
    return float(np.sum(x**2))


def test_result_fields_are_scipy_like():
    res = hybridopt.minimize(sphere, [1.0, -1.0], strategy="gd", budget=60, seed=0)
    for key in ("x", "fun", "nfev", "njev", "nit", "success", "status", "message"):
        assert key in res
    assert res.strategy == "gd" and res.history.shape[1] == 2
    assert res.nfev == 60 and res.status == 1 and "budget" in res.message
    assert np.all(np.diff(res.history[:, 1]) < 0)


@pytest.mark.parametrize("budget", [0, -5])
def test_budget_must_be_positive(budget):
    with pytest.raises(ValueError, match="budget must be >= 1"):
        hybridopt.minimize(sphere, [1.0], strategy="gd", budget=budget)


def test_options_with_strategy_object_is_an_error():
    with pytest.raises(TypeError, match="options apply to a strategy given by name"):
        hybridopt.minimize(
            sphere, [1.0], strategy=hybridopt.get_strategy("gd"), options={"gtol": 1}
        )


@pytest.mark.parametrize(
    "value", [None, "1.0", [1.0, 2.0], np.ones(3), True, 1 + 2j, {"f": 1}]
)
def test_objective_must_return_one_number(value):
    with pytest.raises(hybridopt.ObjectiveReturnError, match="one real number"):
        hybridopt.minimize(lambda x: value, [1.0], strategy="gd", budget=10)


@pytest.mark.parametrize("value", [np.float32(2), np.array(3.0), np.array([4]), 5])
def test_accepted_scalars(value):
    res = hybridopt.minimize(lambda x: value, [1.0], strategy="gd", budget=4)
    assert res.fun == float(np.asarray(value).item())


def test_first_evaluation_error_is_raised_with_a_note():
    def broken(x):
        raise KeyError("missing column")

    with pytest.raises(KeyError, match="missing column") as info:
        hybridopt.minimize(broken, [1.0], strategy="gd", budget=10)
    assert any("first evaluation" in note for note in info.value.__notes__)


def test_all_nan_raises():
    with (
        pytest.warns(hybridopt.BadObjectiveWarning),
        pytest.raises(ValueError, match="non-finite value at every"),
    ):
        hybridopt.minimize(lambda x: np.nan, [1.0], strategy="gd", budget=10)


def test_failures_are_counted_and_warned():
    def f(x):
        if x[0] > 0.5:
            raise ArithmeticError("outside the domain")
        return float((x[0] - 1) ** 2)

    with pytest.warns(hybridopt.BadObjectiveWarning):
        res = hybridopt.minimize(
            f,
            [0.0],
            jac=lambda x: 2 * (x - 1),
            strategy="gd",
            budget=50,
            options={"learning_rate": 0.4},
        )
    assert res.nfail > 0 and res.x[0] <= 0.5 and np.isfinite(res.fun)
    assert f"{res.nfail} of {res.nfev} evaluations failed" in res.message


def test_callback_can_stop_the_run():
    seen = []

    def callback(intermediate):
        seen.append(intermediate.nit)
        if intermediate.nit >= 3:
            raise StopIteration

    res = hybridopt.minimize(sphere, [1.0], strategy="gd", callback=callback)
    assert seen == [1, 2, 3] and res.status == 2 and res.nit == 3


def test_finite_differences_match_analytic_gradient():
    def f(x):
        return float(np.sin(x[0]) * np.exp(x[1]) + x[2] ** 3)

    def grad(x):
        return np.array(
            [np.cos(x[0]) * np.exp(x[1]), np.sin(x[0]) * np.exp(x[1]), 3 * x[2] ** 2]
        )

    x = np.array([[0.3, -0.4, 1.1], [1.0, 0.5, -2.0]])
    upper = np.array([np.inf, np.inf, 1.1])  # the first point sits on a bound
    problem = hybridopt.Problem.create(f, bounds=list(zip(-upper, upper, strict=True)))
    evaluations, errors = evaluate_batch(
        problem, Batch(x=x, need_grad=True), SerialExecutor()
    )
    assert not errors and evaluations.cost == 4 and evaluations.nfev == 8
    for i in range(2):
        assert np.allclose(evaluations.grad[i], grad(x[i]), rtol=1e-6, atol=1e-6)


def test_vectorized_objective_gets_whole_batches():
    shapes = []

    def f(xs):
        shapes.append(xs.shape)
        return np.sum(xs**2, axis=1)

    res = hybridopt.minimize(
        f, bounds=[(-1, 1)] * 2, strategy="ga", vectorized=True, budget=200, seed=0
    )
    assert res.nfev == 200 and np.isfinite(res.fun)
    assert all(len(s) == 2 and s[0] > 1 for s in shapes)


def test_quiet_by_default(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hybridopt.minimize(sphere, [1.0], strategy="gd", budget=20)
    assert capsys.readouterr().out == ""


def test_finite_differences_stay_inside_a_thin_or_fixed_box():
    seen = []

    def f(x):
        seen.append(x.copy())
        return float(np.sum((x - 0.5) ** 2))

    lower = np.array([0.0, 1.0, -1.0])
    upper = np.array([1.0, 1.0, -1.0 + 1e-12])  # a fixed and a very thin coordinate
    problem = hybridopt.Problem.create(f, bounds=list(zip(lower, upper, strict=True)))
    x = np.array([[1.0, 1.0, -1.0], [0.0, 1.0, -1.0 + 1e-12]])
    evaluations, _ = evaluate_batch(
        problem, Batch(x=x, need_grad=True), SerialExecutor()
    )
    pts = np.array(seen)
    assert np.all(pts >= lower) and np.all(pts <= upper)
    assert np.all(np.isfinite(evaluations.grad))
    assert np.all(evaluations.grad[:, 1] == 0.0)
    assert np.allclose(evaluations.grad[:, 0], [1.0, -1.0], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_objectives_get_longer_difference_steps(dtype):
    res = hybridopt.minimize(
        lambda x: dtype(np.sum((x - 3) ** 2)), [0.0, 0.0], strategy="lbfgsb", seed=0
    )
    assert np.allclose(res.x, 3.0, atol=0.05), res.x


def test_vectorized_objective_contract():
    calls = []

    def raising(xs):
        calls.append(len(xs))
        if len(calls) == 2:
            raise RuntimeError("batch failed")
        return np.sum(xs**2, axis=1)

    with pytest.warns(hybridopt.BadObjectiveWarning):
        res = hybridopt.minimize(
            raising,
            bounds=[(-1, 1)] * 2,
            strategy="ga",
            vectorized=True,
            options={"population_size": 10},
            budget=60,
            seed=0,
        )
    # The failed batch is not evaluated again row by row.
    assert sum(calls) == res.nfev == 60 and res.nfail == 10
    for bad in (lambda xs: xs[:, 0] > 0, lambda xs: xs[:, 0] + 1j, lambda xs: xs):
        with pytest.raises(hybridopt.ObjectiveReturnError, match="real array of shape"):
            hybridopt.minimize(
                bad,
                bounds=[(-1, 1)] * 2,
                strategy="ga",
                options={"population_size": 10},
                vectorized=True,
                budget=20,
            )


def test_complex_gradient_is_rejected():
    with pytest.raises(hybridopt.ObjectiveReturnError, match="jac must return a real"):
        hybridopt.minimize(
            sphere, [1.0], jac=lambda x: x + 0j, strategy="gd", budget=10
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ValueError, "non-negative"),
        ({"seed": 1.5}, TypeError, "seed must be"),
        ({"options": {1: 2}}, TypeError, "option names must be strings"),
        ({"callback": 5}, TypeError, "callback must be callable"),
        ({"budget": 2}, ValueError, "cannot pay for one finite-difference gradient"),
        ({"executor": "dask"}, ValueError, "executor must be 'serial' or 'ray'"),
    ],
)
def test_bad_arguments_fail_before_any_evaluation(kwargs, error, match):
    calls = []

    def f(x):
        calls.append(1)
        return float(x @ x)

    with pytest.raises(error, match=match):
        hybridopt.minimize(f, [1.0, 2.0], strategy="lbfgsb", **kwargs)
    assert calls == []


def test_init_wants_the_space():
    problem = hybridopt.Problem.create(sphere, [1.0])
    with pytest.raises(TypeError, match="problem.space"):
        hybridopt.get_strategy("gd").init(problem, 0, budget=10)


def test_failed_start_is_not_success():
    def f(x):
        return 0.0 if np.all(x == 0.5) else np.inf

    # The start value is fine but its finite-difference gradient is not.
    res = hybridopt.minimize(f, [0.5, 0.5], strategy="adam", budget=50)
    assert res.status == 3 and not res.success


def test_iteration_limit_is_status_one():
    res = hybridopt.minimize(
        sphere, [1.0], strategy="gd", options={"max_iter": 3}, budget=100
    )
    assert res.status == 1 and "max_iter" in res.message


class TwoArgumentError(Exception):
    """Pickles, but cannot be rebuilt from its pickle."""

    def __init__(self, a, b):
        super().__init__(a)


def test_exceptions_that_cannot_be_rebuilt_are_replaced():
    from hybridopt.evaluation._evaluate import EvaluationError, _sendable

    out = _sendable(TwoArgumentError(1, 2))
    assert isinstance(out, EvaluationError) and "TwoArgumentError" in str(out)
    err = ValueError("plain")
    assert _sendable(err) is err
