"""Quorum: which approver roles are satisfied and whether the gate has passed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.register.models import (
    Decision,
    RoleHolder,
    Task,
    TaskState,
)
from plancycle.signoff.documents import current_document, document_kind, gate_settings
from plancycle.signoff.terms import GateStatus, Verdict

# --- quorum -----------------------------------------------------------------------------------

def approver_roles(task: Task) -> list[str]:
    return list(gate_settings(task).get("approvers", [task.role_key]))


def _needed(task: Task) -> int:
    quorum = gate_settings(task).get("quorum", "all")
    roles = approver_roles(task)
    if quorum == "all":
        return len(roles)
    if quorum == "any":
        return 1
    return min(int(quorum), len(roles))


def roles_of(session: Session, cycle_id: str, person_ids: set[int]) -> set[str]:
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
    roles = approver_roles(task)
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


