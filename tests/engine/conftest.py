"""The sample cycle for tests: its path, id and how to build a runtime on it."""

from __future__ import annotations

from pathlib import Path

from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.register.cycles import start_cycle
from plancycle.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
CYCLE = "rxx-2026-27"


def build_runtime(home: Path, clock: SimulatedClock, channels, config_path: Path = SAMPLE
                  ) -> Runtime:
    runtime = Runtime.build(clock=clock, channels=channels,
                            database_url=f"sqlite:///{home / 'register.db'}")
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, load_config(config_path), config_path)
    return runtime
