"""Scenarios for the reconciler, assignments and notifications (no Prefect needed)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from plancycle.assignments import (
    AssignmentError,
    complete_assignment,
    find_person,
    find_task,
    mark_absent,
    reassign,
)
from plancycle.register.models import (
    Assignment,
    AuditEntry,
    Notification,
    Task,
)
from tests.engine.conftest import CYCLE


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_reconcile_is_idempotent(runtime, recording):
    """Given the cycle on 1 April, when the engine runs three times, nothing is duplicated."""
    first = runtime.advance(CYCLE)
    assert first.opened_stages == ["kickoff"]
    assert sorted(first.opened_tasks) == ["align_business_planning", "confirm_exec_sponsor"]
    runtime.deliver(CYCLE)
    with runtime.register.session() as session:
        counts = (_count(session, Assignment), _count(session, Notification))
    for _ in range(3):
        again = runtime.advance(CYCLE)
        assert not again.changed and not again.new_assignments
        runtime.deliver(CYCLE)
    with runtime.register.session() as session:
        assert (_count(session, Assignment), _count(session, Notification)) == counts
    assert len(recording.sent) == counts[1]  # each queued message sent exactly once


def test_stage_does_not_open_before_its_start(runtime, clock):
    runtime.advance(CYCLE)
    with runtime.register.session() as session:
        assert find_task(session, CYCLE, "staff_in_post_return").state == "pending"
    clock.set(date(2026, 4, 16))
    progress = runtime.advance(CYCLE)
    assert "workforce_data" in progress.opened_stages
    assert "staff_in_post_return" in progress.opened_tasks


def test_completing_a_dependency_unblocks_and_notifies_the_next_holder(runtime, recording, clock):
    runtime.advance(CYCLE)
    clock.set(date(2026, 4, 2))
    with runtime.register.session(actor="helen.shaw") as session:
        task = find_task(session, CYCLE, "confirm_exec_sponsor")
        complete_assignment(session, task, find_person(session, CYCLE, "helen.shaw"), clock.now())
    progress = runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    assert progress.completed_tasks == ["confirm_exec_sponsor"]
    assert progress.opened_tasks == ["agree_timetable"]
    to_priya = [m for m in recording.sent if m.recipient.name == "Priya Nair"]
    assert [m.subject for m in to_priya if m.channel == "email"] == [
        "New task: Agree the planning timetable with the business-planning calendar (due 10 Apr)"]
    assert "http://portal.test/t/" in to_priya[0].body


def test_a_role_with_several_holders_completes_only_when_all_have(runtime, clock):
    clock.set(date(2026, 4, 7))
    runtime.advance(CYCLE)
    with runtime.register.session() as session:
        task = find_task(session, CYCLE, "confirm_exec_sponsor")
        complete_assignment(session, task, find_person(session, CYCLE, "helen.shaw"), clock.now())
        find_task(session, CYCLE, "agree_timetable")
    runtime.advance(CYCLE)
    with runtime.register.session() as session:
        task = find_task(session, CYCLE, "agree_timetable")
        complete_assignment(session, task, find_person(session, CYCLE, "priya.nair"), clock.now())
    runtime.advance(CYCLE)
    with runtime.register.session() as session:
        brief = find_task(session, CYCLE, "brief_service_leads")
        leads = [a for a in brief.assignments]
        assert len(leads) == 6
        for assignment in leads[:5]:
            complete_assignment(session, brief, assignment.person, clock.now())
    assert "brief_service_leads" not in runtime.advance(CYCLE).completed_tasks
    with runtime.register.session() as session:
        brief = find_task(session, CYCLE, "brief_service_leads")
        complete_assignment(session, brief, brief.assignments[5].person, clock.now())
    assert "brief_service_leads" in runtime.advance(CYCLE).completed_tasks


def test_an_absent_holder_is_covered_by_their_deputy(runtime, clock, recording):
    with runtime.register.session(actor="planner") as session:
        lucy = find_person(session, CYCLE, "lucy.fernandes")
        lucy.absent = True
    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    with runtime.register.session() as session:
        task = find_task(session, CYCLE, "staff_in_post_return")
        (assignment,) = task.assignments
        assert assignment.person.key == "kwame.asante"
        assert assignment.on_behalf_of_id == find_person(session, CYCLE, "lucy.fernandes").id
    to_kwame = [m for m in recording.sent if m.recipient.name == "Kwame Asante"]
    assert to_kwame and all("On behalf of: Lucy Fernandes" in m.body for m in to_kwame
                            if m.channel == "email")


def test_absence_mid_task_hands_open_work_to_the_deputy_and_is_audited(runtime, clock):
    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    with runtime.register.session(actor="planner") as session:
        moved = mark_absent(session, find_person(session, CYCLE, "lucy.fernandes"), clock.now())
        assert {session.get(Task, a.task_id).key for a in moved} == {
            "staff_in_post_return", "vacancies_return", "leavers_return", "sickness_return"}
    with runtime.register.session() as session:
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "assignments", AuditEntry.action == "update",
            AuditEntry.actor == "planner")).all()
        assert any(e.after.get("state") == "reassigned" for e in audit)


def test_reassignment_needs_a_reason_and_is_recorded(runtime, clock):
    runtime.advance(CYCLE)
    with runtime.register.session(actor="rachel.moore") as session:
        task = find_task(session, CYCLE, "align_business_planning")
        rachel = find_person(session, CYCLE, "rachel.moore")
        owen = find_person(session, CYCLE, "owen.price")
        with pytest.raises(AssignmentError, match="say why"):
            reassign(session, task, rachel, owen, clock.now(), " ")
        new = reassign(session, task, rachel, owen, clock.now(), "annual leave")
        assert new.on_behalf_of_id == rachel.id
    with runtime.register.session() as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "assignments", AuditEntry.actor == "rachel.moore")).all()
        assert {e.action for e in entries} == {"create", "update"}
        assert all(e.at == clock.now() for e in entries)


def test_chasing_stops_the_moment_a_task_is_complete(runtime, clock, recording):
    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    clock.set(date(2026, 4, 23))  # reminder day for tasks due 30 April
    runtime.chase(CYCLE)  # queued, not yet delivered
    with runtime.register.session() as session:
        task = find_task(session, CYCLE, "staff_in_post_return")
        complete_assignment(session, task, task.assignments[0].person, clock.now())
    report = runtime.deliver(CYCLE)
    assert report.cancelled == 2  # the queued email and chat reminders of the done task
    assert not [m for m in recording.sent if "Staff in post" in m.subject and
                m.subject.startswith("Reminder")]
