"""``plancycle chase`` and ``plancycle cycle run``: run the Prefect flows on demand."""

from __future__ import annotations

from typing import Annotated

import typer

from plancycle import runtime as runtime_mod
from plancycle.cli.common import console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at
from plancycle.runtime import Runtime

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: all open)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Chase as of this date (YYYY-MM-DD)")]


def chase(cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Send today's reminders, overdue chasers and escalations (safe to re-run)."""
    from flows.chaser import chaser

    day = parse_day(as_of)
    rt = Runtime.build(clock=clock_at(day))
    with runtime_mod.use(rt):
        result = chaser(as_of=rt.clock.today(), cycle_id=cycle)
    delivery = result.pop("delivery")
    for cycle_id, outcome in result.items():
        console.print(f"{cycle_id}: {outcome['planned']} steps due, {outcome['queued']} "
                      f"messages queued {outcome['by_kind']}", highlight=False)
    console.print(f"delivered: {delivery['sent']} sent, {delivery['failed']} failed, "
                  f"{delivery['cancelled']} cancelled", highlight=False)


def run(cycle: Annotated[str | None, typer.Option("--cycle")] = None,
        as_of: AsOfOpt = None) -> None:
    """One pass of the annual-cycle flow: open what is due, complete what is done."""
    from flows.annual_cycle import annual_cycle

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with runtime_mod.use(rt):
        totals = annual_cycle(cycle_id)
    console.print(f"{cycle_id}: {totals['opened_tasks']} tasks opened, "
                  f"{totals['completed_tasks']} completed, {totals['sent']} messages sent"
                  + (" — cycle complete" if totals.get("complete") else ""), highlight=False)
