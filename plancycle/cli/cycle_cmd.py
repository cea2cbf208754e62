"""``plancycle cycle``: start a cycle, show its calendar and status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plancycle.cli.common import (
    console,
    load_or_exit,
    open_register,
    parse_day,
    resolve_cycle_id,
)

if TYPE_CHECKING:
    from plancycle.register import Register

app = typer.Typer(help="Start and watch planning cycles.", no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Date to report as of (YYYY-MM-DD)")]


@app.command("start")
def start(file: str = typer.Argument(..., help="Cycle YAML file")) -> None:
    """Create the cycle in the register (idempotent: re-running changes nothing)."""
    from plancycle.register.cycles import start_cycle

    config = load_or_exit(file)
    register = open_register()
    with register.session(actor="cli") as session:
        result = start_cycle(session, config, file)
    verb = "started" if result.created else (
        f"already started; {result.changes} changes applied" if result.changes
        else "already started; nothing changed")
    console.print(f"Cycle [bold]{result.cycle_id}[/] {verb}.", highlight=False)
    show_calendar(register, result.cycle_id)


def show_calendar(register: Register, cycle_id: str) -> None:
    from rich.table import Table
    from sqlalchemy import select

    from plancycle.register import Stage

    with register.session() as session:
        stages = session.scalars(select(Stage).where(Stage.cycle_id == cycle_id)
                                 .order_by(Stage.starts_on, Stage.sequence)).all()
        table = Table(title=f"Calendar of {cycle_id}")
        for col in ("stage", "starts", "ends", "tasks", "state"):
            table.add_column(col)
        for stage in stages:
            table.add_row(stage.name, f"{stage.starts_on:%a %d %b %Y}",
                          f"{stage.ends_on:%a %d %b %Y}", str(len(stage.tasks)), stage.state)
    console.print(table)


@app.command("calendar")
def calendar(cycle: CycleOpt = None) -> None:
    """Show the cycle's stages with their dates."""
    register = open_register()
    show_calendar(register, resolve_cycle_id(register, cycle))


@app.command("status")
def status(cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Every task: stage, role, assignee, due date, state and working days overdue."""
    from rich.table import Table

    from plancycle.notify.fallbacks import escalation_gaps
    from plancycle.register.cycles import cycle_status

    day = parse_day(as_of)
    register = open_register(as_of=day)
    cycle_id = resolve_cycle_id(register, cycle)
    today = register.clock.today()
    with register.session() as session:
        rows = cycle_status(session, cycle_id, today)
        gaps = escalation_gaps(session, cycle_id)
    table = Table(title=f"{cycle_id} as of {today:%a %d %b %Y}")
    for col in ("stage", "task", "role", "assignee", "due", "state", "days overdue"):
        table.add_column(col, overflow="fold")
    for row in rows:
        late = f"[red]{row.working_days_overdue}[/]" if row.working_days_overdue else ""
        table.add_row(row.stage, row.task, row.role, ", ".join(row.assignees) or "—",
                      f"{row.due_on:%d %b %Y}", row.state, late)
    console.print(table)
    if gaps:
        console.print(f"[bold red]{len(gaps)} escalation(s) had nobody to receive them[/] — "
                      "name a line manager, deputy or role holder in the cycle's YAML:")
        for gap in gaps:
            told = (f"told {', '.join(gap.told)} instead" if gap.told
                    else "nobody could be told")
            console.print(f"  {gap.task_key} ({gap.assignee}, due {gap.due_on:%d %b}): meant for "
                          f"{gap.wanted_text}; {told}", markup=False, highlight=False)
