"""Gates: approvers decide on an exact document version; a quorum of roles passes the gate.

- Only a holder of an approver role, or the deputy/delegate recorded in their place (an
  assignment on the gate), can decide, and only on the document version currently under
  review (its SHA-256). There is no default decision: the verdict is always stated.
- Quorum counts approver *roles*: a role is satisfied when one of its holders approves;
  ``all`` needs every role, ``any`` one, ``N`` any N. One person counts for one role.
- Each person has one live decision per gate: deciding again replaces the earlier one.
- A rejection (reason required) sends the cycle back: the named stage (default: the one
  before the gate's) and every stage after it up to the gate reopen with fresh due dates,
  every approval given in them becomes invalid, and the holders of the reopened work are
  told why (:func:`rejection_notices`; the note also shows on their "new task" message).
- Approval with conditions passes like an approval; each condition becomes a task for a
  named role, opened and chased by the engine like any other.
- A new document version invalidates approvals of the old one: the approvers are asked
  again (a gate that had passed on the old version reopens).
- A locked (submitted) cycle takes no new document versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.links import TaskLinks
from plancycle.notify.messages import MessageBuilder
from plancycle.notify.service import Intent, Notifier
from plancycle.register.locks import lock_cycle
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    AuditEntry,
    Cycle,
    Decision,
    Document,
    DQResult,
    Person,
    RoleHolder,
    Stage,
    StageState,
    Task,
    TaskState,
    Upload,
)

REOPEN_WORKING_DAYS = 10
PASSED_BY_QUORUM = "gate passed by quorum"
CONDITION_WORKING_DAYS = 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
    state: str
    document_kind: str
    document_version: int | None
    document_sha256: str | None
    approved_roles: tuple[str, ...]
    waiting_roles: tuple[str, ...]
    needed: int
    passed: bool
    rejected: bool                  # the last round ended in a rejection (gate sent back)
    rejection_reason: str | None = None

    @property
    def outcome(self) -> str:
        """'passed', 'rejected' or 'waiting' — what a flow waiting on the gate acts on."""
        if self.passed and self.state == TaskState.COMPLETE:
            return "passed"
        return "rejected" if self.rejected else "waiting"


@dataclass(frozen=True)
class DQSummary:
    """What approvers and the ICS see of the data behind the plan: every upload's outcome."""

    accepted: int
    warned: int
    failed: int
    received: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def line(self) -> str:
        return (f"{self.accepted} accepted ({self.warned} with warnings), {self.failed} failed"
                + (f", {self.received} awaiting validation" if self.received else ""))


# --- documents --------------------------------------------------------------------------------

def gate_settings(task: Task) -> dict[str, Any]:
    return (task.settings or {}).get("gate") or {}


def document_kind(task: Task) -> str:
    return gate_settings(task).get("document", "plan")


def current_document(session: Session, cycle_id: str, kind: str) -> Document | None:
    return session.scalars(select(Document).where(Document.cycle_id == cycle_id,
                                                  Document.kind == kind)
                           .order_by(Document.version.desc())).first()


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


# --- quorum -----------------------------------------------------------------------------------

def _approver_roles(task: Task) -> list[str]:
    return list(gate_settings(task).get("approvers", [task.role_key]))


def _needed(task: Task) -> int:
    quorum = gate_settings(task).get("quorum", "all")
    roles = _approver_roles(task)
    if quorum == "all":
        return len(roles)
    if quorum == "any":
        return 1
    return min(int(quorum), len(roles))


def _roles_of(session: Session, cycle_id: str, person_ids: set[int]) -> set[str]:
    return set(session.scalars(select(RoleHolder.role_key).where(
        RoleHolder.cycle_id == cycle_id, RoleHolder.person_id.in_(person_ids))))


