"""``plancycle cycle ics``: the cycle (or one person's deadlines) as an iCalendar file or feed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def ics(
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file (default: "
                                                           "standard output)")] = None,
    person: Annotated[str | None, typer.Option(
        "--person", help="Only this person's deadlines and stage milestones")] = None,
    url: Annotated[bool, typer.Option(
        "--url", help="Print --person's signed subscription URL (/calendar/<token>.ics)")
    ] = False,
    whole_cycle: Annotated[bool, typer.Option(
        "--whole-cycle", help="With --url: the whole cycle's feed, issued to --person "
                              "(the planner)")] = False,
    cycle: Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")
                     ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="As of this date (YYYY-MM-DD)")
                     ] = None,
) -> None:
    """Export the whole cycle (every due date and stage milestone) as an .ics file.

    With --person, that person's own feed; with --url, the address to subscribe to in
    Outlook or Google Calendar (signed like task links, issued to --person; `plancycle link
    revoke --person` withdraws it).
    """
    from plancycle.icalendar import cycle_feed, feed_links, person_feed
    from plancycle.runtime import Runtime

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    if url:
        if person is None:
            raise UserError("say whose feed it is with --person (for the whole cycle: the "
                            "planner's id and --whole-cycle), so `plancycle link revoke "
                            "--person` can withdraw it")
        with rt.register.session() as session:
            _known(session, cycle_id, person)
        console.print(feed_links(rt).url(cycle_id, person, whole_cycle), highlight=False,
                      soft_wrap=True)
        return
    with rt.register.session(actor="cli") as session:
        if person is not None:
            _known(session, cycle_id, person)
            data = person_feed(session, cycle_id, person, rt.clock.now())
        else:
            data = cycle_feed(session, cycle_id, rt.clock.now())
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    events = data.count(b"BEGIN:VEVENT")
    console.print(f"[green]✓[/] {events} events written to {out}", highlight=False,
                  soft_wrap=True)


def _known(session: Session, cycle_id: str, person: str) -> None:
    """Refuse an unknown person id with the usual message (exit 2)."""
    from plancycle.assignments import AssignmentError, find_person

    try:
        find_person(session, cycle_id, person)
    except AssignmentError as exc:
        raise UserError(str(exc)) from None
