"""Append-only audit of every state change, captured at flush time — or said by bulk writers.

Hooking the session (rather than asking every caller to remember) is what makes "every
state change is audited" true: any insert, update or delete of a register row through the
ORM writes an audit entry with the actor and time of the unit of work, and the before/after
values. The few hot paths that write rows in bulk with Core statements (queueing and
delivering thousands of messages a pass) bypass the ORM, so they hand their changes to
:func:`record` — one entry per row changed, exactly as the hook would have written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Mapper, Session

from plancycle.register.models import AuditEntry, Base, Cycle

_INSERT = insert(AuditEntry)
#: Columns too large or too noisy to copy into the audit trail (their hashes are audited).
SKIPPED_COLUMNS = frozenset({"config_text", "body", "html", "report", "ics"})


@dataclass(frozen=True)
class Change:
    """One row's change, as a bulk writer reports it to :func:`record`."""

    entity_id: str
    action: str  # create / update / delete
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    cycle_id: str | None = None


def plain(value: Any) -> Any:
    """A value as the audit log's JSON keeps it (dates and times as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@cache
def _columns(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(c.key for c in mapper.column_attrs if c.key not in SKIPPED_COLUMNS)


def audited_columns(model: type[Base]) -> tuple[str, ...]:
    """The columns of ``model`` the audit trail copies (bodies and documents left out)."""
    return _columns(inspect(model))


def _identity(obj: Base, mapper: Mapper[Any]) -> str:
    """The row's primary key (after the flush has assigned it)."""
    return ",".join(str(getattr(obj, col.key)) for col in mapper.primary_key)


def _cycle_of(obj: Base) -> str | None:
    return obj.id if isinstance(obj, Cycle) else getattr(obj, "cycle_id", None)


class _Stamp:
    """Actor, time and note of the unit of work: read once per flush, not once per row."""

    def __init__(self, session: Session) -> None:
        clock = session.info.get("clock")
        self.at = clock.now() if clock else datetime.now().astimezone()
        self.actor = session.info.get("actor", "system")
        self.note = session.info.get("note")

    def entry(self, cycle_id: str | None, action: str, entity: str, entity_id: str,
              before: Any, after: Any) -> dict[str, Any]:
        return {"cycle_id": cycle_id, "at": self.at, "actor": self.actor, "action": action,
                "entity": entity, "entity_id": entity_id, "before": before, "after": after,
                "note": self.note}


def record(session: Session, model: type[Base], changes: Iterable[Change]) -> int:
    """Audit rows changed by a bulk Core statement (one entry per row); returns how many."""
    stamp = _Stamp(session)
    entity = model.__tablename__
    rows = [stamp.entry(c.cycle_id, c.action, entity, c.entity_id, c.before, c.after)
            for c in changes]
    if rows:
        session.connection().execute(_INSERT, rows)
    return len(rows)


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, flush_context: Any) -> None:
    """Only what this flush changed: the new, modified and deleted objects."""
    stamp = _Stamp(session)
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry):
            mapper = inspect(obj).mapper
            after = {k: plain(getattr(obj, k)) for k in _columns(mapper)}
            rows.append(stamp.entry(_cycle_of(obj), "create", type(obj).__tablename__,
                                    _identity(obj, mapper), None, after))
    for obj in session.dirty:
        if not isinstance(obj, Base) or isinstance(obj, AuditEntry):
            continue
        state = inspect(obj)
        before, after = {}, {}
        for key in _columns(state.mapper):
            history = state.attrs[key].history
            if history.has_changes():
                before[key] = plain(history.deleted[0]) if history.deleted else None
                after[key] = plain(history.added[0]) if history.added else None
        if after:
            rows.append(stamp.entry(_cycle_of(obj), "update", type(obj).__tablename__,
                                    _identity(obj, state.mapper), before, after))
    for obj in session.deleted:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry):
            mapper = inspect(obj).mapper
            before = {k: plain(getattr(obj, k)) for k in _columns(mapper)}
            rows.append(stamp.entry(_cycle_of(obj), "delete", type(obj).__tablename__,
                                    _identity(obj, mapper), before, None))
    if rows:
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_rewrite(state: Any) -> None:
    """Bulk UPDATE/DELETE statements bypass the mapper events; refuse them on the audit log."""
    if (state.is_update or state.is_delete) and any(
            m.class_ is AuditEntry for m in state.all_mappers):
        raise PermissionError("the audit log is append-only")


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(mapper: Any, connection: Any, target: AuditEntry) -> None:
    raise PermissionError("the audit log is append-only")
