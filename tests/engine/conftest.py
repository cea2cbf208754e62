"""Fixtures for engine tests: a register on a SQLite file, a simulated clock, runtimes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.notify.channels import RecordingChannels
from plancycle.register.cycles import start_cycle
from plancycle.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
CYCLE = "rxx-2026-27"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PLANCYCLE_HOME", str(tmp_path))
    monkeypatch.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    monkeypatch.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
    return tmp_path


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(date(2026, 4, 1))


@pytest.fixture
def recording() -> RecordingChannels:
    return RecordingChannels()


def build_runtime(home: Path, clock: SimulatedClock, channels, config_path: Path = SAMPLE
                  ) -> Runtime:
    runtime = Runtime.build(clock=clock, channels=channels,
                            database_url=f"sqlite:///{home / 'register.db'}")
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, load_config(config_path), config_path)
    return runtime


@pytest.fixture
def runtime(home, clock, recording) -> Runtime:
    rt = build_runtime(home, clock, recording)
    yield rt
    rt.register.dispose()
