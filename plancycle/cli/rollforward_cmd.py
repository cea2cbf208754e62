"""``plancycle cycle roll-forward``: next year's cycle file from this year's."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from plancycle.cli.common import UserError, console

if TYPE_CHECKING:
    from rich.table import Table

    from plancycle.register.db import Register
    from plancycle.rollforward import RollForward


def _register(url: str | None, use_register: bool) -> Register | None:
    """The register named, or the usual one if it exists (never creates one)."""
    from plancycle.register.db import Register, home

    if not use_register:
        return None
    if url:
        if "://" not in url:
            path = Path(url)
            if not path.exists():
                raise UserError(f"--register {url}: no such register file; give its path or a "
                                "database URL (sqlite:///…, postgresql+psycopg://…)")
            url = f"sqlite:///{path.resolve()}"
        register = Register(url)
    elif os.environ.get("PLANCYCLE_DATABASE_URL"):
        register = Register()
    elif (home() / "register.db").exists():
        register = Register(f"sqlite:///{home() / 'register.db'}")
    else:
        return None
    register.migrate()
    return register


def _default_out(source: Path, source_year: str, target_year: str) -> Path:
    first, second = source_year[:4], source_year[5:]
    pattern = re.compile(rf"{first}([_\-]?){second}")
    name = pattern.sub(lambda m: f"{target_year[:4]}{m.group(1)}{target_year[5:]}", source.name)
    if name == source.name:
        name = f"{source.stem}_{target_year.replace('/', '_')}{source.suffix}"
    return source.with_name(name)


def _calendar_table(old_text: str, result: RollForward) -> Table | None:
    """Stage starts last year and next year, when both files validate."""
    from rich.table import Table

    from plancycle.calendar import WorkingCalendar
    from plancycle.config import ConfigError, parse_config
    from plancycle.schedule import resolve_schedule

    try:
        old, new = parse_config(old_text), parse_config(result.text)
    except ConfigError:
        return None
    calendar = WorkingCalendar()
    before, _ = resolve_schedule(old, calendar)
    after, _ = resolve_schedule(new, calendar)
    table = Table(title=f"Calendar {result.source_year} → {result.target_year}")
    for column in ("stage", result.source_year, result.target_year):
        table.add_column(column)
    for dates in before.ordered_stages():
        moved = after.stages.get(dates.stage_id)
        table.add_row(dates.stage_id, f"{dates.starts:%a %d %b %Y} – {dates.ends:%a %d %b}",
                      f"{moved.starts:%a %d %b %Y} – {moved.ends:%a %d %b}" if moved else "–")
    return table


def roll_forward_cmd(
    file: Annotated[Path, typer.Argument(help="This year's cycle YAML")],
    to: Annotated[str, typer.Option("--to", help="Next financial year, e.g. 2027/28")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write next year's file (default: beside FILE, year in the name)")
    ] = None,
    register_url: Annotated[str | None, typer.Option(
        "--register", help="Register holding last year's cycle (URL or SQLite file); default: "
                           "PLANCYCLE_DATABASE_URL or PLANCYCLE_HOME's register, if any")] = None,
    no_register: Annotated[bool, typer.Option(
        "--no-register", help="Roll forward from the file alone (no baseline, no actions)")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists")] = False,
    show_diff: Annotated[bool, typer.Option("--diff/--no-diff", help="Print the diff")] = True,
) -> None:
    """Write next year's cycle file from this year's and print the diff.

    Fixed dates move to the same working-day positions; people and roles are carried over
    (with a report of who may have left); last year's accepted returns become the baseline
    and its open Annex G actions are carried in.
    """
    from rich.table import Table

    from plancycle.rollforward import LastYear, RollForwardError, last_year, roll_forward

    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{file}: file not found; cycle files live in cycle_config/") from None
    register = _register(register_url, not no_register)
    try:
        previous: LastYear | None = None
        if register is not None:
            from ruamel.yaml import YAML

            cycle = (YAML(typ="safe").load(text) or {}).get("cycle") or {}
            with register.session(actor="cli:roll-forward") as session:
                previous = last_year(session, str(cycle.get("id", "")))
            register.dispose()
        result = roll_forward(text, to, previous)
    except RollForwardError as exc:
        raise UserError(f"{file}: {exc}") from None
    target = out or _default_out(file, result.source_year, result.target_year)
    if target.resolve() == file.resolve():
        raise UserError(f"--out {target} is this year's file; write next year's elsewhere")
    if target.exists() and not force:
        raise UserError(f"{target} already exists; pass --force to replace it, or choose "
                        "another --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(result.text, encoding="utf-8")

    console.print(f"[bold]{result.previous_cycle_id}[/] ({result.source_year}) → "
                  f"[bold]{result.cycle_id}[/] ({result.target_year}) written to {target}",
                  highlight=False, soft_wrap=True)
    if result.moved:
        table = Table(title="Fixed dates moved to the same working-day position")
        for column in ("date", result.source_year, result.target_year, "position"):
            table.add_column(column)
        for m in result.moved:
            table.add_row(m.what, f"{m.old:%a %d %b %Y}", f"{m.new:%a %d %b %Y}",
                          m.position + (f" ({m.note})" if m.note else ""))
        console.print(table)
    calendar_table = _calendar_table(text, result)
    if calendar_table is not None:
        console.print(calendar_table)
    if result.people:
        console.print("[bold yellow]People to check before starting the cycle[/] "
                      "(carried over as they were):", highlight=False)
        for flag in result.people:
            console.print(f"  {flag.person} ({flag.name}): {flag.reason}", highlight=False,
                          soft_wrap=True)
    else:
        console.print("People: all carried over; nobody flagged.", highlight=False)
    if result.baseline_returns:
        console.print(f"Baseline: {len(result.baseline_returns)} accepted returns from "
                      f"{result.previous_cycle_id} ("
                      + ", ".join(f"{r.kind}: {r.rows if r.rows is not None else '?'} rows"
                                  for r in result.baseline_returns) + ")",
                      highlight=False, soft_wrap=True)
    if result.carried_actions:
        console.print(f"Open actions carried over: {len(result.carried_actions)} ("
                      + ", ".join(a.key for a in result.carried_actions) + ")",
                      highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if show_diff:
        console.print(result.diff(text, str(file), str(target)), highlight=False, markup=False,
                      soft_wrap=True)
    if not result.valid:
        problems = "\n".join(str(replace(p, file=str(target))) for p in result.problems)
        raise UserError(f"{target} was written but does not validate yet; fix these, then run "
                        f"`plancycle config validate {target}`:\n{problems}")
    console.print(f"[green]✓[/] {target} validates (`plancycle config validate {target}`).",
                  highlight=False, soft_wrap=True)
