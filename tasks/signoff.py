"""Prefect tasks of a sign-off gate: check where it stands, record a decision received."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from sqlalchemy import func, select

from plancycle import runtime
from plancycle.assignments import AssignmentError, find_person, find_task
from plancycle.register.models import AuditEntry, Decision
from plancycle.signoff import (
    Condition,
    SignoffError,
    decide,
    gate_status,
    queue_gate_messages,
)

#: The audit action under which every decision input a gate flow receives is recorded.
GATE_INPUT = "gate_input"


@task(name="check gate", task_run_name="check gate {task_key}")
def check_gate(cycle_id: str, task_key: str) -> dict[str, Any]:
    """Send approval requests / rejection notices not yet sent; report the gate's status."""
    rt = runtime.current()
    with rt.register.session(actor="signoff") as session:
        gate = find_task(session, cycle_id, task_key)
        queued = queue_gate_messages(session, cycle_id, rt.notifier, rt.links, rt.calendar,
                                     rt.clock.today(), task_key=task_key)
        status = gate_status(session, gate)
        inputs = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.cycle_id == cycle_id, AuditEntry.action == GATE_INPUT,
            AuditEntry.entity_id == str(gate.id))) or 0
    report = rt.deliver(cycle_id)
    return {"task_key": task_key, "state": status.state, "outcome": status.outcome,
            "document_kind": status.document_kind, "document_version": status.document_version,
            "document_sha256": status.document_sha256,
            "approved_roles": list(status.approved_roles),
            "waiting_roles": list(status.waiting_roles), "needed": status.needed,
            "rejection_reason": status.rejection_reason, "inputs_received": inputs,
            "queued": queued, "sent": report.sent}


@task(name="record decision", task_run_name="record {task_key} decision")
def record_decision(cycle_id: str, task_key: str, received: dict[str, Any]) -> dict[str, Any]:
    """Record a decision received as flow-run input, through the same rules as the CLI.

    The same input may arrive twice (a suspended run re-runs from the top; the CLI records a
    decision and then wakes the run with it): a decision the register already holds is
    acknowledged, not recorded again. A refused input is kept in the audit trail with why.
    """
    rt = runtime.current()
    logger = get_run_logger()
    person_key = str(received.get("person", ""))
    outcome: dict[str, Any] = {"person": person_key, "decision": received.get("decision")}
    with rt.register.session(actor=f"flow:{person_key}") as session:
        gate = find_task(session, cycle_id, task_key)
        try:
            person = find_person(session, cycle_id, person_key)
            sha = str(received.get("document_sha256") or "").strip().lower()
            already = session.scalars(select(Decision).where(
                Decision.task_id == gate.id, Decision.person_id == person.id,
                Decision.valid.is_(True), Decision.decision == received.get("decision"),
                Decision.document_sha256 == sha)).first()
            if already is not None:
                outcome.update(result="duplicate", decision_id=already.id)
            else:
                decision = decide(
                    session, gate, person, str(received.get("decision")), sha, rt.clock.now(),
                    rt.calendar, reason=received.get("reason"),
                    conditions=[Condition(c["text"], c["role"])
                                for c in received.get("conditions") or []],
                    signature=received.get("signature"))
                outcome.update(result="recorded", decision_id=decision.id)
        except (AssignmentError, SignoffError) as exc:
            outcome.update(result="refused", message=str(exc))
            logger.warning("decision input refused: %s", exc)
        session.add(AuditEntry(
            cycle_id=cycle_id, at=rt.clock.now(), actor=f"flow:{person_key}", action=GATE_INPUT,
            entity="tasks", entity_id=str(gate.id), before=None,
            after={k: v for k, v in received.items()}, note=outcome["result"]
            + (f": {outcome['message']}" if "message" in outcome else "")))
    if outcome["result"] == "recorded":
        rt.advance(cycle_id, actor="signoff")  # conditions open, dependants unblock
    return outcome
