"""Gradient descent with projection onto the bounds.

Update: ``x <- clip(x - learning_rate * grad f(x))``. With bounds this is the
projected gradient method; see Nocedal & Wright, *Numerical Optimization* (2006),
chapter 16.7.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hybridopt.builtin.gradient._base import FirstOrderStrategy
from hybridopt.strategy import StrategyInfo

__all__ = ["GradientDescent"]


class GradientDescent(FirstOrderStrategy):
    """Plain (projected) gradient descent with a fixed learning rate.

    Args:
        learning_rate: Step length multiplying the gradient.
        gtol: Stop when the largest projected-gradient component is at most this.
        max_iter: Stop after this many iterations (``None``: budget only).

    Example:
        >>> import numpy as np, hybridopt
        >>> res = hybridopt.minimize(lambda x: float(x @ x), [1.0, 1.0],
        ...     jac=lambda x: 2 * x, strategy="gd", options={"learning_rate": 0.1},
        ...     budget=200)
        >>> bool(res.fun < 1e-12)
        True
    """

    name = "gd"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient",
        needs_gradient=True,
        requires_start=True,
        summary="projected gradient descent",
        reference="Cauchy (1847); Nocedal & Wright (2006), 16.7",
    )

    def _init_moments(self, dim: int) -> dict[str, np.ndarray]:
        return {}

    def _step(
        self, grad: np.ndarray, moments: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return -self.learning_rate * grad, moments
