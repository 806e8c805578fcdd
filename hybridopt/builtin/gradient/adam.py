"""Adam: gradient steps scaled by running moments of the gradient.

References: D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization",
ICLR 2015; the AMSGrad variant from S. J. Reddi, S. Kale and S. Kumar, "On the
convergence of Adam and beyond", ICLR 2018.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hybridopt.builtin.gradient._base import FirstOrderStrategy
from hybridopt.errors import InvalidOptionError
from hybridopt.strategy import StrategyInfo
from hybridopt.validation import check_real

__all__ = ["Adam"]


class Adam(FirstOrderStrategy):
    """Projected Adam, optionally with AMSGrad's running maximum.

    The update follows ``torch.optim.Adam`` (without weight decay) formula for
    formula, so that a run can later be compared step by step with PyTorch. At
    update ``t = 1, 2, ...`` with gradient ``g``::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        v_max <- max(v_max, v)                              (AMSGrad only)
        denom <- sqrt(v or v_max) / sqrt(1 - beta2**t) + eps
        x <- clip(x - learning_rate / (1 - beta1**t) * m / denom)

    The default learning rate is ``0.01``, ten times PyTorch's, because here Adam
    minimizes a deterministic objective rather than training a network on noisy
    mini-batches.

    Args:
        learning_rate: Step length before the moment scaling.
        beta1: Decay of the first moment, in ``[0, 1)``.
        beta2: Decay of the second moment, in ``[0, 1)``.
        eps: Added to the scaled root of the second moment (after the root).
        amsgrad: Divide by the running maximum of the second moment.
        gtol: Stop when the largest projected-gradient component is at most this.
        max_iter: Stop after this many iterations (``None``: budget only).

    Raises:
        InvalidOptionError: If an option has the wrong type.
        ValueError: If an option is out of range.

    Example:
        >>> import hybridopt
        >>> res = hybridopt.minimize(lambda x: float(x @ x), [1.0, -1.0],
        ...     jac=lambda x: 2 * x, strategy="adam",
        ...     options={"learning_rate": 0.1}, budget=500)
        >>> bool(res.fun < 1e-6)
        True
    """

    name = "adam"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient",
        needs_gradient=True,
        requires_start=True,
        summary="Adam (optionally AMSGrad) with projection onto the bounds",
        reference="Kingma & Ba (2015); Reddi et al. (2018) for AMSGrad",
    )

    def __init__(
        self,
        *,
        learning_rate: float = 1e-2,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        amsgrad: bool = False,
        gtol: float = 1e-8,
        max_iter: int | None = None,
    ) -> None:
        super().__init__(learning_rate=learning_rate, gtol=gtol, max_iter=max_iter)
        self.beta1 = _check_decay("beta1", beta1)
        self.beta2 = _check_decay("beta2", beta2)
        self.eps = check_real("eps", eps, low=0.0)
        if not isinstance(amsgrad, bool | np.bool_):
            raise InvalidOptionError(
                f"option 'amsgrad' must be True or False, got "
                f"{type(amsgrad).__name__} {amsgrad!r}"
            )
        self.amsgrad = bool(amsgrad)

    def _init_moments(self, dim: int) -> dict[str, np.ndarray]:
        moments = {"m": np.zeros(dim), "v": np.zeros(dim)}
        if self.amsgrad:
            moments["v_max"] = np.zeros(dim)
        return moments

    def _step(
        self, grad: np.ndarray, moments: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        t = count + 1
        # The operations are ordered as in PyTorch's kernels so that rounding
        # matches too, not only the algebra.
        m = torch_lerp(moments["m"], grad, 1.0 - self.beta1)
        v = moments["v"] * self.beta2 + (1.0 - self.beta2) * grad * grad
        step_size = self.learning_rate / (1.0 - self.beta1**t)
        root_correction = (1.0 - self.beta2**t) ** 0.5
        new = {"m": m, "v": v}
        if self.amsgrad:
            new["v_max"] = np.maximum(moments["v_max"], v)
            denom = np.sqrt(new["v_max"]) / root_correction + self.eps
        else:
            denom = np.sqrt(v) / root_correction + self.eps
        return (-step_size * m) / denom, new


def torch_lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight * (end - start)``, rounded as ``torch.lerp`` rounds it."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _check_decay(name: str, value: float) -> float:
    v = check_real(name, value, low=0.0, high=1.0)
    if v == 1.0:
        raise ValueError(f"option {name!r} must be < 1, got {v!r}")
    return v
