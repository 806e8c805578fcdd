"""Shared loop of the first-order methods: projected steps with failure backoff.

Every first-order method here reads like an update rule: given the gradient and its
own small state (moments, step count), it returns the step to add to ``x``. The
loop around it is common: the step is projected onto the bounds, and when the
objective fails at the new point (raises, NaN, or a gradient that is not finite)
the iterate falls back halfway towards the last good point and later steps are
halved, so an unlucky step into a bad region does not end the run.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import numpy as np

from hybridopt._records import frozen_array
from hybridopt.problem import Space
from hybridopt.strategy import (
    STATUS_BUDGET,
    STATUS_STALLED,
    Batch,
    Evaluations,
    State,
    Strategy,
    StrategyInfo,
)
from hybridopt.validation import check_int, check_real

__all__ = ["FirstOrderState", "FirstOrderStrategy"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FirstOrderState(State):
    """State of a first-order method.

    Attributes:
        x: The iterate that the next batch evaluates.
        last_good: The last iterate whose value and gradient were finite.
        step_scale: Multiplier on every step; halved after each failure.
        moments: The update rule's own arrays (momentum buffer, Adam's moments),
            by name.
        count: Successful updates made, used for bias corrections.
    """

    x: np.ndarray
    last_good: np.ndarray | None = None
    step_scale: float = 1.0
    moments: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    count: int = 0


class FirstOrderStrategy(Strategy):
    """Base of the first-order methods.

    Subclasses implement :meth:`_init_moments` and :meth:`_step`. Options common to
    all: ``learning_rate``, ``gtol`` (stop when the projected gradient's largest
    component is at most this) and ``max_iter`` (``None``: only the budget stops).
    """

    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient", needs_gradient=True, requires_start=True
    )
    state_class: ClassVar[type[State]] = FirstOrderState

    def __init__(
        self,
        *,
        learning_rate: float = 1e-2,
        gtol: float = 1e-8,
        max_iter: int | None = None,
    ) -> None:
        self.learning_rate = check_real(
            "learning_rate", learning_rate, low=0.0, low_open=True
        )
        self.gtol = check_real("gtol", gtol, low=0.0)
        self.max_iter = (
            None if max_iter is None else check_int("max_iter", max_iter, low=1)
        )

    @abc.abstractmethod
    def _init_moments(self, dim: int) -> dict[str, np.ndarray]:
        """The update rule's arrays at the start of a run."""

    @abc.abstractmethod
    def _step(
        self, grad: np.ndarray, moments: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Returns the step to add to ``x`` and the new moments.

        ``count`` is the number of updates made before this one.
        """

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        moments = {k: frozen_array(v) for k, v in self._init_moments(space.dim).items()}
        return {"x": frozen_array(space.start_point(rng)), "moments": moments}

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, FirstOrderState)
        return state.x[None, :], state

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, FirstOrderState)
        assert evaluations.grad is not None
        space = state.space
        x = batch.x[0]
        grad = evaluations.grad[0]
        if evaluations.failed[0] or not np.all(np.isfinite(grad)):
            return self._back_off(state, x)

        projected = x - space.clip(x - grad)
        if float(np.max(np.abs(projected), initial=0.0)) <= self.gtol:
            return self.finish(
                state, f"converged: projected gradient below gtol={self.gtol:g}"
            )
        if self.max_iter is not None and state.nit + 1 >= self.max_iter:
            return self.finish(
                state, f"reached max_iter={self.max_iter}", status=STATUS_BUDGET
            )

        step, moments = self._step(grad, dict(state.moments), state.count)
        x_new = space.clip(x + state.step_scale * step)
        return dataclasses.replace(
            state,
            x=frozen_array(x_new),
            last_good=frozen_array(x),
            moments={k: frozen_array(v) for k, v in moments.items()},
            count=state.count + 1,
        )

    def _back_off(self, state: FirstOrderState, x: np.ndarray) -> State:
        if state.last_good is None:
            return self.finish(
                state,
                "the objective or its gradient failed at the start point",
                status=STATUS_STALLED,
            )
        x_new = state.last_good + 0.5 * (x - state.last_good)
        return dataclasses.replace(
            state, x=frozen_array(x_new), step_scale=0.5 * state.step_scale
        )
