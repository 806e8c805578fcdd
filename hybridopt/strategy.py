"""The one interface every strategy implements, gradient-based and stochastic alike.

A :class:`Strategy` is configuration only: its options are validated in ``__init__``
and never change. Everything that changes during a run lives in a :class:`State`, a
frozen dataclass that serializes to JSON without pickle (see
:mod:`hybridopt._records`). A run is the loop::

    state = strategy.init(problem.space, seed, budget=budget)
    while not strategy.should_stop(state):
        batch, state = strategy.ask(state)
        evaluations = executor_evaluates(batch)
        state = strategy.tell(state, batch, evaluations)

A gradient method is a strategy whose batch holds one candidate and asks for its
gradient; a genetic algorithm asks for a whole population; a hybrid is a strategy
whose state holds the states of child strategies. The public ``ask``/``tell`` do
the work every strategy shares (projection onto the bounds, exact budget
accounting, failed-evaluation counts, best-so-far), and subclasses implement the
hooks ``_init``, ``_ask`` and ``_tell``.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np

from hybridopt._records import Record, frozen_array
from hybridopt.problem import Space

__all__ = [
    "RUNNING",
    "STATUS_BUDGET",
    "STATUS_CALLBACK",
    "STATUS_CONVERGED",
    "STATUS_STALLED",
    "Batch",
    "Evaluations",
    "SeedLike",
    "State",
    "Strategy",
    "StrategyInfo",
    "as_generator",
    "generator_from_state",
]

RUNNING = -1
STATUS_CONVERGED = 0
STATUS_BUDGET = 1
STATUS_CALLBACK = 2
STATUS_STALLED = 3

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


@dataclasses.dataclass(frozen=True, slots=True)
class StrategyInfo:
    """Capabilities of a strategy, checked against a problem before a run.

    Attributes:
        family: ``"gradient"``, ``"stochastic"`` or ``"hybrid"``.
        needs_gradient: Whether it asks for gradients (finite differences are used
            when the problem has no ``jac``).
        requires_bounds: Whether every coordinate needs finite bounds.
        requires_start: Whether it needs ``x0`` or finite bounds to start from.
        summary: One line for listings.
        reference: The paper or source it implements.
    """

    family: Literal["gradient", "stochastic", "hybrid"]
    needs_gradient: bool = False
    requires_bounds: bool = False
    requires_start: bool = False
    summary: str = ""
    reference: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Batch(Record):
    """Candidates handed out by :meth:`Strategy.ask`.

    Attributes:
        x: Candidates, shape ``(n, dim)``, inside the bounds.
        need_grad: Whether gradients are wanted at every candidate.
        partial: The budget could not pay for every candidate the strategy wanted,
            so ``x`` holds only the first ones and the run ends after this batch.
    """

    x: np.ndarray
    need_grad: bool = False
    partial: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluations(Record):
    """Values of one batch, in the order of its candidates.

    Attributes:
        f: Objective values; ``+inf`` where the evaluation failed.
        failed: Whether the objective raised or returned NaN at that candidate.
        grad: Gradients, shape ``(n, dim)``, when the batch asked for them; rows
            may hold NaN where a finite-difference point failed.
        cost: Objective evaluations spent per candidate.
        jac_calls: Gradient-function calls per candidate (0 or 1).
    """

    f: np.ndarray
    failed: np.ndarray
    grad: np.ndarray | None = None
    cost: int = 1
    jac_calls: int = 0

    @property
    def nfev(self) -> int:
        """Objective evaluations spent on the whole batch."""
        return int(self.f.size) * self.cost

    @property
    def njev(self) -> int:
        """Gradient-function calls made for the whole batch."""
        return int(self.f.size) * self.jac_calls

    def take(self, start: int, stop: int) -> Evaluations:
        """The evaluations of candidates ``start:stop`` (hybrids split batches)."""
        return dataclasses.replace(
            self,
            f=self.f[start:stop],
            failed=self.failed[start:stop],
            grad=None if self.grad is None else self.grad[start:stop],
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class State(Record):
    """Run-time values shared by every strategy; subclasses add their own fields.

    Arrays in a state are read-only; update a state with ``dataclasses.replace``.

    Attributes:
        space: The problem's data (dimension, bounds, start point).
        budget: Objective evaluations this run may spend.
        rng: The random generator's ``bit_generator.state``.
        nfev: Objective evaluations spent so far (finite differences included).
        njev: Gradient-function calls so far.
        nit: Completed iterations (generations for a GA).
        nfail: Evaluations that raised or returned NaN.
        best_x: Best candidate seen, or ``None`` before the first evaluation.
        best_f: Its value.
        history: ``(nfev, best_f)`` pairs, one per improvement of the best value.
        status: ``-1`` while running, then ``0`` (the strategy's own criterion
            was met), ``1`` (budget or iteration limit reached), ``2`` (stopped
            by the callback) or ``3`` (stalled: the strategy cannot make
            progress, e.g. a line search failed, without meeting its tolerance).
        message: Why the run stopped.
    """

    space: Space
    budget: int
    rng: Mapping[str, Any]
    nfev: int = 0
    njev: int = 0
    nit: int = 0
    nfail: int = 0
    best_x: np.ndarray | None = None
    best_f: float = float("inf")
    history: tuple[tuple[int, float], ...] = ()
    status: int = RUNNING
    message: str = ""

    def generator(self) -> np.random.Generator:
        """A generator positioned where this state's random stream stands."""
        return generator_from_state(self.rng)


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Builds the run's generator; the same seed always gives the same stream."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not (
        seed is None or isinstance(seed, int | np.integer | np.random.SeedSequence)
    ):
        raise TypeError(
            "seed must be None, an int, a numpy SeedSequence or Generator, got "
            f"{type(seed).__name__}"
        )
    if isinstance(seed, int | np.integer) and seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng(seed)


