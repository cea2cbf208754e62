"""Fixtures for the sign-off and submission scenarios: a small cycle with a board gate."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from plancycle.clock import SimulatedClock
from plancycle.register.models import Assignment, AssignmentState, Task
from plancycle.runtime import Runtime
from plancycle.signoff import register_document
from tests.engine.conftest import build_runtime

HERE = Path(__file__).resolve().parent
CYCLE = "rgg-2026-27"
GATE = "board_gate"


def write_config(directory: Path, quorum: str = "all") -> Path:
    path = directory / f"cycle-{quorum}.yaml"
    path.write_text((HERE / "board_small.yaml").read_text().replace("__QUORUM__", quorum))
    return path


@pytest.fixture
def start(home, clock, recording) -> Iterator[Callable[..., Runtime]]:
    """Start the small cycle with a given quorum; returns its runtime."""
    runtimes: list[Runtime] = []

    def _start(quorum: str = "all") -> Runtime:
        rt = build_runtime(home, clock, recording, write_config(home, quorum))
        runtimes.append(rt)
        return rt

    yield _start
    for rt in runtimes:
        rt.register.dispose()


def do_open_work(rt: Runtime, cycle_id: str = CYCLE, skip: frozenset[str] = frozenset()
                 ) -> list[str]:
    """Everyone with open non-gate work completes it now."""
    done = []
    with rt.register.session(actor="test") as session:
        rows = session.execute(select(Assignment, Task).join(Task).where(
            Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN,
            Task.kind != "gate")).all()
        for assignment, task in rows:
            if task.state == "open" and task.key not in skip:
                assignment.state = AssignmentState.COMPLETE
                assignment.completed_at = rt.clock.now()
                done.append(task.key)
    return done


def walk_to(rt: Runtime, task_key: str = GATE, cycle_id: str = CYCLE,
            on_day: Callable[[Runtime], None] | None = None) -> None:
    """Walk the working days, everyone doing their work, until ``task_key`` is open."""
    clock = rt.clock
    assert isinstance(clock, SimulatedClock)
    for _ in range(80):
        rt.advance(cycle_id)
        rt.deliver(cycle_id)
        with rt.register.session() as session:
            state = session.scalars(select(Task.state).where(
                Task.cycle_id == cycle_id, Task.key == task_key)).one()
        if state == "open":
            return
        if on_day:
            on_day(rt)
        do_open_work(rt, cycle_id, skip=frozenset({task_key}))
        clock.set(rt.calendar.add_working_days(clock.today(), 1))
    raise AssertionError(f"{task_key} never opened")


def register_plan(rt: Runtime, text: str, cycle_id: str = CYCLE) -> str:
    """Issue a plan version (a file under the home) and register it; returns its SHA-256."""
    data = text.encode()
    sha = hashlib.sha256(data).hexdigest()
    path = Path(rt.register.url.removeprefix("sqlite:///")).parent / "documents" / f"{sha}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with rt.register.session(actor="planner") as session:
        register_document(session, cycle_id, "plan", sha, str(path), rt.clock.now(),
                          rt.calendar)
    return sha


# --- a loopback ICS receiver ------------------------------------------------------------------

class Receiver:
    """A real HTTP server on 127.0.0.1 that plays the ICS endpoint.

    ``script`` lists the status codes of successive POSTs (then 200 for ever); it keeps each
    request's headers and body and accepts a package once per Idempotency-Key.
    """

    def __init__(self, script: list[int] | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.script = list(script or [])
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.accepted: dict[str, bytes] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = receiver.script.pop(0) if receiver.script else 200
                receiver.requests.append((dict(self.headers), body, code))
                if code == 200:
                    key = self.headers["Idempotency-Key"]
                    receiver.accepted.setdefault(key, body)
                    reply = f'{{"receipt": "ICS-{len(receiver.accepted):04d}"}}'.encode()
                else:
                    reply = b'{"error": "try again"}' if code >= 500 else b'{"error": "bad"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/submissions"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def _make(script: list[int] | None = None) -> Receiver:
        made.append(Receiver(script))
        return made[-1]

    yield _make
    for r in made:
        r.close()


#: A minimal PDF: enough for packaging tests that do not look inside the plan.
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
            b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
