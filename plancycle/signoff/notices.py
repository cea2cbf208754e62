"""What approvers and the reopened work's holders are told: approval requests with the document's
hash and DQ summary, rejection notices; queued through the notify service."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.links import TaskLinks
from plancycle.notify.messages import MessageBuilder
from plancycle.notify.service import Intent, Notifier
from plancycle.register.models import (
    Decision,
    DQResult,
    Notification,
    Person,
    Task,
    TaskState,
    Upload,
)
from plancycle.signoff.decisions import approvers_waiting, reopen_note, reopen_range
from plancycle.signoff.documents import TEMPLATE_KIND, current_document, gate_settings
from plancycle.signoff.quorum import approver_roles, gate_status
from plancycle.signoff.terms import DQSummary, Verdict

# --- what approvers and the reopened work's holders are told ------------------------------

def dq_summary(session: Session, cycle_id: str) -> DQSummary:
    """Counts of accepted / warned / failed uploads of the cycle, and one row per upload."""
    rows = session.execute(
        select(Upload, Task, DQResult).join(Task, Upload.task_id == Task.id)
        .outerjoin(DQResult, DQResult.upload_id == Upload.id)
        .where(Upload.cycle_id == cycle_id).order_by(Upload.id)).all()
    out, counts = [], {"accepted": 0, "warned": 0, "failed": 0, "received": 0}
    for upload, task, result in rows:
        verdict = result.verdict if result else None
        if upload.state == "accepted":
            counts["accepted"] += 1
            counts["warned"] += verdict == "warn"
        elif upload.state == "failed":
            counts["failed"] += 1
        else:
            counts["received"] += 1
        out.append({"upload_id": upload.id, "task": task.key, "return_kind": task.return_kind,
                    "version": upload.version, "file": upload.original_name,
                    "sha256": upload.sha256, "size_bytes": upload.size_bytes,
                    "uploaded_at": upload.uploaded_at.isoformat(), "state": upload.state,
                    "dq_verdict": verdict})
    return DQSummary(rows=out, **counts)


def approval_requests(session: Session, task: Task, builder: MessageBuilder,
                      summary: DQSummary | None = None,
                      require_document: bool = False) -> list[Intent]:
    """One approval request per approver still to decide on the current document version.

    Keyed by assignment and document hash: re-running sends nothing new, and a new version
    of the document brings a fresh request.
    """
    if task.state != TaskState.OPEN:
        return []
    status = gate_status(session, task)
    summary = summary or dq_summary(session, task.cycle_id)
    document = current_document(session, task.cycle_id, status.document_kind)
    if document is None and require_document:
        return []  # nothing to approve yet: the request goes out with the first version
    roles = {r: builder.role_names.get(r, r) for r in approver_roles(task)}
    quorum = gate_settings(task).get("quorum", "all")
    # The plan's gate approves the workforce plan template with it (Annex D states its hash).
    template = (current_document(session, task.cycle_id, TEMPLATE_KIND)
                if status.document_kind == "plan" else None)
    intents = []
    for assignment in approvers_waiting(session, task):
        person = builder.people[assignment.person_id]
        context = builder.task_context(task, assignment, person, person)
        context.update({
            "document_kind": status.document_kind,
            "document_version": status.document_version,
            "document_sha256": status.document_sha256,
            "document_label": (f"{status.document_kind} v{status.document_version}"
                               if document else f"{status.document_kind} (not yet issued)"),
            "template_sha256": template.sha256 if template is not None else None,
            "template_version": template.version if template is not None else None,
            "approver_roles": list(roles.values()),
            "approved_roles": [roles[r] for r in status.approved_roles],
            "quorum": {"all": "every role", "any": "any one role"}.get(
                str(quorum), f"{quorum} of {len(roles)} roles"),
            "dq": {"accepted": summary.accepted, "warned": summary.warned,
                   "failed": summary.failed, "received": summary.received,
                   "line": summary.line},
        })
        key_doc = (status.document_sha256 or "nodoc")[:16]
        intents.append(Intent(key=f"a{assignment.id}:approval_request:{key_doc}",
                              cycle_id=task.cycle_id, person=person, kind="approval_request",
                              context=context, channels=builder.channels(task),
                              assignment_id=assignment.id))
    return intents


def rejection_notices(session: Session, decision: Decision, builder: MessageBuilder
                      ) -> list[Intent]:
    """Tell the holders of the work a rejection reopened what happened and why (once each)."""
    if decision.decision != Verdict.REJECT:
        return []
    gate = session.get(Task, decision.task_id)
    decider = session.get(Person, decision.person_id)
    note = reopen_note(gate, decider, decision)
    intents = []
    for stage in reopen_range(session, gate):
        for task in stage.tasks:
            for assignment in task.assignments:
                if assignment.reason != note:
                    continue
                person = builder.people[assignment.person_id]
                context = builder.task_context(task, assignment, person, person)
                context.update({"due_on": task.due_on, "gate_name": gate.name,
                                "decider_name": decider.name, "reason": decision.reason,
                                "note": None, "is_gate": task.id == gate.id})
                intents.append(Intent(
                    key=f"a{assignment.id}:reopened:d{decision.id}", cycle_id=gate.cycle_id,
                    person=person, kind="reopened", context=context,
                    channels=builder.channels(task), assignment_id=assignment.id))
    return intents


def rejections(session: Session, cycle_id: str, *, unnoticed: bool = False) -> list[Decision]:
    """Rejections in a cycle (their notices are keyed, so re-queuing them is harmless).

    ``unnoticed``: only those whose "reopened" notices are not queued yet. A rejection
    marks who it reopened in the same transaction that records it, and its notices are
    queued together, so once one is queued the rest are too: later passes of the year
    need not rebuild them (the keys would make it a no-op anyway).
    """
    found = list(session.scalars(select(Decision).where(
        Decision.cycle_id == cycle_id, Decision.decision == Verdict.REJECT)
        .order_by(Decision.id)))
    if not unnoticed or not found:
        return found
    keys = session.scalars(select(Notification.idempotency_key).where(
        Notification.cycle_id == cycle_id, Notification.kind == "reopened"))
    noticed = {int(m.group(1)) for key in keys if (m := _REOPENED_KEY.search(key))}
    return [d for d in found if d.id not in noticed]


_REOPENED_KEY = re.compile(r":reopened:d(\d+)(?::|$)")


# --- queueing the gate's messages ---------------------------------------------------------------

def queue_gate_messages(session: Session, cycle_id: str, notifier: Notifier, links: TaskLinks,
                        calendar: WorkingCalendar, today: date,
                        task_key: str | None = None, require_document: bool = False) -> int:
    """Queue approval requests for open gates and notices of rejections (idempotent).

    Safe to call after every decision and on every pass of a flow waiting on a gate: each
    message has a key, so nothing is ever queued twice.
    """
    # Most passes of a year have no open gate and no rejection: they build nothing.
    gates = [t for t in session.scalars(select(Task).where(
                 Task.cycle_id == cycle_id, Task.kind == "gate", Task.state == TaskState.OPEN)
                 .order_by(Task.id))
             if task_key is None or t.key == task_key]
    decisions = rejections(session, cycle_id, unnoticed=True)
    if not gates and not decisions:
        return 0
    builder = MessageBuilder(session, cycle_id, links, calendar, today)
    summary = dq_summary(session, cycle_id) if gates else None
    intents: list[Intent] = []
    for gate in gates:
        intents += approval_requests(session, gate, builder, summary, require_document)
    for decision in decisions:
        if task_key is None or builder.tasks[decision.task_id].key == task_key:
            intents += rejection_notices(session, decision, builder)
    return len(notifier.queue(session, intents)) if intents else 0
