"""``make demo``: rehearse the sample trust's whole planning year on the simulated clock.

Everything is real except time and people: a local Prefect server (its UI is browsable),
the register (SQLite), the web portal, real uploads of a synthetic trust's returns validated
with Great Expectations, the plan document (HTML + PDF), the board gates, the submission
package delivered to an outbox and to a loopback "ICS" HTTP endpoint, and every email sent
through Apprise and SMTP into a local mail sink (``demo-output/mail/*.eml``).

People are scripted: the ESR extract is first uploaded with errors and fixed the next day,
some returns are late, the activity plan arrives only after escalation, the board rejects
the first draft. Safe to re-run: each run starts from a clean ``demo-output/``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import threading
import time
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# An ephemeral Prefect API (the fallback) prints its own shutdown noise when the demo ends.
os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import select  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
OUT = ROOT / "demo-output"
console = Console()

START, END = date(2026, 4, 1), date(2027, 3, 31)
SCRIPT_OFFSETS = {"staff_in_post_return": 4, "pay_budget_return": 2, "leavers_return": 1,
                  "service_review_current": 3}
UNTIL_ESCALATED = {"activity_plan_return"}
TRUST_SIZE = 1500


# --- local services ---------------------------------------------------------------------------

class IcsEndpoint:
    """A loopback stand-in for the ICS's submission endpoint: stores what it receives."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        received = folder

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                name = f"received-{len(list(received.iterdir())) + 1}.zip"
                (received / name).write_bytes(body)
                self.send_response(201)
                self.end_headers()
                self.wfile.write(b'{"status": "received"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/submissions"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def start_portal(runtime: Any, port: int) -> Any:
    import uvicorn

    from plancycle.portal import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return server


# --- the synthetic trust's returns ------------------------------------------------------------

class TrustReturns:
    """Files the scripted people upload: good ones, and a broken first ESR extract."""

    def __init__(self, folder: Path, service_leads: list[str], size: int = TRUST_SIZE) -> None:
        from plancycle.synthetic import generate_trust, write_trust

        self.good = write_trust(generate_trust(size=size, seed=7), folder / "returns")
        broken = generate_trust(size=size, seed=7, defects={"wte_out_of_range"})
        self.broken = write_trust({"staff_in_post": broken["staff_in_post"]}, folder / "broken")
        self.leads = service_leads
        self.parts = self._split_service_changes(folder / "returns" / "by-service")

    def _split_service_changes(self, folder: Path) -> dict[str, Path]:
        """Each service lead returns the service-change intentions of their own services."""
        import pandas as pd

        folder.mkdir(parents=True, exist_ok=True)
        changes = pd.read_csv(self.good["service_changes"])
        parts = {}
        for i, lead in enumerate(self.leads):
            path = folder / f"service_changes-{lead}.csv"
            changes.iloc[i::len(self.leads)].to_csv(path, index=False)
            parts[lead] = path
        return parts

    def __call__(self, kind: str, person: str, attempt: int) -> tuple[bytes, str]:
        if kind == "staff_in_post" and attempt == 0:
            path = self.broken["staff_in_post"]
        elif kind == "service_changes":
            path = self.parts.get(person, next(iter(self.parts.values())))
        else:
            path = self.good[kind]
        return path.read_bytes(), path.name


# --- the rehearsal ----------------------------------------------------------------------------

def main(out: Path = OUT, trust_size: int = TRUST_SIZE, start_server: bool = True,
         keep_serving: bool = False) -> int:
    """Rehearse the year into ``out``; 0 when the cycle completed."""
    out.mkdir(exist_ok=True)
    for child in out.iterdir():  # a clean slate, but keep the folder (it may be open)
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    home = out / "home"
    home.mkdir()
    os.environ["PLANCYCLE_HOME"] = str(home)
    os.environ["PLANCYCLE_DATABASE_URL"] = f"sqlite:///{home / 'register.db'}"
    os.environ.setdefault("PLANCYCLE_PLANNER_TOKEN", secrets.token_urlsafe(12))
    started = time.perf_counter()

    prefect_server, prefect_url, caching = None, None, None
    if start_server:
        from plancycle.cli import flowrun

        configured = flowrun.api_url()
        if configured and flowrun.answers(configured) is None:
            # A server the user already runs: the year's flow runs are recorded there.
            prefect_url = configured.rstrip("/").removesuffix("/api")
            console.print(f"Using the Prefect server at PREFECT_API_URL={configured}",
                          highlight=False)
        else:
            from plancycle import prefect_local

            prefect_server, prefect_url = prefect_local.launch(
                out / "prefect", out / "prefect-server.log")
            caching = prefect_local.prepare_cache()
    if prefect_url:
        os.environ["PREFECT_API_URL"] = f"{prefect_url}/api"
        os.environ["PREFECT_UI_URL"] = prefect_url

    from plancycle.mailsink import MailSink, free_port

    portal_port = 8000 if _port_free(8000) else free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    os.environ["PLANCYCLE_PORTAL_URL"] = portal_url
    ics = IcsEndpoint(out / "ics-endpoint")
    os.environ["PLANCYCLE_ICS_SUBMISSION_URL"] = ics.url

    from plancycle import runtime as runtime_mod
    from plancycle.clock import SimulatedClock
    from plancycle.config import load_config
    from plancycle.notify.channels import AppriseChannels
    from plancycle.register.cycles import start_cycle
    from plancycle.runtime import Runtime
    from plancycle.simulation import Rehearsal, Script

    config = load_config(SAMPLE)
    console.print(f"[green]✓[/] {SAMPLE.relative_to(ROOT)} is valid: {len(config.stages)} stages,"
                  f" {len(config.tasks())} tasks, {len(config.people)} people", highlight=False)
    with console.status(f"Generating a synthetic trust of {trust_size:,} staff…"):
        trust = TrustReturns(out, list(config.role("service_lead").holders), trust_size)
    from flows.analysis import build_workforce_plan
    from flows.annual_cycle import annual_cycle
    from flows.submission import submit_cycle
    from plancycle.returns import warm_up

    with console.status("Loading Great Expectations…"):
        warm_up()
    if prefect_server is not None and prefect_url:
        with console.status("Waiting for the local Prefect server (API and UI)…"):
            from plancycle import prefect_local

            if not prefect_local.wait_until_healthy(prefect_server, prefect_url):
                # Never fall back to a temporary in-process server: it can time out too.
                console.print(
                    f"[red]The local Prefect server did not start[/] (see "
                    f"{out / 'prefect-server.log'}). Start one with `prefect server start` "
                    "and `export PREFECT_API_URL=http://127.0.0.1:4200/api`, then run the "
                    "demo again: it uses that server.", highlight=False)
                ics.stop()
                if caching is not None:  # let the cache finish rather than leave a scratch
                    caching.join(timeout=120)
                return 2
    sink = MailSink(out / "mail").start()
    clock = SimulatedClock(START)
    rt = Runtime.build(clock=clock, channels=AppriseChannels(sink.apprise_url, None))
    with rt.register.session(actor="workforce planner") as session:
        start_cycle(session, config, SAMPLE)
    cycle_id = config.cycle.id
    portal = start_portal(rt, portal_port)

    def draft_the_plan(runtime: Runtime, task_key: str, person_key: str) -> None:
        """The planner builds the plan from the accepted returns, then marks the task done."""
        build_workforce_plan(cycle_id)
        _complete(runtime, cycle_id, task_key, person_key)

    def submit(runtime: Runtime, task_key: str, person_key: str) -> None:
        """The planner submits: package, lock, deliver (completes the task when delivered)."""
        submit_cycle(cycle_id)

    script = Script(offsets=SCRIPT_OFFSETS, until_escalated=UNTIL_ESCALATED,
                    gate_rounds={"board_gate": ["reject"]}, returns=trust,
                    actions={"draft_plan_document": draft_the_plan, "submit_to_ics": submit})
    rehearsal = Rehearsal(rt, cycle_id, script, end=END)
    year = (END - START).days
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[day]}"), TimeElapsedColumn(), console=console) as bar:
        progress = bar.add_task("Rehearsing the planning year", total=year, day="")

        def wait(seconds: float) -> None:
            rehearsal.wait(seconds)
            bar.update(progress, completed=(clock.today() - START).days,
                       day=f"{clock.today():%d %b %Y}")

        rt.waiter = wait
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        # The year's flow runs live in this process and nothing here watches for a dead one,
        # so they send no heartbeats (each run's end would wait up to 1 s for that thread).
        with runtime_mod.use(rt), \
                temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            result = annual_cycle(cycle_id, until_complete=True)
        bar.update(progress, completed=year)
    rehearsed = time.perf_counter() - started

    report(rt, out, cycle_id, result, rehearsal, sink, portal_url, prefect_url, rehearsed)
    if keep_serving and sys.stdin.isatty():
        console.print("\nThe portal and the Prefect UI stay up: press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    portal.should_exit = True
    sink.stop()
    ics.stop()
    if prefect_server is not None:
        prefect_server.terminate()
        prefect_server.wait(timeout=30)
    if caching is not None:
        caching.join(timeout=120)
    return 0 if result.get("complete") else 1


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _complete(runtime: Any, cycle_id: str, task_key: str, person_key: str) -> None:
    from plancycle.assignments import complete_assignment, find_person, find_task

    with runtime.register.session(actor=person_key) as session:
        complete_assignment(session, find_task(session, cycle_id, task_key),
                            find_person(session, cycle_id, person_key), runtime.clock.now())


def report(rt: Any, out: Path, cycle_id: str, result: dict[str, Any], rehearsal: Any, sink: Any,
           portal_url: str, prefect_url: str | None, seconds: float) -> None:
    from plancycle.cli.cycle_cmd import show_calendar
    from plancycle.planning import document_files
    from plancycle.register.models import SubmissionRecord, Upload
    from plancycle.signoff import current_document
    from plancycle.submission import verify_manifest

    show_calendar(rt.register, cycle_id)
    with rt.register.session() as session:
        summary = _summary(session, cycle_id)
        plan = current_document(session, cycle_id, "plan")
        signed = current_document(session, cycle_id, "signed_plan")
        uploads = session.scalars(select(Upload).where(Upload.cycle_id == cycle_id)
                                  .order_by(Upload.id)).all()
        upload_states = Counter(u.state for u in uploads)
        reports = sorted({str(Path(u.stored_path).parent) for u in uploads})
        records = session.scalars(select(SubmissionRecord)
                                  .where(SubmissionRecord.cycle_id == cycle_id)).all()
    table = Table(title="Tasks")
    table.add_column("outcome")
    table.add_column("tasks", justify="right")
    for outcome in ("on time", "late", "escalated"):
        table.add_row(outcome, str(summary["outcomes"][outcome]))
    console.print(table)
    roles = Table(title="Messages sent per role")
    roles.add_column("role")
    roles.add_column("messages", justify="right")
    for role, n in summary["per_role"].most_common():
        roles.add_row(role, str(n))
    console.print(roles)

    def rel(path: Path | str) -> str:
        path = Path(path)
        return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)

    console.print(f"\nCycle complete: {result.get('complete')} — {rehearsal.days} working days "
                  f"rehearsed in {seconds:.0f} s.", highlight=False)
    where = Table(title="Where to look", show_header=False)
    where.add_column("what")
    where.add_column("where", overflow="fold")
    if plan is not None:
        where.add_row("Plan (HTML / PDF)", " / ".join(rel(p) for p in document_files(plan)))
    if signed is not None:
        where.add_row("Signed plan (PDF)", rel(document_files(signed)[1]))
    where.add_row("Returns uploaded", f"{len(uploads)} ({upload_states['accepted']} accepted, "
                                      f"{upload_states['failed']} sent back)")
    where.add_row("DQ reports (HTML beside each raw file)",
                  rel(Path(reports[0]).parent) if reports else "—")
    where.add_row("Mailbox", f"{rel(sink.folder)}/ ({sink.count} emails)")
    for record in records:
        receipt = record.receipt or {}
        where.add_row(f"Submission → {record.destination}",
                      f"{record.status} {rel(receipt['path']) if 'path' in receipt else ''}")
    zips = sorted((out / "home" / "submissions").rglob("manifest.json"))
    if zips:
        check = verify_manifest(zips[-1].parent)
        where.add_row("Submission package", f"{rel(zips[-1].parent)} (manifest "
                                            f"{'verifies' if check.ok else 'DOES NOT verify'})")
    where.add_row("Portal", f"{portal_url}/planner (token: "
                            f"{os.environ.get('PLANCYCLE_PLANNER_TOKEN')}); task links in emails")
    where.add_row("Prefect UI", prefect_url or "— (ephemeral API)")
    where.add_row("Register", f"PLANCYCLE_HOME={rel(out / 'home')} .venv/bin/plancycle "
                              "cycle status")
    console.print(where)


