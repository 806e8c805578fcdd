"""Multistart local search from a quasi-random design of start points.

Implements the multistart scheme surveyed by Martí, Resende & Ribeiro (2013),
"Multi-start methods for combinatorial and global optimization", European Journal
of Operational Research 226(1), 1-8: independent local runs from start points
spread over the box, here a scrambled Sobol' (1967), Halton or Latin hypercube
design, and the best point found by any run is the answer.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy.stats import qmc

from hybridopt._records import frozen_array
from hybridopt.builtin.hybrid._children import (
    Children,
    add_children,
    ask_children,
    min_child_budget,
    resolve_child,
    split_finished,
    tell_children,
)
from hybridopt.problem import Space
from hybridopt.strategy import Batch, Evaluations, State, Strategy, StrategyInfo
from hybridopt.validation import check_choice, check_int

__all__ = ["Restarts", "RestartsState", "start_design"]

logger = logging.getLogger(__name__)

_SAMPLERS = ("sobol", "halton", "lhs")
# Default evaluations per planned start, per (dim + 1): enough for a quasi-Newton
# run with finite-difference gradients to converge on a smooth basin.
_EVALS_PER_START = 100


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RestartsState(State):
    """State of a restarts run.

    Attributes:
        children: The local runs in progress.
        design_seed: Seed of the start-point design.
        block: Start points per design block (the number of planned starts).
        share: Budget of one start when ``n_starts`` is not fixed.
        starts_used: Start points used so far, by local runs or plain evaluation.
        sampling: Whether the pending batch evaluates start points plainly, which
            happens only when too little budget is left for one more local run.
    """

    children: Children = dataclasses.field(default_factory=Children)
    design_seed: int = 0
    block: int = 1
    share: int = 1
    starts_used: int = 0
    sampling: bool = False


def start_design(sampler: str, dim: int, n: int, seed: int | list[int]) -> np.ndarray:
    """``n`` quasi-random points in the unit cube.

    Args:
        sampler: ``"sobol"`` (scrambled), ``"halton"`` (scrambled) or ``"lhs"``.
        dim: Dimension.
        n: Number of points.
        seed: Seed of the scrambling.

    Returns:
        Points of shape ``(n, dim)`` in ``[0, 1)``.
    """
    gen = np.random.default_rng(seed)
    if sampler == "sobol":
        # Sobol' balance holds for 2**m points; a prefix of them keeps it closely.
        m = max(0, math.ceil(math.log2(max(n, 1))))
        return qmc.Sobol(dim, rng=gen).random_base2(m)[:n]
    if sampler == "halton":
        return qmc.Halton(dim, rng=gen).random(n)
    return qmc.LatinHypercube(dim, rng=gen).random(n)


class Restarts(Strategy):
    """Runs a local strategy from many start points, several at a time.

    Start points come from a scrambled quasi-random design over the box; ``x0``,
    if given, is the first start. ``parallel`` local runs advance in lockstep, so
    one batch holds a candidate of every running child and an executor such as
    Ray evaluates them together. When a run stops (converged or out of its
    budget) the next start takes its slot.

    Budget: with ``n_starts`` fixed, each run starts with an even share of the
    budget not yet spent or promised, so evaluations saved by runs that
    converged early go to later starts; once every start has begun, they are
    added to the runs still going. With ``n_starts=None``, there is one planned
    start per ``100 * (dim + 1)`` evaluations (at least one), each with that
    share, and further starts from the same design are drawn while budget
    remains. A remainder too small for one more local run (fewer than two
    candidates at the local strategy's cost) is spent evaluating further start
    points plainly.

    Args:
        local: The local strategy: a registered name or a strategy object.
        local_options: Options for a named ``local``.
        n_starts: Number of starts, or ``None`` for as many as the budget pays
            for (see above).
        sampler: Design of the start points: ``"sobol"``, ``"halton"`` or
            ``"lhs"``.
        parallel: Local runs that advance at once; ``None`` means all planned
            starts.

    Raises:
        InvalidOptionError: For options of the wrong type.
        UnknownStrategyError: If ``local`` names no registered strategy.
        ValueError: For out-of-range options.

    Example:
        >>> import numpy as np, hybridopt
        >>> fun = lambda x: float(np.sum(x**2 - 2 * np.cos(3 * x)))
        >>> res = hybridopt.minimize(fun, bounds=[(-4, 4)] * 2, strategy="restarts",
        ...                          budget=3000, seed=0)
        >>> bool(res.fun < -3.99)
        True
    """

    name = "restarts"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="hybrid",
        requires_bounds=True,
        summary="local runs from a quasi-random design of start points",
        reference="Marti, Resende & Ribeiro (2013), EJOR 226(1)",
    )
    state_class: ClassVar[type[State]] = RestartsState

    def __init__(
        self,
        *,
        local: str | Strategy = "lbfgsb",
        local_options: Mapping[str, Any] | None = None,
        n_starts: int | None = None,
        sampler: str = "sobol",
        parallel: int | None = None,
    ) -> None:
        self.local = local
        self._local = resolve_child("local", local, local_options)
        self.local_options = None if local_options is None else dict(local_options)
        self.n_starts = (
            None
            if n_starts is None
            else check_int("n_starts", n_starts, low=1, high=1_000_000)
        )
        self.sampler = check_choice("sampler", sampler, _SAMPLERS)
        self.parallel = (
            None if parallel is None else check_int("parallel", parallel, low=1)
        )

    def check_space(self, space: Space) -> None:
        """Raises ``ValueError`` unless every coordinate has finite bounds."""
        if not space.bounded:
            raise ValueError(
                "strategy 'restarts' needs finite bounds on every coordinate to draw "
                "its start points; with only x0, run the local strategy itself "
                f"(strategy={self._local.name or 'lbfgsb'!r})"
            )

    def wants_gradient(self, state: State) -> bool:
        """Whether the pending batch is a local step that asks for gradients."""
        assert isinstance(state, RestartsState)
        return not state.sampling and state.children.need_grad

    # -- hooks -------------------------------------------------------------------

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        if self.n_starts is not None:
            planned = self.n_starts
        else:
            planned = max(1, budget // (_EVALS_PER_START * (space.dim + 1)))
        fields: dict[str, Any] = {
            "design_seed": int(rng.integers(2**63)),
            "block": planned,
            "share": max(1, budget // planned),
        }
        # A provisional state lets the refill logic run unchanged at the start.
        state = RestartsState(space=space, budget=budget, rng={}, **fields)
        state = self._refill(state, rng)
        return {**fields, "children": state.children, "starts_used": state.starts_used}

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, RestartsState)
        for _ in range(3):
            x, children = ask_children(self._local, state.children, state.space)
            state = dataclasses.replace(state, children=children, sampling=False)
            if x.shape[0]:
                return x, state
            # Every running child stopped on being asked: fill the slots and retry.
            state = self._refill(state, rng)
            if not state.children.states:
                break
        k = self._samples_left(state)
        x = self._start_points(state, state.starts_used, k)
        return x, dataclasses.replace(state, sampling=k > 0)

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, RestartsState)
        if state.sampling:
            state = dataclasses.replace(
                state, starts_used=state.starts_used + batch.x.shape[0], sampling=False
            )
        else:
            children = tell_children(self._local, state.children, evaluations)
            state = dataclasses.replace(state, children=children)
        state = self._refill(state, rng)
        idle = not state.children.states and self._samples_left(state) == 0
        if idle and state.nfev < state.budget:
            return self.finish(state, f"all {state.starts_used} starts done")
        return state

    # -- internals ---------------------------------------------------------------

    def _refill(self, state: RestartsState, rng: np.random.Generator) -> RestartsState:
        """Drops stopped children and starts new ones in the free slots."""
        children, done = split_finished(self._local, state.children)
        for child in done:
            logger.info(
                "restarts: a local run ended (%s) with f=%g after %d evaluations",
                child.message,
                child.best_f,
                child.nfev,
            )
        slots = self.parallel if self.parallel is not None else state.block
        reserved = sum(max(c.budget - c.nfev, 0) for c in children.states)
        free = state.budget - state.nfev - reserved
        floor = min_child_budget(self._local, state.space)
        used = state.starts_used
        budgets: list[int] = []
        while len(children.states) + len(budgets) < slots and self._more_starts(used):
            if self.n_starts is not None:
                share = free // (self.n_starts - used)
            else:
                share = min(state.share, free)
            if share < floor:
                break
            budgets.append(share)
            free -= share
            used += 1
        if budgets:
            starts = self._start_points(state, state.starts_used, len(budgets))
            children = add_children(
                children, self._local, state.space, list(starts), budgets, rng
            )
            logger.info(
                "restarts: started %d local run(s), %d starts so far",
                len(budgets),
                used,
            )

        if not self._more_starts(used) and children.states and free > 0:
            # Every start has begun: give the saved evaluations to the runs going on.
            extra = free // len(children.states)
            states = tuple(
                dataclasses.replace(c, budget=c.budget + extra) for c in children.states
            )
            children = dataclasses.replace(children, states=states)
        return dataclasses.replace(state, children=children, starts_used=used)

    def _more_starts(self, used: int) -> bool:
        return self.n_starts is None or used < self.n_starts

    def _samples_left(self, state: RestartsState) -> int:
        """Start points to evaluate plainly when no local run can start any more."""
        if state.children.states:
            return 0
        left = state.budget - state.nfev
        if self.n_starts is not None:
            left = min(left, self.n_starts - state.starts_used)
        return max(0, min(left, state.block))

    def _start_points(self, state: RestartsState, first: int, count: int) -> np.ndarray:
        space = state.space
        rows = []
        designs: dict[int, np.ndarray] = {}
        for j in range(first, first + count):
            if space.x0 is not None:
                if j == 0:
                    rows.append(np.array(space.x0))
                    continue
                j -= 1
            block, row = divmod(j, state.block)
            if block not in designs:
                designs[block] = start_design(
                    self.sampler, space.dim, state.block, [state.design_seed, block]
                )
            rows.append(space.lower + designs[block][row] * (space.upper - space.lower))
        if not rows:
            return frozen_array(np.empty((0, space.dim)))
        return frozen_array(space.clip(np.array(rows)))
