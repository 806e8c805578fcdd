"""The examples in hybridopt's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import hybridopt

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(hybridopt.__path__, "hybridopt.")
    if ".experiments" not in m.name and m.name != "hybridopt.cli"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
