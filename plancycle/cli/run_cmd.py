"""``plancycle chase`` and ``plancycle cycle run``: a pass of the chaser or the cycle flow.

With a Prefect API configured the flow runs and Prefect records it; without one the same
steps run in this process (:mod:`plancycle.cli.flowrun`), with the same outcome and output.
"""

from __future__ import annotations

from typing import Annotated

import typer

from plancycle.cli import flowrun
from plancycle.cli.common import console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: all open)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Chase as of this date (YYYY-MM-DD)")]


def chase(cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Send today's reminders, overdue chasers and escalations (safe to re-run)."""
    from plancycle import passes
    from plancycle import runtime as runtime_mod
    from plancycle.runtime import Runtime

    day = parse_day(as_of)
    recorded = flowrun.checked_api("plancycle chase") is not None
    rt = Runtime.build(clock=clock_at(day))
    with runtime_mod.use(rt):
        if recorded:
            from flows.chaser import chaser

            result = chaser(as_of=rt.clock.today(), cycle_id=cycle)
        else:
            result = passes.chase(rt, rt.clock.today(), cycle, warn=flowrun.warn)
    delivery = result.pop("delivery")
    for cycle_id, outcome in result.items():
        console.print(f"{cycle_id}: {outcome['planned']} steps due, {outcome['queued']} "
                      f"messages queued {outcome['by_kind']}", highlight=False)
    console.print(f"delivered: {delivery['sent']} sent, {delivery['failed']} failed, "
                  f"{delivery['cancelled']} cancelled", highlight=False)
    if not recorded:
        flowrun.note_not_recorded("plancycle chase", "the chaser")


def run(cycle: Annotated[str | None, typer.Option("--cycle")] = None,
        as_of: AsOfOpt = None) -> None:
    """One pass of the annual-cycle flow: open what is due, complete what is done."""
    from plancycle import passes
    from plancycle import runtime as runtime_mod
    from plancycle.runtime import Runtime

    day = parse_day(as_of)
    recorded = flowrun.checked_api("plancycle cycle run") is not None
    rt = Runtime.build(clock=clock_at(day))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with runtime_mod.use(rt):
        if recorded:
            from flows.annual_cycle import annual_cycle

            totals = annual_cycle(cycle_id)
        else:
            totals = passes.cycle_pass(rt, cycle_id, warn=flowrun.warn)
    console.print(f"{cycle_id}: {totals['opened_tasks']} tasks opened, "
                  f"{totals['completed_tasks']} completed, {totals['sent']} messages sent"
                  + (" — cycle complete" if totals.get("complete") else ""), highlight=False)
    if not recorded:
        flowrun.note_not_recorded("plancycle cycle run", "one pass of the annual cycle")
