"""Experiment configuration: a TOML file naming strategies, problems and seeds.

An experiment is every combination of one strategy, one problem and one seed,
each run with the same budget of objective evaluations. The file looks like::

    name = "quickstart"
    seeds = 3                # seeds 0, 1, 2; or a list such as [0, 7, 42]
    budget = 5000            # objective evaluations per run

    [[strategies]]
    name = "adam"            # a registered strategy
    label = "adam-fast"      # optional, unique; defaults to the name
    options = { learning_rate = 0.1 }

    [[problems]]
    type = "bbob"            # or "callable", "classification"
    function = 15
    dimension = 10
    instance = [1, 2]        # one problem per instance

Everything is checked when the file is loaded, so a typo fails at once rather
than after an hour of runs: every error is a :class:`~hybridopt.ConfigError`
whose message starts with the file name and the key path, such as
``quickstart.toml: problems[2].dimension: must be an integer, got "10"``.
Strategy options are checked by building each strategy once.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hybridopt.errors import ConfigError
from hybridopt.registry import get_strategy, registry

__all__ = [
    "BBOB_DIMENSIONS",
    "DATASETS",
    "ExperimentConfig",
    "ProblemSpec",
    "StrategySpec",
    "load_config",
    "parse_config",
    "resolve_callable",
]

BBOB_DIMENSIONS = (2, 3, 5, 10, 20, 40)
DATASETS = ("breast_cancer", "digits", "iris", "wine")
MODELS = ("logistic", "mlp")

_TOP_KEYS = ("name", "description", "seeds", "budget", "strategies", "problems")
_STRATEGY_KEYS = ("name", "label", "options")
_PROBLEM_KEYS = {
    "bbob": ("type", "label", "function", "dimension", "instance"),
    "callable": ("type", "label", "function", "dimension", "bounds", "jac", "x0"),
    "classification": ("type", "label", "dataset", "model", "hidden", "l2", "bounds"),
}
_DEFAULT_CLASSIFICATION_BOUNDS = (-10.0, 10.0)
# Seeds are stored as SQLite integers (signed 64 bits).
_MAX_SEED = 2**63 - 1
_MAX_SEED_COUNT = 100_000


@dataclasses.dataclass(frozen=True)
class StrategySpec:
    """One strategy of an experiment.

    Attributes:
        label: Unique name in tables and in the storage.
        name: Registered strategy name.
        options: Keyword options passed to the strategy.
    """

    label: str
    name: str
    options: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ProblemSpec:
    """One problem of an experiment, as plain data that can travel to a worker.

    Attributes:
        label: Unique name in tables and in the storage.
        spec: JSON-compatible description with a ``type`` key; see
            :func:`hybridopt.experiments.problems.build_problem`.
    """

    label: str
    spec: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment.

    Attributes:
        name: Experiment name; the default storage is ``results/<name>.sqlite``.
        seeds: Seeds, each giving one run per strategy and problem.
        budget: Objective evaluations per run.
        strategies: The strategies, in file order.
        problems: The problems, in file order, one per BBOB instance.
        description: Free text.
        source: File the configuration was read from, for messages.
    """

    name: str
    seeds: tuple[int, ...]
    budget: int
    strategies: tuple[StrategySpec, ...]
    problems: tuple[ProblemSpec, ...]
    description: str = ""
    source: str = "<config>"

    @property
    def n_runs(self) -> int:
        """Number of runs: strategies x problems x seeds."""
        return len(self.strategies) * len(self.problems) * len(self.seeds)


def load_config(path: str | Path) -> ExperimentConfig:
    """Reads and validates an experiment file.

    Args:
        path: A TOML file.

    Returns:
        The configuration.

    Raises:
        ConfigError: If the file is missing, is not valid TOML, or any value is
            invalid; the message names the file and the key.
    """
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text: {err.reason}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from None
    return parse_config(data, source=source)


