"""Shared fixtures and the hypothesis profile for CI."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Derandomized in CI so that a red run can be reproduced exactly.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance (2 CPUs) for the whole test session."""
    ray = pytest.importorskip("ray")
    from hybridopt.evaluation.ray import ensure_ray, shutdown_ray

    already_up = ray.is_initialized()
    ensure_ray(num_cpus=2)
    yield
    if not already_up:
        shutdown_ray()
