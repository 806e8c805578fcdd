"""Tests of the genetic algorithm and its DEAP glue."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import hybridopt
from hybridopt.builtin.stochastic._deap import Individual, seeded_random
from hybridopt.problem import Problem
from hybridopt.testing import CHECKS, advance

BOUNDS = [(-3.0, 3.0), (-1.0, 2.0), (0.0, 0.0), (-5.0, 5.0)]


def rastrigin(x: np.ndarray) -> float:
    return float(10 * x.size + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


def run_ga(fun=rastrigin, *, budget=600, seed=0, bounds=BOUNDS, x0=None, **options):
    options.setdefault("population_size", 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hybridopt.BadObjectiveWarning)
        return hybridopt.minimize(
            fun,
            x0,
            bounds=bounds,
            strategy="ga",
            options=options,
            budget=budget,
            seed=seed,
        )


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_conformance_small_population(check: str) -> None:
    CHECKS[check](lambda: hybridopt.get_strategy("ga", population_size=16))


@pytest.mark.parametrize("initial", ["sobol", "lhs", "uniform"])
def test_every_point_inside_bounds_including_fixed_coordinate(initial: str) -> None:
    seen = []

    def fun(x: np.ndarray) -> float:
        seen.append(np.array(x))
        return rastrigin(x - 4.0)

    res = run_ga(fun, initial=initial, eta_mutation=0.0, eta_crossover=0.0)
    pts = np.array(seen)
    lower, upper = np.array(BOUNDS).T
    assert np.all(pts >= lower) and np.all(pts <= upper)
    assert np.all(pts[:, 2] == 0.0)
    assert res.nfev == len(seen) == 600


@pytest.mark.parametrize("budget", [1, 5, 13, 100])
def test_budget_never_exceeded(budget: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hybridopt.InefficientSettingsWarning)
        res = run_ga(budget=budget)
    assert res.nfev == budget


def test_same_seed_same_run_and_different_seeds_differ() -> None:
    a, b, c = run_ga(seed=3), run_ga(seed=3), run_ga(seed=4)
    assert np.array_equal(a.x, b.x) and a.fun == b.fun
    assert np.array_equal(a.history, b.history)
    assert not np.array_equal(a.x, c.x)


def test_global_random_state_untouched() -> None:
    random.seed(12345)
    before = random.getstate()
    run_ga()
    assert random.getstate() == before


def test_global_random_state_does_not_change_the_run() -> None:
    random.seed(1)
    a = run_ga()
    random.seed(2)
    b = run_ga()
    assert np.array_equal(a.x, b.x)


def test_seeded_random_restores_on_error() -> None:
    from deap.tools import mutation

    with pytest.raises(KeyError), seeded_random(np.random.default_rng(0)) as stream:
        assert mutation.random is stream
        raise KeyError("inside")
    assert mutation.random is random


def test_threads_using_random_do_not_change_ga_runs() -> None:
    import threading

    def objective(x: np.ndarray) -> float:
        random.random()  # user code drawing from the global stream meanwhile
        return float(np.sum(x**2))

    def run() -> np.ndarray:
        return hybridopt.minimize(
            objective, bounds=[(-5, 5)] * 6, strategy="ga", budget=1500, seed=2
        ).x

    reference = run()
    out: dict[int, np.ndarray] = {}
    threads = [
        threading.Thread(target=lambda i=i: out.__setitem__(i, run())) for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(out[i], reference) for i in range(3))


def test_individual_fitness_minimizes() -> None:
    good, bad = Individual([0.0], 1.0), Individual([1.0], 2.0)
    assert good.fitness > bad.fitness
    assert not Individual([0.0]).fitness.valid


def test_x0_is_first_individual() -> None:
    x0 = np.array([1.0, 0.5, 0.0, -2.0])
    strategy = hybridopt.get_strategy("ga", population_size=8)
    space = Problem.create(rastrigin, x0, bounds=BOUNDS).space
    batch, _ = strategy.ask(strategy.init(space, 0, budget=100))
    assert np.array_equal(batch.x[0], x0)
    assert batch.x.shape == (8, 4)


def test_elites_survive() -> None:
    res = run_ga(budget=12 * 30, elitism=1)
    history = res.history[:, 1]
    assert np.all(np.diff(history) < 0)
    state = res.state
    assert state.generation == 29
    assert float(np.min(state.values)) == res.fun


@pytest.mark.parametrize("fail", ["nan", "raise"])
def test_failing_region_survived(fail: str) -> None:
    def fun(x: np.ndarray) -> float:
        if x[0] > 1.0:
            if fail == "raise":
                raise ArithmeticError("undefined")
            return float("nan")
        return float(np.sum((x - [1.2, 0.5, 0.0, 0.0]) ** 2))

    res = run_ga(fun, budget=800)
    assert res.nfail > 0
    assert res.x[0] <= 1.0 and res.fun < 0.1
    assert res.success


def test_state_round_trip_mid_run() -> None:
    problem = Problem.create(rastrigin, bounds=BOUNDS)
    strategy = hybridopt.get_strategy("ga", population_size=10)

    whole = advance(strategy, problem, strategy.init(problem.space, 5, budget=205))
    half = advance(strategy, problem, strategy.init(problem.space, 5, budget=205), 7)
    resumed = advance(strategy, problem, hybridopt.loads(hybridopt.dumps(half)))
    assert np.array_equal(resumed.population, whole.population)
    assert np.array_equal(resumed.values, whole.values)
    assert np.array_equal(resumed.best_x, whole.best_x)
    assert resumed.nfev == whole.nfev == 205


def test_small_budget_warns() -> None:
    with pytest.warns(hybridopt.InefficientSettingsWarning, match="population_size"):
        hybridopt.minimize(
            rastrigin,
            bounds=BOUNDS,
            strategy="ga",
            options={"population_size": 20},
            budget=30,
            seed=0,
        )


def test_needs_bounds() -> None:
    with pytest.raises(ValueError, match="finite bounds"):
        hybridopt.minimize(rastrigin, [1.0, 1.0], strategy="ga", budget=10)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"population_size": 1}, ValueError, "population_size"),
        ({"population_size": 2.5}, TypeError, "population_size"),
        ({"population_size": 10, "elitism": 10}, ValueError, "elitism"),
        ({"crossover_prob": 1.5}, ValueError, "crossover_prob"),
        ({"mutation_prob": -0.1}, ValueError, "mutation_prob"),
        ({"indpb": 0.0}, ValueError, "indpb"),
        ({"eta_crossover": -1}, ValueError, "eta_crossover"),
        ({"population_size": 4, "tournament_size": 5}, ValueError, "tournament_size"),
        ({"initial": "grid"}, ValueError, "initial"),
        ({"pop_size": 10}, hybridopt.InvalidOptionError, "population_size"),
    ],
)
def test_bad_options(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        hybridopt.get_strategy("ga", **options)
