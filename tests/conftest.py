"""Shared fixtures and the hypothesis profile for CI."""

from __future__ import annotations

import os

from hypothesis import settings

# Derandomized in CI so that a red run can be reproduced exactly.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
