"""One real stack for the session: Postgres, Prefect's server on it, two process workers,
the deployments and the portal — started by the same code as ``plancycle stack up`` — with
a real SMTP server and chat webhook on loopback in this process, counting what arrives.

Starting it takes ~30-60 s, so it is shared: each test works on its own cycle (its own id)
and clears the servers' inboxes first; Prefect's scheduler is off, so only the runs a test
starts ever run. A part that cannot start fails the session loudly — never a skip.

``PLANCYCLE_TEST_STACK_HOME=/some/folder`` keeps the stack (and the SMTP port) between
pytest runs while developing: it is brought up if needed and left running.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.notify.harness import SmtpServer, Webhook

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
#: Flow runs on the workers start within a few seconds; a run here does a day's work.
RUN_TIMEOUT = 240.0
#: The delivery lease of the test stack's workers (PLANCYCLE_DELIVERY_LEASE_SECONDS).
LEASE_SECONDS = 8


class CountingSmtp(SmtpServer):
    """The harness's SMTP server, with a delay per message (to stop a worker mid-delivery)
    and the ``Message-ID`` of everything received."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__()
        if port:
            self.port = port
        self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)

    def clear(self) -> None:
        with self._lock:
            self.emails.clear()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.emails)

    def message_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(str(e.message.get("Message-ID", "")) for e in self.emails)


