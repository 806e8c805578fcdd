"""L-BFGS-B: limited-memory quasi-Newton minimization with bound constraints.

References: R. H. Byrd, P. Lu, J. Nocedal and C. Zhu, "A limited memory algorithm
for bound constrained optimization", SIAM Journal on Scientific Computing 16(5),
1995; C. Zhu, R. H. Byrd, P. Lu and J. Nocedal, "Algorithm 778: L-BFGS-B",
ACM Transactions on Mathematical Software 23(4), 1997; J. L. Morales and
J. Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

The solver is scipy's C translation of the authors' code, called through its
reverse-communication entry point ``setulb``: every call either asks for the
value and gradient at a point or reports an event (new iterate, convergence,
failure). The solver keeps its whole memory in the arrays it is given, so this
module stores those arrays in the strategy's frozen state and replays the calls
one evaluation at a time. No thread owns the loop, and a run can be serialized
and resumed at any evaluation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import scipy

from hybridopt._records import frozen_array
from hybridopt.problem import Space
from hybridopt.strategy import (
    STATUS_BUDGET,
    STATUS_CONVERGED,
    STATUS_STALLED,
    Batch,
    Evaluations,
    State,
    Strategy,
    StrategyInfo,
)
from hybridopt.validation import check_int, check_real

__all__ = ["LBFGSB", "LBFGSBState"]

SUPPORTED_SCIPY = "scipy 1.15 to 1.17"

# Values of task[0] in the C translation; the codes in task[1] say why.
_FG, _NEW_X, _CONVERGENCE, _ABNORMAL = 3, 1, 4, 8
_REASONS = {
    401: "the projected gradient is at most gtol",
    402: "the relative reduction of f is at most ftol",
}

# How far above the line search's start value a failed point is reported, as a
# fraction of the decrease the start slope predicted for the step; see LBFGSB.
_FAILED_RISE = 0.1


def _load_setulb() -> tuple[Any, type[np.integer]]:
    """The private driver and the integer type of its work arrays.

    Raises:
        ImportError: If scipy has no ``setulb`` taking the arguments used here.
    """
    hint = (
        f"hybridopt's 'lbfgsb' strategy drives scipy's private L-BFGS-B routine "
        f"setulb as shipped in {SUPPORTED_SCIPY}; the installed scipy "
        f"{scipy.__version__} "
    )
    try:
        from scipy.optimize import _lbfgsb
    except ImportError as err:
        raise ImportError(hint + "has no scipy.optimize._lbfgsb module") from err
    setulb = getattr(_lbfgsb, "setulb", None)
    if setulb is None:
        raise ImportError(hint + "has no scipy.optimize._lbfgsb.setulb")
    # A start call on a one-variable problem must ask for f and g at x; it fails
    # with a TypeError or the module's error if the argument list has changed.
    failures = []
    for int_type in (np.int32, np.int64):
        arrays = _work_arrays(np.zeros(1), 1, int_type)
        try:
            _call(setulb, arrays, _bounds(Space(1, np.zeros(1), np.ones(1))), 1, 0.0)
        except Exception as err:  # noqa: BLE001 - any failure means a mismatch
            failures.append(f"{type(err).__name__}: {err}")
            continue
        if arrays["task"][0] == _FG:
            return setulb, int_type
        failures.append(f"start call returned task {arrays['task'].tolist()}")
    raise ImportError(
        hint + "rejected the expected call (" + "; ".join(failures) + "). Install "
        "a supported scipy or use another strategy"
    )


def _work_arrays(
    x0: np.ndarray, m: int, int_type: type[np.integer]
) -> dict[str, np.ndarray]:
    n = x0.size
    return {
        "x": np.array(x0, dtype=np.float64),
        "g": np.zeros(n),
        "wa": np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m),
        "iwa": np.zeros(3 * n, dtype=int_type),
        "task": np.zeros(2, dtype=int_type),
        "ln_task": np.zeros(2, dtype=int_type),
        "lsave": np.zeros(4, dtype=int_type),
        "isave": np.zeros(44, dtype=int_type),
        "dsave": np.zeros(29),
    }


def _bounds(space: Space) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds in the solver's encoding: nbd is 0 free, 1 lower, 2 both, 3 upper."""
    has_low = np.isfinite(space.lower)
    has_up = np.isfinite(space.upper)
    nbd = np.select([has_low & has_up, has_low, has_up], [2, 1, 3], 0)
    lower = np.where(has_low, space.lower, 0.0).astype(np.float64)
    upper = np.where(has_up, space.upper, 0.0).astype(np.float64)
    return lower, upper, nbd


def _call(
    setulb: Any,
    a: dict[str, np.ndarray],
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray],
    m: int,
    f: float,
    factr: float = 1e7,
    pgtol: float = 1e-5,
    maxls: int = 20,
) -> None:
    lower, upper, nbd = bounds
    setulb(
        m,
        a["x"],
        lower,
        upper,
        nbd.astype(a["iwa"].dtype),
        f,
        a["g"],
        factr,
        pgtol,
        a["wa"],
        a["iwa"],
        a["task"],
        a["lsave"],
        a["isave"],
        a["dsave"],
        maxls,
        a["ln_task"],
    )


