"""Tests of experiment files: valid plans, and errors that name file and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridopt import ConfigError
from hybridopt.experiments import load_config, parse_config

REPO = Path(__file__).resolve().parents[2]

VALID = """
name = "t"
seeds = 2
budget = 100

[[strategies]]
name = "gd"
options = { learning_rate = 0.01 }

[[problems]]
type = "bbob"
function = 15
dimension = 10
instance = [1, 2]

[[problems]]
type = "callable"
function = "scipy.optimize:rosen"
jac = "scipy.optimize:rosen_der"
dimension = 3
bounds = [-2, 2]

[[problems]]
type = "classification"
dataset = "iris"
"""


def test_shipped_experiments_load() -> None:
    quick = load_config(REPO / "experiments" / "quickstart.toml")
    assert quick.name == "quickstart"
    assert [s.label for s in quick.strategies] == [
        "adam",
        "ga",
        "memetic",
        "restarts",
        "auto",
    ]
    assert quick.n_runs == 5 * 9 * 3
    smoke = load_config(REPO / "experiments" / "smoke.toml")
    assert smoke.n_runs == 8


def test_valid_config_expands_instances_and_defaults(write_config) -> None:
    cfg = load_config(write_config(VALID))
    assert cfg.seeds == (0, 1)
    assert cfg.budget == 100
    assert [p.label for p in cfg.problems] == [
        "f15-i1-d10",
        "f15-i2-d10",
        "rosen",
        "iris-logistic",
    ]
    assert cfg.problems[0].spec == {
        "type": "bbob",
        "function": 15,
        "dimension": 10,
        "instance": 1,
    }
    assert cfg.problems[2].spec["bounds"] == [[-2.0, 2.0]] * 3
    iris = cfg.problems[3].spec
    assert iris["model"] == "logistic"
    assert iris["l2"] == pytest.approx(1e-3)
    assert cfg.strategies[0].label == "gd"
    assert cfg.source == "exp.toml"


def test_seed_list_and_labels() -> None:
    data = {
        "name": "t",
        "seeds": [3, 7],
        "budget": 10,
        "strategies": [
            {"name": "gd", "label": "slow", "options": {"learning_rate": 1e-3}},
            {"name": "gd", "label": "fast", "options": {"learning_rate": 1e-1}},
        ],
        "problems": [
            {
                "type": "bbob",
                "label": "sphere",
                "function": 1,
                "dimension": 2,
                "instance": [1, 3],
            },
        ],
    }
    cfg = parse_config(data, source="x.toml")
    assert cfg.seeds == (3, 7)
    assert [s.label for s in cfg.strategies] == ["slow", "fast"]
    assert [p.label for p in cfg.problems] == ["sphere-i1", "sphere-i3"]


def _replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


BAD = {
    "string dimension": (
        _replace("dimension = 10", 'dimension = "10"'),
        'exp.toml: problems[0].dimension: must be an integer, got "10"',
    ),
    "bbob dimension": (
        _replace("dimension = 10", "dimension = 7"),
        "exp.toml: problems[0].dimension: BBOB has dimensions 2, 3, 5, 10, 20, 40",
    ),
    "bbob function": (
        _replace("function = 15", "function = 25"),
        "exp.toml: problems[0].function: must be at most 24, got 25",
    ),
    "unknown top key": (
        _replace("budget = 100", "budget = 100\nbudjet = 5"),
        "exp.toml: budjet: unknown key; did you mean 'budget'?",
    ),
    "unknown problem key": (
        _replace("instance = [1, 2]", "instance = [1, 2]\ninstances = 3"),
        "exp.toml: problems[0].instances: unknown key; did you mean 'instance'?",
    ),
    "unknown strategy key": (
        _replace('name = "gd"', 'name = "gd"\noptons = {}'),
        "exp.toml: strategies[0].optons: unknown key; did you mean 'options'?",
    ),
    "unknown strategy": (
        _replace('name = "gd"', 'name = "gdd"'),
        "exp.toml: strategies[0].name: unknown strategy 'gdd'; did you mean 'gd'",
    ),
    "unknown option": (
        _replace("learning_rate = 0.01", "learning_rte = 0.01"),
        "exp.toml: strategies[0].options: unknown option(s) for strategy 'gd': "
        "'learning_rte' (did you mean 'learning_rate'?)",
    ),
    "invalid option value": (
        _replace("learning_rate = 0.01", "learning_rate = -1.0"),
        "exp.toml: strategies[0].options: option 'learning_rate' must be > 0",
    ),
    "duplicate strategy label": (
        VALID + '\n[[strategies]]\nname = "gd"\n',
        "exp.toml: strategies[1].label: 'gd' is already used by strategies[0]",
    ),
    "duplicate problem label": (
        VALID + '\n[[problems]]\ntype = "classification"\ndataset = "iris"\n',
        "exp.toml: problems[3].label: 'iris-logistic' is already used by problems[2]",
    ),
    "seeds as string": (
        _replace("seeds = 2", 'seeds = "2"'),
        'exp.toml: seeds: must be a count or a list of integers, got "2"',
    ),
    "negative seed": (
        _replace("seeds = 2", "seeds = [1, -1]"),
        "exp.toml: seeds[1]: must be at least 0, got -1",
    ),
    "zero budget": (
        _replace("budget = 100", "budget = 0"),
        "exp.toml: budget: must be at least 1, got 0",
    ),
    "missing name": (
        _replace('name = "t"', ""),
        "exp.toml: name: missing required key",
    ),
    "no strategies": (
        VALID.split("[[strategies]]")[0]
        + "[[problems]]\ntype = 'bbob'\nfunction = 1\ndimension = 2\n",
        "exp.toml: strategies: missing required key",
    ),
    "problem type": (
        _replace('type = "callable"', 'type = "callabel"'),
        "exp.toml: problems[1].type: unknown problem type 'callabel'; did you mean "
        "'callable'?",
    ),
    "callable import": (
        _replace('"scipy.optimize:rosen"', '"no_such_module_xyz:f"'),
        "exp.toml: problems[1].function: cannot import 'no_such_module_xyz:f'",
    ),
    "callable attribute": (
        _replace('"scipy.optimize:rosen"', '"scipy.optimize:rosenbrock"'),
        "exp.toml: problems[1].function: cannot find 'scipy.optimize:rosenbrock'",
    ),
    "callable form": (
        _replace('"scipy.optimize:rosen"', '"scipy.optimize.rosen"'),
        'exp.toml: problems[1].function: must be "module:attribute"',
    ),
    "bounds count": (
        _replace("bounds = [-2, 2]", "bounds = [[-2, 2], [-1, 1]]"),
        "exp.toml: problems[1].bounds: has 2 [low, high] pairs but dimension is 3",
    ),
    "bounds order": (
        _replace("bounds = [-2, 2]", "bounds = [2, -2]"),
        "exp.toml: problems[1].bounds: low must be below high",
    ),
    "x0 outside": (
        _replace("bounds = [-2, 2]", "bounds = [-2, 2]\nx0 = [0, 0, 3]"),
        "exp.toml: problems[1].x0[2]: 3.0 lies outside the bounds",
    ),
    "dataset": (
        _replace('dataset = "iris"', 'dataset = "irs"'),
        "exp.toml: problems[2].dataset: unknown dataset 'irs'; did you mean 'iris'?",
    ),
    "hidden for logistic": (
        _replace('dataset = "iris"', 'dataset = "iris"\nhidden = 4'),
        'exp.toml: problems[2].hidden: applies to model = "mlp" only',
    ),
    "strategies not tables": (
        _replace(
            '[[strategies]]\nname = "gd"\noptions = { learning_rate = 0.01 }', ""
        ).replace('name = "t"', 'name = "t"\nstrategies = ["gd"]'),
        'exp.toml: strategies[0]: must be a table, got "gd"',
    ),
}


@pytest.mark.parametrize("text, message", list(BAD.values()), ids=list(BAD))
def test_errors_name_file_and_key(write_config, text: str, message: str) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(message), str(info.value)


def test_invalid_toml_and_missing_file(write_config, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^exp\.toml: not valid TOML"):
        load_config(write_config("name = \n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_config_error_is_a_value_error(write_config) -> None:
    with pytest.raises(ValueError):
        load_config(write_config(_replace("budget = 100", "budget = -3")))


@given(
    low=st.floats(-1e6, 1e6, allow_nan=False),
    width=st.floats(1e-3, 1e6, allow_nan=False),
    dim=st.integers(1, 12),
)
def test_one_bounds_pair_broadcasts_over_dimension(
    low: float, width: float, dim: int
) -> None:
    high = low + width
    data = {
        "name": "b",
        "seeds": 1,
        "budget": 5,
        "strategies": [{"name": "gd"}],
        "problems": [
            {
                "type": "callable",
                "function": "numpy:sum",
                "dimension": dim,
                "bounds": [low, high],
            }
        ],
    }
    spec = parse_config(data).problems[0].spec
    assert spec["bounds"] == [[low, high]] * dim


def test_errors_do_not_leak_tracebacks_of_toml(write_config) -> None:
    text = textwrap.dedent(VALID).replace("seeds = 2", "seeds = [0, 0]")
    with pytest.raises(ConfigError, match=r"^exp\.toml: seeds: must be distinct"):
        load_config(write_config(text))


@pytest.mark.parametrize("label", ["a|b", "two\nlines", "tab\there", " "])
def test_labels_must_fit_in_a_table(label: str) -> None:
    data = {
        "name": "x",
        "seeds": 1,
        "budget": 10,
        "strategies": [{"name": "ga", "label": label}],
        "problems": [{"type": "bbob", "function": 1, "dimension": 2, "instance": 1}],
    }
    with pytest.raises(ConfigError, match=r"strategies\[0\]\.label: must be"):
        parse_config(data, source="x.toml")
