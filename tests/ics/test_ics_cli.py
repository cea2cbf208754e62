"""The system planner's commands: ``plancycle ics status`` and ``plancycle ics rollup``.

Given the test ICS with every organisation's returns accepted and two plans submitted, when
the planner asks for the status and the roll-up from the console script, then they see who
is late and by how much, the system WTE, the per-organisation headcount (never added up) and
the consistency flags; and a wrong cycle is a message with exit 2, never a traceback.
"""

from __future__ import annotations

import subprocess
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from plancycle.clock import SimulatedClock
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import Task
from plancycle.runtime import Runtime
from tests.foundation.helpers import cli_env, run_cli_many
from tests.ics.conftest import ICS_CYCLE, MEMBERS, member_returns, record_accepted, start_cycles


def said(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    return " ".join((result.stdout + result.stderr).split())


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("ics-cli")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLANCYCLE_HOME", str(home))
        env.setenv("PLANCYCLE_LINK_SECRET", "x")
        rt = Runtime.build(clock=SimulatedClock(date(2026, 5, 6)), channels=RecordingChannels(),
                           database_url=f"sqlite:///{home / 'register.db'}")
        start_cycles(rt, home)
        for member in MEMBERS:
            rt.advance(member.cycle_id)
            record_accepted(rt, member, member_returns(member))
        with rt.register.session(actor="test") as session:  # R1D and RL1 have submitted
            for task in session.scalars(select(Task).where(
                    Task.key == "submit_to_ics", Task.cycle_id.in_(["r1d-2026-27",
                                                                    "rl1-2026-27"]))):
                task.state, task.completed_at = "complete", rt.clock.now()
        rt.advance(ICS_CYCLE)
        rt.register.dispose()
    env_ = cli_env(PLANCYCLE_HOME=str(home), PLANCYCLE_LINK_SECRET="x",
                   PLANCYCLE_DATABASE_URL=f"sqlite:///{home / 'register.db'}")
    calls = {
        "status": ["ics", "status", ICS_CYCLE, "--as-of", "2026-06-17"],
        "rollup": ["ics", "rollup", ICS_CYCLE, "--no-documents", "--as-of", "2026-06-17"],
        "not a system cycle": ["ics", "status", "r1d-2026-27"],
        "unknown org cycle": ["ics", "rollup", ICS_CYCLE, "--org-cycle", "rxw-2026-27"],
    }
    results = run_cli_many([(args, env_) for args in calls.values()])
    return dict(zip(calls, results, strict=True))


def test_status_shows_who_has_submitted_and_who_is_late(ran):
    result = ran["status"]
    assert result.returncode == 0, said(result)
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "submitted 06 May 2026 (tasks)" in lines["R1D"]
    assert "recorded at the next `plancycle ics run`" in lines["R1D"]
    assert "not submitted" in lines["ZAM"]
    assert "open, due 12 Jun, 3 working days overdue" in lines["ZAM"]


def test_rollup_prints_system_wte_flags_and_never_a_people_total(ran):
    result = ran["rollup"]
    assert result.returncode == 0, said(result)
    text = said(result)
    assert f"{ICS_CYCLE}: 5 organisations" in text
    assert "people (this organisation)" in text and "not added up across organisations" in text
    assert "[published_fte] RL1 staff in post (excluding doctors)" in text
    assert "[published_fte] R1D" not in text


@pytest.mark.parametrize(("name", "expected"), [
    ("not a system cycle", "is an organisation's cycle, not a system cycle"),
    ("unknown org cycle", "no organisation cycle 'rxw-2026-27' in the register"),
])
def test_mistakes_are_messages_with_exit_2(ran, name, expected):
    result = ran[name]
    assert result.returncode == 2
    assert expected in said(result)

