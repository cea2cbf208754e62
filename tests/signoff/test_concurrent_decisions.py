"""Decisions and reconcile passes at the same moment, on Postgres and on SQLite.

Given the board gate open with quorum "all" (three approver roles), when the three
approvers decide at the same moment — each unit of work still open a little after its
decision, as a slow portal request would be — then the gate passes once with three
decisions; the same approver deciding twice at once records one decision; and two
reconcile passes at once (two workers) assign every task once and queue each "new task"
message once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select

from plancycle.assignments import find_person, find_task
from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.notify.channels import RecordingChannels
from plancycle.register.cycles import start_cycle
from plancycle.register.models import Assignment, Decision, Notification
from plancycle.runtime import Runtime
from plancycle.signoff import decide
from tests.signoff.conftest import CYCLE, GATE, register_plan, walk_to, write_config

APPROVERS = ("dan.ceo", "fay.finance", "ruth.chair")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, home) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{home / 'register.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def board(database, home, clock) -> Runtime:
    rt = Runtime.build(clock=clock, channels=RecordingChannels(), database_url=database)
    with rt.register.session(actor="planner") as session:
        path = write_config(home, "all")
        start_cycle(session, load_config(path), path)
    yield rt
    rt.register.dispose()


def _at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run the jobs in threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # noqa: BLE001 - reported by the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _decision(rt: Runtime, person: str, sha: str, signature: str | None = None
              ) -> Callable[[], int]:
    def job() -> int:
        with rt.register.session(actor=person) as session:
            gate = find_task(session, CYCLE, GATE)
            made = decide(session, gate, find_person(session, CYCLE, person), "approve", sha,
                          rt.clock.now(), rt.calendar, signature=signature)
            time.sleep(0.3)  # still uncommitted while the others decide
            return made.id
    return job


def _with_plan(rt: Runtime, database: str) -> str:
    walk_to(rt)
    if database.startswith("sqlite"):
        return register_plan(rt, "<h1>Plan v1</h1>")
    # register_plan files the document beside a SQLite register; any path will do here.
    from plancycle.signoff import register_document

    with rt.register.session(actor="planner") as session:
        sha = "ab" * 32
        register_document(session, CYCLE, "plan", sha, "/nonexistent/plan.html",
                          rt.clock.now(), rt.calendar)
    return sha


def test_three_approvers_at_once_pass_the_gate_once(board, database):
    sha = _with_plan(board, database)
    results = _at_once([_decision(board, person, sha) for person in APPROVERS])
    assert all(isinstance(r, int) for r in results), results
    with board.register.session() as session:
        gate = find_task(session, CYCLE, GATE)
        decisions = session.scalars(select(Decision).where(Decision.task_id == gate.id)).all()
        assert gate.state == "complete"
        assert sorted(d.role_key for d in decisions if d.valid) == [
            "board", "chief_executive", "director_of_finance"]


def test_the_same_approver_twice_at_once_is_one_decision(board, database):
    sha = _with_plan(board, database)
    results = _at_once([_decision(board, "dan.ceo", sha, "Dan")] * 2)
    assert results[0] == results[1] and isinstance(results[0], int), results
    with board.register.session() as session:
        assert len(session.scalars(select(Decision)).all()) == 1


def test_two_reconcile_passes_at_once_assign_each_task_once(database, home):
    from tests.engine.conftest import SAMPLE

    clocks = [SimulatedClock(date(2026, 4, 16)) for _ in range(2)]
    runtimes = [Runtime.build(clock=c, channels=RecordingChannels(), database_url=database)
                for c in clocks]
    with runtimes[0].register.session(actor="planner") as session:
        start_cycle(session, load_config(SAMPLE), SAMPLE)
    results = _at_once([lambda rt=rt: rt.advance("rxx-2026-27") for rt in runtimes])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(len(r.opened_tasks) > 0 for r in results) == [False, True]
    with runtimes[0].register.session() as session:
        pairs = Counter(session.execute(select(Assignment.task_id, Assignment.person_id)).all())
        keys = Counter(session.scalars(select(Notification.idempotency_key)))
    assert pairs and max(pairs.values()) == 1
    assert keys and max(keys.values()) == 1
    for rt in runtimes:
        rt.register.dispose()
