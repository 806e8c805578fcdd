"""Tests of the ``hybridopt`` command: run, export, strategies, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hybridopt import __version__, cli
from hybridopt.experiments import RunStore
from hybridopt.experiments import runner as runner_module

TINY = """
name = "tiny"
seeds = 2
budget = 60

[[strategies]]
name = "gd"
label = "gd-slow"
options = { learning_rate = 0.001 }

[[strategies]]
name = "ga"
options = { population_size = 6 }

[[problems]]
type = "bbob"
function = 1
dimension = 2
instance = 1

[[problems]]
type = "callable"
function = "scipy.optimize:rosen"
jac = "scipy.optimize:rosen_der"
dimension = 3
bounds = [-2, 2]
"""

# math.sqrt rejects arrays of more than one element: every run on it fails.
BROKEN = """
[[problems]]
type = "callable"
label = "broken"
function = "math:sqrt"
dimension = 2
bounds = [0, 1]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny experiment file; the working directory is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(TINY), encoding="utf-8")
    return path


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hybridopt {__version__}"


def test_strategies_lists_registry_in_100_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["strategies"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["name", "family", "gradient", "origin", "summary"]
    gd = next(line for line in lines if line.startswith("gd "))
    assert gd.split()[1:4] == ["gradient", "yes", "built-in"]
    assert all(len(line) <= 100 for line in lines)


def test_usage_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 1
    assert cli.main(["run"]) == 1
    assert cli.main(["frobnicate"]) == 1
    capsys.readouterr()


def test_bad_config_exits_1_with_message(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(TINY.replace("dimension = 2", 'dimension = "2"'))
    assert cli.main(["run", str(config), "--executor", "serial"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        'error: tiny.toml: problems[0].dimension: must be an integer, got "2"'
    )
    assert cli.main(["run", "missing.toml"]) == 1
    assert "error: missing.toml: no such file" in capsys.readouterr().err


def test_bad_config_in_a_subprocess_prints_no_traceback(config: Path) -> None:
    config.write_text(TINY.replace('name = "ga"', 'name = "gaa"'))
    proc = subprocess.run(
        [sys.executable, "-m", "hybridopt.cli", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "error: tiny.toml: strategies[1].name: unknown strategy 'gaa'"
    )
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_export_of_a_missing_database_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite"
    assert cli.main(["export", "--db", str(missing)]) == 1
    assert capsys.readouterr().err.strip() == f"error: no results database at {missing}"
    assert not missing.exists()


def test_serial_run_writes_db_and_report(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", str(config), "--executor", "serial", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 100 for line in out.splitlines())
    assert "8 runs executed (0 failed), 0 already stored" in out
    results = Path("results")
    assert sorted(
        p.name for p in results.iterdir() if not p.name.endswith(("-wal", "-shm"))
    ) == [
        "tiny.sqlite",
        "tiny_convergence.png",
        "tiny_summary.csv",
        "tiny_summary.md",
    ]
    assert cli.main(["export", "--db", "results/tiny.sqlite", "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 8 and {r["status"] for r in runs} == {"complete"}
    assert all(r["best_x"] and r["history"] for r in runs)


def test_ctrl_c_exits_130_and_the_same_command_resumes(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner_module.execute_run
    calls = []

    def interrupted_on_third(spec: dict) -> dict:
        calls.append(spec)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(spec)

    monkeypatch.setattr(runner_module, "execute_run", interrupted_on_third)
    argv = ["run", str(config), "--executor", "serial", "--no-progress"]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted; 2 runs stored; run the same command to resume" in err
    assert f"hybridopt run {config} --executor serial" in err
    monkeypatch.setattr(runner_module, "execute_run", real)
    assert cli.main(argv) == 0
    assert "6 runs executed (0 failed), 2 already stored" in capsys.readouterr().out


@pytest.mark.ray
def test_end_to_end_on_ray_resume_and_export(
    config: Path,
    tmp_path: Path,
    ray_session: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "out" / "tiny.sqlite"
    argv = ["run", str(config), "--db", str(db), "--no-progress"]
    assert cli.main(argv) == 0
    assert "8 runs executed (0 failed)" in capsys.readouterr().out
    with RunStore(db, create=False) as store:
        created = {r.key: r.created for r in store.runs()}
    assert len(created) == 8

    # Everything is stored: the second run executes nothing and changes nothing.
    assert cli.main(argv) == 0
    assert "0 runs executed (0 failed), 8 already stored" in capsys.readouterr().out
    with RunStore(db, create=False) as store:
        assert {r.key: r.created for r in store.runs()} == created

    out_csv = tmp_path / "runs.csv"
    assert cli.main(["export", "--db", str(db), "--output", str(out_csv)]) == 0
    rows = read_csv(out_csv.read_text())
    assert list(rows[0])[:8] == [
        "experiment",
        "strategy",
        "problem",
        "seed",
        "status",
        "best_f",
        "nfev",
        "wall_seconds",
    ]
    assert len(rows) == 8
    assert {(r["strategy"], r["problem"]) for r in rows} == {
        (s, p) for s in ("gd-slow", "ga") for p in ("f1-i1-d2", "rosen")
    }
    assert {r["status"] for r in rows} == {"complete"}
    assert all(0 < int(r["nfev"]) <= 60 for r in rows)
    bbob = [r for r in rows if r["problem"] == "f1-i1-d2"]
    assert all(float(r["precision"]) >= 0 for r in bbob)

    script = Path(sys.executable).with_name("hybridopt")
    command = (
        [str(script)] if script.exists() else [sys.executable, "-m", "hybridopt.cli"]
    )
    proc = subprocess.run(
        [*command, "export", "--db", str(db), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert read_csv(proc.stdout) == rows


@pytest.mark.ray
def test_failed_runs_exit_2(
    config: Path,
    tmp_path: Path,
    ray_session: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config.write_text(TINY + BROKEN)
    db = tmp_path / "broken.sqlite"
    assert cli.main(["run", str(config), "--db", str(db), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "12 runs executed (4 failed)" in captured.out
    assert "4 runs failed" in captured.err
    with RunStore(db, create=False) as store:
        broken = [r for r in store.runs() if r.problem == "broken"]
    assert len(broken) == 4
    assert all(r.status == "failed" and "TypeError" in r.error for r in broken)


def test_unreachable_cluster_fails_fast_with_a_message(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hybridopt.cli",
            "run",
            str(config),
            "--no-progress",
            "--db",
            str(tmp_path / "r.sqlite"),
            "--address",
            "127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "no Ray cluster answers at 127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_module_next_to_the_config_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    (folder / "myobjs").mkdir(parents=True)
    (folder / "myobjs" / "__init__.py").write_text("")
    (folder / "myobjs" / "funcs.py").write_text(
        "import numpy as np\n\ndef bowl(x):\n    return float(np.sum(x**2))\n"
    )
    config = folder / "study.toml"
    config.write_text(
        textwrap.dedent("""
        name = "study"
        seeds = 1
        budget = 50
        [[strategies]]
        name = "ga"
        options = { population_size = 10 }
        [[problems]]
        type = "callable"
        function = "myobjs.funcs:bowl"
        dimension = 2
        bounds = [-1, 1]
    """)
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hybridopt.cli",
            "run",
            str(config),
            "--no-progress",
            "--no-plot",
            "--executor",
            "serial",
            "--db",
            str(tmp_path / "s.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "BBOB" not in proc.stdout


def test_bad_files_give_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    assert cli.main(["run", str(config), "--db", str(junk), "--no-progress"]) == 1
    assert "cannot open results database" in capsys.readouterr().err

    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    assert cli.main(["run", str(latin), "--no-progress"]) == 1
    assert "not UTF-8" in capsys.readouterr().err

    broken = tmp_path / "boom.py"
    broken.write_text("raise RuntimeError('import-time boom')\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        TINY.replace('function = "scipy.optimize:rosen"', 'function = "boom:f"')
    )
    sys.path.insert(0, str(tmp_path))
    try:
        assert cli.main(["run", str(bad), "--no-progress"]) == 1
    finally:
        sys.path.remove(str(tmp_path))
    assert "importing 'boom:f' failed: RuntimeError" in capsys.readouterr().err


def test_export_to_an_unwritable_place_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    db = tmp_path / "r.sqlite"
    args = ["run", str(config), "--db", str(db), "--executor", "serial"]
    assert cli.main([*args, "--no-progress", "--no-plot"]) == 0
    capsys.readouterr()
    target = tmp_path / "adir"
    target.mkdir()
    assert cli.main(["export", "--db", str(db), "-o", str(target)]) == 1
    assert "cannot write" in capsys.readouterr().err
