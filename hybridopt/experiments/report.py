"""Summaries of stored runs: a table per problem and strategy, a ranking, a plot.

The measure of a run is its best objective value, or its precision
``f - f_opt`` when the problem's optimum is known (BBOB). For every problem and
strategy the table gives the median and the best of that measure over seeds,
the median number of evaluations and wall time, and the number of failed runs;
the strategy with the lowest median on a problem is marked. The ranking orders
strategies by their average rank over problems (ties share a rank; a strategy
without any complete run on a problem ranks last there).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hybridopt.experiments.storage import RunRecord

__all__ = [
    "RankRow",
    "SummaryRow",
    "format_ranking",
    "format_summary",
    "plot_convergence",
    "rank_strategies",
    "summarize",
    "write_report",
]

# Precision below this is shown and plotted as this (COCO's final target).
PRECISION_FLOOR = 1e-8
_GRID_POINTS = 200
# Medians this close (relative) to the lowest count as best too: runs that reach
# the same optimum differ only in the last bits.
TIE_RTOL = 1e-6


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """One problem and strategy over all seeds.

    Attributes:
        problem: Problem label.
        strategy: Strategy label.
        metric: ``"f - f_opt"`` when the optimum is known, else ``"f"``.
        runs: Stored runs.
        failed: Failed runs.
        median: Median of the measure over complete runs (NaN if none).
        best: Smallest measure over complete runs (NaN if none).
        median_nfev: Median evaluations spent.
        median_seconds: Median wall time of a run.
        is_best: Lowest median on this problem.
        extra: Medians of numeric run metadata (e.g. test accuracy), by name.
    """

    problem: str
    strategy: str
    metric: str
    runs: int
    failed: int
    median: float
    best: float
    median_nfev: float
    median_seconds: float
    is_best: bool = False
    extra: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class RankRow:
    """A strategy's standing across problems.

    Attributes:
        strategy: Strategy label.
        mean_rank: Average rank over problems (1 is best).
        wins: Problems on which it had the lowest median.
        problems: Problems it was ranked on.
    """

    strategy: str
    mean_rank: float
    wins: int
    problems: int


def measure(record: RunRecord) -> float:
    """The number the report compares: precision if ``f_opt`` is known, else f."""
    if record.best_f is None:
        return math.nan
    if record.f_opt is not None:
        return max(record.best_f - record.f_opt, PRECISION_FLOOR)
    return record.best_f


def summarize(
    records: Iterable[RunRecord],
    *,
    problems: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
) -> list[SummaryRow]:
    """Summary rows, problem by problem, in the given orders (else first seen).

    Args:
        records: Stored runs of one experiment.
        problems: Problem labels in display order.
        strategies: Strategy labels in display order.

    Returns:
        One row per problem and strategy that has runs.
    """
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.problem, r.strategy), []).append(r)
    problems = _order(problems, [p for p, _ in groups])
    strategies = _order(strategies, [s for _, s in groups])
    rows: list[SummaryRow] = []
    for p in problems:
        block = []
        for s in strategies:
            runs = groups.get((p, s))
            if runs:
                block.append(_row(p, s, runs))
        finite = [row.median for row in block if math.isfinite(row.median)]
        low = min(finite) if finite else None
        rows.extend(
            dataclasses.replace(row, is_best=low is not None and _tied(row.median, low))
            for row in block
        )
    return rows


def _row(problem: str, strategy: str, runs: list[RunRecord]) -> SummaryRow:
    ok = [r for r in runs if r.status == "complete"]
    values = np.array([measure(r) for r in ok], dtype=float)
    known = any(r.f_opt is not None for r in runs)
    extra: dict[str, float] = {}
    for name in ("test_accuracy",):
        vals = [r.metadata.get(name) for r in ok if isinstance(r.metadata, dict)]
        nums = [float(v) for v in vals if isinstance(v, int | float)]
        if nums:
            extra[name] = float(np.median(nums))
    return SummaryRow(
        problem=problem,
        strategy=strategy,
        metric="f - f_opt" if known else "f",
        runs=len(runs),
        failed=len(runs) - len(ok),
        median=float(np.median(values)) if values.size else math.nan,
        best=float(np.min(values)) if values.size else math.nan,
        median_nfev=_median([r.nfev for r in ok]),
        median_seconds=_median([r.wall_seconds for r in ok]),
        extra=extra,
    )


def rank_strategies(rows: Sequence[SummaryRow]) -> list[RankRow]:
    """Average rank of each strategy over problems, best first."""
    from scipy.stats import rankdata

    strategies = _order(None, [r.strategy for r in rows])
    problems = _order(None, [r.problem for r in rows])
    ranks: dict[str, list[float]] = {s: [] for s in strategies}
    wins = dict.fromkeys(strategies, 0)
    for p in problems:
        block = {r.strategy: r for r in rows if r.problem == p}
        # A strategy with no complete run here sorts after every real value.
        keys = [
            _rank_key(block[s].median) if s in block else math.inf for s in strategies
        ]
        for s, rank in zip(strategies, rankdata(keys, method="average"), strict=True):
            ranks[s].append(float(rank))
        for s in strategies:
            if s in block and block[s].is_best:
                wins[s] += 1
    out = [
        RankRow(
            s,
            float(np.mean(ranks[s])) if ranks[s] else math.nan,
            wins[s],
            len(ranks[s]),
        )
        for s in strategies
    ]
    return sorted(out, key=lambda r: (r.mean_rank, -r.wins, r.strategy))


def format_summary(rows: Sequence[SummaryRow]) -> str:
    """The summary as a plain-text table at most 100 columns wide."""
    has_acc = any("test_accuracy" in r.extra for r in rows)
    header = [
        "problem",
        "strategy",
        "measure",
        "runs",
        "fail",
        "median",
        "best",
        "nfev",
        "sec",
    ]
    if has_acc:
        header.append("test acc")
    lines = []
    for r in rows:
        cells = [
            _clip(r.problem, 22),
            _clip(r.strategy, 14),
            r.metric,
            str(r.runs),
            str(r.failed) if r.failed else "-",
            _num(r.median) + (" *" if r.is_best else "  "),
            _num(r.best),
            _count(r.median_nfev),
            _seconds(r.median_seconds),
        ]
        if has_acc:
            acc = r.extra.get("test_accuracy")
            cells.append("-" if acc is None else f"{acc:.3f}")
        lines.append(cells)
    return _table(header, lines, right={3, 4, 5, 6, 7, 8, 9}, separate_on=0)


def format_ranking(ranking: Sequence[RankRow]) -> str:
    """The ranking as a plain-text table."""
    lines = [
        [str(i), _clip(r.strategy, 24), f"{r.mean_rank:.2f}", f"{r.wins}/{r.problems}"]
        for i, r in enumerate(ranking, 1)
    ]
    return _table(["#", "strategy", "mean rank", "best on"], lines, right={0, 2, 3})


def write_report(
    records: Sequence[RunRecord],
    db_path: str | Path,
    *,
    problems: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    title: str = "",
    notes: Sequence[str] = (),
    plot: bool = True,
) -> dict[str, Path]:
    """Writes ``<db stem>_summary.md``, ``_summary.csv`` and ``_convergence.png``.

    Args:
        records: Stored runs of one experiment.
        db_path: The results database; the files go next to it.
        problems: Problem labels in display order.
        strategies: Strategy labels in display order.
        title: Heading of the Markdown file.
        notes: Lines added under the heading (e.g. wall time).
        plot: Whether to draw the convergence plot (needs matplotlib).

    Returns:
        The written paths by kind: ``"markdown"``, ``"csv"``, ``"plot"``.
    """
    db_path = Path(db_path)
    stem = db_path.with_suffix("")
    rows = summarize(records, problems=problems, strategies=strategies)
    ranking = rank_strategies(rows)
    paths = {
        "markdown": Path(f"{stem}_summary.md"),
        "csv": Path(f"{stem}_summary.csv"),
    }
    paths["markdown"].write_text(
        _markdown(rows, ranking, title or stem.name, notes), encoding="utf-8"
    )
    _write_csv(rows, paths["csv"])
    if plot and records:
        paths["plot"] = Path(f"{stem}_convergence.png")
        plot_convergence(
            records, paths["plot"], problems=problems, strategies=strategies
        )
    return paths


def plot_convergence(
    records: Sequence[RunRecord],
    path: str | Path,
    *,
    problems: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
) -> None:
    """Median best-so-far against evaluations, one panel per problem.

    Uses matplotlib's Agg canvas directly, so the caller's backend is untouched.
    Panels of problems with a known optimum plot precision on a log scale.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError as err:
        raise ImportError(
            "the convergence plot needs matplotlib; "
            'pip install "hybridopt[experiments]"'
        ) from err

    complete = [r for r in records if r.status == "complete" and r.history]
    problems = _order(problems, [r.problem for r in records])
    strategies = _order(strategies, [r.strategy for r in records])
    ncols = min(3, max(1, len(problems)))
    nrows = math.ceil(len(problems) / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.3 * nrows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colors = {s: f"C{i % 10}" for i, s in enumerate(strategies)}
    for ax, problem in zip(axes, problems, strict=False):
        runs = [r for r in complete if r.problem == problem]
        known = any(r.f_opt is not None for r in runs)
        positive = True
        for s in strategies:
            mine = [r for r in runs if r.strategy == s]
            if not mine:
                continue
            grid, curve = _median_curve(mine)
            shown = np.isfinite(curve)
            if not shown.any():
                continue
            positive &= bool(np.all(curve[shown] > 0))
            ax.step(grid[shown], curve[shown], where="post", color=colors[s], label=s)
        if known or positive:
            ax.set_yscale("log")
        ax.set_title(problem, fontsize=10)
        ax.set_xlabel("evaluations", fontsize=8)
        ax.set_ylabel("median f - f_opt" if known else "median best f", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(problems) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=colors[s], label=s) for s in strategies]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(6, len(handles)))
    fig.savefig(path, dpi=110)


