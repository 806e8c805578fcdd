"""Gradient descent with heavy-ball or Nesterov momentum.

References: B. T. Polyak, "Some methods of speeding up the convergence of
iteration methods", USSR Computational Mathematics and Mathematical Physics 4(5),
1964; Y. Nesterov, "A method of solving a convex programming problem with
convergence rate O(1/k^2)", Soviet Mathematics Doklady 27, 1983, in the form
popularised by Sutskever et al., ICML 2013.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hybridopt.builtin.gradient._base import FirstOrderStrategy
from hybridopt.errors import InvalidOptionError
from hybridopt.strategy import StrategyInfo
from hybridopt.validation import check_real

__all__ = ["Momentum"]


class Momentum(FirstOrderStrategy):
    """Projected gradient descent with a momentum buffer.

    The update follows ``torch.optim.SGD`` (without weight decay) formula for
    formula, so that a run can later be compared step by step with PyTorch. With
    gradient ``g`` and buffer ``b``::

        b <- g                                   (first update)
        b <- momentum * b + (1 - dampening) * g  (later updates)
        d <- g + momentum * b  if nesterov  else  b
        x <- clip(x - learning_rate * d)

    With ``momentum=0`` this is plain gradient descent.

    Args:
        learning_rate: Step length multiplying the direction.
        momentum: Weight of the previous buffer, in ``[0, 1]``.
        dampening: Fraction of the new gradient left out of the buffer, in
            ``[0, 1]``.
        nesterov: Use Nesterov's look-ahead form.
        gtol: Stop when the largest projected-gradient component is at most this.
        max_iter: Stop after this many iterations (``None``: budget only).

    Raises:
        InvalidOptionError: If an option has the wrong type.
        ValueError: If an option is out of range, or ``nesterov`` is set with
            ``momentum == 0`` or ``dampening != 0``.

    Example:
        >>> import hybridopt
        >>> res = hybridopt.minimize(lambda x: float(x @ x), [1.0, -1.0],
        ...     jac=lambda x: 2 * x, strategy="momentum",
        ...     options={"learning_rate": 0.05}, budget=300)
        >>> bool(res.fun < 1e-10)
        True
    """

    name = "momentum"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient",
        needs_gradient=True,
        requires_start=True,
        summary="gradient descent with heavy-ball or Nesterov momentum",
        reference="Polyak (1964); Nesterov (1983)",
    )

    def __init__(
        self,
        *,
        learning_rate: float = 1e-2,
        momentum: float = 0.9,
        dampening: float = 0.0,
        nesterov: bool = False,
        gtol: float = 1e-8,
        max_iter: int | None = None,
    ) -> None:
        super().__init__(learning_rate=learning_rate, gtol=gtol, max_iter=max_iter)
        self.momentum = check_real("momentum", momentum, low=0.0, high=1.0)
        self.dampening = check_real("dampening", dampening, low=0.0, high=1.0)
        if not isinstance(nesterov, bool | np.bool_):
            raise InvalidOptionError(
                f"option 'nesterov' must be True or False, got "
                f"{type(nesterov).__name__} {nesterov!r}"
            )
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError(
                "option 'nesterov' needs momentum > 0 and dampening == 0, got "
                f"momentum={self.momentum!r} and dampening={self.dampening!r}"
            )

    def _init_moments(self, dim: int) -> dict[str, np.ndarray]:
        return {"buffer": np.zeros(dim)}

    def _step(
        self, grad: np.ndarray, moments: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self.momentum == 0.0:
            return -self.learning_rate * grad, moments
        mu = self.momentum
        if count == 0:
            buffer = grad.copy()
        else:
            buffer = moments["buffer"] * mu + (1.0 - self.dampening) * grad
        direction = grad + mu * buffer if self.nesterov else buffer
        return -self.learning_rate * direction, {"buffer": buffer}