def parse_config(
    data: Mapping[str, Any], *, source: str = "<config>"
) -> ExperimentConfig:
    """Validates parsed TOML data; see :func:`load_config`.

    Raises:
        ConfigError: For any invalid value, naming ``source`` and the key.
    """
    c = _Checker(source)
    c.keys(data, _TOP_KEYS, "")
    name = c.label(c.require(data, "name", ""), "name")
    if not name.strip() or any(ch in name for ch in "/\\"):
        c.fail("name", f"must be a non-empty name without slashes, got {name!r}")
    description = c.string(data.get("description", ""), "description")
    seeds = _seeds(c, c.require(data, "seeds", ""))
    budget = c.integer(c.require(data, "budget", ""), "budget", low=1)
    strategies = _strategies(c, c.require(data, "strategies", ""))
    problems = _problems(c, c.require(data, "problems", ""))
    return ExperimentConfig(
        name=name,
        seeds=seeds,
        budget=budget,
        strategies=strategies,
        problems=problems,
        description=description,
        source=source,
    )


def resolve_callable(target: str) -> Any:
    """Imports ``"module:attr"`` (``attr`` may be dotted) and returns the object.

    Raises:
        ValueError: If ``target`` is not of that form.
        ImportError: If the module cannot be imported.
        AttributeError: If the attribute does not exist.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f'must be "module:attribute", got {target!r}')
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class _Checker:
    """Type checks whose errors carry the file name and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> None:
        where = f"{self.source}: {key}: " if key else f"{self.source}: "
        raise ConfigError(where + message)

    def require(self, table: Mapping[str, Any], key: str, prefix: str) -> Any:
        if key not in table:
            self.fail(_join(prefix, key), "missing required key")
        return table[key]

    def keys(
        self, table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str
    ) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(
                    _join(prefix, key),
                    f"unknown key{hint} (allowed: {', '.join(allowed)})",
                )

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(key, f"must be a table, got {_show(value)}")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {_show(value)}")
        return value

    def label(self, value: Any, key: str) -> str:
        """A name shown in tables: one line, no table separators."""
        text = self.string(value, key)
        if not text.strip() or "|" in text or not text.isprintable():
            self.fail(
                key,
                "must be a non-empty single-line name without '|' or control "
                f"characters, got {text!r}",
            )
        return text

    def integer(
        self,
        value: Any,
        key: str,
        *,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be an integer, got {_show(value)}")
        if low is not None and value < low:
            self.fail(key, f"must be at least {low}, got {value}")
        if high is not None and value > high:
            self.fail(key, f"must be at most {high}, got {value}")
        return int(value)

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"must be a number, got {_show(value)}")
        if not math.isfinite(value):
            self.fail(key, f"must be finite, got {value}")
        return float(value)

    def array_of_tables(self, value: Any, key: str) -> list[Mapping[str, Any]]:
        if not isinstance(value, list) or not value:
            self.fail(
                key,
                f"must be a non-empty array of tables ([[{key}]] sections), "
                f"got {_show(value)}",
            )
        for i, item in enumerate(value):
            self.table(item, f"{key}[{i}]")
        return value

    def bounds(self, value: Any, key: str, dim: int | None) -> list[list[float]]:
        """One ``[low, high]`` pair for every coordinate, or one per coordinate."""
        if not isinstance(value, list) or not value:
            self.fail(
                key, f"must be a [low, high] pair or a list of them, got {_show(value)}"
            )
        if all(not isinstance(v, list) for v in value):
            pairs = [value]
        else:
            pairs = value
            if dim is not None and len(pairs) not in (1, dim):
                self.fail(
                    key, f"has {len(pairs)} [low, high] pairs but dimension is {dim}"
                )
        out = []
        for i, pair in enumerate(pairs):
            where = key if pairs is not value else f"{key}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail(where, f"must be a [low, high] pair, got {_show(pair)}")
            low = self.number(pair[0], where)
            high = self.number(pair[1], where)
            if not low < high:
                self.fail(where, f"low must be below high, got [{low}, {high}]")
            out.append([low, high])
        return out


