"""Deciding: one approver's decision on the exact document version, its conditions as tasks, and
a rejection sending the cycle back to the named stage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.register.locks import lock_cycle
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Decision,
    Person,
    RoleHolder,
    Stage,
    StageState,
    Task,
    TaskState,
)
from plancycle.signoff.documents import gate_settings
from plancycle.signoff.quorum import approver_roles, gate_status, roles_of
from plancycle.signoff.terms import (
    CONDITION_WORKING_DAYS,
    PASSED_BY_QUORUM,
    REOPEN_WORKING_DAYS,
    SHA256,
    Condition,
    SignoffError,
    Verdict,
)

# --- deciding ---------------------------------------------------------------------------------

def _deciding_assignment(session: Session, task: Task, person: Person) -> Assignment:
    live = (AssignmentState.OPEN, AssignmentState.COMPLETE)
    mine = [a for a in task.assignments if a.person_id == person.id]
    assignment = next((a for a in mine if a.state in live), None)
    if assignment is not None:
        return assignment
    roles = ", ".join(approver_roles(task))
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
    if not SHA256.match(document_sha256):
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
    mine = roles_of(session, task.cycle_id, {acting_for})
    roles = [r for r in approver_roles(task) if r in mine]
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


