"""Prefect's side of the stack: its server on Postgres, the work pool, workers, deployments.

Everything here is Prefect's own machinery — ``prefect server start`` (API, UI, scheduler,
event triggers and automations), a ``process`` work pool, ``prefect worker start`` per
worker and ``prefect deploy`` of ``deployments/prefect.yaml`` — set up idempotently, plus
the two things a production server needs that a fresh one lacks: the pool, and the
automation that marks a flow run ``Crashed`` when its heartbeats stop (a worker host killed
mid-run), so a crashed run is not followed as if it were still running.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from plancycle.stack.postgres import StackError

POOL = "plancycle"
CHASER = "chaser/daily-chaser"
ZOMBIE_AUTOMATION = "plancycle: flow runs that stop sending heartbeats are crashed"
#: Flow runs send a heartbeat this often (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, at least 30)…
HEARTBEAT_SECONDS = 30
#: … and are marked Crashed when none arrived for this long.
HEARTBEAT_GRACE = timedelta(seconds=90)
ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "deployments" / "prefect.yaml"


def server_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
            "--port", str(port)]


def worker_argv(name: str, limit: int | None) -> list[str]:
    argv = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type",
            "process", "--name", name]
    return [*argv, "--limit", str(limit)] if limit else argv


@contextmanager
def client(api_url: str) -> Iterator[Any]:
    """A synchronous Prefect client for ``api_url`` (whatever PREFECT_API_URL says)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), \
            get_client(sync_client=True) as api:
        yield api


def healthy(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def version(api_url: str) -> str | None:
    import httpx

    try:
        return str(httpx.get(f"{api_url}/admin/version", timeout=2).json())
    except (httpx.HTTPError, ValueError):
        return None


# --- work pool and automation -----------------------------------------------------------------

def ensure_pool(api_url: str) -> bool:
    """The ``process`` work pool with Prefect's default job template; True if created now."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with client(api_url) as api:
        try:
            api.read_work_pool(POOL)
            return False
        except ObjectNotFound:
            pass
        api.create_work_pool(WorkPoolCreate(
            name=POOL, type="process",
            description="plancycle's flows (see deployments/prefect.yaml)",
            base_job_template=ProcessWorker.get_default_base_job_template()))
    return True


def ensure_zombie_automation(api_url: str) -> bool:
    """Crash flow runs whose heartbeats stopped (Prefect's documented recipe); True if new."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    with client(api_url) as api:
        if api.read_automations_by_name(ZOMBIE_AUTOMATION):
            return False
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        Automation(
            name=ZOMBIE_AUTOMATION,
            description="A worker host that dies mid-run leaves its flow run Running; this "
                        "marks it Crashed once heartbeats stop, so it is not followed.",
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"},
                expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed",
                        "prefect.flow-run.Failed", "prefect.flow-run.Cancelled",
                        "prefect.flow-run.Crashed"},
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
                within=HEARTBEAT_GRACE),
            actions=[ChangeFlowRunState(
                state=StateType.CRASHED,
                message="No heartbeat from this flow run: its worker stopped mid-run.")],
        ).create()
    return True


# --- deployments ------------------------------------------------------------------------------

def deployments_fingerprint() -> str:
    """What the deployments are built from: prefect.yaml and the flows' entrypoints."""
    digest = hashlib.sha256(PREFECT_YAML.read_bytes())
    for path in sorted((ROOT / "flows").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def deployment_names(api_url: str) -> list[str]:
    """``flow/deployment`` of every deployment the server has."""
    with client(api_url) as api:
        flows = {f.id: f.name for f in api.read_flows()}
        return sorted(f"{flows.get(d.flow_id, '?')}/{d.name}" for d in api.read_deployments())


def expected_deployments() -> set[str]:
    """The deployment names declared in deployments/prefect.yaml."""
    import yaml

    return {entry["name"] for entry in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}


def deploy(env: dict[str, str], log: Path) -> None:
    """``prefect deploy --all`` of deployments/prefect.yaml (upserts; safe to repeat)."""
    argv = [sys.executable, "-m", "prefect", "deploy", "--all", "--no-prompt",
            "--prefect-file", str(PREFECT_YAML)]
    with open(log, "ab") as out:
        out.write(f"\n--- {datetime.now():%Y-%m-%d %H:%M:%S} {' '.join(argv)}\n".encode())
        out.flush()
        done = subprocess.run(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                              timeout=600, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise StackError(f"`prefect deploy` failed (exit {done.returncode}); {log} ends:\n{tail}")


# --- what status shows ------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerState:
    name: str
    status: str
    last_heartbeat: datetime | None

    def polling(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return (self.status == "ONLINE" and self.last_heartbeat is not None
                and now - self.last_heartbeat < timedelta(seconds=90))


def workers(api_url: str) -> list[WorkerState]:
    with client(api_url) as api:
        found = api.read_workers_for_work_pool(POOL)
    return [WorkerState(w.name, str(getattr(w.status, "value", w.status)),
                        w.last_heartbeat_time) for w in found]


def pool_status(api_url: str) -> str | None:
    from prefect.exceptions import ObjectNotFound

    with client(api_url) as api:
        try:
            pool = api.read_work_pool(POOL)
        except ObjectNotFound:
            return None
    return str(getattr(pool.status, "value", pool.status))


@dataclass(frozen=True)
class NextRun:
    when: datetime
    flow_run: str | None  # the scheduled run's name, None: computed from the schedule
    schedule: str


def next_run(api_url: str, deployment: str = CHASER) -> NextRun | None:
    """The deployment's next scheduled run: the one Prefect's scheduler has created, or —
    before the scheduler's first pass — the next time its schedule gives."""
    import asyncio

    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.exceptions import ObjectNotFound

    with client(api_url) as api:
        try:
            found = api.read_deployment_by_name(deployment)
        except ObjectNotFound:
            return None
        runs = api.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1)
    active = [s for s in found.schedules if s.active]
    if not active:
        return None
    schedule = active[0].schedule
    described = f"{getattr(schedule, 'cron', schedule)} ({getattr(schedule, 'timezone', '')})"
    if runs and runs[0].expected_start_time:
        return NextRun(runs[0].expected_start_time, runs[0].name, described)
    from prefect.server.schemas.schedules import CronSchedule

    cron = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    dates = asyncio.run(cron.get_dates(n=1, start=datetime.now(UTC)))
    return NextRun(dates[0], None, described) if dates else None
