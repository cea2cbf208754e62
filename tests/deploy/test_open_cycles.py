"""Scheduled runs take no cycle id: they find the open cycles (and stored uploads) themselves.

Given a register with two organisations' cycles and an ICS system cycle, when the scheduled
flows run with no parameters, then the annual-cycle flow walks each organisation's cycle
(not the system cycle), a closed cycle is left alone, and the validate-return sweep gives
an upload that a crash left stored but unvalidated its verdict — once.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.config import load_config
from plancycle.register.cycles import open_cycles, start_cycle
from plancycle.register.models import Cycle, CycleState, DQResult, Upload
from plancycle.uploads import receive_upload
from tests.engine.conftest import CYCLE, ROOT

SMALL = ROOT / "tests" / "fixtures" / "configs" / "valid_small.yaml"
ICS = ROOT / "cycle_config" / "ics_annual_cycle.yaml"


def _start(runtime, path: Path) -> str:
    with runtime.register.session(actor="planner") as session:
        return start_cycle(session, load_config(path), path).cycle_id


def test_open_cycles_tell_organisations_from_system_cycles(runtime):
    small = _start(runtime, SMALL)
    system = _start(runtime, ICS)
    with runtime.register.session() as session:
        assert set(open_cycles(session, system=False)) == {CYCLE, small}
        assert open_cycles(session, system=True) == [system]
        session.get(Cycle, small).state = CycleState.CLOSED
    with runtime.register.session() as session:
        assert set(open_cycles(session)) == {CYCLE, system}


def test_annual_cycle_without_a_cycle_walks_each_open_organisation_cycle(prefect_api, runtime):
    from flows.annual_cycle import annual_cycle

    small = _start(runtime, SMALL)
    _start(runtime, ICS)
    with runtime_mod.use(runtime):
        result = annual_cycle()
    assert set(result["cycles"]) == {CYCLE, small}
    assert all(r["passes"] == 1 for r in result["cycles"].values())
    assert result["cycles"][CYCLE]["opened_tasks"] > 0


def test_the_sweep_validates_what_a_crash_left_stored(prefect_api, opened, clock, trust_files):
    from flows.validate_return import validate_return

    clock.set(date(2026, 4, 20))
    upload_id = receive_upload(opened, CYCLE, "staff_in_post_return", "lucy.fernandes",
                               trust_files["staff_in_post"].read_bytes(), "esr.csv")
    with runtime_mod.use(opened):
        assert validate_return() == {"validated": {}}  # just stored: its own run has it
        clock.advance(hours=0.2)
        assert validate_return() == {"validated": {str(upload_id): "pass"}}
        assert validate_return() == {"validated": {}}
    with opened.register.session() as session:
        assert session.get(Upload, upload_id).state == "accepted"
        assert len(session.scalars(select(DQResult)).all()) == 1