def gate_status(session: Session, task: Task) -> GateStatus:
    kind = document_kind(task)
    document = current_document(session, task.cycle_id, kind)
    sha = document.sha256 if document else None
    decisions = session.scalars(select(Decision).where(
        Decision.task_id == task.id).order_by(Decision.id)).all()
    approved = {d.role_key for d in decisions if d.valid and d.decision != Verdict.REJECT
                and (sha is None or d.document_sha256 == sha)}
    roles = _approver_roles(task)
    done = [r for r in roles if r in approved]
    needed = _needed(task)
    last = decisions[-1] if decisions else None
    rejected = (last is not None and last.decision == Verdict.REJECT
                and task.state != TaskState.OPEN and task.state != TaskState.COMPLETE)
    return GateStatus(
        task_key=task.key, state=task.state, document_kind=kind,
        document_version=document.version if document else None, document_sha256=sha,
        approved_roles=tuple(done), waiting_roles=tuple(r for r in roles if r not in approved),
        needed=needed, passed=len(done) >= needed, rejected=rejected,
        rejection_reason=last.reason if rejected and last else None)


# --- deciding ---------------------------------------------------------------------------------

def _deciding_assignment(session: Session, task: Task, person: Person) -> Assignment:
    live = (AssignmentState.OPEN, AssignmentState.COMPLETE)
    mine = [a for a in task.assignments if a.person_id == person.id]
    assignment = next((a for a in mine if a.state in live), None)
    if assignment is not None:
        return assignment
    roles = ", ".join(_approver_roles(task))
    handed = next((a for a in mine if a.state == AssignmentState.REASSIGNED), None)
    if handed is not None:
        holder = next((a.person for a in task.assignments
                       if a.state in live and a.on_behalf_of_id == person.id), None)
        raise SignoffError(
            f"{person.name} handed '{task.name}' to {holder.name if holder else 'someone else'}"
            f" ({handed.reason}); only they can decide now — to take it back, ask the "
            "workforce planner to reassign it (`plancycle task reassign`)")
    raise SignoffError(
        f"{person.name} is not an approver of '{task.name}': only holders of {roles} (or the "
        "deputy or delegate recorded in their place) can decide. The decision was not recorded")


def _check_conditions(session: Session, cycle_id: str, conditions: list[Condition]) -> None:
    known = set(session.scalars(select(RoleHolder.role_key).where(
        RoleHolder.cycle_id == cycle_id)))
    for condition in conditions:
        if not condition.text.strip():
            raise SignoffError("a condition needs text saying what must happen")
        if condition.role not in known:
            raise SignoffError(
                f"condition {condition.text!r} is for role '{condition.role}', which nobody "
                f"holds in this cycle; use one of: {', '.join(sorted(known))}")


