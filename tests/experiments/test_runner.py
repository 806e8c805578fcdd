"""Tests of problems, storage, the runner (serial and Ray) and the report."""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hybridopt import ConfigError
from hybridopt.experiments import (
    ExperimentInterrupted,
    RunRecord,
    RunStore,
    build_problem,
    execute_run,
    format_ranking,
    format_summary,
    parse_config,
    plan_runs,
    rank_strategies,
    run_experiment,
    summarize,
    write_report,
)
from hybridopt.experiments.problems import (
    ClassificationObjective,
    bbob_f_opt,
    load_dataset,
)

TINY = {
    "name": "tiny",
    "seeds": 2,
    "budget": 60,
    "strategies": [
        {"name": "gd", "label": "gd-slow", "options": {"learning_rate": 1e-3}},
        {"name": "gd", "label": "gd-fast", "options": {"learning_rate": 1e-2}},
    ],
    "problems": [
        {"type": "bbob", "function": 1, "dimension": 2, "instance": 1},
        {
            "type": "callable",
            "function": "scipy.optimize:rosen",
            "jac": "scipy.optimize:rosen_der",
            "dimension": 3,
            "bounds": [-2, 2],
        },
    ],
}


def tiny(**changes: object) -> object:
    return parse_config({**TINY, **changes}, source="tiny.toml")


def record(**changes: object) -> RunRecord:
    fields = {
        "experiment": "e",
        "strategy": "s",
        "problem": "p",
        "seed": 0,
        "status": "complete",
        "strategy_name": "gd",
        "strategy_options": {"learning_rate": 0.1},
        "problem_spec": {"type": "bbob", "function": 1, "dimension": 2, "instance": 1},
        "budget": 10,
        "best_f": 1.5,
        "f_opt": 1.0,
        "best_x": [0.25, -0.5],
        "nfev": 10,
        "njev": 0,
        "nit": 3,
        "nfail": 0,
        "success": True,
        "wall_seconds": 0.01,
        "message": "budget used up",
        "history": [[1.0, 3.0], [4.0, 1.5]],
        "metadata": {"warnings": []},
    }
    fields.update(changes)
    return RunRecord(**fields)


