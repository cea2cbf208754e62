"""``plancycle cycle audit`` and ``plancycle cycle unlock``: the trail, and the way back in.

The audit shows every recorded state change and every gate decision of a cycle, in time
order; ``--csv`` exports the same rows for the board secretary or an auditor. Unlocking a
submitted cycle is the one planner action that reopens its returns and plan, so it needs a
reason, which lands in that same trail.
"""

from __future__ import annotations

import csv
import getpass
from pathlib import Path
from typing import Annotated

import typer

from plancycle.cli.common import UserError, console, open_register, parse_day, resolve_cycle_id

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
COLUMNS = ("at", "actor", "action", "entity", "entity_id", "details", "note")


def audit(
    cycle: CycleOpt = None,
    csv_file: Annotated[Path | None, typer.Option(
        "--csv", help="Write the trail to this CSV file instead of printing it")] = None,
    decisions_only: Annotated[bool, typer.Option(
        "--decisions", help="Only gate decisions, locks and unlocks")] = False,
) -> None:
    """The cycle's full decision and state-change trail (oldest first)."""
    from rich.table import Table

    from plancycle.returns.hostile import neutralise_rows
    from plancycle.signoff import audit_trail

    register = open_register()
    cycle_id = resolve_cycle_id(register, cycle)
    with register.session() as session:
        rows = audit_trail(session, cycle_id)
    if decisions_only:
        rows = [r for r in rows if r["action"].startswith("decision:")
                or r["action"] in ("lock", "unlock")]
    if csv_file is not None:
        try:
            csv_file.parent.mkdir(parents=True, exist_ok=True)
            with csv_file.open("w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(neutralise_rows(rows))  # audit text is user text
        except OSError as exc:
            raise UserError(f"cannot write {csv_file}: {exc.strerror or exc}") from None
        console.print(f"Wrote {len(rows)} audit rows of {cycle_id} to {csv_file}",
                      highlight=False)
        return
    table = Table(title=f"Audit trail of {cycle_id} ({len(rows)} rows)")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[c]) for c in COLUMNS))
    console.print(table)


def unlock(
    reason: Annotated[str, typer.Option("--reason", help="Why the cycle is reopened (recorded)")],
    cycle: CycleOpt = None,
    by: Annotated[str | None, typer.Option("--by", help="Who is unlocking (default: you)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Act as of (YYYY-MM-DD)")] = None,
) -> None:
    """Unlock a submitted cycle so returns and the plan can change again."""
    from plancycle.submission import SubmissionError, unlock_cycle

    register = open_register(as_of=parse_day(as_of))
    cycle_id = resolve_cycle_id(register, cycle)
    who = by or getpass.getuser()
    try:
        with register.session(actor=f"cli:{who}", note=reason) as session:
            changed = unlock_cycle(session, cycle_id, register.clock.now(), reason,
                                   actor=f"cli:{who}")
    except SubmissionError as exc:
        raise UserError(str(exc)) from None
    if changed:
        console.print(f"Unlocked {cycle_id}: uploads and new plan versions are accepted again. "
                      "Re-run the submission when the revised plan is approved.", highlight=False)
    else:
        console.print(f"{cycle_id} was not locked; nothing changed.", highlight=False)
