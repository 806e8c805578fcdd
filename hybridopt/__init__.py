"""hybridopt: gradient methods, evolutionary search and their compositions.

One :class:`Strategy` interface covers gradient descent, Adam, L-BFGS-B, genetic
algorithms, restarts and memetic hybrids; :func:`minimize` runs any of them,
serially or on Ray, and returns a ``scipy.optimize.OptimizeResult``.
"""

from __future__ import annotations

from hybridopt import logging as logging  # noqa: PLC0414 - configure the root logger
from hybridopt._records import dumps, loads
from hybridopt.errors import (
    BadObjectiveWarning,
    ConfigError,
    ExperimentalWarning,
    HybridoptError,
    InefficientSettingsWarning,
    InvalidOptionError,
    ObjectiveReturnError,
    UnknownStrategyError,
)
from hybridopt.minimize import default_budget, minimize, run
from hybridopt.problem import Problem, Space
from hybridopt.registry import get_strategy, register_strategy, registry, strategies
from hybridopt.result import Result
from hybridopt.strategy import Batch, Evaluations, State, Strategy, StrategyInfo

__version__ = "0.1.0"

__all__ = [
    "BadObjectiveWarning",
    "Batch",
    "ConfigError",
    "Evaluations",
    "ExperimentalWarning",
    "HybridoptError",
    "InefficientSettingsWarning",
    "InvalidOptionError",
    "ObjectiveReturnError",
    "Problem",
    "Result",
    "Space",
    "State",
    "Strategy",
    "StrategyInfo",
    "UnknownStrategyError",
    "__version__",
    "default_budget",
    "dumps",
    "get_strategy",
    "loads",
    "minimize",
    "register_strategy",
    "registry",
    "run",
    "strategies",
]
