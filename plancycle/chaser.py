"""The chaser: apply the chasing policy to every open assignment of a cycle on a day.

``plan`` decides what is due (no sending, one query for assignments and one for the keys
already handled); ``chase`` turns that into queued notifications, grouping them into one
digest per person where the task's policy asks for it. Delivery is the notifier's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar, working_days_between_many
from plancycle.chasing import ChaseStep, chase_steps
from plancycle.links import TaskLinks
from plancycle.notify.messages import MessageBuilder
from plancycle.notify.service import Intent, Notifier
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Notification,
    Task,
)


@dataclass(frozen=True)
class PlannedStep:
    step: ChaseStep
    assignment_id: int
    person_id: int
    digest: bool


@dataclass
class ChaseResult:
    planned: list[PlannedStep] = field(default_factory=list)
    queued: int = 0
    skipped_non_working_day: bool = False


def handled_steps(session: Session, cycle_id: str) -> set[str]:
    """Step keys already queued (any channel, any recipient) — the idempotency memory."""
    keys = session.scalars(select(Notification.idempotency_key).where(
        Notification.cycle_id == cycle_id, Notification.assignment_id.is_not(None)))
    out = set()
    for key in keys:
        parts = key.split(":")
        out.add(":".join(parts[:4]))  # a<id>:<kind>:<step>:<due>
    return out


def plan(session: Session, cycle_id: str, today: date,
         calendar: WorkingCalendar | None = None) -> list[PlannedStep]:
    """Every chase step due today that has not been handled yet (nothing is sent)."""
    calendar = calendar or WorkingCalendar()
    if not calendar.is_working_day(today):
        return []
    rows = session.execute(
        select(Assignment.id, Assignment.person_id, Assignment.due_on, Assignment.assigned_at,
               Task.settings)
        .join(Task, Assignment.task_id == Task.id)
        .where(Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN)
    ).all()
    if not rows:
        return []
    dues = [r.due_on for r in rows]
    to_due = working_days_between_many(calendar, today, dues)
    # Working days from the day each assignment was made to its due date.
    by_day: dict[date, list[int]] = {}
    for i, r in enumerate(rows):
        by_day.setdefault(r.assigned_at.date(), []).append(i)
    assigned_to_due = [0] * len(rows)
    for day, idx in by_day.items():
        counts = working_days_between_many(calendar, day, [dues[i] for i in idx])
        for i, n in zip(idx, counts, strict=True):
            assigned_to_due[i] = n
    done = handled_steps(session, cycle_id)
    policies: dict[str, dict[str, Any]] = {}
    planned = []
    for i, r in enumerate(rows):
        chasing = r.settings.get("chasing", {})
        policy = policies.setdefault(json.dumps(chasing, sort_keys=True), chasing)
        for step in chase_steps(r.id, r.due_on, policy, to_due[i], assigned_to_due[i]):
            if step.key not in done:
                planned.append(PlannedStep(step, r.id, r.person_id, bool(policy.get("digest"))))
    return planned


def chase(session: Session, cycle_id: str, today: date, notifier: Notifier, links: TaskLinks,
          calendar: WorkingCalendar | None = None) -> ChaseResult:
    """Plan today's steps and queue their messages (digests grouped per person)."""
    calendar = calendar or WorkingCalendar()
    result = ChaseResult(skipped_non_working_day=not calendar.is_working_day(today))
    result.planned = plan(session, cycle_id, today, calendar)
    if not result.planned:
        return result
    builder = MessageBuilder(session, cycle_id, links, calendar, today)
    assignments = {a.id: a for a in session.scalars(select(Assignment).where(
        Assignment.id.in_({p.assignment_id for p in result.planned})))}
    intents: list[Intent] = []
    digest_people: set[int] = set()
    digest_marks: list[PlannedStep] = []
    for planned in result.planned:
        assignment = assignments[planned.assignment_id]
        if planned.digest and planned.step.kind != "escalation":
            digest_people.add(planned.person_id)
            digest_marks.append(planned)
            continue
        intents += builder.chase(planned.step, assignment)
    if digest_people:
        open_by_person: dict[int, list[Assignment]] = {}
        for a in session.scalars(select(Assignment).where(
                Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN,
                Assignment.person_id.in_(digest_people))):
            open_by_person.setdefault(a.person_id, []).append(a)
        for person_id, items in open_by_person.items():
            intents.append(builder.digest(builder.people[person_id], items))
    created = notifier.queue(session, intents) if intents else []
    # Steps folded into a digest are recorded as handled so they are not planned again.
    now = notifier.clock.now()
    for planned in digest_marks:
        session.add(Notification(
            idempotency_key=f"{planned.step.key}:digest", cycle_id=cycle_id,
            person_id=planned.person_id, assignment_id=planned.assignment_id,
            kind=planned.step.kind, channel="digest",
            subject=f"included in digest of {today.isoformat()}", body="", status="digested",
            attempts=0, created_at=now))
    session.flush()
    result.queued = len(created)
    return result
