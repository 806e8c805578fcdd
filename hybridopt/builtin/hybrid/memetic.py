"""Memetic search: a genetic algorithm whose best individuals are refined locally.

Implements the memetic algorithm of Moscato (1989), "On evolution, search,
optimization, genetic algorithms and martial arts: towards memetic algorithms",
Caltech C3P report 826, in the form classified by Krasnogor & Smith (2005), "A
tutorial for competent memetic algorithms", IEEE Trans. Evol. Comput. 9(5): a GA
that periodically hands its best individuals to a local search, with Lamarckian
(refined points re-enter the population) or Baldwinian (only the refined value
does) inheritance.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hybridopt._records import frozen_array
from hybridopt.builtin.hybrid._children import (
    Children,
    add_children,
    ask_children,
    min_child_budget,
    resolve_child,
    tell_children,
)
from hybridopt.builtin.stochastic.ga import GeneticAlgorithm
from hybridopt.errors import InvalidOptionError
from hybridopt.problem import Space
from hybridopt.registry import get_strategy
from hybridopt.strategy import Batch, Evaluations, State, Strategy, StrategyInfo
from hybridopt.validation import check_int

__all__ = ["Memetic", "MemeticState"]

logger = logging.getLogger(__name__)

# Share of the whole budget given to each local run by default.
_LOCAL_FRACTION = 0.05


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MemeticState(State):
    """State of a memetic run.

    Attributes:
        ga: The genetic algorithm's state.
        ga_batch: The GA's batch awaiting values, during the ``"ga"`` phase.
        phase: ``"ga"`` (a generation is evaluated) or ``"local"`` (the best
            individuals are being refined).
        local: The local runs of the current ``"local"`` phase.
        targets: Population rows refined by those runs, in the same order.
        refined: Points already refined (start and end points), never refined
            again.
    """

    ga: State
    ga_batch: Batch | None = None
    phase: str = "ga"
    local: Children = dataclasses.field(default_factory=Children)
    targets: tuple[int, ...] = ()
    refined: np.ndarray


class Memetic(Strategy):
    """A GA whose ``top_k`` best individuals get a local run every few generations.

    The GA (the ``"ga"`` strategy) runs generation by generation. After every
    ``every``-th generation, the ``top_k`` best individuals that are distinct and
    not refined before each start a local run with ``local_budget`` evaluations;
    the runs advance in lockstep in shared batches. When all have stopped, each
    refined result is written back to its individual, if better: its point and
    value (``lamarckian=True``) or its value only (``lamarckian=False``). The GA
    then goes on. Only the budget ends a run.

    Args:
        ga_options: Options of the GA (see :class:`GeneticAlgorithm`).
        local: The local strategy: a registered name or a strategy object.
        local_options: Options for a named ``local``.
        every: Generations between local phases.
        top_k: Individuals refined per local phase.
        local_budget: Evaluations per local run; ``None`` means 5% of the budget,
            at least ``10 * (dim + 1)``. Capped by what is left.
        lamarckian: Write refined points back (Lamarckian) or only their values
            (Baldwinian).

    Raises:
        InvalidOptionError: For options of the wrong type or unknown GA options.
        UnknownStrategyError: If ``local`` names no registered strategy.
        ValueError: For out-of-range options.

    Example:
        >>> import numpy as np, hybridopt
        >>> fun = lambda x: float(np.sum(x**2 - 2 * np.cos(3 * x)))
        >>> res = hybridopt.minimize(fun, bounds=[(-4, 4)] * 2, strategy="memetic",
        ...     options={"ga_options": {"population_size": 20}}, budget=3000, seed=0)
        >>> bool(res.fun < -3.99)
        True

    References:
        Krasnogor, N. & Smith, J. (2005). A tutorial for competent memetic
        algorithms: model, taxonomy, and design issues. IEEE Transactions on
        Evolutionary Computation 9(5), 474-488.
    """

    name = "memetic"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="hybrid",
        requires_bounds=True,
        summary="GA whose best individuals are refined by a local strategy",
        reference="Moscato (1989); Krasnogor & Smith (2005)",
    )
    state_class: ClassVar[type[State]] = MemeticState

    def __init__(
        self,
        *,
        ga_options: Mapping[str, Any] | None = None,
        local: str | Strategy = "lbfgsb",
        local_options: Mapping[str, Any] | None = None,
        every: int = 5,
        top_k: int = 2,
        local_budget: int | None = None,
        lamarckian: bool = True,
    ) -> None:
        if ga_options is not None and not isinstance(ga_options, Mapping):
            raise InvalidOptionError(
                f"option 'ga_options' must be a dict, got {type(ga_options).__name__}"
            )
        self.ga_options = None if ga_options is None else dict(ga_options)
        ga = get_strategy("ga", **(self.ga_options or {}))
        if not isinstance(ga, GeneticAlgorithm):
            raise TypeError(
                f"memetic search needs the built-in 'ga' strategy, got {type(ga)!r}"
            )
        self._ga = ga
        self.local = local
        self._local = resolve_child("local", local, local_options)
        self.local_options = None if local_options is None else dict(local_options)
        self.every = check_int("every", every, low=1)
        self.top_k = check_int("top_k", top_k, low=1)
        if self.top_k > ga.population_size:
            raise ValueError(
                f"option 'top_k' ({self.top_k}) must not exceed the GA's "
                f"population_size ({ga.population_size})"
            )
        self.local_budget = (
            None
            if local_budget is None
            else check_int("local_budget", local_budget, low=1)
        )
        if not isinstance(lamarckian, bool):
            raise InvalidOptionError(
                f"option 'lamarckian' must be True or False, got {lamarckian!r}"
            )
        self.lamarckian = lamarckian

    def wants_gradient(self, state: State) -> bool:
        """Whether the pending batch is a local step that asks for gradients."""
        assert isinstance(state, MemeticState)
        return state.phase == "local" and state.local.need_grad

    # -- hooks -------------------------------------------------------------------

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        ga_state = self._ga.init(space, int(rng.integers(2**63)), budget=budget)
        return {"ga": ga_state, "refined": frozen_array(np.empty((0, space.dim)))}

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, MemeticState)
        if state.phase == "local":
            x, local = ask_children(self._local, state.local, state.space)
            state = dataclasses.replace(state, local=local)
            if x.shape[0]:
                return x, state
            # Every local run stopped on being asked: back to the GA.
            state = self._end_local(state)

        # The GA may spend whatever the local runs have left.
        ga_state = dataclasses.replace(
            state.ga, budget=state.ga.nfev + state.budget - state.nfev
        )
        batch, ga_state = self._ga.ask(ga_state)
        return batch.x, dataclasses.replace(state, ga=ga_state, ga_batch=batch)

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, MemeticState)
        if state.phase == "local":
            local = tell_children(self._local, state.local, evaluations)
            state = dataclasses.replace(state, local=local)
            if all(self._local.should_stop(s) for s in local.states):
                state = self._end_local(state)
            return state

        assert state.ga_batch is not None
        ga_state = self._ga.tell(state.ga, state.ga_batch, evaluations)
        state = dataclasses.replace(state, ga=ga_state, ga_batch=None)
        generation = self._ga.generation(ga_state)
        if generation > 0 and generation % self.every == 0:
            state = self._start_local(state, rng)
        return state

    # -- internals ---------------------------------------------------------------

    def _start_local(self, state: MemeticState, rng: np.random.Generator) -> State:
        space = state.space
        population, values = self._ga.population(state.ga)
        targets = self._pick_targets(state, population, values)
        if not targets:
            return state
        left = state.budget - state.nfev
        per_run = self.local_budget
        if per_run is None:
            per_run = max(10 * (space.dim + 1), round(_LOCAL_FRACTION * state.budget))
        per_run = min(per_run, left // len(targets))
        if per_run < min_child_budget(self._local, space):
            return state
        starts = [population[i] for i in targets]
        local = add_children(
            Children(), self._local, space, starts, [per_run] * len(targets), rng
        )
        logger.info(
            "memetic: generation %d, refining %d individual(s), %d evaluations each",
            self._ga.generation(state.ga),
            len(targets),
            per_run,
        )
        return dataclasses.replace(
            state, phase="local", local=local, targets=tuple(targets)
        )

    def _pick_targets(
        self, state: MemeticState, population: np.ndarray, values: np.ndarray
    ) -> list[int]:
        """The best distinct individuals that were not refined before."""
        space = state.space
        # Points closer than this (per coordinate) count as the same individual.
        tol = 1e-9 * (space.upper - space.lower) + 1e-12
        chosen: list[int] = []
        for i in np.argsort(values, kind="stable"):
            if len(chosen) == self.top_k or not np.isfinite(values[i]):
                break
            seen = np.vstack([state.refined, population[chosen]])
            if seen.size and np.any(
                np.all(np.abs(seen - population[i]) <= tol, axis=1)
            ):
                continue
            chosen.append(int(i))
        return chosen

    def _end_local(self, state: MemeticState) -> MemeticState:
        population, values = self._ga.population(state.ga)
        rows, xs, fs, done = [], [], [], [population[i] for i in state.targets]
        for i, child in zip(state.targets, state.local.states, strict=True):
            if child.best_x is None or not child.best_f < values[i]:
                continue
            rows.append(i)
            xs.append(child.best_x if self.lamarckian else population[i])
            fs.append(child.best_f)
            done.append(np.asarray(child.best_x))
        ga_state = state.ga
        if rows:
            ga_state = self._ga.replace_members(
                ga_state, np.array(rows), np.array(xs), np.array(fs)
            )
        refined = np.vstack([state.refined, *done]) if done else state.refined
        return dataclasses.replace(
            state,
            ga=ga_state,
            phase="ga",
            local=Children(),
            targets=(),
            refined=frozen_array(refined),
        )
