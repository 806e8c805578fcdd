from __future__ import annotations

import pytest

import hybridopt
from hybridopt._experimental import experimental


def test_experimental_marker_warns_and_documents():
    @experimental("0.1.0")
    def feature(x: int) -> int:
        """Doubles."""
        return 2 * x

    with pytest.warns(hybridopt.ExperimentalWarning, match="feature is experimental"):
        assert feature(2) == 4
    assert "Experimental since v0.1.0" in feature.__doc__
