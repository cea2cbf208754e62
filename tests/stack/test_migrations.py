"""Migrations from the previous released schema (revision 0003) to head, on Postgres, with
a register in use: the sample cycle three weeks in, with assignments, messages sent and queued,
an upload and two live decisions by the same approver (which 0003 allowed).

After ``upgrade head`` every row is still there, the approver's later decision is the one
that stands, the database now refuses a second live decision, and the engine, the chaser
and sign-off carry on with the migrated register.
"""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from plancycle.calendar import WorkingCalendar
from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.links import TaskLinks
from plancycle.notify.channels import RecordingChannels
from plancycle.notify.service import Notifier
from plancycle.register import Register
from plancycle.register.cycles import start_cycle
from plancycle.register.db import alembic_config
from plancycle.register.models import Decision, Notification
from plancycle.runtime import Runtime
from tests.stack.conftest import SAMPLE, walk

RELEASED = "0003"  # the schema main shipped before this branch


@pytest.fixture
def database(stack) -> str:
    """A new, empty database in the stack's Postgres cluster."""
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.stack.postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield stack.stack.postgres.url(name)
    with psycopg.connect(stack.stack.postgres.dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        counts = {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                  for t in tables}
    engine.dispose()
    return counts


def test_upgrade_from_0003_to_head_keeps_the_register_and_adds_the_guards(database, home):
    engine = create_engine(database)
    with engine.begin() as connection:
        config = alembic_config(database)
        config.attributes["connection"] = connection
        command.upgrade(config, RELEASED)
    engine.dispose()

    # A register in use at 0003 (the ORM writes nothing 0003 lacks). Runtime.build would
    # migrate, so the runtime is put together by hand.
    clock = SimulatedClock(date(2026, 4, 1))
    register = Register(database, clock=clock)
    with register.session(actor="planner") as session:
        start_cycle(session, load_config(SAMPLE), SAMPLE)
    channels = RecordingChannels()
    rt = Runtime(register, clock, WorkingCalendar(), Notifier(channels, clock),
                 TaskLinks("test-secret", "http://portal.test", clock))
    walk(rt, "rxx-2026-27", date(2026, 4, 22))
    rt.chase("rxx-2026-27", date(2026, 4, 22))
    rt.deliver("rxx-2026-27")
    with register.session() as session:
        cycle_id = "rxx-2026-27"
        task_id, person_id = session.execute(text(
            "SELECT a.task_id, a.person_id FROM assignments a JOIN tasks t ON t.id = a.task_id"
            " WHERE t.cycle_id = :c ORDER BY a.id LIMIT 1"), {"c": cycle_id}).one()
        for decided in ("2026-05-01T09:00:00+00:00", "2026-05-02T09:00:00+00:00"):
            session.execute(text(
                "INSERT INTO decisions (cycle_id, task_id, person_id, role_key, decision, "
                "conditions, document_sha256, decided_at, valid) VALUES (:c, :t, :p, 'board', "
                "'approve', '[]', :sha, :at, true)"),
                {"c": cycle_id, "t": task_id, "p": person_id, "sha": "ab" * 32, "at": decided})
    register.dispose()
    before = _counts(database)
    assert before["notifications"] > 30 and before["assignments"] > 10

    register = Register(database, clock=clock)
    register.migrate()  # what `stack up` and every runtime do: upgrade head
    with register.engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        indexes = {i["name"] for i in inspect(connection).get_indexes("decisions")}
    assert revision == ScriptDirectory.from_config(alembic_config(database)).get_current_head()
    assert "uq_decisions_live_per_person" in indexes
    assert _counts(database) == before
    with register.session() as session:
        live = session.scalars(select(Decision).where(Decision.valid.is_(True))).all()
        assert [d.decided_at.day for d in live] == [2]  # the later decision stands
        assert session.scalar(select(func.count()).select_from(Decision)) == 2
    with pytest.raises(IntegrityError), register.session() as session:
        session.execute(text(
            "INSERT INTO decisions (cycle_id, task_id, person_id, role_key, decision, "
            "conditions, document_sha256, decided_at, valid) VALUES (:c, :t, :p, 'board', "
            "'approve', '[]', :sha, now(), true)"),
            {"c": cycle_id, "t": task_id, "p": person_id, "sha": "cd" * 32})

    # The product carries on with the migrated register.
    rt = Runtime(register, clock, WorkingCalendar(), Notifier(channels, clock),
                 TaskLinks("test-secret", "http://portal.test", clock))
    sent = len(channels.sent)
    walk(rt, cycle_id, date(2026, 4, 29))
    rt.chase(cycle_id, date(2026, 4, 29))
    rt.deliver(cycle_id)
    assert len(channels.sent) > sent
    with register.session() as session:
        keys = session.scalars(select(Notification.idempotency_key)).all()
    assert len(keys) == len(set(keys))
    register.dispose()
