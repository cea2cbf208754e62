"""``plancycle gate``: record approvers' decisions and show where a gate stands."""

from __future__ import annotations

from typing import Annotated

import typer

from plancycle.assignments import AssignmentError, find_person, find_task
from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at
from plancycle.runtime import Runtime
from plancycle.signoff import Condition, SignoffError, Verdict, decide, gate_status

app = typer.Typer(help="Sign-off gates: decide and check quorum.", no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Act as of this date (YYYY-MM-DD)")]


def _conditions(values: list[str]) -> list[Condition]:
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
    rt.advance(cycle_id, actor="cli")
    rt.deliver(cycle_id)


@app.command("status")
def status_cmd(task: str, cycle: CycleOpt = None) -> None:
    """Where gate TASK stands: document under review, approvals, quorum."""
    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session() as session:
            status = gate_status(session, find_task(session, cycle_id, task))
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
    console.print(f"{task}: document {status.document_sha256 or '(none yet)'}; approved by "
                  f"{', '.join(status.approved_roles) or 'nobody'}; {len(status.approved_roles)}"
                  f"/{status.needed} needed; {'PASSED' if status.passed else 'waiting'}",
                  highlight=False)
