"""The register: migrations, idempotent cycle start, reconciliation and the audit log.

Real databases only: a SQLite file per test, and the same scenarios against a throwaway
Postgres cluster when its binaries are installed.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, delete, func, inspect, select, update
from sqlalchemy.exc import StatementError

from plancycle.clock import LONDON, SimulatedClock
from plancycle.config import load_config
from plancycle.register import AuditEntry, Register, Stage, Task
from plancycle.register.cycles import StartResult, start_cycle
from plancycle.register.db import alembic_config
from plancycle.register.models import Base

from .helpers import SAMPLE, VALID_SMALL

WINTER = datetime(2026, 11, 2, 9, 0, tzinfo=LONDON)   # GMT: London time equals UTC
SUMMER = datetime(2026, 4, 20, 9, 0, tzinfo=LONDON)   # BST: London time is UTC+1


def start(register: Register, path: Path, actor: str = "planner") -> StartResult:
    config = load_config(path)
    with register.session(actor=actor) as session:
        return start_cycle(session, config, path)


def row_counts(register: Register) -> dict[str, int]:
    with register.engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables}


def audit_entries(register: Register, after_id: int = 0) -> list[AuditEntry]:
    with register.session() as session:
        return list(session.scalars(
            select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)))


def last_audit_id(register: Register) -> int:
    with register.session() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


def migrated(url: str, when: datetime = WINTER) -> Register:
    register = Register(url, SimulatedClock(when))
    register.migrate()
    return register


# --- schema ----------------------------------------------------------------------------------

def test_migrating_twice_is_harmless(db_url: str) -> None:
    register = Register(db_url, SimulatedClock(WINTER))
    try:
        register.migrate()
        register.migrate()
        tables = set(inspect(register.engine).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
        with register.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
    finally:
        register.dispose()


def test_migrate_skips_alembic_only_for_a_register_at_the_head(db_url: str) -> None:
    """``migrate`` recognises a register at the head it reads from the migration scripts."""
    from plancycle.register.db import migration_heads

    script = ScriptDirectory.from_config(alembic_config(db_url))
    assert migration_heads() == set(script.get_heads())
    register = Register(db_url, SimulatedClock(WINTER))
    try:
        assert not register._at_head()          # a new register: no version table yet
        register.migrate()
        assert register._at_head()
        with register.engine.begin() as conn:   # as if it were one migration behind
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
        assert not register._at_head()
    finally:
        register.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    """What `alembic check` does: autogenerate against a migrated database finds nothing."""
    register = migrated(db_url)
    try:
        with register.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        register.dispose()


def test_the_drift_check_notices_a_column_missing_from_the_migrations(sqlite_url: str) -> None:
    register = migrated(sqlite_url)
    drifted = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["tasks"].append_column(Column("priority", String(10)))
    try:
        with register.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), drifted)
        assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "tasks", "priority")]
    finally:
        register.dispose()


# --- starting a cycle ---------------------------------------------------------------------

def test_starting_the_same_cycle_twice_changes_nothing(db_url: str) -> None:
    register = migrated(db_url)
    try:
        first = start(register, SAMPLE)
        assert first == StartResult("rxx-2026-27", created=True, changes=first.changes)
        counts = row_counts(register)
        assert counts["cycles"] == 1 and counts["stages"] == 14 and counts["tasks"] == 49
        assert counts["people"] == 34 and counts["audit_log"] == first.changes

        second = start(register, SAMPLE)
        assert second == StartResult("rxx-2026-27", created=False, changes=0)
        assert row_counts(register) == counts   # including the audit log: nothing to record
    finally:
        register.dispose()


def edit(cycle_file: Path, old: str, new: str) -> None:
    text = cycle_file.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    cycle_file.write_text(text.replace(old, new), encoding="utf-8")


def task_row(register: Register, key: str) -> Task:
    with register.session() as session:
        return session.scalars(select(Task).where(Task.key == key)).one()


def test_an_edited_due_date_is_reconciled_in_place(sqlite_url: str, tmp_path: Path) -> None:
    cycle_file = tmp_path / "cycle.yaml"
    shutil.copy(VALID_SMALL, cycle_file)
    register = migrated(sqlite_url)
    try:
        start(register, cycle_file)
        before = task_row(register, "pay_budget_return")
        counts = row_counts(register)
        seen = last_audit_id(register)

        # Finance can reply two working days sooner: the planner edits the file and restarts.
        edit(cycle_file, "        return: pay_budget\n        due: {working_days: 10}\n",
             "        return: pay_budget\n        due: {working_days: 8}\n")
        result = start(register, cycle_file)

        assert result.created is False
        after = task_row(register, "pay_budget_return")
        assert after.id == before.id                      # the same row, not a new one
        assert (before.due_on.isoformat(), after.due_on.isoformat()) == (
            "2026-04-27", "2026-04-23")
        assert {k: v for k, v in row_counts(register).items() if k != "audit_log"} == {
            k: v for k, v in counts.items() if k != "audit_log"}   # no duplicates

        changes = [(e.entity, e.action, e.before, e.after) for e in audit_entries(register, seen)]
        assert [c for c in changes if c[0] == "tasks"] == [
            ("tasks", "update", {"due_on": "2026-04-27"}, {"due_on": "2026-04-23"})]
        # Besides the task, only the cycle's record of its file (the hash) changes, and
        # start_cycle counts that row too.
        assert [(c[0], c[1], set(c[3])) for c in changes if c[0] != "tasks"] == [
            ("cycles", "update", {"config_sha256"})]
        assert result.changes == len(changes) == 2
    finally:
        register.dispose()


def test_moving_a_stage_s_last_deadline_moves_the_stages_after_it(
        sqlite_url: str, tmp_path: Path) -> None:
    cycle_file = tmp_path / "cycle.yaml"
    shutil.copy(VALID_SMALL, cycle_file)
    register = migrated(sqlite_url)
    try:
        start(register, cycle_file)
        seen = last_audit_id(register)
        edit(cycle_file, "        return: staff_in_post\n        due: {working_days: 10}\n",
             "        return: staff_in_post\n        due: {working_days: 12}\n")
        result = start(register, cycle_file)
        entries = audit_entries(register, seen)
        with register.session() as session:
            names = {("tasks", str(i)): key for i, key in session.execute(
                select(Task.id, Task.key))}
            names |= {("stages", str(i)): key for i, key in session.execute(
                select(Stage.id, Stage.key))}
        moved = {names.get((e.entity, e.entity_id), e.entity_id): e.after for e in entries}
        assert set(moved.pop("rzz-2026-27")) == {"config_sha256"}
        assert moved == {
            "staff_in_post_return": {"due_on": "2026-04-29"},
            "data": {"ends_on": "2026-04-29"},
            # 'approval' starts the working day after; 4 May is a bank holiday on the way.
            "approval": {"starts_on": "2026-04-30", "ends_on": "2026-05-15"},
            "draft_plan": {"due_on": "2026-05-08"},
            "exec_gate": {"due_on": "2026-05-15"},
        }
        assert result.changes == len(entries) == 6
        assert all(e.action == "update" for e in audit_entries(register, seen))
    finally:
        register.dispose()


# --- the audit log ---------------------------------------------------------------------------

def test_creating_a_cycle_writes_a_create_entry_for_every_row(sqlite_url: str) -> None:
    register = migrated(sqlite_url)
    try:
        result = start(register, VALID_SMALL, actor="amira.khan")
        counts = row_counts(register)
        entries = audit_entries(register)
        assert all(e.action == "create" and e.actor == "amira.khan" for e in entries)
        assert all(e.cycle_id == "rzz-2026-27" and e.before is None for e in entries)
        by_table: dict[str, set[str]] = {}
        for e in entries:
            by_table.setdefault(e.entity, set()).add(e.after["id"])
        for table, n in counts.items():
            if table != "audit_log":
                assert len(by_table.get(table, set())) == n, table
        assert len(entries) == result.changes == 22
        task_entry = next(e for e in entries if e.entity == "tasks"
                          and e.after["key"] == "exec_gate")
        assert task_entry.after["state"] == "pending"
        assert task_entry.after["due_on"] == "2026-05-13"
        cycle_entry = next(e for e in entries if e.entity == "cycles")
        assert "config_text" not in cycle_entry.after and "config_sha256" in cycle_entry.after
    finally:
        register.dispose()


def test_create_entries_name_the_row_they_created(sqlite_url: str) -> None:
    register = migrated(sqlite_url)
    try:
        start(register, VALID_SMALL)
        entries = audit_entries(register)
        assert [e.entity_id for e in entries] == [str(e.after["id"]) for e in entries]
    finally:
        register.dispose()


def test_a_task_state_change_is_audited_with_who_when_and_what(db_url: str) -> None:
    register = migrated(db_url, WINTER)
    try:
        start(register, VALID_SMALL)
        seen = last_audit_id(register)
        register.clock.advance(days=2, hours=3.5)
        with register.session(actor="engine", note="stage 'data' opened") as session:
            task = session.scalars(select(Task).where(Task.key == "staff_in_post_return")).one()
            task.state = "open"
            task_id = task.id
        (entry,) = audit_entries(register, seen)
        assert (entry.action, entry.entity, entry.entity_id) == ("update", "tasks", str(task_id))
        assert entry.before == {"state": "pending"} and entry.after == {"state": "open"}
        assert entry.actor == "engine" and entry.note == "stage 'data' opened"
        assert entry.cycle_id == "rzz-2026-27"
        assert entry.at == datetime(2026, 11, 4, 12, 30, tzinfo=LONDON) == register.clock.now()
    finally:
        register.dispose()


@pytest.mark.parametrize("when", [WINTER, SUMMER], ids=["GMT", "BST"])
def test_audit_time_is_the_simulated_clock_time_all_year(
        db_url: str, when: datetime, request: pytest.FixtureRequest) -> None:
    register = migrated(db_url, when)
    try:
        start(register, VALID_SMALL)
        entry = audit_entries(register)[0]
        assert entry.at == when
        assert entry.at.utcoffset() is not None
    finally:
        register.dispose()


def test_audit_rows_cannot_be_edited_or_deleted_through_the_orm(sqlite_url: str) -> None:
    register = migrated(sqlite_url)
    try:
        start(register, VALID_SMALL)
        original = [(e.id, e.note, e.after) for e in audit_entries(register)]
        with pytest.raises(PermissionError, match="append-only"), \
                register.session(actor="intruder") as session:
            entry = session.scalars(select(AuditEntry).limit(1)).one()
            entry.note = "nothing to see here"
        with pytest.raises(PermissionError, match="append-only"), \
                register.session(actor="intruder") as session:
            session.delete(session.scalars(select(AuditEntry).limit(1)).one())
        assert [(e.id, e.note, e.after) for e in audit_entries(register)] == original
    finally:
        register.dispose()


@pytest.mark.parametrize("statement", [
    update(AuditEntry).values(note="rewritten"),
    delete(AuditEntry),
], ids=["bulk-update", "bulk-delete"])
def test_bulk_orm_statements_cannot_rewrite_the_audit_log(sqlite_url: str, statement) -> None:
    register = migrated(sqlite_url)
    try:
        start(register, VALID_SMALL)
        original = [(e.id, e.note) for e in audit_entries(register)]
        with pytest.raises(PermissionError), register.session(actor="intruder") as session:
            session.execute(statement)
        assert [(e.id, e.note) for e in audit_entries(register)] == original
    finally:
        register.dispose()


def test_naive_datetimes_are_refused(sqlite_url: str) -> None:
    register = migrated(sqlite_url)
    try:
        start(register, VALID_SMALL)
        seen = last_audit_id(register)
        with pytest.raises(StatementError, match="naive datetime") as caught, \
                register.session() as session:
            task = session.scalars(select(Task).where(Task.key == "draft_plan")).one()
            task.opened_at = datetime(2026, 11, 2, 9, 0)    # no timezone: refused
        assert isinstance(caught.value.orig, ValueError)
        with register.session() as session:
            task = session.scalars(select(Task).where(Task.key == "draft_plan")).one()
            assert task.opened_at is None
        assert last_audit_id(register) == seen            # rolled back, nothing audited

        with register.session() as session:                # an aware time is fine
            task = session.scalars(select(Task).where(Task.key == "draft_plan")).one()
            task.opened_at = WINTER + timedelta(hours=1)
        with register.session() as session:
            task = session.scalars(select(Task).where(Task.key == "draft_plan")).one()
            assert task.opened_at == WINTER + timedelta(hours=1)
    finally:
        register.dispose()
