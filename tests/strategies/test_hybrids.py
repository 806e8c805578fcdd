"""Tests of the hybrid strategies: restarts, memetic search and auto."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import hybridopt
from hybridopt.evaluation import SerialExecutor, evaluate_batch
from hybridopt.problem import Problem
from hybridopt.testing import CHECKS, advance

HYBRIDS = {
    "restarts": {"n_starts": 4, "parallel": 2},
    "memetic": {"ga_options": {"population_size": 10}, "every": 2},
    "auto": {},
}


def wells(x: np.ndarray) -> float:
    """Several local minima per coordinate; the global one is at 0 with f = -2 dim."""
    return float(np.sum(x**2 - 2.0 * np.cos(3.0 * x)))


def rastrigin(x: np.ndarray) -> float:
    return float(10 * x.size + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


def quiet_minimize(fun, x0=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hybridopt.BadObjectiveWarning)
        warnings.simplefilter("ignore", hybridopt.InefficientSettingsWarning)
        return hybridopt.minimize(fun, x0, **kwargs)


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("name", sorted(HYBRIDS))
def test_conformance_with_options(name: str, check: str) -> None:
    CHECKS[check](lambda: hybridopt.get_strategy(name, **HYBRIDS[name]))


@pytest.mark.parametrize("name", sorted(HYBRIDS))
@pytest.mark.parametrize("budget", [1, 7, 150, 451])
def test_budget_exact_and_bounds_kept(name: str, budget: int) -> None:
    lower, upper = np.array([-1.0, 0.4, -2.0]), np.array([1.0, 0.5, 3.0])
    seen = []

    def fun(x: np.ndarray) -> float:
        seen.append(np.array(x))
        return wells(x - 2.5)

    res = quiet_minimize(
        fun,
        bounds=list(zip(lower, upper, strict=True)),
        strategy=name,
        options=HYBRIDS[name],
        budget=budget,
        seed=1,
    )
    pts = np.array(seen)
    assert res.nfev == len(seen) <= budget
    assert np.all(pts >= lower) and np.all(pts <= upper)


@pytest.mark.parametrize("name", sorted(HYBRIDS))
def test_seeds(name: str) -> None:
    def go(seed: int):
        return quiet_minimize(
            rastrigin,
            bounds=[(-3, 3)] * 3,
            strategy=name,
            options=HYBRIDS[name],
            budget=400,
            seed=seed,
        )

    a, b, c = go(11), go(11), go(12)
    assert np.array_equal(a.x, b.x) and a.fun == b.fun
    assert np.array_equal(a.history, b.history)
    assert not np.array_equal(a.history, c.history)


@pytest.mark.parametrize("name", ["memetic", "auto"])
def test_global_random_state_untouched(name: str) -> None:
    random.seed(99)
    before = random.getstate()
    quiet_minimize(rastrigin, bounds=[(-3, 3)] * 2, strategy=name, budget=300, seed=0)
    assert random.getstate() == before


@pytest.mark.parametrize("name", sorted(HYBRIDS))
@pytest.mark.parametrize("fail", ["nan", "raise"])
def test_failing_region_survived(name: str, fail: str) -> None:
    def fun(x: np.ndarray) -> float:
        if x[0] > 0.5:
            if fail == "raise":
                raise ArithmeticError("undefined")
            return float("nan")
        return float(np.sum((x - [0.7, -0.3]) ** 2))

    res = quiet_minimize(
        fun,
        bounds=[(-2, 2)] * 2,
        strategy=name,
        options=HYBRIDS[name],
        budget=600,
        seed=0,
    )
    assert res.nfail > 0 and res.success
    assert res.x[0] <= 0.5 and res.fun < 0.05 + 1e-3


def test_restarts_finds_global_minimum() -> None:
    for seed in range(2):
        res = quiet_minimize(
            wells, bounds=[(-4, 4)] * 2, strategy="restarts", budget=600, seed=seed
        )
        assert res.fun == pytest.approx(-4.0, abs=1e-6)
        assert np.allclose(res.x, 0.0, atol=1e-3)


def test_restarts_uses_x0_first_and_every_start() -> None:
    x0 = np.array([3.0, -3.0])
    strategy = hybridopt.get_strategy("restarts", n_starts=5, parallel=2)
    problem = Problem.create(wells, x0, bounds=[(-4, 4)] * 2)
    state = strategy.init(problem.space, 0, budget=5000)
    assert np.array_equal(state.children.states[0].space.x0, x0)
    executor = SerialExecutor()
    widest = 0
    while not strategy.should_stop(state):
        batch, state = strategy.ask(state)
        widest = max(widest, len(state.children.states))
        evaluations, _ = evaluate_batch(problem, batch, executor)
        state = strategy.tell(state, batch, evaluations)
    assert widest == 2
    assert state.starts_used == 5
    assert state.message == "all 5 starts done"
    assert state.nfev <= 5000


@pytest.mark.parametrize("sampler", ["sobol", "halton", "lhs"])
def test_restarts_samplers(sampler: str) -> None:
    res = quiet_minimize(
        wells,
        bounds=[(-4, 4)] * 2,
        strategy="restarts",
        options={"sampler": sampler},
        budget=600,
        seed=0,
    )
    assert res.fun == pytest.approx(-4.0, abs=1e-6)


def test_restarts_needs_bounds() -> None:
    with pytest.raises(ValueError, match="restarts.*bounds"):
        hybridopt.minimize(wells, [1.0, 1.0], strategy="restarts", budget=100)


def test_memetic_beats_ga_alone() -> None:
    bounds = [(-5.12, 5.12)] * 3
    ga_options = {"population_size": 12}

    def median(strategy: str, options: dict) -> float:
        values = [
            quiet_minimize(
                rastrigin,
                bounds=bounds,
                strategy=strategy,
                options=options,
                budget=1200,
                seed=seed,
            ).fun
            for seed in range(5)
        ]
        return float(np.median(values))

    ga = median("ga", ga_options)
    memetic = median("memetic", {"ga_options": ga_options})
    assert memetic < ga


@pytest.mark.parametrize("lamarckian", [True, False])
def test_memetic_writes_refinements_back(lamarckian: bool) -> None:
    res = quiet_minimize(
        wells,
        bounds=[(-4, 4)] * 2,
        strategy="memetic",
        options={
            "ga_options": {"population_size": 10},
            "every": 1,
            "lamarckian": lamarckian,
        },
        budget=800,
        seed=2,
    )
    state = res.state
    population, values = state.ga.population, state.ga.values
    assert state.refined.shape[0] > 0
    # Refined points are local minima; Lamarckian search puts them in the GA.
    has_refined = any(
        np.any(np.all(np.isclose(state.refined, p, atol=0, rtol=0), axis=1))
        and abs(np.sin(3 * p)).max() < 1e-3
        for p in population
    )
    assert has_refined == lamarckian
    assert float(np.min(values)) <= res.fun + 1e-12 or not lamarckian


@pytest.mark.parametrize("name", sorted(HYBRIDS))
def test_state_round_trip_mid_run(name: str) -> None:
    problem = Problem.create(rastrigin, bounds=[(-3, 3)] * 3)

    def make():
        return hybridopt.get_strategy(name, **HYBRIDS[name])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hybridopt.InefficientSettingsWarning)
        whole = advance(make(), problem, make().init(problem.space, 3, budget=700))
        half = advance(make(), problem, make().init(problem.space, 3, budget=700), 9)
    resumed = advance(make(), problem, hybridopt.loads(hybridopt.dumps(half)))
    assert np.array_equal(resumed.best_x, whole.best_x)
    assert resumed.best_f == whole.best_f and resumed.nfev == whole.nfev
    assert np.array_equal(np.array(resumed.history), np.array(whole.history))
    assert hybridopt.dumps(resumed) == hybridopt.dumps(whole)


def test_auto_choices() -> None:
    bounded = quiet_minimize(wells, bounds=[(-4, 4)] * 2, budget=500, seed=0)
    assert bounded.strategy == "auto"
    assert bounded.state.choice == "memetic"
    free = quiet_minimize(
        lambda x: float(np.sum((x - 1.0) ** 2)), [3.0, -2.0], budget=500, seed=0
    )
    assert free.state.choice == "lbfgsb"
    assert free.fun < 1e-8


@pytest.mark.parametrize(
    ("name", "options", "error", "match"),
    [
        ("restarts", {"local": "lbfgs"}, hybridopt.UnknownStrategyError, "lbfgsb"),
        ("memetic", {"local": "nope"}, hybridopt.UnknownStrategyError, "nope"),
        ("restarts", {"local": 3}, hybridopt.InvalidOptionError, "local"),
        ("restarts", {"local_options": {"lr": 1}}, hybridopt.InvalidOptionError, "lr"),
        ("restarts", {"n_starts": 0}, ValueError, "n_starts"),
        ("restarts", {"parallel": 0}, ValueError, "parallel"),
        ("restarts", {"sampler": "grid"}, ValueError, "sampler"),
        ("memetic", {"every": 0}, ValueError, "every"),
        (
            "memetic",
            {"ga_options": {"population_size": 4}, "top_k": 5},
            ValueError,
            "top_k",
        ),
        (
            "memetic",
            {"ga_options": {"population_size": 1}},
            ValueError,
            "population_size",
        ),
        ("memetic", {"ga_options": {"elitism": 50}}, ValueError, "elitism"),
        ("memetic", {"ga_options": {"size": 4}}, hybridopt.InvalidOptionError, "size"),
        ("memetic", {"lamarckian": "yes"}, hybridopt.InvalidOptionError, "lamarckian"),
        ("memetic", {"local_budget": 0}, ValueError, "local_budget"),
        ("auto", {"budget": 3}, hybridopt.InvalidOptionError, "budget"),
    ],
)
def test_bad_options(name: str, options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        hybridopt.get_strategy(name, **options)


def test_local_strategy_object_and_options_conflict() -> None:
    local = hybridopt.get_strategy("gd", learning_rate=0.1)
    strategy = hybridopt.get_strategy("restarts", local=local, n_starts=2)
    assert "gd" in repr(strategy)
    with pytest.raises(hybridopt.InvalidOptionError, match="local_options"):
        hybridopt.get_strategy("restarts", local=local, local_options={"gtol": 1.0})
