"""The plugin passes hybridopt's conformance suite and is found by name."""

from __future__ import annotations

import pytest
from hybridopt_randomsearch import AdaptiveRandomSearch

import hybridopt
from hybridopt.testing import CHECKS


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_conformance(check: str) -> None:
    CHECKS[check](lambda: AdaptiveRandomSearch())


def test_registered_under_its_entry_point() -> None:
    entry = hybridopt.registry.entry("random_search")
    assert entry.origin == "hybridopt-randomsearch"
    assert type(hybridopt.get_strategy("random_search")) is AdaptiveRandomSearch
