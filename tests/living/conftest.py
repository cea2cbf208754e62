"""Fixtures for the living-plan tests: the engine tests' register, clock and runtimes."""

from __future__ import annotations

from tests.engine.conftest import clock, home, recording, runtime  # noqa: F401  (fixtures)
