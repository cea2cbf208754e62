"""``plancycle actions``: the Annex G action plan through the year (RAG, check-ins, board)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at

app = typer.Typer(help="Track the action plan: RAG updates, quarterly check-ins, board summary.",
                  no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="As of this date (YYYY-MM-DD)")]
QuarterOpt = Annotated[str | None, typer.Option(
    "--quarter", help="Q1–Q4 of the financial year, or '2026/27 Q3' (default: today's, or "
                      "that of the owner's open check-in)")]
_RAG_STYLE = {"red": "bold white on red", "amber": "bold black on yellow",
              "green": "bold white on green"}


def _runtime(as_of: str | None):  # type: ignore[no-untyped-def]
    from plancycle.runtime import Runtime

    return Runtime.build(clock=clock_at(parse_day(as_of)))


def _rag(value: str | None) -> str:
    if not value:
        return "–"
    return f"[{_RAG_STYLE[value]}] {value.capitalize()} [/]"


def _trail(trail: list[tuple[str, str]], this_year: str) -> str:
    """Q1 Amber Q2 Green …; quarters of other years (carried over) in full."""
    parts = [f"{q.removeprefix(this_year + ' ')} {_rag(r)}" for q, r in trail]
    return "\n".join(parts) or "–"


def _quarter(value: str | None, today: date) -> str:
    from plancycle import actions as plan_actions

    try:
        return plan_actions.parse_quarter(value, today) if value else \
            plan_actions.quarter_of(today)
    except plan_actions.ActionError as exc:
        raise UserError(str(exc)) from None


@app.command("track")
def track(cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Track the plan's Annex G actions (from the accepted returns) and carried-over actions.

    Safe to re-run: actions already tracked are left as they are.
    """
    from plancycle import actions as plan_actions
    from plancycle.analysis import AnalysisRefused
    from plancycle.planning import PlanningError

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        with rt.register.session(actor="cli:actions-track") as session:
            items = plan_actions.analysed_actions(session, cycle_id)
            result = plan_actions.track_actions(session, cycle_id, items, rt.clock.now(),
                                                rt.calendar)
            created = [(a.key, a.owner_role, a.due_on) for a in result.created]
            carried = [a.key for a in result.carried]
    except AnalysisRefused as refused:
        raise UserError(f"the action plan comes from the analysis, which cannot run yet.\n"
                        f"{refused.message()}") from None
    except (PlanningError, plan_actions.ActionError) as exc:
        raise UserError(str(exc)) from None
    for key, role, due in created:
        console.print(f"[green]+[/] {key}: owner {role}, due {due:%d %b %Y}", highlight=False)
    if carried:
        console.print(f"Carried over from last year: {', '.join(carried)}", highlight=False)
    console.print(f"{len(created)} new actions tracked, {result.already} already tracked.",
                  highlight=False)


@app.command("list")
def list_(cycle: CycleOpt = None, open_only: Annotated[bool, typer.Option(
        "--open", help="Only open actions")] = False, as_of: AsOfOpt = None) -> None:
    """The action plan with owners, due dates and RAG history by quarter."""
    from rich.table import Table

    from plancycle import actions as plan_actions

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    today = rt.clock.today()
    try:
        with rt.register.session(actor="cli") as session:
            plan_actions.carry_over(session, cycle_id, rt.clock.now())
            views = plan_actions.action_plan(session, cycle_id, include_closed=not open_only)
            table = Table(title=f"Action plan of {cycle_id} ({plan_actions.quarter_of(today)})")
            for column in ("#", "action", "owner", "due", "status", "RAG", "history",
                           "latest update"):
                table.add_column(column, overflow="fold")
            for view in views:
                a, latest = view.action, view.latest
                overdue = a.status == plan_actions.OPEN and a.due_on < today
                table.add_row(
                    a.key, a.text + (f"\n[dim]carried from {view.carried_from}[/]"
                                     if view.carried_from else ""),
                    view.owner_name,
                    f"[red]{a.due_on:%d %b %Y}[/]" if overdue else f"{a.due_on:%d %b %Y}",
                    a.status, _rag(a.rag),
                    _trail(view.trail(), plan_actions.fy_of(today)),
                    f"{latest.note or ''} ({latest.author}, {latest.quarter})" if latest else "–")
    except plan_actions.ActionError as exc:
        raise UserError(str(exc)) from None
    if not views:
        console.print(f"No actions tracked in {cycle_id} yet: run `plancycle actions track`.",
                      highlight=False)
        return
    console.print(table)


