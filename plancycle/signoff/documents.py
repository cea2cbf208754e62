"""The document a gate decides on: its kind, the current version (SHA-256), registering a new one
(which invalidates approvals of the old one and asks the approvers again)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.register.models import (
    AssignmentState,
    Cycle,
    Decision,
    Document,
    Stage,
    StageState,
    Task,
    TaskState,
)
from plancycle.signoff.terms import PASSED_BY_QUORUM, REOPEN_WORKING_DAYS, SignoffError

# --- documents --------------------------------------------------------------------------------

#: The workforce plan template is a document of its own kind, approved with the plan (the
#: plan's Annex D states its hash; the plan's approval request names it).
TEMPLATE_KIND = "workforce_template"

def gate_settings(task: Task) -> dict[str, Any]:
    return (task.settings or {}).get("gate") or {}


def document_kind(task: Task) -> str:
    return gate_settings(task).get("document", "plan")


def current_document(session: Session, cycle_id: str, kind: str) -> Document | None:
    return session.scalars(select(Document).where(Document.cycle_id == cycle_id,
                                                  Document.kind == kind)
                           .order_by(Document.version.desc())).first()


def current_documents(session: Session, cycle_ids: Sequence[str], kind: str
                      ) -> dict[str, Document]:
    """:func:`current_document` of several cycles with one query (None: left out)."""
    latest: dict[str, Document] = {}
    for document in session.scalars(select(Document).where(
            Document.cycle_id.in_(list(cycle_ids)), Document.kind == kind)
            .order_by(Document.version)):
        latest[document.cycle_id] = document
    return latest


def register_document(session: Session, cycle_id: str, kind: str, sha256: str, path: str,
                      now: datetime, calendar: WorkingCalendar | None = None) -> Document:
    """Record a document version; a changed document invalidates approvals of the old one.

    Re-registering the current version changes nothing. Approvers whose decision on an
    older version is invalidated are asked again (their assignment reopens; a gate that had
    passed reopens), so nobody's approval silently carries over to text they have not seen.
    """
    latest = current_document(session, cycle_id, kind)
    if latest is not None and latest.sha256 == sha256:
        return latest  # unchanged: a no-op, locked or not
    cycle = session.get(Cycle, cycle_id)
    if cycle is not None and cycle.locked:
        raise SignoffError(
            f"cycle '{cycle_id}' is locked since its submission: a new {kind} version cannot "
            "be registered; unlock it first with `plancycle cycle unlock --reason ...`")
    earlier = session.scalars(select(Document).where(
        Document.cycle_id == cycle_id, Document.kind == kind, Document.sha256 == sha256)).first()
    version = (latest.version + 1) if latest else 1
    if earlier is not None:
        # Going back to an earlier text is a new version too (approvals of it were lost).
        earlier.version, earlier.created_at, earlier.path = version, now, path
        document = earlier
    else:
        document = Document(cycle_id=cycle_id, kind=kind, version=version, sha256=sha256,
                            path=path, created_at=now)
        session.add(document)
    gates = {t.id: t for t in session.scalars(select(Task).where(
        Task.cycle_id == cycle_id, Task.kind == "gate")) if document_kind(t) == kind}
    note = (f"version {version} of the {kind} replaces the one decided on; please review "
            "it and decide again")
    touched: set[int] = set()
    for decision in session.scalars(select(Decision).where(
            Decision.task_id.in_(gates), Decision.valid.is_(True),
            Decision.document_sha256 != sha256)):
        decision.valid = False
        touched.add(decision.task_id)
    calendar = calendar or WorkingCalendar()
    due = calendar.add_working_days(now.date(), REOPEN_WORKING_DAYS)
    for task_id in touched:
        gate = gates[task_id]
        if gate.state == TaskState.COMPLETE:
            gate.state, gate.completed_at = TaskState.OPEN, None
            stage = session.get(Stage, gate.stage_id)
            stage.state = StageState.OPEN
        if gate.state != TaskState.OPEN:
            continue
        for assignment in gate.assignments:
            if assignment.state == AssignmentState.COMPLETE or (
                    assignment.state == AssignmentState.CANCELLED
                    and assignment.reason == PASSED_BY_QUORUM):
                assignment.state = AssignmentState.OPEN
                assignment.completed_at = None
                assignment.due_on = max(assignment.due_on, due)
                assignment.reason = note
    session.flush()
    return document


