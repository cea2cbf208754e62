"""What a submission rests on: the passed final gate, its approving decisions and the
signed plan built from them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.register.models import (
    Cycle,
    Decision,
    Person,
    RoleHolder,
    Stage,
    Task,
)
from plancycle.signoff import (
    Verdict,
    current_document,
    document_kind,
    gate_status,
)
from plancycle.submission.errors import SubmissionError

if TYPE_CHECKING:
    from plancycle.context import CycleContext
    from plancycle.documents import Signature


def final_gate(session: Session, cycle_id: str) -> Task | None:
    """The last gate of the cycle in calendar order (the board's sign-off)."""
    return final_gates(session, [cycle_id]).get(cycle_id)


def final_gates(session: Session, cycle_ids: Sequence[str]) -> dict[str, Task]:
    """:func:`final_gate` of several cycles with one query (a cycle without gates: left out)."""
    gates: dict[str, Task] = {}
    for gate in session.execute(
            select(Task).join(Stage, Task.stage_id == Stage.id)
            .where(Task.cycle_id.in_(list(cycle_ids)), Task.kind == "gate")
            .order_by(Stage.starts_on, Stage.sequence, Task.sequence)).scalars():
        gates[gate.cycle_id] = gate
    return gates


def ready_gate(session: Session, cycle_id: str, gate_key: str | None = None) -> Task:
    """The passed gate the submission rests on, or a SubmissionError saying what is missing."""
    if session.get(Cycle, cycle_id) is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    if gate_key:
        gate = session.scalars(select(Task).where(Task.cycle_id == cycle_id,
                                                  Task.key == gate_key)).one_or_none()
    else:
        gate = final_gate(session, cycle_id)
    if gate is None or gate.kind != "gate":
        raise SubmissionError(f"cycle '{cycle_id}' has no gate "
                              f"{'named ' + repr(gate_key) if gate_key else ''} to submit after")
    status = gate_status(session, gate)
    if status.outcome != "passed":
        approved = ", ".join(status.approved_roles) or "nobody"
        raise SubmissionError(
            f"'{gate.name}' has not passed (approved by {approved}, "
            f"{len(status.approved_roles)}/{status.needed} needed; gate is {status.state}): "
            "the plan can be submitted only once it has")
    return gate


def approving_decisions(session: Session, cycle_id: str) -> list[tuple[Decision, Person, str]]:
    """Valid approvals of the current document at every gate: (decision, person, role name)."""
    names = {h.role_key: h.role_name for h in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}
    out = []
    for decision, task, person in session.execute(
            select(Decision, Task, Person).join(Task, Decision.task_id == Task.id)
            .join(Person, Decision.person_id == Person.id)
            .where(Decision.cycle_id == cycle_id, Decision.valid.is_(True),
                   Decision.decision != Verdict.REJECT)
            .order_by(Decision.decided_at, Decision.id)).all():
        document = current_document(session, cycle_id, document_kind(task))
        if document is None or document.sha256 == decision.document_sha256:
            out.append((decision, person, names.get(decision.role_key, decision.role_key)))
    return out


def signatures(session: Session, cycle_id: str) -> list[Signature]:
    """The signature page: each approving role's latest decision (later gates win)."""
    from plancycle.documents import Signature

    latest: dict[str, Signature] = {}
    for decision, person, role_name in approving_decisions(session, cycle_id):
        latest[role_name] = Signature(
            role=role_name, name=decision.signature or person.name,
            decision={"approve": "Approved", "approve_with_conditions":
                      "Approved with conditions"}.get(decision.decision, decision.decision),
            decided_at=decision.decided_at, document_hash=decision.document_sha256)
    return list(latest.values())


def signed_plan_pdf(runtime: CycleContext, cycle_id: str) -> Path:
    """The signed plan PDF, built by the planning service from the recorded decisions."""
    try:
        from plancycle.planning import build_plan
    except ImportError as exc:  # pragma: no cover - the planning service ships with plancycle
        raise SubmissionError(f"the plan builder is not available ({exc}); pass the signed "
                              "plan PDF explicitly") from None
    with runtime.register.session() as session:
        page = signatures(session, cycle_id)
    try:
        build = build_plan(runtime, cycle_id, signatures=page, actor="submission")
    except Exception as exc:  # AnalysisRefused / PlanningError: say why, keep the trace
        raise SubmissionError(f"the signed plan could not be built: {exc}") from exc
    return Path(build.pdf_path)
