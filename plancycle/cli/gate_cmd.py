"""``plancycle gate``: record approvers' decisions and show where a gate stands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at

if TYPE_CHECKING:
    from plancycle.runtime import Runtime
    from plancycle.signoff import Condition, Verdict

app = typer.Typer(help="Sign-off gates: decide and check quorum.", no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Act as of this date (YYYY-MM-DD)")]


def _conditions(values: list[str]) -> list[Condition]:
    from plancycle.signoff import Condition

    out = []
    for value in values:
        text, sep, role = value.rpartition("@")
        if not sep or not text.strip() or not role.strip():
            raise UserError(f"condition {value!r} must look like 'what must happen@role_id', "
                            "e.g. 'Add a nursing retention action@director_of_nursing'")
        out.append(Condition(text.strip(), role.strip()))
    return out


@app.command("decide")
def decide_cmd(
    task: str,
    person: Annotated[str, typer.Option("--person", help="Approver's person id")],
    decision: Annotated[str, typer.Option(
        "--decision", help="approve | approve_with_conditions | reject")],
    document: Annotated[str | None, typer.Option(
        "--document", help="SHA-256 of the document version you reviewed")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Required to reject")] = None,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", help="'text@role' (repeatable)")] = None,
    signature: Annotated[str | None, typer.Option("--signature", help="Typed name")] = None,
    cycle: CycleOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Record PERSON's decision on gate TASK. There is no default decision."""
    from plancycle.assignments import AssignmentError, find_person, find_task
    from plancycle.runtime import Runtime
    from plancycle.signoff import SignoffError, Verdict, decide, gate_status

    try:
        verdict = Verdict(decision)
    except ValueError:
        raise UserError("--decision must be approve, approve_with_conditions or reject") from None
    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session(actor=f"cli:{person}") as session:
            gate = find_task(session, cycle_id, task)
            status = gate_status(session, gate)
            sha = document or status.document_sha256
            if sha is None:
                raise UserError("no document has been generated for this gate yet; pass "
                                "--document with the hash of what you reviewed")
            decide(session, gate, find_person(session, cycle_id, person), verdict, sha,
                   rt.clock.now(), rt.calendar, reason=reason,
                   conditions=_conditions(condition or []), signature=signature)
            status = gate_status(session, gate)
    except (AssignmentError, SignoffError) as exc:
        raise UserError(str(exc)) from None
    console.print(f"[green]✓[/] {person}: {verdict} recorded on '{task}'. Approved roles: "
                  f"{', '.join(status.approved_roles) or 'none'} ({len(status.approved_roles)}"
                  f"/{status.needed} needed){' — gate passed' if status.passed else ''}",
                  highlight=False)
    _notify(rt, cycle_id, task)
    _resume_waiting_flow(cycle_id, task, person, verdict, sha, reason, condition or [],
                         signature)


def _notify(rt: Runtime, cycle_id: str, task: str) -> None:
    """Open what the decision unblocked, then tell approvers and reopened work's holders."""
    from plancycle.signoff import queue_gate_messages

    rt.advance(cycle_id, actor="cli")
    with rt.register.session(actor="cli") as session:
        queue_gate_messages(session, cycle_id, rt.notifier, rt.links, rt.calendar,
                            rt.clock.today(), task_key=task)
    rt.deliver(cycle_id)


def _resume_waiting_flow(cycle_id: str, task: str, person: str, verdict: Verdict, sha: str,
                         reason: str | None, conditions: list[str], signature: str | None
                         ) -> None:
    """If a Prefect server is configured, wake a signoff-gate run paused on this gate.

    The register already holds the decision; the run reads it (and ignores the duplicate
    input), so a failure here loses nothing: the run would see it on its next check. Only
    a server can hold a paused run, so without one there is nothing to wake.
    """
    from plancycle.cli import flowrun

    url = flowrun.api_url()
    if url is None:
        return
    problem = flowrun.answers(url)
    if problem is not None:
        console.print(f"(could not wake the waiting sign-off flow: the Prefect API at {url} "
                      f"does not answer ({problem}); the flow will see the decision on its "
                      "next check)", highlight=False, markup=False)
        return
    try:
        from flows.signoff import resume_waiting_gate

        resumed = resume_waiting_gate(cycle_id, task, {
            "person": person, "decision": str(verdict), "reason": reason,
            "conditions": [{"text": c.rpartition("@")[0].strip(),
                            "role": c.rpartition("@")[2].strip()} for c in conditions],
            "signature": signature, "document_sha256": sha})
    except Exception as exc:  # noqa: BLE001 - the decision is recorded; this is a courtesy
        console.print(f"(could not wake the waiting sign-off flow: {exc}; it will see the "
                      "decision on its next check)", highlight=False)
        return
    if resumed:
        console.print(f"Woke {resumed} waiting sign-off flow run(s).", highlight=False)


@app.command("request")
def request_cmd(task: str, cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Send approval requests for gate TASK to approvers who have not decided (once each)."""
    from plancycle.assignments import AssignmentError, find_task
    from plancycle.runtime import Runtime
    from plancycle.signoff import queue_gate_messages

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session(actor="cli") as session:
            gate = find_task(session, cycle_id, task)
            if gate.kind != "gate":
                raise UserError(f"task '{task}' is a {gate.kind} task, not a gate")
            if gate.state != "open":
                raise UserError(f"gate '{task}' is {gate.state}: requests go out while it is "
                                "open")
            queued = queue_gate_messages(session, cycle_id, rt.notifier, rt.links,
                                         rt.calendar, rt.clock.today(), task_key=task)
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
    report = rt.deliver(cycle_id)
    console.print(f"{queued} approval message(s) queued; {report.sent} sent, "
                  f"{report.failed} failed (retried on the next pass).", highlight=False)


@app.command("status")
def status_cmd(task: str, cycle: CycleOpt = None) -> None:
    """Where gate TASK stands: document under review, approvals, quorum."""
    from plancycle.assignments import AssignmentError, find_task
    from plancycle.runtime import Runtime
    from plancycle.signoff import gate_status

    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session() as session:
            status = gate_status(session, find_task(session, cycle_id, task))
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
    document = (f"{status.document_kind} v{status.document_version} {status.document_sha256}"
                if status.document_sha256 else f"{status.document_kind} (none yet)")
    outcome = {"passed": "PASSED", "rejected": f"REJECTED ({status.rejection_reason})",
               "waiting": f"waiting ({status.state})"}[status.outcome]
    console.print(f"{task}: document {document}; approved by "
                  f"{', '.join(status.approved_roles) or 'nobody'}; {len(status.approved_roles)}"
                  f"/{status.needed} needed; waiting on "
                  f"{', '.join(status.waiting_roles) or 'nobody'}; {outcome}", highlight=False)
