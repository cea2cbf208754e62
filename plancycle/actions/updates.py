"""Recording an owner's quarterly update (RAG and note) and completing their check-in task once
every open action of theirs is reported."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.actions.plan import find_action
from plancycle.actions.quarters import parse_quarter, quarter_of
from plancycle.actions.terms import CHECKIN_PREFIX, COMPLETE, OPEN, RAGS, STATUSES, ActionError
from plancycle.assignments import AssignmentError, find_person
from plancycle.register.models import (
    Action,
    ActionUpdate,
    AssignmentState,
    Task,
    TaskState,
)

# --- updates ------------------------------------------------------------------------------------

def checkin_key(quarter: str, role: str) -> str:
    year, q = quarter.split(" ")
    return f"{CHECKIN_PREFIX}_{year.replace('/', '-')}_{q.lower()}_{role}"


def record_update(session: Session, cycle_id: str, key: str, now: datetime, *,
                  rag: str | None = None, note: str | None = None,
                  person_key: str | None = None, author: str | None = None,
                  status: str | None = None, due: date | None = None,
                  quarter: str | None = None) -> ActionUpdate:
    """Record a RAG status and update on an action (audited), from a check-in or the planner.

    When this completes the reporting of every open action of the owner role for the quarter,
    the role's check-in task is done: its open assignments are completed.
    """
    action = find_action(session, cycle_id, key)
    if status is not None and status not in STATUSES:
        raise ActionError(f"status {status!r} should be one of: {', '.join(STATUSES)}")
    if rag is None and status == COMPLETE:
        rag = "green"
    if rag is None:
        rag = action.rag
    if rag is None:
        raise ActionError(f"give a RAG status for {action.key} (--rag red, amber or green)")
    rag = rag.strip().lower()
    if rag not in RAGS:
        raise ActionError(f"RAG {rag!r} should be red, amber or green")
    if action.status != OPEN and status is None:
        raise ActionError(f"action {action.key} is {action.status}; reopen it with "
                          "--status open to report on it again")
    person = None
    if person_key is not None:
        try:
            person = find_person(session, cycle_id, person_key)
        except AssignmentError as exc:
            raise ActionError(str(exc)) from None
    if quarter:
        label = parse_quarter(quarter, now.date())
    else:  # answering an open check-in (Q3's is asked in January): its quarter
        asking = _open_checkin(session, cycle_id, action.owner_role)
        label = asking.settings["checkin"]["quarter"] if asking else quarter_of(now.date())
    task = session.scalars(select(Task).where(
        Task.cycle_id == cycle_id, Task.key == checkin_key(label, action.owner_role))).first()
    update = ActionUpdate(cycle_id=cycle_id, action_id=action.id, quarter=label, rag=rag,
                          note=note.strip() if note else None, status=status,
                          person_id=person.id if person else None,
                          author=person.name if person else (author or "workforce planner"),
                          task_id=task.id if task else None, recorded_at=now)
    session.add(update)
    action.rag = rag
    if due is not None:
        action.due_on = due
    if status is not None and status != action.status:
        action.status = status
        action.closed_at = now if status != OPEN else None
    session.flush()
    if task is not None:
        _complete_checkin_if_reported(session, task, label, action.owner_role, now)
    return update


def _open_checkin(session: Session, cycle_id: str, role: str) -> Task | None:
    return session.scalars(select(Task).where(
        Task.cycle_id == cycle_id, Task.role_key == role,
        Task.key.startswith(f"{CHECKIN_PREFIX}_"),
        Task.state.in_([TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED]))
        .order_by(Task.id.desc())).first()


def _complete_checkin_if_reported(session: Session, task: Task, quarter: str, role: str,
                                  now: datetime) -> None:
    keys = task.settings.get("checkin", {}).get("actions", [])
    asked = [a for a in session.scalars(select(Action).where(
        Action.cycle_id == task.cycle_id, Action.key.in_(keys)))]
    reported = set(session.scalars(select(ActionUpdate.action_id).where(
        ActionUpdate.quarter == quarter, ActionUpdate.action_id.in_([a.id for a in asked]))))
    if task.state not in (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED):
        return
    if all(a.id in reported or a.status != OPEN for a in asked):
        for assignment in task.assignments:
            if assignment.state == AssignmentState.OPEN:
                assignment.state = AssignmentState.COMPLETE
                assignment.completed_at = now
                assignment.reason = f"every {role} action reported for {quarter}"
        session.flush()


