"""Prefect tasks of sign-off and submission: check a gate, record a decision, package,
lock and deliver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from sqlalchemy import func, select

from plancycle import runtime, submission
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


# --- submission -----------------------------------------------------------------------------------

@task(name="package submission", task_run_name="package {cycle_id}")
def package_submission(cycle_id: str, plan_pdf: str | None = None,
                       gate_key: str | None = None) -> dict[str, Any]:
    """Build (or find, on the same basis) the package; the signed plan comes from the
    planning service unless a PDF is given."""
    rt = runtime.current()
    with rt.register.session(actor="submission") as session:
        gate = submission.ready_gate(session, cycle_id, gate_key)
        found = submission.existing_package(submission.submissions_dir() / cycle_id,
                                     submission.basis(session, cycle_id, gate))
    if found is None:
        pdf = Path(plan_pdf) if plan_pdf else submission.signed_plan_pdf(rt, cycle_id)
        with rt.register.session(actor="submission") as session:
            found = submission.build_package(session, cycle_id, pdf, gate_key=gate_key)
    return {"sha256": found.sha256, "directory": str(found.directory),
            "zip": str(found.zip_path), "reused": found.reused,
            "files": len(found.manifest["files"])}


@task(name="lock cycle", task_run_name="lock {cycle_id}")
def lock_for_submission(cycle_id: str, package_sha256: str) -> bool:
    rt = runtime.current()
    with rt.register.session(actor="submission") as session:
        return submission.lock_cycle(session, cycle_id, rt.clock.now(),
                                     f"submitted: package {package_sha256}")


@task(name="destinations", task_run_name="destinations of {cycle_id}")
def submission_destinations(cycle_id: str) -> list[str]:
    with runtime.current().register.session() as session:
        return [submission.label(d) for d in submission.destinations(session, cycle_id)]


@task(name="deliver package", task_run_name="deliver to {destination}")
def deliver_package(cycle_id: str, directory: str, destination: str,
                    backoff: list[float] | None = None) -> dict[str, Any]:
    """One destination; a delivered record is never sent again, a failed one is retried."""
    rt = runtime.current()
    with rt.register.session() as session:
        target = next(d for d in submission.destinations(session, cycle_id)
                      if submission.label(d) == destination)
    result = submission.deliver_to(
        rt, submission.load_package(directory), target,
        backoff=tuple(backoff) if backoff is not None else submission.HTTP_BACKOFF)
    if result["status"] != submission.DELIVERED:
        get_run_logger().warning("delivery to %s failed: %s", destination, result["receipt"])
    return result


@task(name="complete submission", task_run_name="complete submission of {cycle_id}")
def complete_submission(cycle_id: str, directory: str, records: list[dict[str, Any]]
                        ) -> list[str]:
    return submission.complete_submission_tasks(
        runtime.current(), cycle_id, submission.load_package(directory), records)
