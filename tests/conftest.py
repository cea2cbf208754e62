"""Shared test set-up: quiet, offline settings and one Prefect test harness per session."""

from __future__ import annotations

import os

# Before anything imports Prefect or Great Expectations.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("PREFECT_UI_ENABLED", "false")
# The harness's server prints shutdown noise from its event recorder when it stops.
os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect API (temporary database) shared by every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
