"""Adaptive random search, an example of a hybridopt plugin strategy.

Reference: M. A. Schumer and K. Steiglitz, "Adaptive step size random search",
IEEE Transactions on Automatic Control 13(3), 1968.

Each iteration samples ``batch_size`` Gaussian points around the incumbent. If the
best of them improves on it, the incumbent moves there and the radius grows by
``expand``; otherwise the radius shrinks by ``shrink``. The run stops when the
radius falls below ``min_radius`` (relative to the box width, or absolute without
bounds).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from hybridopt import Batch, Evaluations, Space, State, Strategy, StrategyInfo
from hybridopt.validation import check_int, check_real

__all__ = ["AdaptiveRandomSearch", "RandomSearchState"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RandomSearchState(State):
    """Incumbent, its value and the sampling radius."""

    centre: np.ndarray
    centre_f: float = float("inf")
    radius: float = 0.2
    started: bool = False


class AdaptiveRandomSearch(Strategy):
    """Gaussian sampling around the incumbent with an adaptive radius.

    Args:
        batch_size: Points sampled per iteration.
        radius: Initial radius, as a fraction of the box width per coordinate
            (an absolute length for unbounded coordinates).
        expand: Radius factor after an improving iteration (> 1).
        shrink: Radius factor after a failed iteration (in (0, 1)).
        min_radius: Stop when the radius falls below this.
    """

    name = "random_search"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="stochastic",
        requires_start=True,
        summary="adaptive step-size random search (example plugin)",
        reference="Schumer & Steiglitz (1968)",
    )
    state_class: ClassVar[type[State]] = RandomSearchState

    def __init__(
        self,
        *,
        batch_size: int = 8,
        radius: float = 0.2,
        expand: float = 1.5,
        shrink: float = 0.7,
        min_radius: float = 1e-9,
    ) -> None:
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.radius = check_real("radius", radius, low=0.0, low_open=True)
        self.expand = check_real("expand", expand, low=1.0, low_open=True)
        self.shrink = check_real("shrink", shrink, low=0.0, high=1.0, low_open=True)
        if self.shrink == 1.0:
            raise ValueError("option 'shrink' must be < 1")
        self.min_radius = check_real("min_radius", min_radius, low=0.0, low_open=True)

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        centre = space.start_point(rng)
        centre.setflags(write=False)
        return {"centre": centre, "radius": self.radius}

    def _scale(self, space: Space) -> np.ndarray:
        width = space.upper - space.lower
        return np.where(np.isfinite(width), width, 1.0)

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, RandomSearchState)
        if not state.started:
            return state.centre[None, :], state
        step = rng.standard_normal((self.batch_size, state.space.dim))
        return state.centre + state.radius * self._scale(state.space) * step, state

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, RandomSearchState)
        i = int(np.argmin(evaluations.f))
        if not state.started:
            return dataclasses.replace(
                state, started=True, centre_f=float(evaluations.f[0])
            )
        if evaluations.f[i] < state.centre_f:
            state = dataclasses.replace(
                state,
                centre=batch.x[i],
                centre_f=float(evaluations.f[i]),
                radius=state.radius * self.expand,
            )
        else:
            state = dataclasses.replace(state, radius=state.radius * self.shrink)
        if state.radius < self.min_radius:
            return self.finish(state, f"converged: radius below {self.min_radius:g}")
        return state
