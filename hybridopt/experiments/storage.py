"""Results of experiment runs in one SQLite file.

Contract of :class:`RunStore`:

* A run is identified by ``(experiment, strategy, problem, seed)``, where
  strategy and problem are the labels from the configuration.
* A stored run is ``'complete'`` (the strategy ran to its end; ``success`` says
  whether it ended well) or ``'failed'`` (the run raised; ``error`` holds the
  text). Runs that have not finished are not stored, so after a crash or Ctrl-C
  the missing ones are exactly those still to do.
* A complete run is immutable: storing a run whose key is already complete
  changes nothing. A failed run is replaced by a later attempt, complete or
  failed.
* Each run is committed as soon as it is stored; the database is in WAL mode,
  so a crash loses no stored run and readers can open the file during a run.
* Everything is plain columns or JSON text; nothing is pickled, so reading a
  results file never runs code.
* The ``schema_version`` table holds :data:`SCHEMA_VERSION`; opening a file of
  another version is an error rather than a silent misreading.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "RunRecord", "RunStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    experiment TEXT NOT NULL,
    strategy TEXT NOT NULL,
    problem TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('complete', 'failed')),
    best_f REAL,
    f_opt REAL,
    best_x TEXT,
    nfev INTEGER,
    njev INTEGER,
    nit INTEGER,
    nfail INTEGER,
    success INTEGER,
    wall_seconds REAL,
    message TEXT,
    history TEXT,
    strategy_name TEXT NOT NULL,
    strategy_options TEXT NOT NULL,
    problem_spec TEXT NOT NULL,
    budget INTEGER NOT NULL,
    error TEXT,
    metadata TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (experiment, strategy, problem, seed)
);
"""

