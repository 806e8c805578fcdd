"""What is minimized: the objective, its optional gradient, bounds and start point.

hybridopt always **minimizes**. A :class:`Problem` holds the user's callables;
its :attr:`Problem.space` is the pure-data part (dimension, bounds, start point,
whether a gradient function exists) that strategies see. Strategies never call the
objective themselves: they propose candidates and an executor evaluates them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hybridopt._records import Record, frozen_array

__all__ = ["Problem", "Space"]


@dataclasses.dataclass(frozen=True, slots=True)
class Space(Record):
    """The data a strategy may know about a problem.

    Attributes:
        dim: Number of variables.
        lower: Lower bounds, ``-inf`` where unbounded.
        upper: Upper bounds, ``+inf`` where unbounded.
        x0: Start point, or ``None``.
        has_jac: Whether the problem has an analytic gradient. Without it a
            gradient costs ``dim + 1`` objective evaluations (forward differences).
    """

    dim: int
    lower: np.ndarray
    upper: np.ndarray
    x0: np.ndarray | None = None
    has_jac: bool = False

    @property
    def bounded(self) -> bool:
        """Whether every coordinate has finite lower and upper bounds."""
        return bool(np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper)))

    def evaluation_cost(self, need_grad: bool) -> int:
        """Objective evaluations spent on one candidate."""
        if need_grad and not self.has_jac:
            return self.dim + 1
        return 1

    def clip(self, x: np.ndarray) -> np.ndarray:
        """Projects points onto the box."""
        return np.clip(x, self.lower, self.upper)

    def with_x0(self, x0: np.ndarray | None) -> Space:
        """Returns a copy with another start point (used by hybrids for children)."""
        return dataclasses.replace(self, x0=None if x0 is None else frozen_array(x0))

    def start_point(self, rng: np.random.Generator) -> np.ndarray:
        """The start point, or a uniform draw in the box when none was given.

        Raises:
            ValueError: If there is neither a start point nor finite bounds.
        """
        if self.x0 is not None:
            return np.array(self.x0, dtype=float)
        if not self.bounded:
            raise ValueError(
                "this strategy needs a start point x0 or finite bounds on every "
                "coordinate to pick one"
            )
        return rng.uniform(self.lower, self.upper)


@dataclasses.dataclass(frozen=True)
class Problem:
    """An objective to minimize, with what is known about it.

    Build one with :meth:`Problem.create`, which validates every input.

    Attributes:
        fun: ``fun(x) -> float`` for ``x`` of shape ``(dim,)``; with
            ``vectorized=True``, ``fun(X) -> (n,)`` for ``X`` of shape ``(n, dim)``.
        space: Dimension, bounds, start point.
        jac: ``jac(x) -> (dim,)`` gradient, or ``None``.
        vectorized: Whether ``fun`` takes a whole batch at once.
        name: A label used in logs and experiment tables.
    """

    fun: Callable[..., Any]
    space: Space
    jac: Callable[..., Any] | None = None
    vectorized: bool = False
    name: str = "problem"

    @property
    def dim(self) -> int:
        """Number of variables."""
        return self.space.dim

    @classmethod
    def create(
        cls,
        fun: Callable[..., Any],
        x0: Any = None,
        *,
        bounds: Any = None,
        jac: Callable[..., Any] | None = None,
        vectorized: bool = False,
        name: str | None = None,
    ) -> Problem:
        """Validates user input and builds a problem.

        Args:
            fun: The objective.
            x0: Start point of shape ``(dim,)``, or ``None``.
            bounds: ``None``; a sequence of ``dim`` ``(low, high)`` pairs (``None``
                for an infinite side); one ``(low, high)`` pair broadcast over all
                coordinates (needs ``x0`` to fix the dimension); or a
                ``scipy.optimize.Bounds``.
            jac: Gradient function, or ``None`` for finite differences.
            vectorized: Whether ``fun`` evaluates a whole batch.
            name: A label; defaults to the function's name.

        Returns:
            The problem.

        Raises:
            TypeError: If ``fun`` or ``jac`` is not callable.
            ValueError: For bounds with lower > upper or NaN, an ``x0`` of the
                wrong shape, non-finite or outside the bounds, or when the
                dimension cannot be told from ``x0`` or ``bounds``.
        """
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        if jac is not None and not callable(jac):
            raise TypeError(f"jac must be callable or None, got {type(jac).__name__}")
        x0_arr = _check_x0(x0)
        dim_hint = None if x0_arr is None else x0_arr.size
        lower, upper = _check_bounds(bounds, dim_hint)
        if lower is None:
            if x0_arr is None:
                raise ValueError(
                    "cannot tell the problem's dimension: give x0 or bounds"
                )
            lower = np.full(x0_arr.size, -np.inf)
            upper = np.full(x0_arr.size, np.inf)
        assert upper is not None
        if x0_arr is not None:
            if x0_arr.size != lower.size:
                raise ValueError(
                    f"x0 has {x0_arr.size} coordinates but bounds have {lower.size}"
                )
            outside = np.flatnonzero((x0_arr < lower) | (x0_arr > upper))
            if outside.size:
                i = int(outside[0])
                raise ValueError(
                    f"x0 lies outside the bounds at {outside.size} coordinate(s), "
                    f"first at index {i}: x0[{i}]={x0_arr[i]!r} not in "
                    f"[{lower[i]!r}, {upper[i]!r}]"
                )
        space = Space(
            dim=int(lower.size),
            lower=frozen_array(lower),
            upper=frozen_array(upper),
            x0=None if x0_arr is None else frozen_array(x0_arr),
            has_jac=jac is not None,
        )
        label = name or getattr(fun, "__name__", None) or type(fun).__name__
        return cls(
            fun=fun, space=space, jac=jac, vectorized=bool(vectorized), name=label
        )


def _check_x0(x0: Any) -> np.ndarray | None:
    if x0 is None:
        return None
    try:
        arr = np.asarray(x0, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"x0 must be a 1-D array of numbers: {err}") from None
    if arr.ndim != 1:
        raise ValueError(f"x0 must be 1-D with shape (dim,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("x0 is empty: the problem needs at least one variable")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"x0 must be finite, x0[{bad}]={arr[bad]!r}")
    return arr.copy()


def _check_bounds(
    bounds: Any, dim: int | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if bounds is None:
        return None, None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        lower = np.atleast_1d(np.asarray(bounds.lb, dtype=float))
        upper = np.atleast_1d(np.asarray(bounds.ub, dtype=float))
        if dim is not None and lower.size == 1 and upper.size == 1:
            lower, upper = np.full(dim, lower[0]), np.full(dim, upper[0])
    else:
        pairs = _as_pairs(bounds)
        if len(pairs) == 1 and dim is not None and dim != 1:
            pairs = pairs * dim
        lower = np.array([p[0] for p in pairs], dtype=float)
        upper = np.array([p[1] for p in pairs], dtype=float)
    if lower.shape != upper.shape or lower.ndim != 1:
        raise ValueError("bounds must give one lower and one upper value per variable")
    if dim is not None and lower.size != dim:
        raise ValueError(
            f"bounds have {lower.size} (low, high) pairs but x0 has {dim} coordinates"
        )
    if np.any(np.isnan(lower)) or np.any(np.isnan(upper)):
        i = int(np.flatnonzero(np.isnan(lower) | np.isnan(upper))[0])
        raise ValueError(f"bounds must not be NaN (coordinate {i})")
    bad = np.flatnonzero(lower > upper)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"lower bound exceeds upper bound at coordinate {i}: "
            f"{lower[i]!r} > {upper[i]!r}"
        )
    if np.any(lower == np.inf) or np.any(upper == -np.inf):
        raise ValueError("a lower bound of +inf or an upper bound of -inf is empty")
    with np.errstate(over="ignore"):
        width = upper - lower
    huge = np.flatnonzero(np.isfinite(lower) & np.isfinite(upper) & ~np.isfinite(width))
    if huge.size:
        i = int(huge[0])
        raise ValueError(
            f"bounds at coordinate {i} are too far apart to compute with: "
            f"[{lower[i]!r}, {upper[i]!r}] overflows; use None for an infinite side"
        )
    return lower, upper


def _as_pairs(bounds: Any) -> list[tuple[float, float]]:
    if not isinstance(bounds, Sequence | np.ndarray) or isinstance(bounds, str):
        raise TypeError(
            "bounds must be a sequence of (low, high) pairs or scipy.optimize.Bounds, "
            f"got {type(bounds).__name__}"
        )
    items = list(bounds)
    if len(items) == 2 and all(isinstance(v, np.ndarray) for v in items):
        # (lower_array, upper_array), as scipy.optimize.least_squares takes, would
        # silently read as two (low, high) pairs in two dimensions.
        raise ValueError(
            "bounds given as two arrays are ambiguous: pass "
            "scipy.optimize.Bounds(lower, upper) or a list of (low, high) pairs"
        )
    # One bare (low, high) pair, e.g. bounds=(-5, 5).
    if len(items) == 2 and all(_is_bound_value(v) for v in items):
        items = [tuple(items)]
    pairs = []
    for i, item in enumerate(items):
        try:
            low, high = item
        except (TypeError, ValueError):
            raise ValueError(
                f"bounds[{i}] must be a (low, high) pair, got {item!r}"
            ) from None
        for side, v in (("low", low), ("high", high)):
            if not _is_bound_value(v):
                raise ValueError(
                    f"bounds[{i}] {side} must be a number or None, got {v!r}"
                )
        try:
            pair = (
                -np.inf if low is None else float(low),
                np.inf if high is None else float(high),
            )
        except OverflowError:
            raise ValueError(f"bounds[{i}] does not fit in a float: {item!r}") from None
        pairs.append(pair)
    if not pairs:
        raise ValueError("bounds are empty: the problem needs at least one variable")
    return pairs


def _is_bound_value(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, bool):
        return False
    return isinstance(v, int | float | np.integer | np.floating)
