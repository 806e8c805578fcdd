from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import Bounds

from hybridopt import Problem


def sphere(x):
    return float(x @ x)


@given(
    low=st.floats(-1e6, 1e6),
    width=st.floats(0, 1e6),
    dim=st.integers(1, 8),
)
def test_one_pair_broadcasts_over_x0(low, width, dim):
    x0 = np.full(dim, low + width / 2)
    p = Problem.create(sphere, x0, bounds=(low, low + width))
    assert p.dim == dim
    assert np.all(p.space.lower == low) and np.all(p.space.upper == low + width)


def test_pairs_none_and_scipy_bounds():
    p = Problem.create(sphere, bounds=[(None, 1), (0, None)])
    assert p.space.lower.tolist() == [-np.inf, 0]
    assert p.space.upper.tolist() == [1, np.inf]
    q = Problem.create(sphere, bounds=Bounds([0, 0], [1, 2]))
    assert q.space.upper.tolist() == [1, 2] and q.space.bounded


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bounds": [(1, 0)]}, "lower bound exceeds upper bound at coordinate 0"),
        ({"bounds": [(0, 1), (float("nan"), 1)]}, "NaN"),
        ({"x0": [[1, 2]]}, "shape"),
        ({"x0": [1.0, 2.0], "bounds": [(0, 1)] * 3}, "3 .* pairs but x0 has 2"),
        ({"x0": [5.0], "bounds": [(0, 1)]}, r"outside the bounds .* index 0"),
        ({"x0": [np.inf]}, "finite"),
        ({}, "give x0 or bounds"),
        ({"bounds": [(0, 1, 2)]}, r"bounds\[0\] must be a \(low, high\) pair"),
        ({"bounds": [("a", 1)]}, "must be a number"),
        ({"x0": []}, "empty"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Problem.create(sphere, kwargs.pop("x0", None), **kwargs)


def test_not_callable():
    with pytest.raises(TypeError, match="fun must be callable"):
        Problem.create(42, [1.0])
    with pytest.raises(TypeError, match="jac must be callable"):
        Problem.create(sphere, [1.0], jac="grad")
    with pytest.raises(TypeError, match="bounds must be"):
        Problem.create(sphere, [1.0], bounds=3)


def test_two_arrays_are_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        Problem.create(sphere, bounds=(np.array([-1.0, 0.0]), np.array([1.0, 2.0])))


@pytest.mark.parametrize(
    "bounds", [[(-1e308, 1e308)], [(-np.finfo(float).max, np.finfo(float).max)]]
)
def test_overflowing_width_is_refused(bounds):
    with pytest.raises(ValueError, match="too far apart"):
        Problem.create(sphere, bounds=bounds)


def test_huge_numbers_are_value_errors():
    with pytest.raises(ValueError, match="x0"):
        Problem.create(sphere, [10**400])
    with pytest.raises(ValueError, match="does not fit"):
        Problem.create(sphere, bounds=[(0, 10**400)])
    with pytest.raises(ValueError, match="3 .* pairs but x0 has 2"):
        Problem.create(sphere, [0.0, 0.0], bounds=Bounds([0, 0, 0], [1, 1, 1]))
