"""Escalations that had nobody to go to: what the planner must see and fix.

An escalation step whose target does not exist (a person with no line manager, no deputy, a
role nobody holds) is sent to the cycle's fallback — the workforce planner unless the YAML
names another role (``chasing.escalation_fallback``) — once, as an ``escalation_fallback``
message; if the cycle has no fallback either, the step is recorded as ``unrouted``. Either
way it is handled once, never re-planned, and listed here for the dashboard and
``plancycle cycle status``, because the cycle's YAML is missing someone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plancycle.register.models import Assignment, Notification, Person, Task

FALLBACK_KIND = "escalation_fallback"
UNROUTED = "unrouted"


@dataclass(frozen=True)
class EscalationGap:
    """One escalation step nobody was named to receive."""

    task_key: str
    task_name: str
    assignee: str
    due_on: date
    #: Who the step was meant for, e.g. "line_manager" or "role:exec_sponsor".
    wanted: str
    #: Who was told instead (empty: nobody could be; the step is "unrouted").
    told: tuple[str, ...]
    at: datetime

    @property
    def wanted_text(self) -> str:
        if self.wanted in ("line_manager", "deputy"):
            return f"{self.assignee}'s {self.wanted.replace('_', ' ')}"
        return f"holders of {self.wanted.removeprefix('role:')}"


def escalation_gaps(session: Session, cycle_id: str) -> list[EscalationGap]:
    """Every escalation step of a cycle that had nobody to receive it, oldest first."""
    rows = session.execute(
        select(Notification, Assignment, Task, Person)
        .join(Assignment, Notification.assignment_id == Assignment.id)
        .join(Task, Assignment.task_id == Task.id)
        .join(Person, Assignment.person_id == Person.id)
        .where(Notification.cycle_id == cycle_id,
               or_(Notification.kind == FALLBACK_KIND, Notification.status == UNROUTED))
        .order_by(Notification.id)).all()
    recipients = {p.id: p.name for p in session.scalars(
        select(Person).where(Person.cycle_id == cycle_id))}
    gaps: dict[str, tuple[Task, Person, Assignment, str, set[str], datetime]] = {}
    for note, assignment, task, assignee in rows:
        step = ":".join(note.idempotency_key.split(":")[:4])  # a<id>:escalation:<level>:<due>
        if step not in gaps:
            level = int(step.split(":")[2])
            ladder = task.settings.get("chasing", {}).get("escalation", [])
            wanted = ladder[level]["to"] if level < len(ladder) else "line_manager"
            gaps[step] = (task, assignee, assignment, wanted, set(), note.created_at)
        if note.kind == FALLBACK_KIND:
            gaps[step][4].add(recipients.get(note.person_id, "?"))
    return [EscalationGap(task.key, task.name, assignee.name, assignment.due_on, wanted,
                          tuple(sorted(told)), at)
            for task, assignee, assignment, wanted, told, at in gaps.values()]
