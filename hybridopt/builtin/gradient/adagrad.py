"""AdaGrad: per-coordinate steps divided by the root of the summed squared gradients.

Reference: J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods for
online learning and stochastic optimization", Journal of Machine Learning
Research 12, 2011.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hybridopt.builtin.gradient._base import FirstOrderStrategy
from hybridopt.strategy import StrategyInfo
from hybridopt.validation import check_real

__all__ = ["AdaGrad"]


class AdaGrad(FirstOrderStrategy):
    """Projected AdaGrad with an optional learning-rate decay.

    The update follows ``torch.optim.Adagrad`` (without weight decay) formula for
    formula, so that a run can later be compared step by step with PyTorch. At
    update ``t = 1, 2, ...`` with gradient ``g``::

        s <- s + g**2                   (s starts at initial_accumulator_value)
        lr_t = learning_rate / (1 + (t - 1) * lr_decay)
        x <- clip(x - lr_t * g / (sqrt(s) + eps))

    The default learning rate is ``0.1``, ten times PyTorch's: AdaGrad's steps
    shrink like ``1 / sqrt(t)``, and at ``0.01`` a run of a few hundred steps
    covers only a fraction of a unit, too little to reach a minimum at an
    ordinary distance from the start.

    Args:
        learning_rate: Step length before the scaling.
        lr_decay: Decay of the learning rate per update (``>= 0``).
        initial_accumulator_value: Starting value of the sum of squares (``>= 0``).
        eps: Added to the root of the sum (after the root).
        gtol: Stop when the largest projected-gradient component is at most this.
        max_iter: Stop after this many iterations (``None``: budget only).

    Raises:
        InvalidOptionError: If an option has the wrong type.
        ValueError: If an option is out of range.

    Example:
        >>> import hybridopt
        >>> res = hybridopt.minimize(lambda x: float(x @ x), [1.0, -1.0],
        ...     jac=lambda x: 2 * x, strategy="adagrad",
        ...     options={"learning_rate": 0.5}, budget=500)
        >>> bool(res.fun < 1e-6)
        True
    """

    name = "adagrad"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient",
        needs_gradient=True,
        requires_start=True,
        summary="AdaGrad with projection onto the bounds",
        reference="Duchi, Hazan & Singer (2011)",
    )

    def __init__(
        self,
        *,
        learning_rate: float = 0.1,
        lr_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        gtol: float = 1e-8,
        max_iter: int | None = None,
    ) -> None:
        super().__init__(learning_rate=learning_rate, gtol=gtol, max_iter=max_iter)
        self.lr_decay = check_real("lr_decay", lr_decay, low=0.0)
        self.initial_accumulator_value = check_real(
            "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.eps = check_real("eps", eps, low=0.0)

    def _init_moments(self, dim: int) -> dict[str, np.ndarray]:
        return {"sum": np.full(dim, self.initial_accumulator_value)}

    def _step(
        self, grad: np.ndarray, moments: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        lr = self.learning_rate / (1.0 + count * self.lr_decay)
        total = moments["sum"] + grad * grad
        return (-lr * grad) / (np.sqrt(total) + self.eps), {"sum": total}
