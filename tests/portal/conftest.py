"""Fixtures for the portal: the sample cycle in a fresh register and the app under test.

Fast tests drive the FastAPI app in-process (TestClient) with a recording channel; the
browser tests (``test_browser.py``) serve it with uvicorn to Chromium and send real email.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plancycle.clock import SimulatedClock
from plancycle.notify.channels import RecordingChannels
from plancycle.portal import PortalSettings, create_app
from plancycle.register.db import home as data_home
from plancycle.runtime import Runtime

from .helpers import (
    PLANNER_TOKEN,
    build_runtime,
    drive_until_open,
    link,
    quietly,
    register_plan,
)

MB = 1024 * 1024


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLANCYCLE_HOME", str(tmp_path))
    monkeypatch.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    monkeypatch.setenv("PLANCYCLE_PORTAL_URL", "http://testserver")
    for name in ("PLANCYCLE_PLANNER_TOKEN", "PREFECT_UI_URL", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def runtime(home: Path, clock: SimulatedClock, recording: RecordingChannels
            ) -> Iterator[Runtime]:
    """The sample cycle started on 1 April 2026, its first tasks open and announced."""
    rt = build_runtime(home, clock, recording)
    rt.advance("rxx-2026-27")
    rt.deliver("rxx-2026-27")
    yield rt
    rt.register.dispose()


@pytest.fixture
def settings() -> PortalSettings:
    return PortalSettings(max_upload_bytes=1 * MB, planner_token=PLANNER_TOKEN,
                          prefect_ui_url="http://prefect.test")


@pytest.fixture
def client(runtime: Runtime, settings: PortalSettings) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, settings), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def gate(runtime: Runtime, clock: SimulatedClock) -> dict[str, str]:
    """The executive gate open, with the draft plan registered for decision."""
    drive_until_open(runtime, clock, "executive_gate")
    quietly(runtime)
    sha = register_plan(runtime, data_home() / "documents", clock.now())
    return {"sha": sha, "helen": link(runtime, "helen.shaw", "executive_gate")}
