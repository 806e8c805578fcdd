"""Runs an experiment: every strategy x problem x seed, resumable, on Ray or serially.

Each run is described by a :class:`RunSpec` of plain data: strategy name and
options, problem spec, seed and budget. :func:`execute_run` turns a spec into a
finished record, in whatever process it lands in; it never raises for a bad run
but returns a failed record with the error text, so one broken run never ends
an experiment. :func:`run_experiment` skips the runs already complete in the
store, sends the rest out as Ray tasks (one CPU each) and stores each record as
soon as its task finishes. Since each run's seed is part of its spec and a run
evaluates serially inside its task, results do not depend on which worker runs
what or in which order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from hybridopt.errors import ConfigError
from hybridopt.evaluation.serial import SerialExecutor
from hybridopt.experiments.config import ExperimentConfig
from hybridopt.experiments.problems import build_problem
from hybridopt.experiments.storage import RunRecord, RunStore
from hybridopt.minimize import run
from hybridopt.registry import get_strategy

__all__ = [
    "ExperimentInterrupted",
    "ExperimentOutcome",
    "RunSpec",
    "execute_run",
    "plan_runs",
    "run_experiment",
]

logger = logging.getLogger(__name__)

# Error text kept per failed run; the head of a traceback is what explains it.
_MAX_ERROR_CHARS = 8000


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to perform one run, as plain data.

    Attributes:
        experiment: Experiment name.
        strategy: Strategy label.
        strategy_name: Registered strategy name.
        options: Strategy options.
        problem: Problem label.
        problem_spec: Problem spec, see :func:`~.problems.build_problem`.
        seed: Seed of the run.
        budget: Objective evaluations.
    """

    experiment: str
    strategy: str
    strategy_name: str
    options: Mapping[str, Any]
    problem: str
    problem_spec: Mapping[str, Any]
    seed: int
    budget: int

    @property
    def key(self) -> tuple[str, str, int]:
        """``(strategy, problem, seed)``."""
        return (self.strategy, self.problem, self.seed)

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-compatible dict."""
        return {
            "experiment": self.experiment,
            "strategy": self.strategy,
            "strategy_name": self.strategy_name,
            "options": dict(self.options),
            "problem": self.problem,
            "problem_spec": dict(self.problem_spec),
            "seed": self.seed,
            "budget": self.budget,
        }


@dataclasses.dataclass(frozen=True)
class ExperimentOutcome:
    """What :func:`run_experiment` did.

    Attributes:
        total: Runs in the experiment.
        skipped: Runs already complete in the store before this call.
        executed: Runs performed (and stored) by this call.
        failed: Runs performed by this call that failed.
        wall_seconds: Time spent in this call, starting Ray included.
    """

    total: int
    skipped: int
    executed: int
    failed: int
    wall_seconds: float


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_experiment`; finished runs are stored.

    Attributes:
        outcome: What had been done when the interruption came.
    """

    def __init__(self, outcome: ExperimentOutcome) -> None:
        super().__init__(
            f"interrupted after {outcome.executed} of "
            f"{outcome.total - outcome.skipped} runs"
        )
        self.outcome = outcome


def plan_runs(config: ExperimentConfig) -> list[RunSpec]:
    """Every run of the experiment.

    Ordered seed by seed, so that an interrupted experiment has results for every
    strategy and problem with the first seeds rather than for the first problem
    only.
    """
    return [
        RunSpec(
            experiment=config.name,
            strategy=s.label,
            strategy_name=s.name,
            options=dict(s.options),
            problem=p.label,
            problem_spec=dict(p.spec),
            seed=seed,
            budget=config.budget,
        )
        for seed in config.seeds
        for p in config.problems
        for s in config.strategies
    ]


