"""Real-coded genetic algorithm with SBX crossover and polynomial mutation.

Implements the real-coded GA of Deb & Agrawal (1995), "Simulated binary crossover
for continuous search space", Complex Systems 9, with the polynomial mutation of
Deb & Goyal (1996), "A combined genetic adaptive search (GeneAS) for engineering
design", and binary tournament selection (Goldberg & Deb, 1991), using the
operators of DEAP (Fortin et al., 2012, JMLR 13). Replacement keeps the best
parents (elitism) and fills the rest with the best offspring.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, ClassVar

import numpy as np
from deap import tools
from scipy.stats import qmc

from hybridopt._records import frozen_array
from hybridopt._warnings import user_stacklevel
from hybridopt.builtin.stochastic._deap import Individual, seeded_random
from hybridopt.errors import InefficientSettingsWarning
from hybridopt.problem import Space
from hybridopt.strategy import Batch, Evaluations, State, Strategy, StrategyInfo
from hybridopt.validation import check_choice, check_int, check_real

__all__ = ["GAState", "GeneticAlgorithm"]

_INITIAL = ("sobol", "lhs", "uniform")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GAState(State):
    """State of a genetic algorithm run.

    Attributes:
        population: Individuals, shape ``(population_size, dim)``, inside the bounds.
        values: Their objective values (``+inf`` before evaluation or on failure).
        phase: ``"initial"`` until the first population is evaluated, then
            ``"offspring"``.
        generation: Generations of offspring evaluated and merged so far.
    """

    population: np.ndarray
    values: np.ndarray
    phase: str = "initial"
    generation: int = 0


class GeneticAlgorithm(Strategy):
    """Elitist real-coded GA on DEAP's SBX, polynomial mutation and tournaments.

    One generation: pick ``population_size`` parents by tournaments, pair them and
    cross each pair with probability ``crossover_prob`` (SBX), mutate each child
    with probability ``mutation_prob`` (polynomial mutation, each gene with
    probability ``indpb``), evaluate the children, then keep the ``elitism`` best
    parents and the best ``population_size - elitism`` children. The operators work
    on coordinates scaled to ``[0, 1]``, so every individual stays inside the
    bounds, and the distribution indices mean the same on every coordinate.

    The first batch is the initial population: a scrambled Sobol', Latin hypercube
    or uniform design over the box, with ``x0`` (if given) as its first member.
    Only the budget ends a run.

    Args:
        population_size: Individuals per generation (and evaluations per
            generation). The default, 50, suits problems of up to about 20
            variables; larger populations explore more and converge more slowly.
        crossover_prob: Probability that a pair of parents is crossed.
        mutation_prob: Probability that a child is mutated at all.
        indpb: Probability that a gene of a mutated child changes; ``None`` means
            ``1 / dim``.
        eta_crossover: SBX distribution index; larger keeps children nearer their
            parents.
        eta_mutation: Polynomial-mutation distribution index; larger gives
            smaller changes.
        tournament_size: Individuals compared in each selection tournament.
        elitism: Best parents carried over unchanged to the next generation.
        initial: Design of the initial population: ``"sobol"``, ``"lhs"`` or
            ``"uniform"``.

    Raises:
        InvalidOptionError: For an option of the wrong type.
        ValueError: For an option out of range, e.g. ``population_size < 2`` or
            ``elitism >= population_size``.

    Example:
        >>> import numpy as np, hybridopt
        >>> res = hybridopt.minimize(lambda x: float(np.sum(x**2)),
        ...     bounds=[(-5, 5)] * 2, strategy="ga", budget=2000, seed=0)
        >>> bool(res.fun < 1e-2)
        True

    References:
        Deb, K. & Agrawal, R. B. (1995). Simulated binary crossover for continuous
        search space. Complex Systems 9(2), 115-148.
    """

    name = "ga"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="stochastic",
        requires_bounds=True,
        summary="elitist real-coded GA (SBX, polynomial mutation, tournaments)",
        reference="Deb & Agrawal (1995); Deb & Goyal (1996); DEAP (Fortin et al. 2012)",
    )
    state_class: ClassVar[type[State]] = GAState

    def __init__(
        self,
        *,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        mutation_prob: float = 1.0,
        indpb: float | None = None,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        tournament_size: int = 3,
        elitism: int = 2,
        initial: str = "sobol",
    ) -> None:
        self.population_size = check_int(
            "population_size", population_size, low=2, high=1_000_000
        )
        self.crossover_prob = check_real(
            "crossover_prob", crossover_prob, low=0, high=1
        )
        self.mutation_prob = check_real("mutation_prob", mutation_prob, low=0, high=1)
        self.indpb = (
            None
            if indpb is None
            else check_real("indpb", indpb, low=0.0, high=1.0, low_open=True)
        )
        self.eta_crossover = check_real("eta_crossover", eta_crossover, low=0.0)
        self.eta_mutation = check_real("eta_mutation", eta_mutation, low=0.0)
        self.tournament_size = check_int("tournament_size", tournament_size, low=1)
        if self.tournament_size > self.population_size:
            raise ValueError(
                f"option 'tournament_size' ({self.tournament_size}) must not exceed "
                f"'population_size' ({self.population_size})"
            )
        self.elitism = check_int("elitism", elitism, low=0)
        if self.elitism >= self.population_size:
            raise ValueError(
                f"option 'elitism' ({self.elitism}) must be smaller than "
                f"'population_size' ({self.population_size}), or no offspring would "
                "ever enter the population"
            )
        self.initial = check_choice("initial", initial, _INITIAL)

    # -- access for hybrids ------------------------------------------------------

    @staticmethod
    def population(state: State) -> tuple[np.ndarray, np.ndarray]:
        """The current individuals ``(n, dim)`` and their values ``(n,)``."""
        assert isinstance(state, GAState)
        return state.population, state.values

    @staticmethod
    def generation(state: State) -> int:
        """Generations of offspring merged so far (0 during the initial phase)."""
        assert isinstance(state, GAState)
        return state.generation

    @staticmethod
    def replace_members(
        state: State, rows: np.ndarray, x: np.ndarray, f: np.ndarray
    ) -> State:
        """Overwrites individuals (used by memetic search to write refinements back).

        Args:
            state: A state of this strategy after the initial evaluation.
            rows: Indices of the individuals to overwrite.
            x: Their new coordinates, shape ``(len(rows), dim)``, inside the bounds.
            f: Their new values.

        Returns:
            The updated state.
        """
        assert isinstance(state, GAState)
        population = np.array(state.population)
        values = np.array(state.values)
        population[rows] = state.space.clip(np.asarray(x, dtype=float))
        values[rows] = np.asarray(f, dtype=float)
        return dataclasses.replace(
            state, population=frozen_array(population), values=frozen_array(values)
        )

    # -- hooks -------------------------------------------------------------------

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        if budget < 2 * self.population_size:
            warnings.warn(
                f"a budget of {budget} evaluations pays for fewer than two "
                f"generations of {self.population_size} individuals; lower "
                "population_size or raise the budget",
                InefficientSettingsWarning,
                stacklevel=user_stacklevel(),
            )
        population = self._initial_population(space, rng)
        return {
            "population": frozen_array(population),
            "values": frozen_array(np.full(self.population_size, np.inf)),
        }

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, GAState)
        if state.phase == "initial":
            return state.population, state
        return self._offspring(state, rng), state

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, GAState)
        f = np.where(np.isnan(evaluations.f), np.inf, evaluations.f)
        if state.phase == "initial":
            return dataclasses.replace(
                state,
                population=batch.x,
                values=frozen_array(f),
                phase="offspring",
            )

        n_keep = self.population_size - self.elitism
        elite = np.argsort(state.values, kind="stable")[: self.elitism]
        best_children = np.argsort(f, kind="stable")[:n_keep]
        population = np.vstack([state.population[elite], batch.x[best_children]])
        values = np.concatenate([state.values[elite], f[best_children]])
        return dataclasses.replace(
            state,
            population=frozen_array(population),
            values=frozen_array(values),
            generation=state.generation + 1,
        )

    # -- internals ---------------------------------------------------------------

    def _initial_population(self, space: Space, rng: np.random.Generator) -> np.ndarray:
        n, dim = self.population_size, space.dim
        seed = int(rng.integers(2**63))
        if self.initial == "sobol":
            # Draw a power of two and keep a prefix: Sobol' balance needs 2**m points.
            m = max(0, math.ceil(math.log2(n)))
            unit = qmc.Sobol(dim, rng=seed).random_base2(m)[:n]
        elif self.initial == "lhs":
            unit = qmc.LatinHypercube(dim, rng=seed).random(n)
        else:
            unit = np.random.default_rng(seed).random((n, dim))
        population = space.lower + unit * (space.upper - space.lower)
        if space.x0 is not None:
            population[0] = space.x0
        return space.clip(population)

    def _offspring(self, state: GAState, rng: np.random.Generator) -> np.ndarray:
        space = state.space
        width = space.upper - space.lower
        # Fixed coordinates (zero width) map to 0 and back to their only value.
        scale = np.where(width > 0, width, 1.0)
        unit = (state.population - space.lower) / scale
        indpb = self.indpb if self.indpb is not None else 1.0 / space.dim
        n = self.population_size
        parents = [Individual(u, v) for u, v in zip(unit, state.values, strict=True)]

        with seeded_random(rng) as stream:
            chosen = tools.selTournament(parents, n, self.tournament_size)
            children = [Individual(p) for p in chosen]
            for a, b in zip(children[::2], children[1::2], strict=False):
                if stream.random() < self.crossover_prob:
                    tools.cxSimulatedBinaryBounded(a, b, self.eta_crossover, 0.0, 1.0)
            for child in children:
                if stream.random() < self.mutation_prob:
                    tools.mutPolynomialBounded(
                        child, self.eta_mutation, 0.0, 1.0, indpb
                    )

        unit_children = np.clip(np.array(children, dtype=float), 0.0, 1.0)
        return space.clip(space.lower + unit_children * width)
