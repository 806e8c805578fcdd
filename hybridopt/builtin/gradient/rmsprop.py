"""RMSprop: gradient steps divided by a running root mean square of the gradient.

Reference: T. Tieleman and G. Hinton, "Lecture 6.5 - RMSProp: divide the gradient
by a running average of its recent magnitude", COURSERA: Neural Networks for
Machine Learning, 2012; the centered variant from A. Graves, "Generating
sequences with recurrent neural networks", arXiv:1308.0850, 2013.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hybridopt.builtin.gradient._base import FirstOrderStrategy
from hybridopt.builtin.gradient.adam import torch_lerp
from hybridopt.errors import InvalidOptionError
from hybridopt.strategy import StrategyInfo
from hybridopt.validation import check_real

__all__ = ["RMSprop"]


class RMSprop(FirstOrderStrategy):
    """Projected RMSprop, optionally centered and with momentum.

    The update follows ``torch.optim.RMSprop`` (without weight decay) formula for
    formula, so that a run can later be compared step by step with PyTorch. With
    gradient ``g``::

        v <- alpha * v + (1 - alpha) * g**2
        a <- alpha * a + (1 - alpha) * g                     (centered only)
        s <- sqrt(v - a**2) if centered else sqrt(v),  then s <- s + eps
        b <- momentum * b + g / s;  x <- clip(x - learning_rate * b)   (momentum > 0)
        x <- clip(x - learning_rate * g / s)                           (otherwise)

    All running averages start at zero.

    Args:
        learning_rate: Step length before the scaling.
        alpha: Decay of the running averages, in ``[0, 1]``.
        eps: Added to the root mean square (after the root).
        momentum: Weight of the previous step's buffer, in ``[0, 1]``.
        centered: Subtract the squared running mean of the gradient, i.e.
            divide by an estimate of its standard deviation.
        gtol: Stop when the largest projected-gradient component is at most this.
        max_iter: Stop after this many iterations (``None``: budget only).

    Raises:
        InvalidOptionError: If an option has the wrong type.
        ValueError: If an option is out of range.

    Example:
        >>> import hybridopt
        >>> res = hybridopt.minimize(lambda x: float(x @ x), [1.0, -1.0],
        ...     jac=lambda x: 2 * x, strategy="rmsprop", budget=500)
        >>> bool(res.fun < 1e-3)
        True
    """

    name = "rmsprop"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient",
        needs_gradient=True,
        requires_start=True,
        summary="RMSprop (optionally centered, with momentum) with projection",
        reference="Tieleman & Hinton (2012); Graves (2013) for the centered form",
    )

    def __init__(
        self,
        *,
        learning_rate: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        gtol: float = 1e-8,
        max_iter: int | None = None,
    ) -> None:
        super().__init__(learning_rate=learning_rate, gtol=gtol, max_iter=max_iter)
        self.alpha = check_real("alpha", alpha, low=0.0, high=1.0)
        self.eps = check_real("eps", eps, low=0.0)
        self.momentum = check_real("momentum", momentum, low=0.0, high=1.0)
        if not isinstance(centered, bool | np.bool_):
            raise InvalidOptionError(
                f"option 'centered' must be True or False, got "
                f"{type(centered).__name__} {centered!r}"
            )
        self.centered = bool(centered)

    def _init_moments(self, dim: int) -> dict[str, np.ndarray]:
        moments = {"v": np.zeros(dim)}
        if self.centered:
            moments["mean"] = np.zeros(dim)
        if self.momentum > 0.0:
            moments["buffer"] = np.zeros(dim)
        return moments

    def _step(
        self, grad: np.ndarray, moments: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        new = {"v": moments["v"] * self.alpha + (1.0 - self.alpha) * grad * grad}
        if self.centered:
            new["mean"] = torch_lerp(moments["mean"], grad, 1.0 - self.alpha)
            scale = np.sqrt(new["v"] + (-1.0 * new["mean"]) * new["mean"])
        else:
            scale = np.sqrt(new["v"])
        scale = scale + self.eps
        if self.momentum > 0.0:
            new["buffer"] = moments["buffer"] * self.momentum + grad / scale
            return -self.learning_rate * new["buffer"], new
        return (-self.learning_rate * grad) / scale, new
