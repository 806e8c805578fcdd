"""Exceptions and warning categories raised by hybridopt.

Every error hybridopt raises on bad input derives from :class:`HybridoptError` and
from the matching built-in type, so ``except ValueError`` keeps working for users
who do not know about this module.
"""

from __future__ import annotations

__all__ = [
    "BadObjectiveWarning",
    "ConfigError",
    "ExperimentalWarning",
    "HybridoptError",
    "InefficientSettingsWarning",
    "InvalidOptionError",
    "ObjectiveReturnError",
    "UnknownStrategyError",
]


class HybridoptError(Exception):
    """Base class of every error raised by hybridopt itself."""


class InvalidOptionError(HybridoptError, TypeError):
    """A strategy option is unknown or has the wrong type."""


class UnknownStrategyError(HybridoptError, ValueError):
    """No strategy is registered under the requested name."""


class ObjectiveReturnError(HybridoptError, TypeError):
    """The objective or its gradient returned something of the wrong kind or shape.

    This is a bug in the objective, so it ends the run at once instead of being
    counted as a failed evaluation.
    """


class ConfigError(HybridoptError, ValueError):
    """An experiment configuration is invalid; the message names file and key."""


class ExperimentalWarning(UserWarning):
    """The feature may change without a deprecation period."""


class InefficientSettingsWarning(UserWarning):
    """The settings work but waste evaluations (e.g. budget below population)."""


class BadObjectiveWarning(UserWarning):
    """The objective raised or returned a non-finite value at some points."""