_SETULB, _INT = _load_setulb()
_ARRAYS = ("x", "g", "wa", "iwa", "task", "ln_task", "lsave", "isave", "dsave")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LBFGSBState(State):
    """State of an L-BFGS-B run: the solver's arrays between two calls.

    Attributes:
        x: The point whose value and gradient the solver asked for.
        f: The value last passed to the solver.
        g: The gradient last passed to the solver.
        wa: The solver's float workspace (correction pairs, line-search data).
        iwa: Its integer workspace.
        task: What the solver asked for or reported, with a reason code.
        ln_task: The line search's own task.
        lsave: The solver's saved flags.
        isave: Its saved integers.
        dsave: Its saved floats.
        told_x: The point of the last evaluation, or ``None``; a request for
            that exact point again is answered without a new evaluation.
        anchor_x: The iterate the current line search started from, or ``None``
            before the first evaluation.
        anchor_f: Its value.
        anchor_g: Its gradient.
    """

    x: np.ndarray
    f: float = 0.0
    g: np.ndarray
    wa: np.ndarray
    iwa: np.ndarray
    task: np.ndarray
    ln_task: np.ndarray
    lsave: np.ndarray
    isave: np.ndarray
    dsave: np.ndarray
    told_x: np.ndarray | None = None
    anchor_x: np.ndarray | None = None
    anchor_f: float = 0.0
    anchor_g: np.ndarray | None = None


