"""Python blocks in README.md and docs/ run as written.

Blocks fenced as ``python`` run in order, sharing one namespace per file; blocks
fenced as ``py`` are illustrations (a cluster address, a fragment) and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
WITH_CODE = [p for p in FILES if BLOCK.search(p.read_text())]


@pytest.mark.ray
@pytest.mark.parametrize("path", WITH_CODE, ids=lambda p: p.name)
def test_python_blocks_run(path: Path, ray_session: None) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for i, match in enumerate(BLOCK.finditer(path.read_text())):
        code = compile(match.group(1), f"{path.name}[block {i}]", "exec")
        exec(code, namespace)  # noqa: S102 - the documented examples themselves


def test_strategy_page_is_up_to_date() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "gen", ROOT / "docs/gen_strategies.py"
    )
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "docs/strategies.md").read_text() == gen.render(), (
        "docs/strategies.md is stale: run python docs/gen_strategies.py"
    )


def test_readme_table_lists_every_built_in() -> None:
    import hybridopt

    readme = (ROOT / "README.md").read_text()
    for entry in hybridopt.registry.available():
        if entry[0].origin == "built-in":
            assert f"| `{entry[0].name}` |" in readme, entry[0].name
