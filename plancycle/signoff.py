"""Gates: approvers decide on an exact document version; a quorum of roles passes the gate.

- Only a holder of an approver role (or the deputy/delegate assigned in their place) can
  decide, and only on the document version currently under review (its SHA-256).
- Quorum counts approver *roles*: a role is satisfied when one of its holders approves;
  ``all`` needs every role, ``any`` one, ``N`` any N.
- A rejection (reason required) sends the cycle back: the named stage (default: the one
  before the gate's) and every stage after it up to the gate reopen with fresh due dates,
  and all earlier approvals become invalid.
- Approval with conditions passes like an approval; each condition becomes a tracked task.
- A new document version invalidates approvals of the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Decision,
    Document,
    Person,
    RoleHolder,
    Stage,
    StageState,
    Task,
    TaskState,
)

REOPEN_WORKING_DAYS = 10
CONDITION_WORKING_DAYS = 20


class Verdict(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    REJECT = "reject"


class SignoffError(Exception):
    """A decision that cannot be accepted (user-facing message)."""


@dataclass(frozen=True)
class Condition:
    text: str
    role: str  # the role that owns the follow-up task


@dataclass(frozen=True)
class GateStatus:
    task_key: str
    document_sha256: str | None
    approved_roles: tuple[str, ...]
    needed: int
    passed: bool
    rejected: bool


def current_document(session: Session, cycle_id: str, kind: str) -> Document | None:
    return session.scalars(select(Document).where(Document.cycle_id == cycle_id,
                                                  Document.kind == kind)
                           .order_by(Document.version.desc())).first()


def register_document(session: Session, cycle_id: str, kind: str, sha256: str, path: str,
                      now: datetime) -> Document:
    """Record a document version; a changed document invalidates approvals of the old one."""
    latest = current_document(session, cycle_id, kind)
    if latest is not None and latest.sha256 == sha256:
        return latest
    version = (latest.version + 1) if latest else 1
    document = Document(cycle_id=cycle_id, kind=kind, version=version, sha256=sha256, path=path,
                        created_at=now)
    session.add(document)
    for decision in session.scalars(select(Decision).where(
            Decision.cycle_id == cycle_id, Decision.valid.is_(True),
            Decision.document_sha256 != sha256)):
        decision.valid = False
    session.flush()
    return document


def _approver_roles(task: Task) -> list[str]:
    gate = task.settings.get("gate") or {}
    return list(gate.get("approvers", [task.role_key]))


def _needed(task: Task) -> int:
    quorum = (task.settings.get("gate") or {}).get("quorum", "all")
    roles = _approver_roles(task)
    return len(roles) if quorum == "all" else 1 if quorum == "any" else int(quorum)


def _roles_of(session: Session, cycle_id: str, person_ids: set[int]) -> set[str]:
    return set(session.scalars(select(RoleHolder.role_key).where(
        RoleHolder.cycle_id == cycle_id, RoleHolder.person_id.in_(person_ids))))


def gate_status(session: Session, task: Task) -> GateStatus:
    document = current_document(session, task.cycle_id,
                                (task.settings.get("gate") or {}).get("document", "plan"))
    sha = document.sha256 if document else None
    decisions = session.scalars(select(Decision).where(
        Decision.task_id == task.id, Decision.valid.is_(True))).all()
    approved = {d.role_key for d in decisions if d.decision != Verdict.REJECT
                and (sha is None or d.document_sha256 == sha)}
    roles = [r for r in _approver_roles(task) if r in approved]
    needed = _needed(task)
    return GateStatus(task.key, sha, tuple(roles), needed, len(roles) >= needed,
                      any(d.decision == Verdict.REJECT for d in decisions))


def decide(session: Session, task: Task, person: Person, verdict: Verdict | str,
           document_sha256: str, now: datetime, calendar: WorkingCalendar,
           reason: str | None = None, conditions: list[Condition] | None = None,
           signature: str | None = None) -> Decision:
    """Record one approver's decision and apply its consequences."""
    verdict = Verdict(verdict)
    if task.kind != "gate":
        raise SignoffError(f"task '{task.key}' is not a gate")
    if task.state != TaskState.OPEN:
        raise SignoffError(f"gate '{task.key}' is {task.state}, not open for decisions")
    assignment = next((a for a in task.assignments if a.person_id == person.id
                       and a.state in (AssignmentState.OPEN, AssignmentState.COMPLETE)), None)
    if assignment is None:
        raise SignoffError(f"{person.name} is not an approver of '{task.name}'; only holders of "
                           f"{', '.join(_approver_roles(task))} (or their recorded deputies) can "
                           "decide")
    status = gate_status(session, task)
    if status.document_sha256 and document_sha256 != status.document_sha256:
        raise SignoffError(
            f"the document under review is now {status.document_sha256[:12]}…; you decided on "
            f"{document_sha256[:12]}…. Reopen the link and review the current version")
    if verdict == Verdict.REJECT and not (reason or "").strip():
        raise SignoffError("a rejection needs a reason: say what must change")
    if verdict == Verdict.APPROVE_WITH_CONDITIONS and not conditions:
        raise SignoffError("approval with conditions needs at least one condition")
    acting_for = assignment.on_behalf_of_id or person.id
    roles = _roles_of(session, task.cycle_id, {acting_for}) & set(_approver_roles(task))
    decision = Decision(
        cycle_id=task.cycle_id, task_id=task.id, person_id=person.id,
        role_key=sorted(roles)[0] if roles else task.role_key, decision=verdict,
        conditions=[c.__dict__ for c in conditions or []], reason=reason,
        document_sha256=document_sha256, signature=signature, decided_at=now, valid=True)
    session.add(decision)
    assignment.state = AssignmentState.COMPLETE
    assignment.completed_at = now
    session.flush()
    if verdict == Verdict.REJECT:
        _reopen(session, task, now, calendar)
        return decision
    if verdict == Verdict.APPROVE_WITH_CONDITIONS:
        _condition_tasks(session, task, decision, now, calendar)
    if gate_status(session, task).passed:
        task.state = TaskState.COMPLETE
        task.completed_at = now
        for other in task.assignments:  # the rest need not decide any more
            if other.state == AssignmentState.OPEN:
                other.state = AssignmentState.CANCELLED
                other.reason = "gate passed by quorum"
    session.flush()
    return decision