def decide(session: Session, task: Task, person: Person, verdict: Verdict | str,
           document_sha256: str, now: datetime, calendar: WorkingCalendar,
           reason: str | None = None, conditions: list[Condition] | None = None,
           signature: str | None = None) -> Decision:
    """Record one approver's decision and apply its consequences.

    Decisions on one cycle take turns (the cycle's row lock): two approvers deciding at the
    same moment each see the other's decision, so the quorum counts both once and the gate
    passes once. The same decision sent twice (a double click, the portal and the CLI at
    once) is recorded once: the second gets the first back.
    """
    try:
        verdict = Verdict(verdict)
    except ValueError:
        raise SignoffError(f"decision {verdict!r} is not one of approve, "
                           "approve_with_conditions, reject") from None
    conditions = list(conditions or [])
    if task.kind != "gate":
        raise SignoffError(f"task '{task.key}' is not a gate")
    lock_cycle(session, task.cycle_id)
    repeated = _same_decision(session, task, person, verdict, document_sha256, reason,
                              conditions, signature)
    if repeated is not None:
        return repeated
    if task.state != TaskState.OPEN:
        raise SignoffError(f"gate '{task.key}' is {task.state}, not open for decisions")
    assignment = _deciding_assignment(session, task, person)
    document_sha256 = (document_sha256 or "").strip().lower()
    status = gate_status(session, task)
    if status.document_sha256 and document_sha256 != status.document_sha256:
        raise SignoffError(
            f"the document under review is version {status.document_version} "
            f"({status.document_sha256[:12]}…); you decided on {document_sha256[:12] or 'none'}"
            "…. Reopen the link and review the current version")
    if not _SHA256.match(document_sha256):
        raise SignoffError("say which document version you reviewed: its SHA-256 is 64 "
                           "hexadecimal characters (shown on the approval request)")
    if verdict == Verdict.REJECT and not (reason or "").strip():
        raise SignoffError("a rejection needs a reason: say what must change")
    if verdict == Verdict.APPROVE_WITH_CONDITIONS and not conditions:
        raise SignoffError("approval with conditions needs at least one condition")
    if verdict != Verdict.APPROVE_WITH_CONDITIONS and conditions:
        raise SignoffError("conditions go with 'approve_with_conditions' only")
    _check_conditions(session, task.cycle_id, conditions)
    signature = (signature or "").strip() or None
    if signature is not None and len(signature) > 200:
        raise SignoffError("the typed signature is longer than 200 characters")

    acting_for = assignment.on_behalf_of_id or person.id
    mine = _roles_of(session, task.cycle_id, {acting_for})
    roles = [r for r in _approver_roles(task) if r in mine]
    # A holder of two approver roles satisfies the one still waiting (not both).
    role = next((r for r in roles if r in status.waiting_roles), roles[0] if roles
                else task.role_key)
    for earlier in session.scalars(select(Decision).where(
            Decision.task_id == task.id, Decision.person_id == person.id,
            Decision.valid.is_(True))):
        earlier.valid = False  # one live decision per person: this one replaces it
    session.flush()  # before the insert: one valid decision per person and gate (migration 0006)
    decision = Decision(
        cycle_id=task.cycle_id, task_id=task.id, person_id=person.id, role_key=role,
        decision=verdict, conditions=[c.__dict__ for c in conditions],
        reason=(reason or "").strip() or None, document_sha256=document_sha256,
        signature=signature, decided_at=now, valid=True)
    session.add(decision)
    assignment.state = AssignmentState.COMPLETE
    assignment.completed_at = now
    session.flush()
    if verdict == Verdict.REJECT:
        _reopen(session, task, decision, person, now, calendar)
        return decision
    if verdict == Verdict.APPROVE_WITH_CONDITIONS:
        _condition_tasks(session, task, decision, now, calendar)
    if gate_status(session, task).passed:
        task.state = TaskState.COMPLETE
        task.completed_at = now
        for other in task.assignments:  # the rest need not decide any more
            if other.state == AssignmentState.OPEN:
                other.state = AssignmentState.CANCELLED
                other.reason = PASSED_BY_QUORUM
    session.flush()
    return decision


def _same_decision(session: Session, task: Task, person: Person, verdict: Verdict,
                   document_sha256: str, reason: str | None, conditions: list[Condition],
                   signature: str | None) -> Decision | None:
    """The person's live decision on this gate if it says exactly this (a repeat), else None."""
    live = session.scalars(select(Decision).where(
        Decision.task_id == task.id, Decision.person_id == person.id,
        Decision.valid.is_(True)).order_by(Decision.id.desc())).first()
    if live is None:
        return None
    same = (live.decision == verdict
            and live.document_sha256 == (document_sha256 or "").strip().lower()
            and (live.reason or None) == ((reason or "").strip() or None)
            and list(live.conditions or []) == [c.__dict__ for c in conditions]
            and (live.signature or None) == ((signature or "").strip() or None))
    return live if same else None


