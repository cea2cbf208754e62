"""Who does a task: role holders, deputies for absent people, reassignment and delegation.

Every hand-over is a new assignment row with ``on_behalf_of`` and a reason, and the old
one is marked ``reassigned`` — so the audit shows who stood in for whom, and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.config.model import TaskKind
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Person,
    RoleHolder,
    Task,
    TaskState,
)


class AssignmentError(Exception):
    """A request about an assignment that cannot be honoured (user-facing message)."""


def people_by_key(session: Session, cycle_id: str) -> dict[str, Person]:
    return {p.key: p for p in session.scalars(select(Person).where(Person.cycle_id == cycle_id))}


def holders(session: Session, cycle_id: str, role_key: str) -> list[Person]:
    return list(session.scalars(
        select(Person).join(RoleHolder, RoleHolder.person_id == Person.id)
        .where(RoleHolder.cycle_id == cycle_id, RoleHolder.role_key == role_key)
        .order_by(Person.id)))


def planner_roles(session: Session, cycle_id: str) -> set[str]:
    """The workforce planner's roles: those owning the cycle's analysis tasks."""
    return set(session.scalars(select(Task.role_key).where(
        Task.cycle_id == cycle_id, Task.kind == TaskKind.ANALYSIS)))


def planners(session: Session, cycle_id: str) -> list[Person]:
    """Who runs the cycle (and whom people are told to ask): its planner roles' holders."""
    roles = planner_roles(session, cycle_id)
    return list(session.scalars(
        select(Person).join(RoleHolder, RoleHolder.person_id == Person.id)
        .where(RoleHolder.cycle_id == cycle_id, RoleHolder.role_key.in_(roles))
        .distinct().order_by(Person.id))) if roles else []


def task_roles(task: Task) -> list[str]:
    """The roles that act on a task: a gate's approver roles, otherwise the task's role."""
    if task.kind == TaskKind.GATE and task.settings.get("gate"):
        return list(task.settings["gate"]["approvers"])
    return [task.role_key]


def stand_in(person: Person, people: dict[str, Person]) -> Person:
    """The person who acts for ``person``: their deputy (chain) while they are absent."""
    seen = {person.key}
    current = person
    while current.absent and current.deputy_key and current.deputy_key in people:
        nxt = people[current.deputy_key]
        if nxt.key in seen:
            break
        seen.add(nxt.key)
        current = nxt
    return current


def assign_task(session: Session, task: Task, now: datetime) -> list[Assignment]:
    """Create the assignments of a task being opened (idempotent: existing ones are kept)."""
    people = people_by_key(session, task.cycle_id)
    existing = {a.person_id: a for a in task.assignments}
    created = []
    for role_key in task_roles(task):
        for holder in holders(session, task.cycle_id, role_key):
            actor = stand_in(holder, people)
            previous = existing.get(actor.id)
            if previous is not None and previous.state == AssignmentState.CANCELLED:
                # Reopened after a rejection: the same person, a new due date.
                previous.state = AssignmentState.OPEN
                previous.due_on = task.due_on
                previous.assigned_at = now
                previous.completed_at = None
                created.append(previous)
                continue
            if actor.id in existing or holder.id in existing:
                continue
            assignment = Assignment(
                cycle_id=task.cycle_id, task_id=task.id, person_id=actor.id, due_on=task.due_on,
                assigned_at=now, state=AssignmentState.OPEN,
                on_behalf_of_id=holder.id if actor.id != holder.id else None,
                reason=f"deputy for {holder.name} (absent)" if actor.id != holder.id else None,
            )
            session.add(assignment)
            task.assignments.append(assignment)
            existing[actor.id] = assignment
            created.append(assignment)
    return created


def find_task(session: Session, cycle_id: str, task_key: str) -> Task:
    task = session.scalars(
        select(Task).where(Task.cycle_id == cycle_id, Task.key == task_key)).one_or_none()
    if task is None:
        raise AssignmentError(f"no task '{task_key}' in cycle '{cycle_id}'; "
                              "see `plancycle cycle status` for task ids")
    return task


def find_person(session: Session, cycle_id: str, person_key: str) -> Person:
    person = session.scalars(
        select(Person).where(Person.cycle_id == cycle_id, Person.key == person_key)).one_or_none()
    if person is None:
        raise AssignmentError(f"no person '{person_key}' in cycle '{cycle_id}'; "
                              "person ids are the 'id:' values under people: in the cycle file")
    return person


def open_assignment(task: Task, person: Person) -> Assignment:
    for assignment in task.assignments:
        if assignment.person_id == person.id and assignment.state == AssignmentState.OPEN:
            return assignment
    names = ", ".join(a.person.key for a in task.assignments
                      if a.state == AssignmentState.OPEN) or "nobody"
    raise AssignmentError(
        f"{person.key} has no open assignment on task '{task.key}' (open: {names})")


def complete_assignment(session: Session, task: Task, person: Person, now: datetime,
                        note: str | None = None) -> Assignment:
    """Mark one person's part of a task done; the engine completes the task when all are."""
    if task.state not in (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED):
        raise AssignmentError(f"task '{task.key}' is {task.state}, not open")
    assignment = open_assignment(task, person)
    assignment.state = AssignmentState.COMPLETE
    assignment.completed_at = now
    if note:
        assignment.reason = note
    return assignment


def reassign(session: Session, task: Task, from_person: Person, to_person: Person,
             now: datetime, reason: str) -> Assignment:
    """Hand an open assignment to someone else (deputy, delegate, cover)."""
    if not reason.strip():
        raise AssignmentError("say why the task is being reassigned (--reason)")
    if from_person.id == to_person.id:
        raise AssignmentError("a task cannot be reassigned to the same person")
    old = open_assignment(task, from_person)
    if any(a.person_id == to_person.id and a.state == AssignmentState.OPEN
           for a in task.assignments):
        raise AssignmentError(f"{to_person.key} already has this task open")
    old.state = AssignmentState.REASSIGNED
    old.reason = reason
    previous = next((a for a in task.assignments if a.person_id == to_person.id), None)
    if previous is not None:  # back to someone who had it before: reopen their row
        previous.state = AssignmentState.OPEN
        previous.on_behalf_of_id = from_person.id
        previous.reason = reason
        previous.assigned_at = now
        return previous
    new = Assignment(cycle_id=task.cycle_id, task_id=task.id, person_id=to_person.id,
                     due_on=old.due_on, assigned_at=now, state=AssignmentState.OPEN,
                     on_behalf_of_id=old.on_behalf_of_id or from_person.id, reason=reason)
    session.add(new)
    task.assignments.append(new)
    return new


def mark_absent(session: Session, person: Person, now: datetime, back: bool = False
                ) -> list[Assignment]:
    """Mark someone absent (or back); while absent their deputy takes their open tasks.

    Returns the new assignments created for the deputy, so the caller can tell them.
    """
    person.absent = not back
    if back:
        return []
    if not person.deputy_key:
        raise AssignmentError(f"{person.key} has no deputy in the cycle file; reassign their "
                              "tasks with `plancycle task reassign` instead")
    deputy = stand_in(person, people_by_key(session, person.cycle_id))
    if deputy.id == person.id:
        raise AssignmentError(f"{person.key}'s deputy is absent too; reassign their tasks "
                              "with `plancycle task reassign` instead")
    moved = []
    for assignment in session.scalars(select(Assignment).where(
            Assignment.person_id == person.id, Assignment.state == AssignmentState.OPEN)):
        task = session.get(Task, assignment.task_id)
        moved.append(reassign(session, task, person, deputy, now,
                              f"deputy for {person.name} (absent)"))
    return moved