def _seeds(c: _Checker, value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        if not value:
            c.fail("seeds", "must not be empty")
        seeds = tuple(
            c.integer(s, f"seeds[{i}]", low=0, high=_MAX_SEED)
            for i, s in enumerate(value)
        )
        if len(set(seeds)) != len(seeds):
            c.fail("seeds", f"must be distinct, got {list(seeds)}")
        return seeds
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(c.integer(value, "seeds", low=1, high=_MAX_SEED_COUNT)))
    c.fail("seeds", f"must be a count or a list of integers, got {_show(value)}")
    raise AssertionError  # unreachable: fail raises


def _strategies(c: _Checker, value: Any) -> tuple[StrategySpec, ...]:
    out: list[StrategySpec] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(c.array_of_tables(value, "strategies")):
        key = f"strategies[{i}]"
        c.keys(table, _STRATEGY_KEYS, key)
        name = c.string(c.require(table, "name", key), f"{key}.name")
        label = c.label(table.get("label", name), f"{key}.label")
        options = dict(c.table(table.get("options", {}), f"{key}.options"))
        if label in seen:
            c.fail(
                f"{key}.label",
                f"{label!r} is already used by strategies[{seen[label]}]; give each "
                "strategy a unique label",
            )
        seen[label] = i
        try:
            registry.entry(name)
        except (ValueError, TypeError) as err:
            c.fail(f"{key}.name", str(err))
        try:
            get_strategy(name, **options)
        except ImportError as err:
            c.fail(f"{key}.name", str(err))
        except (TypeError, ValueError) as err:
            c.fail(f"{key}.options", str(err))
        out.append(StrategySpec(label=label, name=name, options=options))
    return tuple(out)