def _condition_tasks(session: Session, gate: Task, decision: Decision, now: datetime,
                     calendar: WorkingCalendar) -> None:
    stage = session.get(Stage, gate.stage_id)
    count = session.scalar(select(func.count()).select_from(Task).where(
        Task.cycle_id == gate.cycle_id, Task.key.like(f"{gate.key}-condition-%"))) or 0
    for i, condition in enumerate(decision.conditions, start=count + 1):
        session.add(Task(
            cycle_id=gate.cycle_id, stage_id=stage.id, key=f"{gate.key}-condition-{i}",
            name=f"Condition of {gate.name}: {condition['text']}", kind="review",
            role_key=condition["role"], sequence=1000 + i,
            due_on=calendar.add_working_days(now.date(), CONDITION_WORKING_DAYS),
            depends_on=[], settings=gate.settings | {"gate": None},
            instructions=f"Set as a condition of approval by decision #{decision.id}.",
            state=TaskState.PENDING))
    if stage.state == StageState.COMPLETE:
        stage.state = StageState.OPEN


def _reopen(session: Session, gate: Task, now: datetime, calendar: WorkingCalendar) -> None:
    """Send the cycle back to the named stage: its tasks and all after it, up to the gate."""
    stages = list(session.scalars(select(Stage).where(Stage.cycle_id == gate.cycle_id)
                                  .order_by(Stage.starts_on, Stage.sequence)))
    gate_stage = next(s for s in stages if s.id == gate.stage_id)
    target_key = (gate.settings.get("gate") or {}).get("on_reject_reopen")
    index = next((i for i, s in enumerate(stages) if s.key == target_key), None)
    if index is None:
        index = max(0, stages.index(gate_stage) - 1)
    due = calendar.add_working_days(now.date(), REOPEN_WORKING_DAYS)
    reopened = stages[index:stages.index(gate_stage) + 1]
    reopened_tasks = [t.id for stage in reopened for t in stage.tasks]
    # Every approval given in the reopened stages (this gate and earlier ones) must be given
    # again on the revised work.
    for decision in session.scalars(select(Decision).where(Decision.task_id.in_(reopened_tasks),
                                                           Decision.valid.is_(True))):
        decision.valid = False
    reason = f"reopened: {gate.name} was rejected"
    for offset, stage in enumerate(reopened):
        stage.state = StageState.OPEN
        stage_due = calendar.add_working_days(due, REOPEN_WORKING_DAYS * offset)
        for task in stage.tasks:
            if task.state == TaskState.PENDING:
                continue
            # Back to pending: the engine reopens each task when its dependencies are done
            # again, re-activating the same people with the new due date and a new message.
            task.state = TaskState.PENDING
            task.due_on = max(task.due_on, stage_due)
            task.completed_at = None
            for assignment in task.assignments:
                if assignment.state != AssignmentState.REASSIGNED:
                    assignment.state = AssignmentState.CANCELLED
                    assignment.reason = reason
    session.flush()


def approvers_waiting(session: Session, task: Task) -> list[Assignment]:
    return [a for a in task.assignments if a.state == AssignmentState.OPEN]
