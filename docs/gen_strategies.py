"""Writes docs/strategies.md from the registry: ``python docs/gen_strategies.py``.

The page lists the built-in strategies with their capabilities, options and
docstrings; ``tests/test_docs.py`` fails when the page is out of date.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import hybridopt

PAGE = Path(__file__).with_name("strategies.md")
FAMILIES = ("gradient", "stochastic", "hybrid")


def render() -> str:
    """The Markdown page for the built-in strategies."""
    entries = [
        (e, cls) for e, cls in hybridopt.registry.available() if e.origin == "built-in"
    ]
    lines = [
        "# Strategies",
        "",
        "Generated from the registry by `python docs/gen_strategies.py`; do not edit.",
        "",
        "Every strategy is built by name, `hybridopt.get_strategy(name, **options)` or",
        '`hybridopt.minimize(..., strategy=name, options={...})`. "needs x0 or bounds"',
        "means a start point is taken from `x0`, or drawn uniformly in finite bounds.",
        "",
        "| name | family | gradient | needs | summary | reference |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(
        entries, key=lambda ec: (FAMILIES.index(ec[1].info.family), ec[0].name)
    )
    for entry, cls in order:
        info = cls.info
        needs = (
            "finite bounds"
            if info.requires_bounds
            else "x0 or bounds"
            if info.requires_start
            else "-"
        )
        lines.append(
            f"| `{entry.name}` | {info.family} | "
            f"{'yes' if info.needs_gradient else 'no'} | {needs} | {info.summary} | "
            f"{info.reference} |"
        )
    for entry, cls in order:
        params = inspect.signature(cls.__init__).parameters
        defaults = ", ".join(
            f"`{p.name}={p.default!r}`"
            for p in params.values()
            if p.name != "self" and p.default is not inspect.Parameter.empty
        )
        doc = inspect.getdoc(cls) or ""
        # Doctest examples are run by the test suite; the page shows the prose.
        doc = re.split(r"\n\s*Example[s]?:\n", doc)[0].rstrip()
        lines += [
            "",
            f"## `{entry.name}`",
            "",
            f"`{entry.target}`. Options and defaults: {defaults or 'none'}.",
            "",
            "```text",
            doc,
            "```",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if PAGE.read_text() == render() else 1)
    PAGE.write_text(render())