def _problems(c: _Checker, value: Any) -> tuple[ProblemSpec, ...]:
    out: list[ProblemSpec] = []
    seen: dict[str, str] = {}
    for i, table in enumerate(c.array_of_tables(value, "problems")):
        key = f"problems[{i}]"
        kind = c.string(c.require(table, "type", key), f"{key}.type")
        if kind not in _PROBLEM_KEYS:
            close = difflib.get_close_matches(kind, list(_PROBLEM_KEYS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            c.fail(
                f"{key}.type",
                f"unknown problem type {kind!r}{hint} "
                f"(known: {', '.join(_PROBLEM_KEYS)})",
            )
        c.keys(table, _PROBLEM_KEYS[kind], key)
        label = table.get("label")
        if label is not None:
            c.label(label, f"{key}.label")
        parse = {
            "bbob": _bbob,
            "callable": _callable,
            "classification": _classification,
        }
        for spec in parse[kind](c, table, key, label):
            if spec.label in seen:
                c.fail(
                    f"{key}.label",
                    f"{spec.label!r} is already used by {seen[spec.label]}; give each "
                    "problem a unique label",
                )
            seen[spec.label] = key
            out.append(spec)
    return tuple(out)


def _bbob(
    c: _Checker, table: Mapping[str, Any], key: str, label: str | None
) -> list[ProblemSpec]:
    function = c.integer(
        c.require(table, "function", key), f"{key}.function", low=1, high=24
    )
    dim = c.integer(c.require(table, "dimension", key), f"{key}.dimension")
    if dim not in BBOB_DIMENSIONS:
        c.fail(
            f"{key}.dimension",
            f"BBOB has dimensions {', '.join(map(str, BBOB_DIMENSIONS))}, got {dim}",
        )
    raw = table.get("instance", 1)
    if isinstance(raw, list):
        if not raw:
            c.fail(f"{key}.instance", "must not be empty")
        instances = [
            c.integer(v, f"{key}.instance[{j}]", low=1) for j, v in enumerate(raw)
        ]
        if len(set(instances)) != len(instances):
            c.fail(f"{key}.instance", f"must be distinct, got {instances}")
    else:
        instances = [c.integer(raw, f"{key}.instance", low=1)]
    out = []
    for inst in instances:
        if label is None:
            name = f"f{function}-i{inst}-d{dim}"
        else:
            name = label if len(instances) == 1 else f"{label}-i{inst}"
        spec = {
            "type": "bbob",
            "function": function,
            "dimension": dim,
            "instance": inst,
        }
        out.append(ProblemSpec(label=name, spec=spec))
    return out


def _callable(
    c: _Checker, table: Mapping[str, Any], key: str, label: str | None
) -> list[ProblemSpec]:
    target = c.string(c.require(table, "function", key), f"{key}.function")
    _check_target(c, target, f"{key}.function")
    dim = c.integer(c.require(table, "dimension", key), f"{key}.dimension", low=1)
    bounds = c.bounds(c.require(table, "bounds", key), f"{key}.bounds", dim)
    if len(bounds) == 1:
        bounds = bounds * dim
    spec: dict[str, Any] = {
        "type": "callable",
        "function": target,
        "dimension": dim,
        "bounds": bounds,
    }
    if "jac" in table:
        spec["jac"] = c.string(table["jac"], f"{key}.jac")
        _check_target(c, spec["jac"], f"{key}.jac")
    if "x0" in table:
        x0 = table["x0"]
        if not isinstance(x0, list) or len(x0) != dim:
            c.fail(f"{key}.x0", f"must be a list of {dim} numbers, got {_show(x0)}")
        spec["x0"] = [c.number(v, f"{key}.x0[{j}]") for j, v in enumerate(x0)]
        for j, (v, (low, high)) in enumerate(zip(spec["x0"], bounds, strict=True)):
            if not low <= v <= high:
                c.fail(f"{key}.x0[{j}]", f"{v} lies outside the bounds [{low}, {high}]")
    name = label if label is not None else target.rpartition(":")[2].rpartition(".")[2]
    return [ProblemSpec(label=name, spec=spec)]


def _classification(
    c: _Checker, table: Mapping[str, Any], key: str, label: str | None
) -> list[ProblemSpec]:
    dataset = c.string(c.require(table, "dataset", key), f"{key}.dataset")
    if dataset not in DATASETS:
        close = difflib.get_close_matches(dataset, DATASETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        c.fail(
            f"{key}.dataset",
            f"unknown dataset {dataset!r}{hint} (known: {', '.join(DATASETS)})",
        )
    model = c.string(table.get("model", "logistic"), f"{key}.model")
    if model not in MODELS:
        c.fail(f"{key}.model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    spec: dict[str, Any] = {
        "type": "classification",
        "dataset": dataset,
        "model": model,
    }
    if model == "mlp":
        spec["hidden"] = c.integer(table.get("hidden", 8), f"{key}.hidden", low=1)
    elif "hidden" in table:
        c.fail(f"{key}.hidden", 'applies to model = "mlp" only')
    l2 = c.number(table.get("l2", 1e-3), f"{key}.l2")
    if l2 < 0:
        c.fail(f"{key}.l2", f"must be >= 0, got {l2}")
    spec["l2"] = l2
    bounds = c.bounds(
        table.get("bounds", list(_DEFAULT_CLASSIFICATION_BOUNDS)), f"{key}.bounds", 1
    )
    spec["bounds"] = bounds[0]
    name = label if label is not None else f"{dataset}-{model}"
    return [ProblemSpec(label=name, spec=spec)]


def _check_target(c: _Checker, target: str, key: str) -> None:
    try:
        obj = resolve_callable(target)
    except ValueError as err:
        c.fail(key, str(err))
    except ImportError as err:
        c.fail(key, f"cannot import {target!r}: {err}")
    except AttributeError as err:
        c.fail(key, f"cannot find {target!r}: {err}")
    except (Exception, SystemExit) as err:  # noqa: BLE001 - user code at import
        c.fail(key, f"importing {target!r} failed: {type(err).__name__}: {err}")
    else:
        if not callable(obj):
            c.fail(key, f"{target!r} is not callable, it is a {type(obj).__name__}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: Any) -> str:
    """A value as it would look in TOML, with its type when that helps."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    return repr(value)