def _median_curve(runs: Sequence[RunRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Median over runs of the best-so-far measure on a common evaluation grid."""
    top = max(max(r.budget, int(r.nfev or 0)) for r in runs)
    grid = np.unique(np.linspace(1, top, _GRID_POINTS).round().astype(int))
    curves = []
    for r in runs:
        hist = np.asarray(r.history, dtype=float).reshape(-1, 2)
        idx = np.searchsorted(hist[:, 0], grid, side="right") - 1
        values = np.where(idx >= 0, hist[np.maximum(idx, 0), 1], np.nan)
        if r.f_opt is not None:
            values = np.maximum(values - r.f_opt, PRECISION_FLOOR)
        curves.append(values)
    with warnings.catch_warnings():
        # Grid points before any run's first evaluation are all NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        return grid, np.nanmedian(np.vstack(curves), axis=0)


def _markdown(
    rows: Sequence[SummaryRow],
    ranking: Sequence[RankRow],
    title: str,
    notes: Sequence[str],
) -> str:
    has_acc = any("test_accuracy" in r.extra for r in rows)
    head = [
        "problem",
        "strategy",
        "measure",
        "runs",
        "failed",
        "median",
        "best",
        "median nfev",
        "median s",
    ]
    if has_acc:
        head.append("test acc")
    out = [f"# {title}", ""]
    out += [f"{n}  " for n in notes]
    if notes:
        out.append("")
    out += [
        "Median and best over seeds; **bold** marks the lowest median on a problem.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for r in rows:
        med = _num(r.median)
        cells = [
            r.problem,
            r.strategy,
            r.metric,
            str(r.runs),
            str(r.failed),
            f"**{med}**" if r.is_best else med,
            _num(r.best),
            _count(r.median_nfev),
            _seconds(r.median_seconds),
        ]
        if has_acc:
            acc = r.extra.get("test_accuracy")
            cells.append("-" if acc is None else f"{acc:.3f}")
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "## Ranking",
        "",
        "| # | strategy | mean rank | best on |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {i} | {r.strategy} | {r.mean_rank:.2f} | {r.wins}/{r.problems} |"
        for i, r in enumerate(ranking, 1)
    ]
    return "\n".join(out) + "\n"


def _write_csv(rows: Sequence[SummaryRow], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "problem",
                "strategy",
                "measure",
                "runs",
                "failed",
                "median",
                "best",
                "median_nfev",
                "median_wall_seconds",
                "best_on_problem",
                "median_test_accuracy",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r.problem,
                    r.strategy,
                    r.metric,
                    r.runs,
                    r.failed,
                    _csv_num(r.median),
                    _csv_num(r.best),
                    _csv_num(r.median_nfev),
                    _csv_num(r.median_seconds),
                    int(r.is_best),
                    _csv_num(r.extra.get("test_accuracy")),
                ]
            )


def _table(
    header: list[str],
    lines: list[list[str]],
    *,
    right: set[int],
    separate_on: int | None = None,
) -> str:
    widths = [max([len(h)] + [len(c[i]) for c in lines]) for i, h in enumerate(header)]

    def fmt(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "-" * len(fmt(["-" * w for w in widths]))
    out = [fmt(header), rule]
    previous = None
    for cells in lines:
        if (
            separate_on is not None
            and previous is not None
            and (cells[separate_on] != previous)
        ):
            out.append("")
        previous = cells[separate_on] if separate_on is not None else None
        out.append(fmt(cells))
    return "\n".join(out)


def _order(given: Sequence[str] | None, seen: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(seen))
    if given is None:
        return seen
    ordered = [x for x in given if x in seen]
    return ordered + [x for x in seen if x not in ordered]


def _tied(value: float, low: float) -> bool:
    """Equal to the lowest value up to the last printed digits."""
    return value <= low + TIE_RTOL * abs(low)


def _rank_key(value: float) -> float:
    """Rounds to the digits the table shows, so printed ties share a rank."""
    if not math.isfinite(value):
        return math.inf
    return float(f"{value:.6g}")


def _median(values: Iterable[Any]) -> float:
    nums = [float(v) for v in values if v is not None]
    return float(np.median(nums)) if nums else math.nan


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "-" if math.isnan(v) else str(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4g}"
    return f"{v:.2e}"


def _count(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:.0f}"


def _seconds(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:.2f}"


def _csv_num(v: float | None) -> str:
    return "" if v is None or math.isnan(v) else repr(float(v))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"