def execute_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Performs one run and returns its record as a dict; never raises for a bad run.

    Builds the problem and the strategy from the spec (a :meth:`RunSpec.to_dict`),
    runs :func:`hybridopt.run` with the serial executor, and records the result.
    Warnings raised during the run are kept in the record's metadata instead of
    being printed by the worker.

    Args:
        spec: The run.

    Returns:
        A :class:`~.storage.RunRecord` as a dict, with status ``"complete"`` or
        ``"failed"``.
    """
    start = time.perf_counter()
    base = {
        "experiment": spec["experiment"],
        "strategy": spec["strategy"],
        "problem": spec["problem"],
        "seed": int(spec["seed"]),
        "strategy_name": spec["strategy_name"],
        "strategy_options": dict(spec["options"]),
        "problem_spec": dict(spec["problem_spec"]),
        "budget": int(spec["budget"]),
    }
    f_opt = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            built = build_problem(spec["problem_spec"], spec["problem"])
            f_opt = built.f_opt
            strategy = get_strategy(spec["strategy_name"], **spec["options"])
            result = run(
                strategy,
                built.problem,
                budget=int(spec["budget"]),
                seed=int(spec["seed"]),
                executor=SerialExecutor(),
            )
            metadata: dict[str, Any] = {}
            if built.describe is not None and result.x is not None:
                metadata.update(built.describe(result.x))
        except Exception as err:
            text = "".join(traceback.format_exception(err))
            record = RunRecord(
                **base,
                status="failed",
                f_opt=f_opt,
                wall_seconds=time.perf_counter() - start,
                message=_first_line(f"{type(err).__name__}: {err}"),
                error=text[-_MAX_ERROR_CHARS:],
                metadata={"warnings": _warning_texts(caught)},
            )
            return record.to_dict()
    metadata["warnings"] = _warning_texts(caught)
    record = RunRecord(
        **base,
        status="complete",
        best_f=float(result.fun),
        f_opt=f_opt,
        best_x=None if result.x is None else [float(v) for v in result.x],
        nfev=int(result.nfev),
        njev=int(result.njev),
        nit=int(result.nit),
        nfail=int(result.nfail),
        success=bool(result.success),
        wall_seconds=time.perf_counter() - start,
        message=str(result.message),
        history=[[float(a), float(b)] for a, b in result.history],
        metadata=metadata,
    )
    return record.to_dict()


def run_experiment(
    config: ExperimentConfig,
    store: RunStore,
    *,
    executor: Literal["ray", "serial"] = "ray",
    address: str | None = None,
    num_cpus: int | None = None,
    show_progress: bool = False,
    on_record: Callable[[RunRecord], Any] | None = None,
) -> ExperimentOutcome:
    """Performs the runs of an experiment that are not complete in the store yet.

    With ``executor="ray"``, joins the cluster at ``address`` or starts a local
    Ray instance listening on loopback only (see
    :func:`hybridopt.evaluation.ray.ensure_ray`); a local instance started here
    is shut down at the end. ``executor="serial"`` performs the runs one after
    the other in this process.

    Args:
        config: The experiment.
        store: Where records go; complete runs found there are skipped.
        executor: ``"ray"`` or ``"serial"``.
        address: Ray cluster to join; ``None`` for a local instance.
        num_cpus: CPUs of a local Ray instance (default: all of this machine).
        show_progress: Show a progress bar of runs on stderr.
        on_record: Called with each record after it is stored.

    Returns:
        Counts of skipped, executed and failed runs.

    Raises:
        ConfigError: If stored complete runs under the same labels were made
            with other strategy options, problem specs or budget.
        ExperimentInterrupted: On Ctrl-C; outstanding tasks are cancelled and
            every finished run is stored.
    """
    if executor not in ("ray", "serial"):
        raise ValueError(f"executor must be 'ray' or 'serial', got {executor!r}")
    start = time.perf_counter()
    specs = plan_runs(config)
    _check_stored_specs(config, store, specs)
    done_keys = store.complete_keys(config.name)
    todo = [s for s in specs if s.key not in done_keys]
    skipped = len(specs) - len(todo)
    logger.info(
        "experiment %s: %d runs, %d already complete, %d to run",
        config.name,
        len(specs),
        skipped,
        len(todo),
    )
    counts = {"executed": 0, "failed": 0, "concurrent": 0}
    # Best value (precision where f_opt is known) per problem, for the bar.
    best: dict[str, tuple[float, str]] = {}

    def outcome() -> ExperimentOutcome:
        return ExperimentOutcome(
            total=len(specs),
            skipped=skipped + counts["concurrent"],
            executed=counts["executed"],
            failed=counts["failed"],
            wall_seconds=time.perf_counter() - start,
        )

    def keep(data: Mapping[str, Any]) -> None:
        record = RunRecord.from_dict(data)
        if not store.put(record):
            # Another process stored this run first (two runs on one database).
            stored = store.get(
                record.experiment, record.strategy, record.problem, record.seed
            )
            assert stored is not None
            what = _difference(
                stored,
                record.strategy_name,
                record.strategy_options,
                record.problem_spec,
                record.budget,
            )
            if what:
                raise _mixed_settings(config, store, what)
            counts["concurrent"] += 1
            return
        counts["executed"] += 1
        if record.status == "failed":
            counts["failed"] += 1
            logger.warning(
                "run %s / %s / seed %d failed: %s",
                record.strategy,
                record.problem,
                record.seed,
                record.message,
            )
        if bar is not None:
            bar.update(1)
            postfix: dict[str, Any] = {"failed": counts["failed"]}
            if record.best_f is not None:
                value = record.best_f - (record.f_opt or 0.0)
                if record.problem not in best or value < best[record.problem][0]:
                    best[record.problem] = (value, record.strategy)
                value, label = best[record.problem]
                measure = "f-f_opt" if record.f_opt is not None else "f"
                postfix["best"] = f"{record.problem} {measure}={value:.3g} ({label})"
            bar.set_postfix(postfix, refresh=False)
        if on_record is not None:
            on_record(record)

    with _progress(show_progress, len(specs), skipped, config.name) as bar:
        try:
            if not todo:
                pass
            elif executor == "serial":
                for spec in todo:
                    keep(execute_run(spec.to_dict()))
            else:
                _run_on_ray(todo, keep, address=address, num_cpus=num_cpus)
        except KeyboardInterrupt:
            raise ExperimentInterrupted(outcome()) from None
    result = outcome()
    logger.info(
        "experiment %s: %d runs done (%d failed) in %.1f s",
        config.name,
        result.executed,
        result.failed,
        result.wall_seconds,
    )
    return result


def _run_on_ray(
    todo: list[RunSpec],
    keep: Callable[[Mapping[str, Any]], None],
    *,
    address: str | None,
    num_cpus: int | None,
) -> None:
    from hybridopt.evaluation.ray import ensure_ray, shutdown_ray

    ray_module = sys.modules.get("ray")
    was_up = ray_module is not None and ray_module.is_initialized()
    owned = not was_up and address is None
    pending: dict[Any, RunSpec] = {}
    try:
        # Ctrl-C is held back while Ray's own code runs (a KeyboardInterrupt
        # raised inside it can crash the driver) and raised between short waits.
        with _deferred_interrupt():
            ensure_ray(address, num_cpus=None if address else num_cpus)
        import ray

        with _deferred_interrupt():
            task = _remote_task(ray)
            pending = {task.remote(spec.to_dict()): spec for spec in todo}
        try:
            while pending:
                with _deferred_interrupt():
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in ready:
                    spec = pending.pop(ref)
                    try:
                        data = ray.get(ref)
                    except Exception as err:
                        # The task itself never raises; this is a lost worker.
                        data = _lost_run(spec, err)
                    keep(data)
        except BaseException:
            # Shutting down an instance of our own stops its tasks. On a shared
            # cluster, cancel ours; Ray 2.60's forced cancellation can abort the
            # driver when a task completes meanwhile, so ask politely.
            if not owned:
                for ref in pending:
                    with contextlib.suppress(Exception):
                        ray.cancel(ref)
            raise
    finally:
        if owned:
            shutdown_ray()


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """Holds SIGINT back during a block and raises it, if one came, at its end."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit = []

    def note(signum: int, frame: Any) -> None:
        hit.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if hit:
        raise KeyboardInterrupt