def _condition_tasks(session: Session, gate: Task, decision: Decision, now: datetime,
                     calendar: WorkingCalendar) -> list[Task]:
    """Each condition becomes a pending task in the gate's stage; the engine opens it."""
    stage = session.get(Stage, gate.stage_id)
    count = session.scalar(select(func.count()).select_from(Task).where(
        Task.cycle_id == gate.cycle_id, Task.key.like(f"{gate.key}-condition-%"))) or 0
    approver = session.get(Person, decision.person_id)
    created = []
    for i, condition in enumerate(decision.conditions, start=count + 1):
        task = Task(
            cycle_id=gate.cycle_id, stage_id=stage.id, key=f"{gate.key}-condition-{i}",
            name=f"Condition of {gate.name}: {condition['text']}"[:300], kind="review",
            role_key=condition["role"], sequence=1000 + i,
            due_on=calendar.add_working_days(now.date(), CONDITION_WORKING_DAYS),
            depends_on=[], settings={**(gate.settings or {}), "gate": None,
                                     "condition_of": {"gate": gate.key,
                                                      "decision": decision.id}},
            instructions=(f"{approver.name} approved '{gate.name}' on condition that: "
                          f"{condition['text']}. Complete this task when it is done."),
            state=TaskState.PENDING)
        session.add(task)
        created.append(task)
    if stage.state != StageState.OPEN:
        stage.state = StageState.OPEN  # the engine only opens tasks in open stages
    session.flush()
    return created


def is_condition(task: Task) -> bool:
    return bool((task.settings or {}).get("condition_of"))


def reopen_note(gate: Task, decider: Person, decision: Decision) -> str:
    """Why work was reopened; shown as the note on the reopened tasks' messages."""
    return (f"Reopened: {decider.name} rejected '{gate.name}' on "
            f"{decision.decided_at:%d %b %Y}: {decision.reason}")


def reopen_range(session: Session, gate: Task) -> list[Stage]:
    """The stages a rejection of ``gate`` sends back: the named stage up to the gate's."""
    stages = list(session.scalars(select(Stage).where(Stage.cycle_id == gate.cycle_id)
                                  .order_by(Stage.starts_on, Stage.sequence)))
    gate_index = next(i for i, s in enumerate(stages) if s.id == gate.stage_id)
    target_key = gate_settings(gate).get("on_reject_reopen")
    index = next((i for i, s in enumerate(stages) if s.key == target_key), None)
    if index is None or index > gate_index:
        index = max(0, gate_index - 1)
    return stages[index:gate_index + 1]


def _reopen(session: Session, gate: Task, decision: Decision, decider: Person, now: datetime,
            calendar: WorkingCalendar) -> None:
    """Send the cycle back to the named stage: its tasks and all after it, up to the gate."""
    reopened = reopen_range(session, gate)
    tasks = [t for stage in reopened for t in stage.tasks if not is_condition(t)]
    # Every approval given in the reopened stages (this gate and earlier ones) must be given
    # again on the revised work.
    for earlier in session.scalars(select(Decision).where(
            Decision.task_id.in_([t.id for t in tasks]), Decision.valid.is_(True))):
        earlier.valid = False
    note = reopen_note(gate, decider, decision)
    due = calendar.add_working_days(now.date(), REOPEN_WORKING_DAYS)
    for offset, stage in enumerate(reopened):
        stage.state = StageState.OPEN
        stage_due = calendar.add_working_days(due, REOPEN_WORKING_DAYS * offset)
        for task in stage.tasks:
            # Conditions set earlier carry on as they are; untouched and cancelled work too.
            if task.state in (TaskState.PENDING, TaskState.CANCELLED) or is_condition(task):
                continue
            # Back to pending: the engine reopens each task when its dependencies are done
            # again, re-activating the same people with the new due date and a new message
            # whose note says why.
            task.state = TaskState.PENDING
            task.due_on = max(task.due_on, stage_due)
            task.completed_at = None
            for assignment in task.assignments:
                # Hand-overs are reset too: the engine assigns whoever stands in now.
                assignment.state = AssignmentState.CANCELLED
                assignment.reason = note
    session.flush()


def approvers_waiting(session: Session, task: Task) -> list[Assignment]:
    return [a for a in task.assignments if a.state == AssignmentState.OPEN]


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


TEMPLATE_KIND = "workforce_template"


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
    roles = {r: builder.role_names.get(r, r) for r in _approver_roles(task)}
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


def rejections(session: Session, cycle_id: str) -> list[Decision]:
    """Rejections in a cycle (their notices are keyed, so re-queuing them is harmless)."""
    return list(session.scalars(select(Decision).where(
        Decision.cycle_id == cycle_id, Decision.decision == Verdict.REJECT)
        .order_by(Decision.id)))


