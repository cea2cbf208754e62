"""``make demo``: rehearse the sample trust's whole planning year on the simulated clock.

Everything is real except time: the register (SQLite), the Prefect flows (an ephemeral
Prefect API), the notifications (Apprise over SMTP into a local mail sink that writes
``demo-output/mail/*.eml``). People are scripted: some late, one only after escalation,
the board rejects the first draft once. Safe to re-run: each run starts from a clean folder.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The ephemeral Prefect API (a subprocess) prints its own shutdown noise when the demo ends.
os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import select  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
OUT = ROOT / "demo-output"
console = Console()

SCRIPT_OFFSETS = {"staff_in_post_return": 4, "pay_budget_return": 2, "leavers_return": 1,
                  "service_review_current": 3}
UNTIL_ESCALATED = {"activity_plan_return"}


def main() -> None:
    from plancycle import runtime as runtime_mod
    from plancycle.clock import SimulatedClock
    from plancycle.config import load_config
    from plancycle.mailsink import MailSink
    from plancycle.notify.channels import AppriseChannels
    from plancycle.register.cycles import cycle_status, start_cycle
    from plancycle.runtime import Runtime
    from plancycle.simulation import Rehearsal, Script

    started = time.perf_counter()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    os.environ["PLANCYCLE_HOME"] = str(OUT / "home")
    os.environ.setdefault("PLANCYCLE_PORTAL_URL", "http://127.0.0.1:8000")

    config = load_config(SAMPLE)
    console.print(f"[green]✓[/] {SAMPLE.relative_to(ROOT)} is valid: {len(config.stages)} stages,"
                  f" {len(config.tasks())} tasks, {len(config.people)} people", highlight=False)
    sink = MailSink(OUT / "mail").start()
    clock = SimulatedClock(date(2026, 4, 1))
    rt = Runtime.build(clock=clock, channels=AppriseChannels(sink.apprise_url, None),
                       database_url=f"sqlite:///{OUT / 'home' / 'register.db'}")
    with rt.register.session(actor="workforce planner") as session:
        start_cycle(session, config, SAMPLE)
    cycle_id = config.cycle.id
    script = Script(offsets=SCRIPT_OFFSETS, until_escalated=UNTIL_ESCALATED,
                    gate_rounds={"board_gate": ["reject"]})
    rehearsal = Rehearsal(rt, cycle_id, script, end=date(2027, 3, 31))
    year = (date(2027, 3, 31) - date(2026, 4, 1)).days

    from flows.annual_cycle import annual_cycle

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[day]}"), TimeElapsedColumn(), console=console) as bar:
        progress = bar.add_task("Rehearsing the planning year", total=year, day="")

        def wait(seconds: float) -> None:
            rehearsal.wait(seconds)
            bar.update(progress, completed=(clock.today() - date(2026, 4, 1)).days,
                       day=f"{clock.today():%d %b %Y}")

        rt.waiter = wait
        with runtime_mod.use(rt):
            result = annual_cycle(cycle_id, until_complete=True)
        bar.update(progress, completed=year)
    sink.stop()

    with rt.register.session() as session:
        rows = cycle_status(session, cycle_id, clock.today(), rt.calendar)
        summary = _summary(session, cycle_id)
    _print_calendar(rt, cycle_id)
    table = Table(title="Tasks")
    for col in ("outcome", "tasks"):
        table.add_column(col)
    for outcome, n in summary["outcomes"].items():
        table.add_row(outcome, str(n))
    console.print(table)
    roles = Table(title="Messages sent per role")
    roles.add_column("role")
    roles.add_column("messages", justify="right")
    for role, n in summary["per_role"].most_common():
        roles.add_row(role, str(n))
    console.print(roles)
    console.print(f"Cycle complete: {result.get('complete')} — {len(rows)} tasks, "
                  f"{rehearsal.days} working days simulated in "
                  f"{time.perf_counter() - started:.0f} s.", highlight=False)
    console.print(f"Mailbox: {sink.folder.relative_to(ROOT)}/ ({sink.count} emails)")
    console.print(f"Register: {(OUT / 'home' / 'register.db').relative_to(ROOT)} "
                  "(plancycle cycle status --as-of 2027-03-31 with "
                  "PLANCYCLE_HOME=demo-output/home)")


def _summary(session, cycle_id: str) -> dict:  # type: ignore[no-untyped-def]
    from plancycle.register.models import (
        Assignment,
        Notification,
        RoleHolder,
        Task,
    )

    escalated = {n.assignment_id for n in session.scalars(select(Notification).where(
        Notification.cycle_id == cycle_id, Notification.kind == "escalation"))}
    outcomes: Counter[str] = Counter()
    for task in session.scalars(select(Task).where(Task.cycle_id == cycle_id)):
        done = [a for a in task.assignments if a.completed_at]
        late = any(a.completed_at.date() > a.due_on for a in done)
        if any(a.id in escalated for a in task.assignments):
            outcomes["escalated"] += 1
        elif late:
            outcomes["late"] += 1
        else:
            outcomes["on time"] += 1
    roles = {}
    for holder in session.scalars(select(RoleHolder).where(RoleHolder.cycle_id == cycle_id)):
        roles.setdefault(holder.person_id, holder.role_name)
    per_role: Counter[str] = Counter()
    for n in session.scalars(select(Notification).where(Notification.cycle_id == cycle_id,
                                                        Notification.status == "sent")):
        per_role[roles.get(n.person_id, "other")] += 1
    del Assignment
    return {"outcomes": outcomes, "per_role": per_role}


def _print_calendar(rt, cycle_id: str) -> None:  # type: ignore[no-untyped-def]
    from plancycle.cli.cycle_cmd import show_calendar

    show_calendar(rt.register, cycle_id)


if __name__ == "__main__":
    main()