_COLUMNS = (
    "experiment",
    "strategy",
    "problem",
    "seed",
    "status",
    "best_f",
    "f_opt",
    "best_x",
    "nfev",
    "njev",
    "nit",
    "nfail",
    "success",
    "wall_seconds",
    "message",
    "history",
    "strategy_name",
    "strategy_options",
    "problem_spec",
    "budget",
    "error",
    "metadata",
    "created",
)
_JSON_COLUMNS = ("best_x", "history", "strategy_options", "problem_spec", "metadata")
_EMPTY: dict[str, Any] = {"history": list, "metadata": dict, "message": str}


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One stored run.

    Attributes:
        experiment: Experiment name.
        strategy: Strategy label.
        problem: Problem label.
        seed: Seed of the run.
        status: ``"complete"`` or ``"failed"``.
        strategy_name: Registered strategy name.
        strategy_options: Options the strategy was built with.
        problem_spec: The problem's spec.
        budget: Objective evaluations allowed.
        best_f: Best objective value found (``None`` for a failed run).
        f_opt: Known optimal value of the problem, or ``None``.
        best_x: Best candidate, as a list.
        nfev: Objective evaluations spent.
        njev: Gradient calls.
        nit: Iterations.
        nfail: Failed evaluations.
        success: The result's ``success`` flag.
        wall_seconds: Wall-clock time of the run, building the problem included.
        message: The result's message.
        history: ``[nfev, best f]`` pairs at each improvement.
        error: Error text of a failed run.
        metadata: Extra facts, e.g. test accuracy or warnings raised in the run.
        created: Unix time the record was made.
    """

    experiment: str
    strategy: str
    problem: str
    seed: int
    status: str
    strategy_name: str
    strategy_options: Mapping[str, Any]
    problem_spec: Mapping[str, Any]
    budget: int
    best_f: float | None = None
    f_opt: float | None = None
    best_x: list[float] | None = None
    nfev: int | None = None
    njev: int | None = None
    nit: int | None = None
    nfail: int | None = None
    success: bool | None = None
    wall_seconds: float | None = None
    message: str = ""
    history: list[list[float]] = dataclasses.field(default_factory=list)
    error: str | None = None
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    created: float = dataclasses.field(default_factory=time.time)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """``(experiment, strategy, problem, seed)``."""
        return (self.experiment, self.strategy, self.problem, self.seed)

    @property
    def precision(self) -> float | None:
        """``best_f - f_opt`` when both are known."""
        if self.best_f is None or self.f_opt is None:
            return None
        return self.best_f - self.f_opt

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-compatible dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Builds a record from :meth:`to_dict` output (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_LOCK_WAIT = 600.0


class RunStore:
    """Runs of experiments in a SQLite file; see the module docstring for the contract.

    Args:
        path: The database file.
        create: Create the file (and its directory) if missing; otherwise a
            missing file is an error.

    Raises:
        FileNotFoundError: If ``create`` is false and the file does not exist.
        ValueError: If the file holds another schema version.

    Example:
        >>> with RunStore("results/demo.sqlite") as store:  # doctest: +SKIP
        ...     done = store.complete_keys("demo")
    """

    def __init__(
        self, path: str | Path, *, create: bool = True, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create or read_only:
                raise FileNotFoundError(f"no results database at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only:
            # Reading (export) must never write to the file, not even a schema.
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=_LOCK_WAIT)
            self._check_version()
            return
        # Another process (a second run, an export) may hold the lock for a while;
        # waiting is better than losing a finished run.
        self._conn = sqlite3.connect(self.path, timeout=_LOCK_WAIT)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # In WAL mode a committed run survives a crash of this process at NORMAL
        # (only a power loss may drop the last commits).
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._conn:
            self._conn.executescript(_SCHEMA)
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,)
                )
            elif row[0] != SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path} holds results of schema version {row[0]}; this "
                    f"hybridopt reads version {SCHEMA_VERSION}"
                )

    def _check_version(self) -> None:
        try:
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            raise ValueError(f"{self.path} is not a hybridopt results database")
        if row[0] != SCHEMA_VERSION:
            raise ValueError(
                f"{self.path} holds results of schema version {row[0]}; this "
                f"hybridopt reads version {SCHEMA_VERSION}"
            )

    def put(self, record: RunRecord) -> bool:
        """Stores a finished run and commits at once.

        Returns:
            Whether the record was written; ``False`` when a complete run with
            the same key is already stored.
        """
        if record.status not in ("complete", "failed"):
            raise ValueError(
                f"status must be 'complete' or 'failed', got {record.status!r}"
            )
        values = [_to_column(name, getattr(record, name)) for name in _COLUMNS]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[4:])
        with self._conn:
            cur = self._conn.execute(
                f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
                "ON CONFLICT (experiment, strategy, problem, seed) DO UPDATE SET "
                f"{updates} WHERE runs.status = 'failed'",
                values,
            )
        return cur.rowcount > 0

    def get(
        self, experiment: str, strategy: str, problem: str, seed: int
    ) -> RunRecord | None:
        """The stored run with this key, or ``None``."""
        rows = list(
            self._select(
                "WHERE experiment = ? AND strategy = ? AND problem = ? AND seed = ?",
                (experiment, strategy, problem, seed),
            )
        )
        return rows[0] if rows else None

    def runs(self, experiment: str | None = None) -> list[RunRecord]:
        """Stored runs, of one experiment or of all, in a stable order."""
        if experiment is None:
            return list(self._select("", ()))
        return list(self._select("WHERE experiment = ?", (experiment,)))

    def complete_keys(self, experiment: str) -> set[tuple[str, str, int]]:
        """``(strategy, problem, seed)`` of the complete runs of an experiment."""
        rows = self._conn.execute(
            "SELECT strategy, problem, seed FROM runs "
            "WHERE experiment = ? AND status = 'complete'",
            (experiment,),
        )
        return {(s, p, int(seed)) for s, p, seed in rows}

    def count(self, experiment: str, status: str | None = None) -> int:
        """Number of stored runs of an experiment, optionally of one status."""
        sql = "SELECT COUNT(*) FROM runs WHERE experiment = ?"
        args: tuple[Any, ...] = (experiment,)
        if status is not None:
            sql += " AND status = ?"
            args += (status,)
        return int(self._conn.execute(sql, args).fetchone()[0])

    def experiments(self) -> list[str]:
        """Names of the experiments with stored runs."""
        rows = self._conn.execute("SELECT DISTINCT experiment FROM runs ORDER BY 1")
        return [r[0] for r in rows]

    def close(self) -> None:
        """Closes the connection; every stored run is already committed."""
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _select(self, where: str, args: tuple[Any, ...]) -> Iterator[RunRecord]:
        cur = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM runs {where} "
            "ORDER BY experiment, problem, strategy, seed",
            args,
        )
        for row in cur:
            data = {
                name: _from_column(name, value)
                for name, value in zip(_COLUMNS, row, strict=True)
            }
            yield RunRecord.from_dict(data)


def _to_column(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return None if value is None else json.dumps(_plain(value), allow_nan=True)
    if name == "success":
        return None if value is None else int(bool(value))
    return value


def _from_column(name: str, value: Any) -> Any:
    if value is None and name in _EMPTY:
        return _EMPTY[name]()
    if name in _JSON_COLUMNS:
        return None if value is None else json.loads(value)
    if name == "success":
        return None if value is None else bool(value)
    return value


def _plain(value: Any) -> Any:
    """Converts numpy values and tuples to JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return value
