"""The result of a run, compatible with ``scipy.optimize.OptimizeResult``."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from hybridopt.strategy import STATUS_BUDGET, STATUS_CONVERGED, State

__all__ = ["Result", "result_from_state"]


class Result(OptimizeResult):
    """What a run found, with the fields of ``scipy.optimize.OptimizeResult``.

    Attributes:
        x: Best candidate evaluated.
        fun: Its objective value.
        success: The run ended by its own criterion or by using up its budget,
            with a finite best value. This does not certify a global minimum.
        status: ``0`` the strategy's criterion was met, ``1`` budget or
            iteration limit reached, ``2`` stopped by the callback, ``3`` stalled
            without meeting the strategy's tolerance (``success`` is then false).
        message: Why the run stopped, in words.
        nfev: Objective evaluations, finite differences included.
        njev: Gradient-function calls.
        nit: Iterations (generations for a GA).
        nfail: Evaluations that raised or returned a non-finite value.
        strategy: Name of the strategy.
        history: Array of shape ``(k, 2)``: the evaluation count and the new best
            value at each improvement.
        state: The final state (serializable with ``hybridopt.dumps``).
    """

    def __repr__(self) -> str:
        # The state repeats every field above at length; leave it out of the view.
        shown = OptimizeResult({k: v for k, v in self.items() if k != "state"})
        return repr(shown)


def result_from_state(state: State, strategy_name: str) -> Result:
    """Builds the result of a finished (or interrupted) run."""
    x = None if state.best_x is None else np.array(state.best_x)
    finite = bool(np.isfinite(state.best_f))
    success = finite and state.status in (STATUS_CONVERGED, STATUS_BUDGET)
    message = state.message or "run not finished"
    if state.nfail:
        message += f"; {state.nfail} of {state.nfev} evaluations failed"
    history = np.array(state.history, dtype=float).reshape(-1, 2)
    fields: dict[str, Any] = {
        "x": x,
        "fun": float(state.best_f),
        "success": success,
        "status": int(state.status),
        "message": message,
        "nfev": int(state.nfev),
        "njev": int(state.njev),
        "nit": int(state.nit),
        "nfail": int(state.nfail),
        "strategy": strategy_name,
        "history": history,
        "state": state,
    }
    return Result(**fields)
