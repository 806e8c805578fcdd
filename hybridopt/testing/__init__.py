"""Test helpers for strategy authors: the conformance suite every strategy passes."""

from __future__ import annotations

from hybridopt.testing.conformance import (
    CHECKS,
    StrategyFactory,
    advance,
    check_strategy,
)

__all__ = ["CHECKS", "StrategyFactory", "advance", "check_strategy"]