def _summary(session: Any, cycle_id: str) -> dict[str, Any]:
    from plancycle.register.models import Notification, RoleHolder, Task

    escalated = {n.assignment_id for n in session.scalars(select(Notification).where(
        Notification.cycle_id == cycle_id, Notification.kind == "escalation"))}
    outcomes: Counter[str] = Counter()
    for task in session.scalars(select(Task).where(Task.cycle_id == cycle_id)):
        done = [a for a in task.assignments if a.completed_at]
        if any(a.id in escalated for a in task.assignments):
            outcomes["escalated"] += 1
        elif any(a.completed_at.date() > a.due_on for a in done):
            outcomes["late"] += 1
        else:
            outcomes["on time"] += 1
    roles: dict[int, str] = {}
    for holder in session.scalars(select(RoleHolder).where(RoleHolder.cycle_id == cycle_id)):
        roles.setdefault(holder.person_id, holder.role_name)
    per_role: Counter[str] = Counter()
    for n in session.scalars(select(Notification).where(Notification.cycle_id == cycle_id,
                                                        Notification.status == "sent")):
        per_role[roles.get(n.person_id, "other")] += 1
    return {"outcomes": outcomes, "per_role": per_role}


if __name__ == "__main__":
    sys.exit(main(keep_serving="--serve" in sys.argv))