_remote_execute: Any = None


def _remote_task(ray: Any) -> Any:
    global _remote_execute
    if _remote_execute is None:
        # One retry covers a worker lost to the machine, not a bug in the run,
        # which execute_run already turns into a failed record.
        _remote_execute = ray.remote(num_cpus=1, max_retries=1)(execute_run)
    return _remote_execute


def _lost_run(spec: RunSpec, err: BaseException) -> dict[str, Any]:
    return RunRecord(
        experiment=spec.experiment,
        strategy=spec.strategy,
        problem=spec.problem,
        seed=spec.seed,
        status="failed",
        strategy_name=spec.strategy_name,
        strategy_options=dict(spec.options),
        problem_spec=dict(spec.problem_spec),
        budget=spec.budget,
        message=_first_line(f"{type(err).__name__}: {err}"),
        error=str(err)[-_MAX_ERROR_CHARS:],
    ).to_dict()


def _check_stored_specs(
    config: ExperimentConfig, store: RunStore, specs: list[RunSpec]
) -> None:
    """Refuses to mix results of different settings under the same labels."""
    planned = {s.key: s for s in specs}
    for record in store.runs(config.name):
        spec = planned.get((record.strategy, record.problem, record.seed))
        if spec is None or record.status != "complete":
            continue
        what = _difference(
            record,
            spec.strategy_name,
            spec.options,
            spec.problem_spec,
            spec.budget,
        )
        if what:
            raise _mixed_settings(config, store, what)


def _difference(
    stored: RunRecord,
    strategy_name: str,
    options: Mapping[str, Any],
    problem_spec: Mapping[str, Any],
    budget: int,
) -> str | None:
    """What differs between a stored run's settings and the given ones, if any."""
    if stored.strategy_name != strategy_name or dict(stored.strategy_options) != dict(
        options
    ):
        return f"strategy {stored.strategy!r} (name or options)"
    if dict(stored.problem_spec) != dict(problem_spec):
        return f"problem {stored.problem!r}"
    if stored.budget != budget:
        return f"budget ({stored.budget} stored, {budget} now)"
    return None


def _mixed_settings(
    config: ExperimentConfig, store: RunStore, what: str
) -> ConfigError:
    return ConfigError(
        f"{config.source}: the results database {store.path} holds runs of "
        f"experiment {config.name!r} made with a different {what}; use another "
        "--db, another experiment name, or other labels"
    )


@contextlib.contextmanager
def _progress(enabled: bool, total: int, initial: int, name: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    bar = tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="run",
        dynamic_ncols=True,
        file=sys.stderr,
    )
    bar.set_postfix(failed=0, refresh=False)
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger("hybridopt")]):
            yield bar
    finally:
        bar.close()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _warning_texts(caught: list[warnings.WarningMessage]) -> list[str]:
    seen: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.append(text)
    return seen