class LBFGSB(Strategy):
    """L-BFGS-B as an ask/tell strategy over scipy's solver, one evaluation a batch.

    Each batch is the single point where the solver wants the value and the
    gradient. Given the same options, the run evaluates the same points as
    ``scipy.optimize.minimize(method="L-BFGS-B")`` with an analytic ``jac``, and
    counts the same ``nfev`` and ``nit``: like scipy, a repeated request for the
    point evaluated last is answered from that evaluation. Bounds are handled by
    the solver itself, so every point it asks for is already inside them.

    **Failed evaluations.** The line search cannot use ``inf`` or NaN (scipy's
    own driver passes them on, and the solver then either stops at once or
    accepts the failed point). When the objective fails at a trial point ``x``
    (it raises, returns NaN or ``inf``, or the gradient is not finite), the
    solver is told instead that ``f(x) = f0 + 0.1 * |g0 . (x - x0)|`` with
    gradient ``-g0``, where ``x0``, ``f0`` and ``g0`` are the point, value and
    gradient the line search started from: a little above the start value, and
    sloping back down towards the start. Such a point fails the
    sufficient-decrease test, so it is never accepted, and the line search's
    cubic interpolation puts the next trial at about 0.43 of the failed step,
    close to bisection. Repeated failures keep shrinking the step; the solver
    restarts its memory when a line search fails, and stops when even a
    steepest-descent search fails, with a message saying so. This happens, for
    instance, when the minimum lies on the edge of the region where the
    objective fails; the result is then the best point found, near that edge,
    and the status is ``0`` as for convergence. A failure at the start point
    ends the run.

    **Limits.** It relies on ``scipy.optimize._lbfgsb.setulb``, a private scipy
    routine whose argument list is checked at import: supported are scipy 1.15
    (which replaced the Fortran code by the C translation) to 1.17. Without ``jac``
    every gradient costs ``dim + 1`` evaluations (forward differences). The run
    stops as scipy's does: ``gtol`` on the projected gradient, ``ftol`` on the
    relative reduction of ``f``, ``max_iter`` iterations, or the budget.

    Args:
        m: Number of correction pairs kept (the memory of the Hessian estimate).
        ftol: Stop when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol``;
            scipy's ``factr`` is ``ftol / eps``.
        gtol: Stop when the largest projected-gradient component is at most this.
        maxls: Most line-search steps per iteration.
        max_iter: Stop after this many iterations (``None``: budget only).

    Raises:
        InvalidOptionError: If an option has the wrong type.
        ValueError: If an option is out of range.

    Example:
        >>> import numpy as np, hybridopt
        >>> res = hybridopt.minimize(lambda x: float(np.sum((x - 1) ** 2)),
        ...     [0.0, 3.0], jac=lambda x: 2 * (x - 1), strategy="lbfgsb")
        >>> bool(np.allclose(res.x, 1.0)), res.nfev
        (True, 3)
    """

    name = "lbfgsb"
    info: ClassVar[StrategyInfo] = StrategyInfo(
        family="gradient",
        needs_gradient=True,
        requires_start=True,
        summary="L-BFGS-B quasi-Newton with bounds, ask/tell over scipy's solver",
        reference="Byrd, Lu, Nocedal & Zhu (1995); Morales & Nocedal (2011)",
    )
    state_class: ClassVar[type[State]] = LBFGSBState
    counts_iterations: ClassVar[bool] = True

    def __init__(
        self,
        *,
        m: int = 10,
        ftol: float = 2.220446049250313e-09,
        gtol: float = 1e-5,
        maxls: int = 20,
        max_iter: int | None = None,
    ) -> None:
        self.m = check_int("m", m, low=1, high=1000)
        self.ftol = check_real("ftol", ftol, low=0.0)
        self.gtol = check_real("gtol", gtol, low=0.0)
        self.maxls = check_int("maxls", maxls, low=1)
        self.max_iter = (
            None if max_iter is None else check_int("max_iter", max_iter, low=1)
        )

    # -- hooks -------------------------------------------------------------------

    def _init(
        self, space: Space, rng: np.random.Generator, budget: int
    ) -> dict[str, Any]:
        arrays = _work_arrays(space.start_point(rng), self.m, _INT)
        self._setulb(space, arrays, 0.0)
        if arrays["task"][0] != _FG:
            raise RuntimeError(
                f"scipy's L-BFGS-B rejected the problem at its start "
                f"(task {arrays['task'].tolist()})"
            )
        return {k: frozen_array(v, v.dtype) for k, v in arrays.items()}

    def _ask(self, state: State, rng: np.random.Generator) -> tuple[np.ndarray, State]:
        assert isinstance(state, LBFGSBState)
        return state.x[None, :], state

    def _tell(
        self,
        state: State,
        batch: Batch,
        evaluations: Evaluations,
        rng: np.random.Generator,
    ) -> State:
        assert isinstance(state, LBFGSBState)
        assert evaluations.grad is not None
        x = batch.x[0]
        f = float(evaluations.f[0])
        g = np.array(evaluations.grad[0], dtype=np.float64)
        failed = bool(evaluations.failed[0]) or not np.all(np.isfinite(g))
        return self._take(state, x, f, g, failed)

    # -- internals -----------------------------------------------------------------

    def _take(
        self, state: LBFGSBState, x: np.ndarray, f: float, g: np.ndarray, failed: bool
    ) -> State:
        if state.anchor_x is None:
            if failed:
                return self.finish(
                    state,
                    "the objective or its gradient failed at the start point",
                    status=STATUS_STALLED,
                )
            state = dataclasses.replace(
                state, anchor_x=frozen_array(x), anchor_f=f, anchor_g=frozen_array(g)
            )
        if failed:
            assert state.anchor_g is not None
            # See the class docstring: a little above the start value, sloping
            # back down towards the start, so the line search halves its step.
            slope = float(state.anchor_g @ (x - state.anchor_x))
            f = state.anchor_f + _FAILED_RISE * abs(slope)
            g = -np.asarray(state.anchor_g)
        return self._advance(state, x, f, g)

    def _setulb(self, space: Space, arrays: dict[str, np.ndarray], f: float) -> None:
        _call(
            _SETULB,
            arrays,
            _bounds(space),
            self.m,
            f,
            self.ftol / np.finfo(float).eps,
            self.gtol,
            self.maxls,
        )

    def _advance(
        self, state: LBFGSBState, x_told: np.ndarray, f: float, g: np.ndarray
    ) -> State:
        """Passes one evaluation to the solver and runs it to its next request."""
        arrays = {k: np.array(getattr(state, k)) for k in _ARRAYS}
        # A state saved where scipy's work arrays had another integer type.
        for k in ("iwa", "task", "ln_task", "lsave", "isave"):
            arrays[k] = arrays[k].astype(_INT)
        arrays["g"][:] = g
        nit = state.nit
        anchor = (state.anchor_x, state.anchor_f, state.anchor_g)
        message = ""
        status_done = False
        status = STATUS_CONVERGED
        while True:
            self._setulb(state.space, arrays, f)
            task, reason = int(arrays["task"][0]), int(arrays["task"][1])
            if task == _FG:
                if np.array_equal(arrays["x"], x_told):
                    # Same point as the last evaluation: answer from it, as
                    # scipy's cached objective does.
                    arrays["g"][:] = g
                    continue
                break
            if task == _NEW_X:
                nit += 1
                anchor = (frozen_array(arrays["x"]), f, frozen_array(arrays["g"]))
                if self.max_iter is not None and nit >= self.max_iter:
                    message, status_done = f"reached max_iter={self.max_iter}", True
                    status = STATUS_BUDGET
                    break
                continue
            if task == _CONVERGENCE:
                why = _REASONS.get(reason, f"reason code {reason}")
                message, status_done = f"converged: {why}", True
                break
            if task == _ABNORMAL:
                message = (
                    "stopped: the line search found no acceptable step, even along "
                    "steepest descent (rounding limits progress, or the objective "
                    "is not smooth or fails near the current point)"
                )
                status_done, status = True, STATUS_STALLED
                break
            raise RuntimeError(
                f"scipy's L-BFGS-B stopped with task {task} (code {reason}); this "
                "is a bug in hybridopt's lbfgsb strategy or an unsupported scipy "
                f"{scipy.__version__}"
            )
        new = dataclasses.replace(
            state,
            f=f,
            told_x=frozen_array(x_told),
            anchor_x=anchor[0],
            anchor_f=anchor[1],
            anchor_g=anchor[2],
            nit=nit,
            **{k: frozen_array(v, v.dtype) for k, v in arrays.items()},  # type: ignore[arg-type]
        )
        if status_done:
            return self.finish(new, message, status=status)
        return new
