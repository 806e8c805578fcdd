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


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"radius": "0.1"}, TypeError),
        ({"shrink": 1.5}, ValueError),
        ({"expand": 0.5}, ValueError),
        ({"batch_size": 0}, ValueError),
    ],
)
def test_bad_options_are_named(options, error) -> None:
    with pytest.raises(error, match=next(iter(options))):
        AdaptiveRandomSearch(**options)