# --- the trail ---------------------------------------------------------------------------------

def decision_trail(session: Session, cycle_id: str) -> list[dict[str, Any]]:
    """Every decision of a cycle, oldest first, with who, when, on what and whether it holds."""
    rows = session.execute(
        select(Decision, Task, Person).join(Task, Decision.task_id == Task.id)
        .join(Person, Decision.person_id == Person.id)
        .where(Decision.cycle_id == cycle_id).order_by(Decision.decided_at, Decision.id)).all()
    documents = {(d.kind, d.sha256): d.version for d in session.scalars(
        select(Document).where(Document.cycle_id == cycle_id))}
    return [{
        "decision_id": d.id, "decided_at": d.decided_at.isoformat(), "gate": t.key,
        "gate_name": t.name, "person": p.key, "person_name": p.name, "role": d.role_key,
        "decision": d.decision, "reason": d.reason or "",
        "conditions": "; ".join(f"{c['text']} ({c['role']})" for c in d.conditions or []),
        "document_kind": document_kind(t),
        "document_version": documents.get((document_kind(t), d.document_sha256)),
        "document_sha256": d.document_sha256, "signature": d.signature or "",
        "valid": d.valid,
    } for d, t, p in rows]


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``state: open → complete`` for updates; the non-empty values for creations."""
    if before and after:
        return ", ".join(f"{k}: {before.get(k)} → {after.get(k)}" for k in after)
    values = after or before or {}
    return ", ".join(f"{k}={v}" for k, v in values.items() if v not in (None, "", [], {}))


def audit_trail(session: Session, cycle_id: str) -> list[dict[str, Any]]:
    """The cycle's full trail: every audited state change and every decision, in time order."""
    rows: list[dict[str, Any]] = []
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.cycle_id == cycle_id)
                                 .order_by(AuditEntry.id)):
        rows.append({"at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
                     "entity": entry.entity, "entity_id": entry.entity_id,
                     "details": _changes(entry.before, entry.after), "note": entry.note or "",
                     "_order": (entry.at, 0, entry.id)})
    for d in decision_trail(session, cycle_id):
        details = (f"{d['role']} on {d['document_kind']} v{d['document_version'] or '?'} "
                   f"({d['document_sha256'][:12]}…)"
                   + (f"; conditions: {d['conditions']}" if d["conditions"] else "")
                   + (f"; signed '{d['signature']}'" if d["signature"] else "")
                   + ("" if d["valid"] else "; no longer valid"))
        rows.append({"at": d["decided_at"], "actor": d["person"],
                     "action": f"decision:{d['decision']}", "entity": "gate",
                     "entity_id": d["gate"], "details": details, "note": d["reason"],
                     "_order": (datetime.fromisoformat(d["decided_at"]), 1, d["decision_id"])})
    rows.sort(key=lambda r: r["_order"])
    for row in rows:
        del row["_order"]
    return rows


# --- queueing the gate's messages ---------------------------------------------------------------

def queue_gate_messages(session: Session, cycle_id: str, notifier: Notifier, links: TaskLinks,
                        calendar: WorkingCalendar, today: date,
                        task_key: str | None = None, require_document: bool = False) -> int:
    """Queue approval requests for open gates and notices of rejections (idempotent).

    Safe to call after every decision and on every pass of a flow waiting on a gate: each
    message has a key, so nothing is ever queued twice.
    """
    builder = MessageBuilder(session, cycle_id, links, calendar, today)
    gates = [t for t in builder.tasks.values() if t.kind == "gate"
             and (task_key is None or t.key == task_key)]
    summary = dq_summary(session, cycle_id)
    intents: list[Intent] = []
    for gate in gates:
        intents += approval_requests(session, gate, builder, summary, require_document)
    for decision in rejections(session, cycle_id):
        if task_key is None or builder.tasks[decision.task_id].key == task_key:
            intents += rejection_notices(session, decision, builder)
    return len(notifier.queue(session, intents)) if intents else 0
