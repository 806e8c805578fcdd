"""Experiments: strategies x problems x seeds from a TOML file, stored and reported.

Load a plan with :func:`load_config`, run it into a :class:`RunStore` with
:func:`run_experiment` (on Ray, resumable), and summarize it with
:func:`summarize` and :func:`write_report`. The ``hybridopt run`` command does
all three.
"""

from __future__ import annotations

from hybridopt.experiments.config import (
    ExperimentConfig,
    ProblemSpec,
    StrategySpec,
    load_config,
    parse_config,
)
from hybridopt.experiments.problems import BuiltProblem, build_problem
from hybridopt.experiments.report import (
    format_ranking,
    format_summary,
    rank_strategies,
    summarize,
    write_report,
)
from hybridopt.experiments.runner import (
    ExperimentInterrupted,
    ExperimentOutcome,
    RunSpec,
    execute_run,
    plan_runs,
    run_experiment,
)
from hybridopt.experiments.storage import RunRecord, RunStore

__all__ = [
    "BuiltProblem",
    "ExperimentConfig",
    "ExperimentInterrupted",
    "ExperimentOutcome",
    "ProblemSpec",
    "RunRecord",
    "RunSpec",
    "RunStore",
    "StrategySpec",
    "build_problem",
    "execute_run",
    "format_ranking",
    "format_summary",
    "load_config",
    "parse_config",
    "plan_runs",
    "rank_strategies",
    "run_experiment",
    "summarize",
    "write_report",
]
