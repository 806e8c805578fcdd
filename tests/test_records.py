from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hybridopt
from hybridopt._records import from_data, to_data
from hybridopt.problem import Space


@given(
    arr=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.floats(allow_nan=False),
    )
)
def test_arrays_round_trip_exactly(arr):
    back = hybridopt.loads(hybridopt.dumps({"a": arr, "t": (1, 2.5, "x")}))
    assert back["a"].dtype == arr.dtype
    assert np.array_equal(back["a"], arr)
    assert back["t"] == (1, 2.5, "x")
    assert not back["a"].flags.writeable


def test_state_round_trip_keeps_rng_and_inf():
    space = Space(dim=2, lower=np.full(2, -np.inf), upper=np.ones(2))
    strategy = hybridopt.get_strategy("gd")
    state = strategy.init(space.with_x0(np.zeros(2)), 5, budget=10)
    text = hybridopt.dumps(state)
    back = hybridopt.loads(text)
    assert type(back) is type(state)
    assert hybridopt.dumps(back) == text
    assert back.generator().random() == state.generator().random()


def test_unknown_record_type_is_refused():
    data = {"__record__": "os.system", "fields": {}}
    with pytest.raises(ValueError, match="unknown record type"):
        from_data(data)


def test_unserializable_values_are_refused():
    with pytest.raises(TypeError, match="cannot serialize"):
        to_data(object())


@pytest.mark.parametrize(
    "data",
    [
        {"__array__": "|S1000000000", "shape": [], "data": "a"},
        {"__array__": "<f8", "shape": [16000, 16000], "data": [1.0]},
        {"__array__": "|O", "shape": [1], "data": [1]},
        {"__array__": "<f8", "shape": [-1], "data": [1.0]},
        {"__record__": "hybridopt.problem.Space", "fields": []},
        {"__record__": "hybridopt.problem.Space", "fields": {"nope": 1}},
        {"__tuple__": 5},
    ],
)
def test_hostile_data_is_a_value_error(data):
    with pytest.raises(ValueError):
        from_data(data)


def test_bad_generator_state_is_a_value_error():
    from hybridopt.strategy import generator_from_state

    for state in ({"bit_generator": "RandomState"}, {"bit_generator": "PCG64"}, 5):
        with pytest.raises(ValueError):
            generator_from_state(state)