@dataclass
class RunningStack:
    stack: Any  # plancycle.stack.Stack
    smtp: CountingSmtp
    webhook: Webhook
    started_in: float
    _clock_env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.stack.api_url

    def env(self) -> dict[str, str]:
        return self.stack.env()

    # --- flow runs on the workers -----------------------------------------------------------
    def start(self, deployment: str, **parameters: Any) -> str:
        """Create a run of ``deployment`` for the workers; its id (nothing waits)."""
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            run = run_deployment(deployment, parameters=parameters, timeout=0,
                                 as_subflow=False)
        return str(run.id)

    def flow_run(self, flow_run_id: str) -> Any:
        from plancycle.stack.orchestrator import client

        with client(self.api_url) as api:
            return api.read_flow_run(flow_run_id)

    def wait(self, *flow_run_ids: str, timeout: float = RUN_TIMEOUT) -> list[Any]:
        """Wait until every run is final; the runs (their states say how they ended)."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [self.flow_run(i) for i in flow_run_ids]
            if all(r.state is not None and r.state.is_final() for r in runs):
                return runs
            if time.monotonic() > deadline:
                raise AssertionError("flow runs still not final after "
                                     f"{timeout:.0f} s: {[(r.name, r.state_name) for r in runs]}"
                                     f"; worker logs in {self.stack.home.logs}")
            time.sleep(1)

    def run(self, deployment: str, **parameters: Any) -> Any:
        (run,) = self.wait(self.start(deployment, **parameters))
        assert run.state.is_completed(), (run.name, run.state_name, run.state.message)
        return run

    def wait_running(self, flow_run_id: str, timeout: float = RUN_TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(flow_run_id)
            if run.state_name == "Running" and run.infrastructure_pid:
                return run
            assert not run.state.is_final(), (run.name, run.state_name, run.state.message)
            time.sleep(0.3)
        raise AssertionError(f"flow run {flow_run_id} never started running")

    def worker_of(self, flow_run: Any) -> str:
        """Which worker part runs ``flow_run`` (its process is below that worker's)."""
        from plancycle.stack import processes

        pid = int(str(flow_run.infrastructure_pid).rsplit(":", 1)[-1])
        for part, worker_pid in self.stack.home.state()["pids"].items():
            if part.startswith("worker-") and pid in processes.descendants(worker_pid):
                return part
        raise AssertionError(f"no worker of this stack runs pid {pid}")

    def kill_worker(self, part: str) -> list[int]:
        """kill -9 of the worker and the flow runs it started (the host dies)."""
        from plancycle.stack import processes

        return processes.kill_hard(self.stack.home.state()["pids"][part])

    def heal(self) -> None:
        """``stack up`` again: brings back whatever is not running (a killed worker)."""
        self.stack.up(_options(), echo=lambda _: None)

    def clear_mail(self) -> None:
        self.smtp.clear()
        with self.webhook._lock:
            self.webhook.received.clear()


def _options() -> Any:
    from plancycle.stack import StackOptions

    # A short delivery lease, so that the pass after a crash finds the dead deliverer's
    # claims lapsed within seconds (production keeps the 5-minute default).
    return StackOptions(workers=2, worker_limit=2, poll_seconds=1, scheduler=False,
                        durable=False, portal=True,
                        env={"PLANCYCLE_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS)})


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    from plancycle.stack import Stack, StackError, StackHome

    keep = os.environ.get("PLANCYCLE_TEST_STACK_HOME")
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="plancycle-stack-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the postgres user must reach its data folder
    port_file = root / "test-smtp-port"
    smtp = CountingSmtp(int(port_file.read_text()) if keep and port_file.exists() else None)
    smtp.start()
    port_file.write_text(str(smtp.port))
    webhook = Webhook()
    webhook.start()
    stack = Stack(StackHome.at(root / "stack"))
    saved = dict(os.environ)
    os.environ.update({"PLANCYCLE_EMAIL_URL": smtp.apprise_url,
                       "PLANCYCLE_CHAT_URL": webhook.apprise_url})
    started = time.monotonic()
    try:
        stack.up(_options(), echo=lambda _: None)
    except StackError as exc:
        stack.down(echo=lambda _: None)
        pytest.fail(f"the stack did not come up (Postgres, Prefect server and workers are "
                    f"required for these tests): {exc}", pytrace=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    running = RunningStack(stack, smtp, webhook, time.monotonic() - started)
    yield running
    if not keep:
        stack.down(echo=lambda _: None)
        shutil.rmtree(root, ignore_errors=True)
    smtp.stop()
    webhook.stop()


@pytest.fixture
def mail(stack: RunningStack) -> RunningStack:
    """The stack with empty inboxes and a punctual SMTP server."""
    stack.clear_mail()
    stack.smtp.delay = 0.0
    stack.smtp.start()
    yield stack
    stack.smtp.delay = 0.0
    stack.smtp.start()


# --- a cycle of the test's own in the stack's register --------------------------------------

@pytest.fixture
def on_stack(stack: RunningStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Build a runtime in this process on the stack's register (simulated clock, messages
    recorded here, never sent: the workers send), with a copy of a cycle file given its own
    id so every test has its own cycle."""
    from plancycle.clock import SimulatedClock
    from plancycle.config import load_config
    from plancycle.notify.channels import RecordingChannels
    from plancycle.register.cycles import start_cycle
    from plancycle.runtime import Runtime

    env = stack.env()
    for name in ("PLANCYCLE_HOME", "PLANCYCLE_LINK_SECRET", "PLANCYCLE_PORTAL_URL"):
        monkeypatch.setenv(name, env[name])
    built: list[Runtime] = []

    def build(name: str, config: Path = SAMPLE, day: date = date(2026, 4, 1)
              ) -> tuple[Runtime, str]:
        """A runtime and the id of a new cycle (``name`` plus a unique suffix)."""
        cycle_id = f"{name}-{uuid.uuid4().hex[:8]}"
        text = config.read_text()
        original = re.search(r"^cycle:\s*\n\s+id:\s*(\S+)", text, re.M)
        assert original, f"{config} has no cycle id"
        copy = tmp_path / f"{cycle_id}.yaml"
        copy.write_text(text.replace(f"id: {original.group(1)}", f"id: {cycle_id}", 1))
        rt = Runtime.build(clock=SimulatedClock(day), channels=RecordingChannels(),
                           database_url=env["PLANCYCLE_DATABASE_URL"],
                           portal_url=env["PLANCYCLE_PORTAL_URL"])
        with rt.register.session(actor="planner") as session:
            start_cycle(session, load_config(copy), copy)
        built.append(rt)
        return rt, cycle_id

    yield build
    for rt in built:
        rt.register.dispose()


def ledger(rt: Any, cycle_id: str) -> list[Any]:
    """The cycle's email and chat rows: (channel, status, email, subject, body, key)."""
    from sqlalchemy import select

    from plancycle.register.models import Notification, Person

    with rt.register.session() as session:
        return session.execute(
            select(Notification.channel, Notification.status, Person.email,
                   Notification.subject, Notification.body, Notification.idempotency_key)
            .join(Person, Notification.person_id == Person.id)
            .where(Notification.cycle_id == cycle_id,
                   Notification.channel.in_(["email", "chat"]))).all()


def unsettled(rows: list[Any]) -> list[Any]:
    """Rows neither sent nor deliberately not sent (cancelled, superseded, digested)."""
    return [r for r in rows if r.status not in ("sent", "cancelled", "superseded", "digested")]


def _excess(received: Counter[Any], expected: Counter[Any]) -> dict[Any, int]:
    assert set(received) == set(expected), (
        f"lost: {sorted(set(expected) - set(received))[:5]}; "
        f"unexpected: {sorted(set(received) - set(expected))[:5]}")
    return {k: n - expected[k] for k, n in received.items() if n != expected[k]}


def sent_once_each(stack: RunningStack, rows: list[Any], *, allow_twice: int = 0) -> None:
    """What the servers received is exactly the register's sent rows, each once — or, for
    at most ``allow_twice`` messages (those in flight at a crash), twice with one Message-ID.
    """
    sent = [r for r in rows if r.status == "sent"]
    emails = _excess(Counter((e.to, e.subject) for e in stack.smtp.emails),
                     Counter((r.email, r.subject) for r in sent if r.channel == "email"))
    posts = _excess(Counter((p.title, p.message) for p in stack.webhook.posts),
                    Counter((r.subject, r.body) for r in sent if r.channel == "chat"))
    twice = {**emails, **posts}
    assert all(n == 1 for n in twice.values()), f"sent more than twice: {twice}"
    assert len(twice) <= allow_twice, f"{len(twice)} messages sent twice: {list(twice)[:5]}"
    for key in emails:
        ids = {str(e.message.get("Message-ID")) for e in stack.smtp.emails
               if (e.to, e.subject) == key}
        assert len(ids) == 1, f"the resend of {key} must carry the same Message-ID: {ids}"


def wait_claims_lapsed(rt: Any, cycle_id: str) -> None:
    """Until no message of the cycle is held by a deliverer's lease: what the next pass
    after a crash needs before it can take the dead deliverer's claims."""
    from sqlalchemy import func, select

    from plancycle.register.models import Notification

    def lapsed() -> bool:
        with rt.register.session() as session:
            return not session.scalar(select(func.count()).select_from(Notification).where(
                Notification.cycle_id == cycle_id,
                Notification.claimed_until > datetime.now(UTC)))

    wait_for(lapsed, timeout=LEASE_SECONDS * 3, what="the dead deliverer's claims to lapse")


def walk(rt: Any, cycle_id: str, last: date) -> None:
    """Every working day up to ``last``: the engine opens what is due; nobody does
    anything and nothing is delivered (the workers will deliver it)."""
    day = rt.clock.today()
    while day <= last:
        if rt.calendar.is_working_day(day):
            rt.clock.set(day)
            rt.advance(cycle_id)
        day = date.fromordinal(day.toordinal() + 1)


def wait_for(check: Any, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(0.2)


def link_now(rt: Any, cycle_id: str, task_key: str, person: str) -> str:
    """A task link for ``person``'s assignment, signed now: the portal runs on the real clock,
    the cycle on a simulated one whose links would have expired."""
    from plancycle.assignments import find_person, find_task
    from plancycle.clock import SystemClock
    from plancycle.links import RegisterRevocations, TaskLinks, link_secret

    with rt.register.session() as session:
        task = find_task(session, cycle_id, task_key)
        who = find_person(session, cycle_id, person)
        assignment = next(a.id for a in task.assignments if a.person_id == who.id)
    links = TaskLinks(link_secret(), None, SystemClock(),
                      revocations=RegisterRevocations(rt.register))
    return "/t/" + links.token(person, assignment, cycle_id)


def planner_dashboard(stack: RunningStack, cycle_id: str) -> str:
    """The planner's dashboard of a cycle, as the stack's portal serves it (logged in)."""
    import httpx

    env = stack.env()
    with httpx.Client(base_url=env["PLANCYCLE_PORTAL_URL"], timeout=30) as web:
        page = web.get("/planner/login")
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert csrf, "the login page has no CSRF token"
        web.post("/planner/login", data={"csrf_token": csrf.group(1),
                                         "token": env["PLANCYCLE_PLANNER_TOKEN"]})
        page = web.get(f"/planner/cycles/{cycle_id}")
        assert page.status_code == 200, page.status_code
        return page.text
