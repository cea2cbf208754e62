"""Bench: a region's day on the production stack — 40 organisations' cycles as separate flow
runs on the workers, the ICS roll-up that starts them, then the daily chaser.

    .venv/bin/python bench/region.py [--organisations 40] [--worker-limit 2] [--keep]

Brings up a throwaway stack (``plancycle stack up`` in a temporary folder: Postgres, Prefect
server, process workers; no portal, no scheduler) with a counting SMTP server on loopback in
this process, then runs the same day twice, once with 1 worker and once with 2 (each worker
running at most ``--worker-limit`` flow runs at once), each round on fresh cycles:

1. ``--organisations`` copies of the sample trust's cycle (own ids and ORG_CODEs) and one ICS
   system cycle whose members they are, started in the stack's register (not timed);
2. **timed**: one ``ics-rollup`` run on the pool, which starts one ``annual-cycle`` run per
   organisation on the pool (``run_deployment``) and follows them; each organisation's run
   reconciles its cycle with today (stages open, tasks assigned) and sends the "new task"
   emails; then the ``daily-chaser`` deployment's run, which starts one chaser run per open
   cycle on the pool, each chasing and delivering its cycle's reminders and escalations.

Prints, per round: wall time (from the trigger to the last run's end), flow runs per minute,
emails per second as counted at the SMTP server, and the ratio of the two rounds (does a
second worker help?). The cycles run on the real clock: what opens depends on today's date
(printed). The machine is shared; run it when it is quiet, and read the ratio, not the
absolute numbers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plancycle.stack import Stack, StackHome, StackOptions  # noqa: E402
from plancycle.stack.home import free_port  # noqa: E402
from plancycle.stack.orchestrator import client  # noqa: E402

SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
ICS = ROOT / "cycle_config" / "ics_annual_cycle.yaml"
TYPES = ("acute", "community", "mental_health", "ambulance")
PLACES = ("North", "South", "East", "West")


# --- the SMTP server counting what arrives -----------------------------------------------------

class CountingSmtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self._lock = threading.Lock()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        now = time.monotonic()
        with self._lock:
            self.count += 1
            self.first = self.first or now
            self.last = now
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def reset(self) -> None:
        with self._lock:
            self.count, self.first, self.last = 0, None, None

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=planning@region.example&mode=insecure"


# --- the region's cycle files ---------------------------------------------------------------------

def organisation_file(folder: Path, prefix: str, code: str) -> tuple[Path, str]:
    cycle_id = f"{prefix}-{code.lower()}-2026-27"
    text = SAMPLE.read_text().replace("id: rxx-2026-27", f"id: {cycle_id}", 1)
    text = text.replace("org_code: RXX", f"org_code: {code}", 1)
    text = text.replace("name: Riverside Hospitals NHS Foundation Trust",
                        f"name: Bench Trust {code}", 1)
    path = folder / f"{cycle_id}.yaml"
    path.write_text(text)
    return path, cycle_id


def system_file(folder: Path, prefix: str, codes: list[str]) -> tuple[Path, str]:
    """The sample ICS cycle with ``codes`` as its members (one submission task each)."""
    data = yaml.safe_load(ICS.read_text())
    cycle_id = f"{prefix}-region-2026-27"
    data["cycle"]["id"] = cycle_id
    data["ics"]["organisations"] = [
        {"org_code": code, "name": f"Bench Trust {code}", "type": TYPES[i % len(TYPES)],
         "place": PLACES[i % len(PLACES)], "workforce_planner": f"planner.{code.lower()}",
         "exec_sponsor": f"sponsor.{code.lower()}"} for i, code in enumerate(codes)]
    for code in codes:
        low = code.lower()
        data["people"] += [
            {"id": f"planner.{low}", "name": f"Planner {code}", "email": f"planner@{low}.example",
             "line_manager": f"sponsor.{low}"},
            {"id": f"sponsor.{low}", "name": f"Sponsor {code}", "email": f"sponsor@{low}.example"}]
        data["roles"] += [
            {"id": f"{low}_workforce_planner", "name": f"Workforce Planner ({code})",
             "holders": [f"planner.{low}"]},
            {"id": f"{low}_exec_sponsor", "name": f"Executive Sponsor ({code})",
             "holders": [f"sponsor.{low}"]}]
    stage = next(s for s in data["stages"] if s["id"] == "organisation_plans")
    template = dict(stage["tasks"][0])
    stage["tasks"] = [{**template, "id": f"submit_{c.lower()}_plan",
                       "name": f"Submit Bench Trust {c}'s workforce plan",
                       "role": f"{c.lower()}_workforce_planner",
                       "chasing": {"escalation": [
                           {"after_working_days_overdue": 3,
                            "to": f"role:{c.lower()}_exec_sponsor"},
                           {"after_working_days_overdue": 10,
                            "to": "role:chief_people_officer"}]}}
                      for c in codes]
    for other in data["stages"]:
        for task in other["tasks"]:
            if task["id"] == "rollup_system_tables":
                task["depends_on"] = [f"submit_{c.lower()}_plan" for c in codes]
    path = folder / f"{cycle_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path, cycle_id


def start_cycles(stack: Stack, paths: list[Path]) -> None:
    from plancycle.config import load_config
    from plancycle.register import Register
    from plancycle.register.cycles import start_cycle

    register = Register(stack.register_url)
    try:
        with register.session(actor="bench") as session:
            for path in paths:
                start_cycle(session, load_config(path), path)
    finally:
        register.dispose()


def close_cycles(stack: Stack, cycle_ids: list[str]) -> None:
    """Take a round's cycles out of the next round's chaser run."""
    from sqlalchemy import update

    from plancycle.register import Register
    from plancycle.register.models import Cycle, CycleState

    register = Register(stack.register_url)
    try:
        with register.session(actor="bench") as session:
            session.execute(update(Cycle).where(Cycle.id.in_(cycle_ids))
                            .values(state=CycleState.CLOSED))
    finally:
        register.dispose()


# --- running a round on the workers --------------------------------------------------------

def start_run(api_url: str, deployment: str, **parameters: Any) -> str:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        return str(run_deployment(deployment, parameters=parameters, timeout=0,
                                  as_subflow=False).id)


def runs_of(api_url: str, flow: str, cycle_ids: set[str]) -> list[Any]:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with client(api_url) as api:
        runs = api.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])),
                                  limit=200)
    return [r for r in runs if r.parameters.get("cycle_id") in cycle_ids]


def wait_final(api_url: str, ids: list[str], timeout: float = 3600) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        with client(api_url) as api:
            runs = [api.read_flow_run(i) for i in ids]
        if all(r.state and r.state.is_final() for r in runs):
            return runs
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs not final after {timeout:.0f} s")
        time.sleep(1)


def children(api_url: str, flow: str, cycle_ids: list[str]) -> list[Any]:
    """The runs a dispatcher started, one per cycle, once they have all ended."""
    found: list[Any] = []
    deadline = time.monotonic() + 600
    while len(found) < len(cycle_ids):
        assert time.monotonic() < deadline, f"only {len(found)} {flow} runs were started"
        found = runs_of(api_url, flow, set(cycle_ids))
        time.sleep(0.5)
    return wait_final(api_url, [str(r.id) for r in found])


def one_round(stack: Stack, smtp: CountingSmtp, workers: int, limit: int, n: int,
              folder: Path) -> dict[str, float]:
    stack.up(StackOptions(workers=workers, worker_limit=limit, scheduler=False, portal=False,
                          durable=False, poll_seconds=1), echo=lambda _: None)
    prefix = f"w{workers}"
    codes = [f"B{i:02d}" for i in range(1, n + 1)]
    organisations = [organisation_file(folder, prefix, code) for code in codes]
    system_path, system_id = system_file(folder, prefix, codes)
    start_cycles(stack, [p for p, _ in organisations] + [system_path])
    org_ids = [cycle_id for _, cycle_id in organisations]
    smtp.reset()

    started = time.monotonic()
    t0 = datetime.now(UTC)
    rollup = start_run(stack.api_url, "ics-rollup/ics-rollup", ics_cycle_id=system_id,
                       organisation_cycle_ids=org_ids)
    (rollup_run,) = wait_final(stack.api_url, [rollup])
    org_runs = children(stack.api_url, "annual-cycle", org_ids)
    organisations_done = time.monotonic() - started
    emails_by_orgs = smtp.count
    chaser = start_run(stack.api_url, "chaser/daily-chaser")
    (chaser_run,) = wait_final(stack.api_url, [chaser])
    chaser_runs = children(stack.api_url, "chaser", [*org_ids, system_id])
    runs = [rollup_run, *org_runs, chaser_run, *chaser_runs]
    end = max(r.end_time for r in runs)
    wall = (end - t0).total_seconds()
    failed = [r.name for r in runs if not r.state.is_completed()]
    close_cycles(stack, [*org_ids, system_id])
    return {"workers": workers, "wall": wall, "runs": len(runs), "failed": len(failed),
            "runs_per_minute": len(runs) / wall * 60, "organisations_done": organisations_done,
            "emails": smtp.count, "emails_by_orgs": emails_by_orgs,
            "emails_per_second": smtp.count / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=40)
    parser.add_argument("--worker-limit", type=int, default=2,
                        help="flow runs each worker runs at once (default 2)")
    parser.add_argument("--keep", action="store_true", help="leave the stack's folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="plancycle-region-"))
    root.chmod(0o755)
    smtp = CountingSmtp()
    smtp.start()
    import os

    os.environ["PLANCYCLE_EMAIL_URL"] = smtp.url
    os.environ.pop("PLANCYCLE_CHAT_URL", None)
    stack = Stack(StackHome.at(root / "stack"))
    print(f"region rehearsal on the stack: {args.organisations} organisations + 1 ICS, "
          f"as of {date.today():%a %d %b %Y}, worker limit {args.worker_limit}, "
          f"stack in {root}", flush=True)
    results = []
    try:
        for workers in (1, 2):
            result = one_round(stack, smtp, workers, args.worker_limit, args.organisations,
                               root)
            results.append(result)
            print(f"{workers} worker{'s' if workers > 1 else ' '}: wall {result['wall']:6.1f} s, "
                  f"{result['runs']} flow runs ({result['failed']} not completed), "
                  f"{result['runs_per_minute']:5.1f} runs/min, {result['emails']} emails "
                  f"({result['emails_by_orgs']} from the organisations' runs), "
                  f"{result['emails_per_second']:5.1f} emails/s", flush=True)
    finally:
        stack.down(echo=lambda _: None)
        smtp.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    one, two = results
    print(f"2 workers vs 1: wall {one['wall'] / two['wall']:.2f}x faster, runs/min "
          f"{two['runs_per_minute'] / one['runs_per_minute']:.2f}x, emails/s "
          f"{two['emails_per_second'] / one['emails_per_second']:.2f}x "
          "(on a machine with 2 cores shared with other work)")


if __name__ == "__main__":
    main()
