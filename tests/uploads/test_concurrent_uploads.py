"""Two uploads of one task at the same moment (issue 16): distinct versions, one verdict each.

On SQLite and on Postgres, with real threads and real processes: the portal in this process
(FastAPI's TestClient) and ``plancycle return upload`` as a separate process, against the
same register.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plancycle import uploads
from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.notify.channels import RecordingChannels
from plancycle.portal import PortalSettings, create_app
from plancycle.register.cycles import start_cycle
from plancycle.register.models import Assignment, AssignmentState, DQResult, Task, TaskState, Upload
from plancycle.runtime import Runtime
from tests.engine.conftest import SAMPLE
from tests.portal.helpers import csrf_of, link
from tests.uploads.conftest import CYCLE

TASK, LUCY = "staff_in_post_return", "lucy.fernandes"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, home: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{home / 'register.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def opened_on(database_url: str, home: Path):
    """The sample cycle on the chosen database, its data requests open (16 April 2026)."""
    clock = SimulatedClock(date(2026, 4, 1))
    runtime = Runtime.build(clock=clock, channels=RecordingChannels(), database_url=database_url)
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, load_config(SAMPLE), SAMPLE)
    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    yield runtime
    runtime.register.dispose()


def _uploads(runtime: Runtime) -> list[tuple[int, str, int]]:
    """(version, state, DQ results) of every upload of the task, in version order."""
    with runtime.register.session() as session:
        rows = session.execute(
            select(Upload.version, Upload.state, func.count(DQResult.id))
            .join(Task, Upload.task_id == Task.id)
            .outerjoin(DQResult, DQResult.upload_id == Upload.id)
            .where(Task.key == TASK).group_by(Upload.id).order_by(Upload.version)).all()
    return [tuple(r) for r in rows]


def test_racing_uploads_that_read_the_same_version_both_land_with_distinct_ones(
        opened_on, trust_files, monkeypatch, caplog):
    """Even if the task lock did not serialise them, two uploads that both read the same
    highest version collide on the unique (task, version) and the second takes the next."""
    barrier = threading.Barrier(2, timeout=20)
    first_read = threading.local()
    real = uploads._next_version

    def no_lock(session, task_id):
        return None

    def read_together(session, task_id):
        version = real(session, task_id)
        if not getattr(first_read, "done", False):
            first_read.done = True
            barrier.wait()          # both threads have now read the same highest version
        return version

    monkeypatch.setattr(uploads, "lock_task", no_lock)
    monkeypatch.setattr(uploads, "_next_version", read_together)
    files = [trust_files["staff_in_post_broken"], trust_files["staff_in_post"]]
    ids: list[int] = []
    errors: list[BaseException] = []

    def receive(path: Path) -> None:
        try:
            ids.append(uploads.receive_upload(opened_on, CYCLE, TASK, LUCY, path, path.name))
        except BaseException as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)

    with caplog.at_level(logging.INFO, logger="plancycle.uploads"):
        threads = [threading.Thread(target=receive, args=(f,)) for f in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert sorted(v for v, _s, _n in _uploads(opened_on)) == [1, 2]
    assert "was taken by a concurrent upload; retrying" in caplog.text


def test_a_portal_and_a_cli_upload_at_the_same_moment_get_a_version_and_a_verdict_each(
        opened_on, database_url, trust_files, home):
    """Lucy sends the broken extract with the CLI and, while it is being checked, the fixed
    one through her task link. Each gets its own version and exactly one verdict, whatever
    order the two are judged in; the fixed one completes the task."""
    broken = home / "staff_in_post_broken_big.csv"
    text = trust_files["staff_in_post_broken"].read_text()
    header, _, body = text.partition("\n")
    broken.write_text(header + "\n" + body * 40)       # long enough to be judged for a while
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANCYCLE_")}
    env.update(PLANCYCLE_HOME=str(home), PLANCYCLE_LINK_SECRET="test-secret",
               PLANCYCLE_DATABASE_URL=database_url, GX_ANALYTICS_ENABLED="false")
    cli = subprocess.Popen(
        [sys.executable, "-m", "plancycle.cli", "return", "upload", TASK, str(broken),
         "--person", LUCY, "--as-of", "2026-04-16"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _uploads(opened_on) and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)                            # the CLI has stored and recorded v1
        with TestClient(create_app(opened_on, PortalSettings(max_upload_bytes=50 << 20)),
                        follow_redirects=False) as client:
            task_link = link(opened_on, LUCY, TASK)
            token = csrf_of(client.get(f"{task_link}/upload").text)
            good = trust_files["staff_in_post"]
            response = client.post(f"{task_link}/upload", data={"csrf_token": token},
                                   files={"file": (good.name, good.read_bytes(), "text/csv")})
        out, _ = cli.communicate(timeout=180)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 1, out                     # the broken file: sent back
    assert "Traceback" not in out
    assert response.status_code == 303, response.text  # to the fixed file's DQ report
    assert _uploads(opened_on) == [(1, "failed", 1), (2, "accepted", 1)]
    opened_on.advance(CYCLE)
    with opened_on.register.session() as session:
        task = session.scalar(select(Task).where(Task.cycle_id == CYCLE, Task.key == TASK))
        assert task.state == TaskState.COMPLETE
        states = session.scalars(select(Assignment.state).where(Assignment.task_id == task.id))
        assert set(states) == {AssignmentState.COMPLETE}


def test_the_migration_renumbers_versions_that_raced_before_it(database_url, home):
    """A register that already holds two uploads with one version (the old race) upgrades:
    they are renumbered in upload order, then the unique index is created."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import inspect

    from plancycle.register import Register
    from plancycle.register.db import alembic_config

    register = Register(database_url)
    try:
        config = alembic_config(database_url)
        with register.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        with register.session(actor="planner") as session:
            start_cycle(session, load_config(SAMPLE), SAMPLE)
        with register.session() as session:
            task = session.scalar(select(Task).where(Task.key == TASK))
            for name in ("a.csv", "b.csv"):
                session.add(Upload(cycle_id=CYCLE, task_id=task.id, version=1,
                                   original_name=name, sha256="0" * 64, size_bytes=1,
                                   stored_path="/nowhere", uploaded_at=datetime.now(UTC)))
        register.migrate()
        with register.session() as session:
            names = session.execute(select(Upload.version, Upload.original_name)
                                    .order_by(Upload.id)).all()
        assert [tuple(n) for n in names] == [(1, "a.csv"), (2, "b.csv")]
        indexes = {i["name"]: i["unique"] for i in inspect(register.engine).get_indexes("uploads")}
        assert indexes.get("uq_uploads_task_version") in (True, 1)
    finally:
        register.dispose()
