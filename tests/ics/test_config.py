"""Scenario: the ICS cycle file names its members, and every member is really chased.

Given the system cycle files, when they are validated, then the real QOC file and the test
file pass; and when a member's submission task is missing, goes to someone else, or would
never be escalated to the member's exec sponsor, validation says so with a fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from plancycle.cli import app
from plancycle.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "cycle_config" / "ics_annual_cycle.yaml"
TEST = ROOT / "tests" / "fixtures" / "ics" / "ics_cycle.yaml"


def test_the_qoc_system_cycle_validates_with_its_members():
    result = CliRunner().invoke(app, ["config", "validate", str(REAL)])
    assert result.exit_code == 0, result.output
    config = load_config(REAL)
    assert config.ics.code == "QOC" and config.organisation.org_code == "QOC"
    members = {m.org_code: m for m in config.ics.organisations}
    assert set(members) == {"RXW", "RL1", "R1D", "RRE", "RYA", "QOC"}
    assert {m.type for m in members.values()} >= {"acute", "community", "mental_health",
                                                   "ambulance"}
    assert {m.place for m in members.values()} == {"Shropshire", "Telford and Wrekin",
                                                    "System-wide"}
    for member in members.values():
        task = config.task(member.task_key)
        assert task.name.startswith("Submit ") and task.name.endswith("'s workforce plan")
        assert member.workforce_planner in config.role(task.role).holders
        roles = [s.to[5:] for s in config.chasing_for(task).escalation]
        assert member.exec_sponsor in config.role(roles[0]).holders
    gate = config.task("people_board_gate").gate
    assert gate.approvers == ["people_board_chair", "chief_people_officer",
                              "icb_director_of_finance"]
    load_config(TEST)


def _broken(old: str, new: str) -> str:
    text = TEST.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("      - {id: submit_zpc_plan, name: Submit Telford Central PCN's workforce plan, kind: "
     "submission, role: zpc_workforce_planner, due: 2026-06-12, chasing: {escalation: "
     "[{after_working_days_overdue: 3, to: \"role:zpc_exec_sponsor\"}]}}\n", "",
     "no task 'submit_zpc_plan' waits on ZPC's plan"),
    ("role: zam_workforce_planner, due", "role: zpc_workforce_planner, due",
     "which ZAM's workforce planner 'planner.zam' does not hold"),
    ('to: "role:zmh_exec_sponsor"', 'to: "role:zpc_exec_sponsor"',
     "is never escalated to ZMH's exec sponsor 'sponsor.zmh'"),
    ("workforce_planner: planner.r1d, exec_sponsor: sponsor.r1d",
     "workforce_planner: planner.r1d, exec_sponsor: sponsor.nobody",
     "exec_sponsor 'sponsor.nobody' of R1D is not a person"),
    ("org_code: ZPC", "org_code: ZAM", "organisation ZAM is listed 2 times"),
])
def test_a_member_who_would_not_be_chased_is_a_config_problem(old, new, expected):
    with pytest.raises(ConfigError) as raised:
        parse_config(_broken(old, new), "ics.yaml")
    text = str(raised.value)
    assert expected in text
    assert "fix:" in text and "ics.yaml:" in text
