"""Fixtures of the experiment tests: a local Ray for the session, config files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """A local Ray instance with 2 CPUs, started once and stopped at session end."""
    ray = pytest.importorskip("ray")
    from hybridopt.evaluation.ray import ensure_ray, shutdown_ray

    already_up = ray.is_initialized()
    ensure_ray(num_cpus=2)
    yield
    if not already_up:
        shutdown_ray()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Writes TOML text (dedented) to ``tmp_path/<name>`` and returns the path."""

    def write(text: str, name: str = "exp.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
