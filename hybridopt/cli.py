"""The ``hybridopt`` command: run experiments, export results, list strategies.

Exit codes of ``hybridopt run``: 0 when every run is stored complete, 1 for a
usage or configuration error, 2 when the experiment finished with failed runs,
130 when interrupted (finished runs are kept; the same command resumes).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_FAILED_RUNS = 2
EXIT_INTERRUPTED = 130

EXPORT_COLUMNS = (
    "experiment",
    "strategy",
    "problem",
    "seed",
    "status",
    "best_f",
    "nfev",
    "wall_seconds",
    "f_opt",
    "precision",
    "njev",
    "nit",
    "nfail",
    "success",
    "budget",
    "strategy_name",
    "message",
    "created",
)


class _UsageError(Exception):
    """A problem with the command line or its inputs; printed without traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit code.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits 2 on usage errors; this command reserves 2 for failed runs.
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        return EXIT_USAGE if code == 2 else code
    from hybridopt.errors import HybridoptError
    from hybridopt.logging import set_verbosity

    verbose = getattr(args, "verbose", 0)
    set_verbosity(
        logging.WARNING
        if verbose == 0
        else logging.INFO
        if verbose == 1
        else logging.DEBUG
    )
    previous = _terminate_as_interrupt()
    try:
        return int(args.handler(args))
    except (_UsageError, HybridoptError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_interrupt() -> Any:
    """Makes SIGTERM (``kill``, ``timeout``, schedulers) stop a run like Ctrl-C."""

    def interrupt(signum: int, frame: Any) -> None:
        # Whatever Ctrl-C would do now: raise, or be noted for later while Ray's
        # own code runs.
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _parser() -> argparse.ArgumentParser:
    from hybridopt import __version__

    parser = argparse.ArgumentParser(
        prog="hybridopt",
        description="Hybrid optimization experiments: run, export, list strategies.",
    )
    parser.add_argument(
        "--version", action="version", version=f"hybridopt {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run an experiment file (resumes if results exist)",
        description="Run every strategy x problem x seed of an experiment that is "
        "not complete in the results database yet, then print and write a summary.",
    )
    run.add_argument("config", metavar="CONFIG.toml", help="experiment file")
    run.add_argument(
        "--db", type=Path, help="results database (default results/<name>.sqlite)"
    )
    run.add_argument(
        "--address",
        help="Ray cluster to join (e.g. 'auto' or 'host:6379'); default: a local "
        "instance on 127.0.0.1 only",
    )
    run.add_argument(
        "--executor",
        choices=("ray", "serial"),
        default="ray",
        help="'serial' runs everything in this process, without Ray",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-plot", action="store_true", help="skip the convergence plot")
    run.add_argument(
        "-v", "--verbose", action="count", default=0, help="log run events (-vv: debug)"
    )
    run.set_defaults(handler=_cmd_run)

    export = sub.add_parser(
        "export",
        help="write stored runs as CSV or JSON",
        description="One row per stored run.",
    )
    export.add_argument("--db", type=Path, required=True, help="results database")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", "-o", type=Path, help="file (default stdout)")
    export.add_argument("--experiment", help="only this experiment")
    export.add_argument("-v", "--verbose", action="count", default=0)
    export.set_defaults(handler=_cmd_export)

    strategies = sub.add_parser("strategies", help="list registered strategies")
    strategies.add_argument("-v", "--verbose", action="count", default=0)
    strategies.set_defaults(handler=_cmd_strategies)
    return parser


# -- run ---------------------------------------------------------------------------


def _add_import_paths(*folders: Path) -> None:
    """Lets ``function = "module:attr"`` find modules next to the config or here.

    The folders go on ``sys.path`` for this process and on ``PYTHONPATH`` for the
    worker processes of a local Ray instance, which inherit this environment.
    Workers of a cluster need the module installed on their own nodes.
    """
    extra = [str(f) for f in dict.fromkeys(folders)]
    for folder in reversed(extra):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    current = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([*extra, *filter(None, [current])])


def _cmd_run(args: argparse.Namespace) -> int:
    from hybridopt.experiments import (
        ExperimentInterrupted,
        RunStore,
        format_ranking,
        format_summary,
        load_config,
        rank_strategies,
        run_experiment,
        summarize,
        write_report,
    )

    _add_import_paths(Path(args.config).resolve().parent, Path.cwd())
    config = load_config(args.config)
    db = args.db if args.db is not None else Path("results") / f"{config.name}.sqlite"
    try:
        store = RunStore(db)
    except (OSError, ValueError, sqlite3.Error) as err:
        raise _UsageError(f"cannot open results database {db}: {err}") from None
    command = _resume_command(args)
    with store:
        print(
            f"experiment {config.name}: {len(config.strategies)} strategies x "
            f"{len(config.problems)} problems x {len(config.seeds)} seeds = "
            f"{config.n_runs} runs, budget {config.budget}; results in {db}",
            file=sys.stderr,
        )
        try:
            outcome = run_experiment(
                config,
                store,
                executor=args.executor,
                address=args.address,
                show_progress=not args.no_progress,
            )
        except ExperimentInterrupted:
            stored = store.count(config.name)
            print(
                f"interrupted; {stored} runs stored; run the same command to resume:"
                f"\n  {command}",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            print("interrupted; run the same command to resume", file=sys.stderr)
            return EXIT_INTERRUPTED
        except (ConnectionError, TimeoutError, ImportError) as err:
            where = f"join Ray at {args.address}" if args.address else "start Ray"
            raise _UsageError(f"cannot {where}: {err}") from None
        records = store.runs(config.name)
        failed = store.count(config.name, "failed")

    problems = [p.label for p in config.problems]
    strategies = [s.label for s in config.strategies]
    # Only the runs of the current plan: the same database may hold older labels.
    planned = {
        (s, p, seed) for s in strategies for p in problems for seed in config.seeds
    }
    records = [r for r in records if (r.strategy, r.problem, r.seed) in planned]
    rows = summarize(records, problems=problems, strategies=strategies)
    ranking = rank_strategies(rows)
    timing = (
        f"{outcome.executed} runs executed ({outcome.failed} failed), "
        f"{outcome.skipped} already stored; wall time {outcome.wall_seconds:.1f} s"
    )
    print()
    print(format_summary(rows))
    note = "* lowest median on the problem (ties included)."
    if any(row.metric == "f - f_opt" for row in rows):
        note += " f - f_opt: BBOB precision, floored at 1e-8"
    print(note)
    print()
    print("Ranking (mean rank of the median over problems, 1 = best):")
    print(format_ranking(ranking))
    print()
    print(timing)
    run_time = sum(r.wall_seconds or 0.0 for r in records)
    try:
        paths = write_report(
            records,
            db,
            problems=problems,
            strategies=strategies,
            title=f"Experiment {config.name}",
            notes=[
                line
                for line in (
                    config.description,
                    # Stable across resumed calls, unlike this call's own timing.
                    f"{len(records)} runs stored, {run_time:.1f} s of run time in all "
                    "(summed over runs)",
                    f"last call: {timing}",
                )
                if line
            ],
            plot=not args.no_plot,
        )
    except (OSError, ImportError) as err:
        print(f"warning: could not write the report files: {err}", file=sys.stderr)
    else:
        print("report: " + ", ".join(str(p) for p in paths.values()))
    if failed:
        print(
            f"{failed} runs failed; see `hybridopt export --db {db}` for the errors; "
            "running the same command again retries them",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    return EXIT_OK


def _resume_command(args: argparse.Namespace) -> str:
    argv = ["hybridopt", "run", str(args.config)]
    if args.db is not None:
        argv += ["--db", str(args.db)]
    if args.address:
        argv += ["--address", args.address]
    if args.executor != "ray":
        argv += ["--executor", args.executor]
    return " ".join(argv)


# -- export ------------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from hybridopt.experiments import RunStore

    if not args.db.exists():
        raise _UsageError(f"no results database at {args.db}")
    try:
        with RunStore(args.db, read_only=True) as store:
            records = store.runs(args.experiment)
    except (OSError, ValueError) as err:
        raise _UsageError(f"cannot read {args.db}: {err}") from None
    except Exception as err:
        # sqlite3.DatabaseError for a file that is not a SQLite database.
        raise _UsageError(f"cannot read {args.db}: {err}") from None
    if args.format == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS + ("error",))
        for r in records:
            row = _export_row(r)
            writer.writerow(
                [_csv_cell(row[c]) for c in EXPORT_COLUMNS] + [_csv_cell(r.error)]
            )
        text = buf.getvalue()
    else:
        items = []
        for r in records:
            item = r.to_dict()
            item["precision"] = r.precision
            items.append(item)
        text = json.dumps(items, indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise _UsageError(
                f"cannot write {args.output}: {err.strerror or err}"
            ) from None
        print(f"wrote {len(records)} runs to {args.output}", file=sys.stderr)
    return EXIT_OK


def _export_row(record: Any) -> dict[str, Any]:
    row = {c: getattr(record, c, None) for c in EXPORT_COLUMNS}
    row["precision"] = record.precision
    return row


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


# -- strategies --------------------------------------------------------------------


def _cmd_strategies(args: argparse.Namespace) -> int:
    import warnings

    from hybridopt.registry import registry

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entries = registry.available()
    rows = []
    for entry, cls in entries:
        if cls is None:
            rows.append([entry.name, "?", "?", entry.origin, "failed to load"])
            continue
        info = cls.info
        rows.append(
            [
                entry.name,
                info.family,
                "yes" if info.needs_gradient else "no",
                entry.origin,
                info.summary,
            ]
        )
    header = ["name", "family", "gradient", "origin", "summary"]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
        for i, h in enumerate(header)
    ]
    indent = sum(widths[:4]) + 2 * 4
    summary_width = max(20, 100 - indent)
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    ]
    lines.append("-" * min(100, indent + max(widths[4], 7)))
    for r in rows:
        wrapped = textwrap.wrap(r[4], summary_width) or [""]
        head = "  ".join(c.ljust(w) for c, w in zip(r[:4], widths[:4], strict=True))
        lines.append(f"{head}  {wrapped[0]}".rstrip())
        lines.extend(" " * indent + more for more in wrapped[1:])
    print("\n".join(lines))
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