@app.command("update")
def update(
    action: Annotated[str, typer.Argument(help="Action key, e.g. G3")],
    rag: Annotated[str | None, typer.Option("--rag", help="red, amber or green")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A short update on progress")
                    ] = None,
    person: Annotated[str | None, typer.Option("--person", help="Who reports (person id)")
                      ] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="open, complete or dropped")] = None,
    due: Annotated[str | None, typer.Option("--due", help="New due date (YYYY-MM-DD)")] = None,
    quarter: QuarterOpt = None, cycle: CycleOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Record a RAG status and a short update on ACTION.

    The owner's quarterly check-in completes once every action it asked about is reported.
    """
    from plancycle import actions as plan_actions

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    due_on = parse_day(due, "--due")
    try:
        with rt.register.session(actor=f"cli:{person or 'planner'}") as session:
            plan_actions.carry_over(session, cycle_id, rt.clock.now())
            recorded = plan_actions.record_update(
                session, cycle_id, action, rt.clock.now(), rag=rag, note=note,
                person_key=person, status=status, due=due_on, quarter=quarter)
            summary = (f"{action.upper()}: {recorded.rag} for {recorded.quarter}"
                       + (f", status {recorded.status}" if recorded.status else ""))
    except plan_actions.ActionError as exc:
        raise UserError(str(exc)) from None
    console.print(f"[green]✓[/] {summary}", highlight=False)
    progress = rt.advance(cycle_id, actor="cli")
    if progress.completed_tasks:
        console.print(f"Check-in complete: {', '.join(progress.completed_tasks)}",
                      highlight=False)
    rt.deliver(cycle_id)


@app.command("checkin")
def checkin(
    quarter: QuarterOpt = None,
    due: Annotated[str | None, typer.Option(
        "--due", help="Due date (default: 10 working days from today)")] = None,
    stage: Annotated[str | None, typer.Option(
        "--stage", help="Stage to put the check-ins in (default: in_year_refresh)")] = None,
    cycle: CycleOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Ask every owner of open actions for this quarter's RAG and update (idempotent).

    One review task per owner role; the engine assigns its holders, sends the task link and
    the chaser chases it like any task.
    """
    from plancycle import actions as plan_actions

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    label = _quarter(quarter, rt.clock.today())
    due_on = parse_day(due, "--due")
    try:
        with rt.register.session(actor="cli:actions-checkin") as session:
            result = plan_actions.open_checkins(session, cycle_id, rt.clock.now(), rt.calendar,
                                                quarter=label, due=due_on, stage_key=stage)
            created = [(t.key, t.role_key, t.due_on) for t in result.created]
            existing = [t.key for t in result.existing]
            stage_name, stage_starts = result.stage.name, result.stage.starts_on
            waits = result.waits_for_stage
    except plan_actions.ActionError as exc:
        raise UserError(str(exc)) from None
    for key, role, due_day in created:
        console.print(f"[green]+[/] {key}: {role}, due {due_day:%d %b %Y}", highlight=False)
    if existing:
        console.print(f"Already asked: {', '.join(existing)}", highlight=False)
    if not created and not existing:
        console.print("No open actions: nothing to check in on.", highlight=False)
    if waits:
        console.print(f"The check-ins open with '{stage_name}' on {stage_starts:%d %b %Y}.",
                      highlight=False)
    progress = rt.advance(cycle_id, actor="cli")
    report = rt.deliver(cycle_id)
    if progress.new_assignments:
        console.print(f"Assigned: {len(progress.new_assignments)} people asked; "
                      f"{report.sent} messages sent", highlight=False)


@app.command("summary")
def summary(
    quarter: QuarterOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder (default: PLANCYCLE_HOME/documents/<cycle>)")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also make the PDF")] = True,
    cycle: CycleOpt = None, as_of: AsOfOpt = None,
) -> None:
    """The quarterly action-plan summary for the board (HTML and PDF)."""
    from plancycle import actions as plan_actions
    from plancycle.register.db import home

    rt = _runtime(as_of)
    cycle_id = resolve_cycle_id(rt.register, cycle)
    label = _quarter(quarter, rt.clock.today())
    try:
        with rt.register.session(actor="cli:actions-summary") as session:
            plan_actions.carry_over(session, cycle_id, rt.clock.now())
            rendered = plan_actions.render_board_summary(session, cycle_id, label,
                                                         rt.clock.today(), pdf=pdf)
            stored = plan_actions.store_board_summary(
                session, cycle_id, rendered, out or home() / "documents" / cycle_id,
                rt.clock.now())
    except plan_actions.ActionError as exc:
        raise UserError(str(exc)) from None
    console.print(f"[green]✓[/] Board summary {label} (sha256 {stored.sha256[:12]}…)",
                  highlight=False)
    console.print(f"  HTML: {stored.html_path}", highlight=False, soft_wrap=True)
    if stored.pdf_path:
        console.print(f"  PDF:  {stored.pdf_path}", highlight=False, soft_wrap=True)