# -- problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    "dataset, model", [("iris", "logistic"), ("wine", "mlp"), ("breast_cancer", "mlp")]
)
def test_classification_gradient_matches_finite_differences(
    dataset: str, model: str
) -> None:
    x, y, _, _ = load_dataset(dataset)
    objective = ClassificationObjective(
        x, y, int(y.max()) + 1, model=model, hidden=3, l2=0.05
    )
    rng = np.random.default_rng(1)
    theta = rng.normal(scale=0.5, size=objective.dim)
    grad = objective.gradient(theta)
    h = 1e-6
    numeric = np.empty_like(theta)
    for i in range(objective.dim):
        e = np.zeros_like(theta)
        e[i] = h
        numeric[i] = (objective(theta + e) - objective(theta - e)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_classification_loss_is_stable_for_huge_logits() -> None:
    x, y, _, _ = load_dataset("iris")
    objective = ClassificationObjective(x, y, 3, l2=0.0)
    theta = np.full(objective.dim, 1e4)
    value, grad = objective.value_and_grad(theta)
    assert math.isfinite(value)
    assert grad is not None and np.all(np.isfinite(grad))
    # At zero weights every class is equally likely.
    assert objective(np.zeros(objective.dim)) == pytest.approx(math.log(3))


def test_classification_problem_reports_test_accuracy() -> None:
    spec = {
        "type": "classification",
        "dataset": "iris",
        "model": "logistic",
        "l2": 1e-3,
        "bounds": [-10.0, 10.0],
    }
    built = build_problem(spec, "iris")
    assert built.problem.space.has_jac
    assert built.problem.dim == 4 * 3 + 3
    assert built.describe is not None
    facts = built.describe(np.zeros(built.problem.dim))
    assert set(facts) == {"train_accuracy", "test_accuracy"}


def test_bbob_f_opt_is_the_minimum_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    built = build_problem(
        {"type": "bbob", "function": 1, "dimension": 2, "instance": 1}
    )
    f_opt = bbob_f_opt(1, 2, 1)
    assert f_opt is not None and built.f_opt == f_opt
    assert os.listdir(tmp_path) == []
    assert Path.cwd() == tmp_path
    rng = np.random.default_rng(0)
    values = [built.problem.fun(x) for x in rng.uniform(-5, 5, size=(200, 2))]
    assert min(values) > f_opt
    np.testing.assert_array_equal(built.problem.space.lower, [-5, -5])


# -- storage -------------------------------------------------------------------


def test_store_round_trip_and_contract(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.sqlite"
    with RunStore(path) as store:
        assert store.put(record())
        got = store.get("e", "s", "p", 0)
        assert got is not None
        assert got.to_dict() == record(created=got.created).to_dict()
        assert got.precision == pytest.approx(0.5)
        mode = store._conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT version FROM schema_version").fetchall()
        best_x = conn.execute("SELECT best_x FROM runs").fetchone()[0]
    assert version == [(1,)]
    assert best_x == "[0.25, -0.5]"


def test_complete_runs_are_immutable_failed_ones_replaceable(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:
        assert store.put(record(status="failed", best_f=None, error="boom"))
        assert store.put(record(status="failed", best_f=None, error="boom again"))
        assert store.get("e", "s", "p", 0).error == "boom again"
        assert store.put(record(best_f=2.0))
        assert not store.put(record(best_f=0.5))
        assert not store.put(record(status="failed", best_f=None, error="late"))
        got = store.get("e", "s", "p", 0)
        assert got.status == "complete" and got.best_f == 2.0 and got.error is None
        assert store.count("e") == 1 and store.count("e", "failed") == 0
        assert store.complete_keys("e") == {("s", "p", 0)}


def test_store_refuses_missing_file_and_other_schema(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        RunStore(tmp_path / "none.sqlite", create=False)
    path = tmp_path / "old.sqlite"
    RunStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ValueError, match="schema version 99"):
        RunStore(path)


# -- runner --------------------------------------------------------------------


def test_plan_covers_every_combination_seed_by_seed() -> None:
    specs = plan_runs(tiny())
    assert len(specs) == 8
    assert [s.seed for s in specs] == [0] * 4 + [1] * 4
    assert len({s.key for s in specs}) == 8


def test_execute_run_is_deterministic_and_json_ready() -> None:
    spec = plan_runs(tiny())[0].to_dict()
    a, b = execute_run(spec), execute_run(spec)
    assert a["status"] == "complete"
    for key in ("best_f", "best_x", "history", "nfev", "f_opt"):
        assert a[key] == b[key]
    assert a["nfev"] <= 60
    assert a["f_opt"] == pytest.approx(79.48)


def test_serial_run_resumes_without_rerunning(tmp_path: Path) -> None:
    cfg = tiny()
    with RunStore(tmp_path / "r.sqlite") as store:
        first = run_experiment(cfg, store, executor="serial")
        assert (first.total, first.skipped, first.executed, first.failed) == (
            8,
            0,
            8,
            0,
        )
        stored = {r.key: r.created for r in store.runs("tiny")}
        second = run_experiment(cfg, store, executor="serial")
        assert (second.skipped, second.executed) == (8, 0)
        assert {r.key: r.created for r in store.runs("tiny")} == stored


def test_interrupt_keeps_finished_runs_and_resume_finishes(tmp_path: Path) -> None:
    cfg = tiny()
    seen: list[RunRecord] = []

    def stop_after_three(rec: RunRecord) -> None:
        seen.append(rec)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with RunStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ExperimentInterrupted) as info:
            run_experiment(cfg, store, executor="serial", on_record=stop_after_three)
        assert info.value.outcome.executed == 3
        assert store.count("tiny") == 3
        rest = run_experiment(cfg, store, executor="serial")
        assert (rest.skipped, rest.executed) == (3, 5)
        assert store.count("tiny", "complete") == 8


def test_a_failing_problem_is_a_failed_record_not_a_crash(tmp_path: Path) -> None:
    problems = [
        *TINY["problems"],
        # math.sqrt rejects arrays of more than one element.
        {
            "type": "callable",
            "function": "math:sqrt",
            "dimension": 2,
            "bounds": [0, 1],
            "label": "broken",
        },
    ]
    cfg = tiny(problems=problems, seeds=1)
    with RunStore(tmp_path / "r.sqlite") as store:
        outcome = run_experiment(cfg, store, executor="serial")
        assert (outcome.executed, outcome.failed) == (6, 2)
        broken = [r for r in store.runs("tiny") if r.problem == "broken"]
        assert {r.status for r in broken} == {"failed"}
        assert all("TypeError" in r.error and r.message for r in broken)
        # Failed runs are retried on the next call, complete ones are not.
        again = run_experiment(cfg, store, executor="serial")
        assert (again.skipped, again.executed, again.failed) == (4, 2, 2)


def test_changed_settings_under_same_labels_are_refused(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:
        run_experiment(tiny(seeds=1), store, executor="serial")
        with pytest.raises(ConfigError, match="different budget"):
            run_experiment(tiny(seeds=1, budget=61), store, executor="serial")
        strategies = [dict(TINY["strategies"][0], options={"learning_rate": 0.5})]
        with pytest.raises(ConfigError, match="different strategy 'gd-slow'"):
            run_experiment(
                tiny(seeds=1, strategies=strategies), store, executor="serial"
            )


@pytest.mark.ray
def test_ray_results_equal_serial_results(tmp_path: Path, ray_session: None) -> None:
    cfg = tiny()
    with (
        RunStore(tmp_path / "ray.sqlite") as ray_store,
        RunStore(tmp_path / "serial.sqlite") as serial_store,
    ):
        out = run_experiment(cfg, ray_store, executor="ray")
        assert (out.executed, out.failed) == (8, 0)
        run_experiment(cfg, serial_store, executor="serial")
        by_ray = {r.key: r for r in ray_store.runs("tiny")}
        by_serial = {r.key: r for r in serial_store.runs("tiny")}
        assert by_ray.keys() == by_serial.keys()
        for key, r in by_ray.items():
            s = by_serial[key]
            assert (r.best_f, r.best_x, r.history, r.nfev) == (
                s.best_f,
                s.best_x,
                s.history,
                s.nfev,
            )
        again = run_experiment(cfg, ray_store, executor="ray")
        assert (again.skipped, again.executed) == (8, 0)


# -- report --------------------------------------------------------------------


def test_report_table_ranking_and_files(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    cfg = tiny()
    with RunStore(db) as store:
        run_experiment(cfg, store, executor="serial")
        store.put(
            record(
                experiment="tiny",
                strategy="gd-fast",
                problem="rosen",
                seed=9,
                status="failed",
                best_f=None,
                error="x",
            )
        )
        records = store.runs("tiny")
    rows = summarize(
        records, problems=["f1-i1-d2", "rosen"], strategies=["gd-slow", "gd-fast"]
    )
    assert [(r.problem, r.strategy) for r in rows] == [
        ("f1-i1-d2", "gd-slow"),
        ("f1-i1-d2", "gd-fast"),
        ("rosen", "gd-slow"),
        ("rosen", "gd-fast"),
    ]
    assert rows[0].metric == "f - f_opt" and rows[2].metric == "f"
    assert rows[3].failed == 1 and rows[3].runs == 3
    assert sum(r.is_best for r in rows[:2]) == 1
    text = format_summary(rows)
    ranking = rank_strategies(rows)
    assert {r.strategy for r in ranking} == {"gd-slow", "gd-fast"}
    assert ranking[0].mean_rank <= ranking[1].mean_rank
    for line in (text + "\n" + format_ranking(ranking)).splitlines():
        assert len(line) <= 100
    paths = write_report(records, db, title="tiny")
    assert sorted(p.name for p in paths.values()) == [
        "r_convergence.png",
        "r_summary.csv",
        "r_summary.md",
    ]
    assert paths["plot"].stat().st_size > 1000
    csv_lines = paths["csv"].read_text().splitlines()
    assert csv_lines[0].startswith("problem,strategy,measure,runs,failed,median")
    assert len(csv_lines) == 5
    assert "## Ranking" in paths["markdown"].read_text()


class RacingStore(RunStore):
    """A store into which another process writes each run just before this one."""

    def __init__(self, path: Path, rival: RunStore, rival_budget: int) -> None:
        super().__init__(path)
        self.rival, self.rival_budget = rival, rival_budget

    def put(self, record: RunRecord) -> bool:
        import dataclasses

        self.rival.put(dataclasses.replace(record, budget=self.rival_budget))
        return super().put(record)


@pytest.mark.parametrize("rival_budget", [60, 40])
def test_two_processes_on_one_database(tmp_path: Path, rival_budget: int) -> None:
    path = tmp_path / "r.sqlite"
    with RunStore(path) as rival, RacingStore(path, rival, rival_budget) as store:
        if rival_budget == 60:
            # Same settings: the runs count as stored by the other process.
            out = run_experiment(tiny(seeds=1), store, executor="serial")
            assert (out.executed, out.skipped) == (0, 4)
        else:
            with pytest.raises(ConfigError, match="different budget"):
                run_experiment(tiny(seeds=1), store, executor="serial")


@pytest.mark.parametrize(
    ("seeds", "match"),
    [([2**63], "seeds\\[0\\]: must be at most"), (10**9, "seeds: must be at most")],
)
def test_seed_range_is_checked(seeds: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        tiny(seeds=seeds)


def test_export_never_writes_to_the_database(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = foreign.read_bytes()
    with pytest.raises(ValueError, match="not a hybridopt results database"):
        RunStore(foreign, read_only=True)
    assert foreign.read_bytes() == before
