"""Scenario: the sample trust's whole planning year through the real Prefect API.

Given the sample cycle (14 stages, 49 tasks, 34 people) and scripted people — the ESR
extract 4 working days late, the pay budget 2 days late, the activity plan only once
escalated, the board rejecting the first draft — when the annual-cycle flow walks the
year on the simulated clock, then every task ends complete, the late ones were chased and
escalated to the right managers, the rejected stages were redone, and nobody got a
duplicate message.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.clock import SimulatedClock
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import (
    Assignment,
    Cycle,
    Decision,
    Notification,
    Person,
    Stage,
    Task,
)
from plancycle.simulation import Rehearsal, Script
from tests.engine.conftest import CYCLE, build_runtime


@pytest.fixture(scope="module")
def year(prefect_api, tmp_path_factory):
    from flows.annual_cycle import annual_cycle

    home = tmp_path_factory.mktemp("year")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLANCYCLE_HOME", str(home))
        env.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
        env.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
        runtime = build_runtime(home, SimulatedClock(date(2026, 4, 1)), RecordingChannels())

        script = Script(offsets={"staff_in_post_return": 4, "pay_budget_return": 2},
                        until_escalated={"activity_plan_return"},
                        gate_rounds={"board_gate": ["reject"]},
                        absences=ABSENCES)
        rehearsal = Rehearsal(runtime, CYCLE, script, end=date(2027, 3, 31))
        runtime.waiter = rehearsal.wait
        with runtime_mod.use(runtime):
            result = annual_cycle(CYCLE, until_complete=True)
        yield runtime, rehearsal, result
    runtime.register.dispose()


def _sent(session) -> list[tuple[Notification, Person]]:
    return session.execute(select(Notification, Person).join(Person)
                           .where(Notification.status == "sent")
                           .order_by(Notification.id)).all()


def test_every_task_and_stage_ends_complete(year):
    runtime, rehearsal, result = year
    assert result["complete"] is True
    with runtime.register.session() as session:
        tasks = session.scalars(select(Task)).all()
        assert len(tasks) == 49
        assert {t.key: t.state for t in tasks} == {t.key: "complete" for t in tasks}
        assert {s.state for s in session.scalars(select(Stage))} == {"complete"}
        assert session.get(Cycle, CYCLE).state == "closed"
        assert all(t.completed_at is not None for t in tasks)
    # The last task (lessons learned, due 22 Feb 2027) was done before the year ended.
    assert runtime.clock.today() <= date(2027, 3, 31)


def test_messages_per_person_and_no_duplicates(year):
    runtime, _, _ = year
    with runtime.register.session() as session:
        sent = _sent(session)
        keys = [n.idempotency_key for n, _ in sent]
        assert len(keys) == len(set(keys)), "a message was sent twice"
        per_person = Counter(p.key for _, p in sent)
        # Every holder of a task got exactly one 'new task' per assignment and due date.
        new_tasks = Counter(p.key for n, p in {(n.idempotency_key.rsplit(":", 1)[0], p.key): (n, p)
                                               for n, p in sent if n.kind == "new_task"}.values())
        expected_new: Counter[str] = Counter()
        for assignment, person in session.execute(
                select(Assignment, Person).join(Person, Assignment.person_id == Person.id)):
            rounds = {n.idempotency_key.split(":")[2] for n, _ in sent
                      if n.assignment_id == assignment.id and n.kind == "new_task"}
            expected_new[person.key] += len(rounds)
        assert new_tasks == expected_new
        assert len(session.scalars(select(Person)).all()) >= 30
        assert {"peter.walsh", "owen.price"} <= set(per_person), "deputies stood in"
        # The deterministic outcome of this script (sample config, England bank holidays).
        assert per_person == EXPECTED_MESSAGES_PER_PERSON


def test_late_returns_are_chased_and_escalated_to_line_managers(year):
    runtime, _, _ = year
    with runtime.register.session() as session:
        sent = _sent(session)
        escalations = sorted((n.created_at.date(), p.key, n.subject) for n, p in sent
                             if n.kind == "escalation")
        assert [(d, who) for d, who, _ in escalations] == [
            (date(2026, 5, 6), "tom.reeves"),    # Lucy's ESR extract, 3 working days late
            (date(2026, 5, 13), "mark.ellis"),   # Sanjay's activity plan, 3 working days late
        ]
        chased = [(n.created_at.date(), n.kind) for n, p in sent
                  if p.key == "lucy.fernandes" and n.channel == "email"
                  and "Staff in post" in n.subject]
        assert chased == [
            (date(2026, 4, 16), "new_task"),
            (date(2026, 4, 23), "reminder"),   # 5 working days before Thu 30 Apr
            (date(2026, 4, 29), "reminder"),   # 1 working day before
            (date(2026, 4, 30), "due"),
            (date(2026, 5, 1), "overdue"),     # 1 working day late (Mon 4 May is a holiday)
            (date(2026, 5, 6), "overdue"),     # 3 working days late
        ]  # completed on 7 May: silence afterwards


def test_board_rejection_reopens_the_draft_and_requires_new_approvals(year):
    runtime, rehearsal, _ = year
    with runtime.register.session() as session:
        decisions = session.execute(select(Decision, Task).join(Task)
                                    .order_by(Decision.id)).all()
        board = [(d.decision, d.valid) for d, t in decisions if t.key == "board_gate"]
        assert board[0] == ("reject", False)
        assert all(valid for verdict, valid in board[1:]) and len(board) > 1
        executive = [(d.decided_at.date(), d.valid) for d, t in decisions
                     if t.key == "executive_gate"]
        # First-round executive approvals were invalidated and given again.
        assert [v for _, v in executive] == [False, False, False, True, True, True]
        narratives = [n for n, p in _sent(session) if n.kind == "new_task"
                      and "Narrative for your service" in n.subject and p.key == "oliver.hughes"]
        assert len(narratives) == 2
    assert any("decided reject on board_gate" in line for line in rehearsal.log)


def test_rerunning_the_flow_after_the_year_sends_nothing(year):
    from flows.annual_cycle import annual_cycle
    from flows.chaser import chaser

    runtime, _, _ = year
    with runtime.register.session() as session:
        before = len(session.scalars(select(Notification)).all())
    with runtime_mod.use(runtime):
        for _ in range(3):
            assert annual_cycle(CYCLE)["complete"] is True
            chaser(as_of=runtime.clock.today(), cycle_id=CYCLE)
    with runtime.register.session() as session:
        assert len(session.scalars(select(Notification)).all()) == before


#: Claire Dunn (service lead) is away in June, Rachel Moore (finance lead) late July.
ABSENCES = {"claire.dunn": (date(2026, 6, 1), date(2026, 7, 1)),
            "rachel.moore": (date(2026, 7, 20), date(2026, 8, 3))}

#: Messages sent per person over the year (email and chat each count; people with a chat
#: handle get both). No plan document is built in this script, so no approval requests;
#: the board's rejection sends "reopened" notices to those whose work is redone.
#: Deterministic for this script; a change here is a behaviour change.
EXPECTED_MESSAGES_PER_PERSON = Counter({
    "lucy.fernandes": 38, "amira.khan": 38, "rachel.moore": 22, "oliver.hughes": 20,
    "nadia.rahman": 20, "michael.obrien": 20, "samuel.green": 20, "victoria.lee": 20,
    "helen.shaw": 18, "claire.dunn": 17, "priya.nair": 16, "chidi.eze": 11,
    "sanjay.patel": 8, "david.okafor": 5, "ruth.callaghan": 4, "anil.kapoor": 4,
    "susan.grant": 4, "peter.walsh": 4, "grace.mensah": 4, "james.whitfield": 4,
    "fiona.baker": 2, "ben.carter": 2, "kate.morrison": 2, "tom.reeves": 1, "mark.ellis": 1,
    "owen.price": 1,
})