def generator_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    """Rebuilds a generator from a stored ``bit_generator.state``."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {name!r}")
    bit_gen = _BIT_GENERATORS[name]()
    try:
        bit_gen.state = state
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"invalid {name} generator state: {err!r}") from None
    return np.random.Generator(bit_gen)


_BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
    "MT19937": np.random.MT19937,
}


class Strategy(abc.ABC):
    """Base class of every strategy.

    Subclasses set :attr:`name`, :attr:`info` and :attr:`state_class`, take their
    options as keyword-only ``__init__`` arguments stored under the same attribute
    names, and implement :meth:`_init`, :meth:`_ask` and :meth:`_tell`.
    """

    name: ClassVar[str] = ""
    info: ClassVar[StrategyInfo]
    state_class: ClassVar[type[State]] = State
    #: Whether ``_tell`` maintains ``state.nit`` itself (a solver with its own notion
    #: of iteration); otherwise every complete tell counts one iteration.
    counts_iterations: ClassVar[bool] = False

    # -- public loop -------------------------------------------------------------

    def init(self, space: Space, seed: SeedLike = None, *, budget: int) -> State:
        """Starts a run.

        Args:
            space: The problem's data, usually ``problem.space``.
            seed: Seed of the run's random stream.
            budget: Objective evaluations the run may spend (``>= 1``).

        Returns:
            The initial state.

        Raises:
            ValueError: If the problem lacks something the strategy needs.
        """
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer):
            raise TypeError(f"budget must be an int, got {type(budget).__name__}")
        if budget < 1:
            raise ValueError(f"budget must be >= 1 evaluation, got {budget}")
        if not isinstance(space, Space):
            raise TypeError(
                f"init() takes the problem's Space (problem.space), got "
                f"{type(space).__name__}"
            )
        self.check_space(space)
        rng = as_generator(seed)
        fields = self._init(space, rng, int(budget))
        return self.state_class(
            space=space,
            budget=int(budget),
            rng=rng.bit_generator.state,
            **fields,
        )

    def ask(self, state: State) -> tuple[Batch, State]:
        """Proposes the next batch of candidates.

        The batch is projected onto the bounds and cut to what the remaining
        budget pays for; a cut batch is marked ``partial`` and ends the run.

        Raises:
            RuntimeError: If the run has already stopped.
        """
        if self.should_stop(state):
            raise RuntimeError(f"the run has stopped ({state.message}); ask() again")
        rng = state.generator()
        x, state = self._ask(state, rng)
        space = state.space
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != space.dim:
            raise RuntimeError(
                f"strategy {self.name!r} proposed candidates of shape {x.shape}; "
                f"expected (n, {space.dim})"
            )
        need_grad = self.wants_gradient(state)
        cost = space.evaluation_cost(need_grad)
        affordable = max(state.budget - state.nfev, 0) // cost
        partial = affordable < x.shape[0]
        x = frozen_array(space.clip(x[:affordable]))
        state = dataclasses.replace(state, rng=rng.bit_generator.state)
        return Batch(x=x, need_grad=need_grad, partial=partial), state

    def tell(self, state: State, batch: Batch, evaluations: Evaluations) -> State:
        """Takes the values of the batch returned by the last :meth:`ask`."""
        n = batch.x.shape[0]
        if evaluations.f.shape != (n,):
            raise ValueError(
                f"got {evaluations.f.shape[0] if evaluations.f.ndim else 0} values "
                f"for a batch of {n} candidates"
            )
        state = self._record(state, batch, evaluations)
        if batch.partial:
            return self.finish(
                state,
                f"budget of {state.budget} evaluations used up",
                status=STATUS_BUDGET,
            )
        if state.status != RUNNING:
            return state
        rng = state.generator()
        state = self._tell(state, batch, evaluations, rng)
        nit = state.nit if self.counts_iterations else state.nit + 1
        state = dataclasses.replace(state, rng=rng.bit_generator.state, nit=nit)
        if state.status == RUNNING and state.nfev >= state.budget:
            state = self.finish(
                state,
                f"budget of {state.budget} evaluations used up",
                status=STATUS_BUDGET,
            )
        return state

    def should_stop(self, state: State) -> bool:
        """Whether the run has ended (budget, convergence or callback)."""
        return state.status != RUNNING

    def best(self, state: State) -> tuple[np.ndarray | None, float]:
        """The best candidate evaluated so far and its value."""
        return state.best_x, state.best_f

    # -- helpers for subclasses and drivers ------------------------------------

    @staticmethod
    def finish(state: State, message: str, *, status: int = STATUS_CONVERGED) -> State:
        """Marks the run as stopped, keeping the first reason given."""
        if state.status != RUNNING:
            return state
        return dataclasses.replace(state, status=status, message=message)

    def wants_gradient(self, state: State) -> bool:
        """Whether the next batch needs gradients; hybrids decide per phase."""
        return self.info.needs_gradient

    def check_space(self, space: Space) -> None:
        """Raises ``ValueError`` if the problem lacks what this strategy needs."""
        if self.info.requires_bounds and not space.bounded:
            bad = np.flatnonzero(~(np.isfinite(space.lower) & np.isfinite(space.upper)))
            i = int(bad[0])
            raise ValueError(
                f"strategy {self.name!r} needs finite bounds on every coordinate; "
                f"coordinate {i} has [{space.lower[i]}, {space.upper[i]}]"
            )
        if self.info.requires_start and space.x0 is None and not space.bounded:
            raise ValueError(
                f"strategy {self.name!r} needs a start point: give x0 or finite "
                "bounds on every coordinate"
            )

    @property
    def options(self) -> dict[str, Any]:
        """The options this strategy was built with, by name."""
        params = inspect.signature(type(self).__init__).parameters
        return {p: getattr(self, p) for p in params if p != "self" and hasattr(self, p)}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={_short(v)}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    # -- hooks -------------------------------------------------------------------

    @abc.abstractmethod
    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        """Returns the strategy's own state fields for a new run."""

    @abc.abstractmethod
    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        """Returns candidates of shape ``(n, dim)`` and the updated state."""

    @abc.abstractmethod
    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        """Updates the state from a complete batch's values."""

    # -- internals -----------------------------------------------------------------

    @staticmethod
    def _record(state: State, batch: Batch, evaluations: Evaluations) -> State:
        f = evaluations.f
        best_x, best_f = state.best_x, state.best_f
        history = state.history
        if f.size:
            i = int(np.argmin(f))
            if f[i] < best_f:
                best_x, best_f = batch.x[i], float(f[i])
                # The evaluation count at which the improvement was found.
                history = (*history, (state.nfev + (i + 1) * evaluations.cost, best_f))
        return dataclasses.replace(
            state,
            nfev=state.nfev + evaluations.nfev,
            njev=state.njev + evaluations.njev,
            nfail=state.nfail + int(np.count_nonzero(evaluations.failed)),
            best_x=best_x,
            best_f=best_f,
            history=history,
        )


def _short(value: Any) -> str:
    if isinstance(value, Strategy):
        return value.name or type(value).__name__
    return repr(value)
