"""The default strategy: a small preset that picks a method from the problem's data.

Follows the idea of nevergrad's NGOpt (Meunier et al., 2021, "Black-box
optimization revisited: improving algorithm selection wizards through massive
benchmarking", IEEE Trans. Evol. Comput. 26(3)): choose among a few
well-tested strategies from what is known before the run, here only whether the
box is bounded, and keep the rule short enough to state in one sentence.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from hybridopt.builtin.hybrid._children import (
    Children,
    add_children,
    ask_children,
    tell_children,
)
from hybridopt.problem import Space
from hybridopt.registry import get_strategy
from hybridopt.strategy import Batch, Evaluations, State, Strategy, StrategyInfo

__all__ = ["BOUNDED_CHOICE", "UNBOUNDED_CHOICE", "Auto", "AutoState"]

# Chosen by measurement on BBOB multimodal functions (see the class docstring).
BOUNDED_CHOICE = "memetic"
UNBOUNDED_CHOICE = "lbfgsb"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AutoState(State):
    """State of an auto run.

    Attributes:
        choice: Name of the strategy picked for this problem.
        inner: The picked strategy's run, as the only child.
    """

    choice: str
    inner: Children


class Auto(Strategy):
    """Picks a strategy from the problem: the default of :func:`hybridopt.minimize`.

    * Finite bounds on every coordinate: ``"memetic"`` with its defaults (a GA of
      50 individuals whose two best distinct individuals get an L-BFGS-B run of
      5% of the budget every 5 generations).
    * Otherwise (``x0`` given): ``"lbfgsb"`` from ``x0``, with its defaults.

    The bounded choice was measured against ``"restarts"`` (L-BFGS-B from a Sobol'
    design) on the 10-D BBOB functions f8 (Rosenbrock), f15 (Rastrigin), f20
    (Schwefel) and f21 (Gallagher), instances 1-3, with 20000 evaluations and 3
    seeds. Memetic search was clearly better on f15 and f20 (median gap to the
    best value found 22 and 0.33, against 63 and 0.87), restarts on f21 (1e-8
    against 1.8), and both solved f8. The presets are the strategies' defaults,
    not tuned to those functions.

    The picked strategy runs as the only child of this one, with the whole budget
    and a seed drawn from this run's generator; ``state.choice`` names it.

    Example:
        >>> import numpy as np, hybridopt
        >>> res = hybridopt.minimize(lambda x: float(np.sum(x**2)),
        ...                          bounds=[(-3, 3)] * 2, budget=1000, seed=0)
        >>> res.state.choice
        'memetic'
    """

    name = "auto"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="hybrid",
        requires_start=True,
        summary="memetic search in a box, L-BFGS-B from x0 otherwise",
        reference="preset in the spirit of NGOpt (Meunier et al. 2021)",
    )
    state_class: ClassVar[type[State]] = AutoState

    def __init__(self) -> None:
        self._choices = {
            BOUNDED_CHOICE: get_strategy(BOUNDED_CHOICE),
            UNBOUNDED_CHOICE: get_strategy(UNBOUNDED_CHOICE),
        }

    @staticmethod
    def choose(space: Space) -> str:
        """The name of the strategy used for a problem with this space."""
        return BOUNDED_CHOICE if space.bounded else UNBOUNDED_CHOICE

    def wants_gradient(self, state: State) -> bool:
        """Whether the picked strategy's pending batch asks for gradients."""
        assert isinstance(state, AutoState)
        return state.inner.need_grad

    # -- hooks -------------------------------------------------------------------

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        choice = self.choose(space)
        inner = add_children(
            Children(), self._choices[choice], space, [None], [budget], rng
        )
        return {"choice": choice, "inner": inner}

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, AutoState)
        x, inner = ask_children(self._choices[state.choice], state.inner, state.space)
        return x, dataclasses.replace(state, inner=inner)

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, AutoState)
        strategy = self._choices[state.choice]
        inner = tell_children(strategy, state.inner, evaluations)
        state = dataclasses.replace(state, inner=inner)
        child = inner.states[0]
        if strategy.should_stop(child):
            return self.finish(state, child.message, status=child.status)
        return state
