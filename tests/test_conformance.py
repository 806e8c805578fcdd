"""Every registered strategy, built-in or plugin, passes the conformance suite."""

from __future__ import annotations

import pytest

import hybridopt
from hybridopt.testing import CHECKS


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("name", hybridopt.strategies())
def test_conformance(name: str, check: str) -> None:
    CHECKS[check](lambda: hybridopt.get_strategy(name))
