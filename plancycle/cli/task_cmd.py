"""``plancycle task``: complete, reassign and delegate tasks; mark people absent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from plancycle.register.models import Assignment
    from plancycle.runtime import Runtime

app = typer.Typer(help="Act on tasks: complete, reassign, delegate.", no_args_is_help=True)
person_app = typer.Typer(help="People: absence (their deputy stands in).", no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Act as of this date (YYYY-MM-DD)")]


def _runtime(as_of: str | None) -> Runtime:
    from plancycle.runtime import Runtime

    return Runtime.build(clock=clock_at(parse_day(as_of)))


def _after(rt: Runtime, cycle_id: str) -> None:
    """Reconcile straight away so dependants open and their holders are told now."""
    progress = rt.advance(cycle_id, actor="cli")
    report = rt.deliver(cycle_id)
    if progress.opened_tasks:
        console.print(f"Unblocked: {', '.join(progress.opened_tasks)}", highlight=False)
    if report.sent or report.failed:
        console.print(f"Notifications: {report.sent} sent, {report.failed} failed "
                      "(failures are retried on the next pass)", highlight=False)


@app.command("complete")
def complete(task: str, person: Annotated[str, typer.Option("--person", help="Person id")],
             note: Annotated[str | None, typer.Option("--note")] = None,
             cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Mark PERSON's part of TASK complete (the task completes when every part is)."""
    from plancycle.assignments import AssignmentError, complete_assignment, find_person, find_task

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session(actor=f"cli:{person}") as session:
            row = find_task(session, cycle_id, task)
            if row.kind == "gate":
                raise UserError(f"'{task}' is a gate: decide it with `plancycle gate decide`")
            complete_assignment(session, row, find_person(session, cycle_id, person),
                                rt.clock.now(), note)
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
    console.print(f"[green]✓[/] {person} completed their part of '{task}'.", highlight=False)
    _after(rt, cycle_id)


def _tell_new_holders(rt: Runtime, session: Session, cycle_id: str,
                      assignments: list[Assignment]) -> None:
    """Queue the 'new task' message for people who have just been handed tasks."""
    from plancycle.notify.messages import MessageBuilder

    session.flush()
    builder = MessageBuilder(session, cycle_id, rt.links, rt.calendar, rt.clock.today())
    rt.notifier.queue(session, [builder.new_task(a) for a in assignments])


def _hand_over(task: str, from_: str, to: str, reason: str, cycle: str | None,
               as_of: str | None, verb: str) -> None:
    from plancycle.assignments import AssignmentError, find_person, find_task, reassign

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session(actor=f"cli:{from_}", note=f"{verb}: {reason}") as session:
            row = find_task(session, cycle_id, task)
            new = reassign(session, row, find_person(session, cycle_id, from_),
                           find_person(session, cycle_id, to), rt.clock.now(),
                           f"{verb} by {from_}: {reason}")
            _tell_new_holders(rt, session, cycle_id, [new])
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
    console.print(f"[green]✓[/] '{task}' {verb} from {from_} to {to}.", highlight=False)
    rt.deliver(cycle_id)


@app.command("reassign")
def reassign_cmd(task: str, from_: Annotated[str, typer.Option("--from", help="Person id")],
                 to: Annotated[str, typer.Option("--to", help="Person id")],
                 reason: Annotated[str, typer.Option("--reason")],
                 cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Hand an open task to someone else (recorded in the audit)."""
    _hand_over(task, from_, to, reason, cycle, as_of, "reassigned")


@app.command("delegate")
def delegate_cmd(task: str, from_: Annotated[str, typer.Option("--from", help="Person id")],
                 to: Annotated[str, typer.Option("--to", help="Person id")],
                 reason: Annotated[str, typer.Option("--reason")],
                 cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Delegate an open task: the delegate acts on the holder's behalf (recorded)."""
    _hand_over(task, from_, to, reason, cycle, as_of, "delegated")


@person_app.command("absent")
def absent(person: str, back: Annotated[bool, typer.Option("--back", help="Returned")] = False,
           cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Mark PERSON absent: their deputy takes their open and future tasks."""
    from plancycle.assignments import AssignmentError, find_person, mark_absent
    from plancycle.register.models import Task

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session(actor="cli", note="absence") as session:
            moved = mark_absent(session, find_person(session, cycle_id, person), rt.clock.now(),
                                back)
            _tell_new_holders(rt, session, cycle_id, moved)
            keys = [session.get(Task, a.task_id).key for a in moved]
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
    state = "back" if back else "absent"
    console.print(f"{person} marked {state}."
                  + (f" Open tasks moved to their deputy: {', '.join(keys)}" if keys else ""),
                  highlight=False)
    rt.deliver(cycle_id)
