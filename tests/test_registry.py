from __future__ import annotations

import pytest

import hybridopt
from hybridopt.builtin.gradient.gd import GradientDescent
from hybridopt.registry import Registry

BUILT_INS = {"gd", "momentum", "adam", "lbfgsb", "ga", "restarts", "memetic", "auto"}


def test_built_ins_come_from_entry_points():
    names = set(hybridopt.strategies())
    assert names >= BUILT_INS
    for name in BUILT_INS:
        assert hybridopt.registry.entry(name).origin == "built-in"


def test_unknown_name_suggests_close_ones():
    with pytest.raises(hybridopt.UnknownStrategyError, match="did you mean 'adam'"):
        hybridopt.get_strategy("adma")
    with pytest.raises(ValueError, match="unknown strategy 'zzzz'"):
        hybridopt.minimize(lambda x: 0.0, [1.0], strategy="zzzz")


def test_unknown_option_lists_accepted():
    with pytest.raises(hybridopt.InvalidOptionError, match="learning_rate") as info:
        hybridopt.get_strategy("gd", learnig_rate=0.1)
    assert "did you mean 'learning_rate'" in str(info.value)


def test_ill_typed_option_is_named():
    with pytest.raises(TypeError, match="'learning_rate' must be a real number"):
        hybridopt.get_strategy("gd", learning_rate="fast")
    with pytest.raises(ValueError, match="'learning_rate' must be >"):
        hybridopt.get_strategy("gd", learning_rate=-1.0)


def test_runtime_registration_and_collision():
    reg = Registry(group="hybridopt.no-such-group")

    class Mine(GradientDescent):
        name = "mine"

    reg.register("mine", Mine, origin="tests")
    assert reg.names() == ["mine"]
    assert isinstance(reg.create("mine"), Mine)

    class Other(GradientDescent):
        name = "mine"

    with pytest.raises(ValueError, match="already registered by tests"):
        reg.register("mine", Other, origin="elsewhere")
    with pytest.raises(TypeError, match="not a subclass"):
        reg.register("bad", dict)
