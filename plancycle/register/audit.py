"""Append-only audit of every state change, captured at flush time.

Hooking the session (rather than asking every caller to remember) is what makes "every
state change is audited" true: any insert, update or delete of a register row writes an
audit entry with the actor and time of the unit of work, and the before/after values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from plancycle.register.models import AuditEntry, Base, Cycle

#: Columns too large or too noisy to copy into the audit trail (their hashes are audited).
_SKIP = {"config_text", "body", "html", "report", "ics"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _columns(obj: Base) -> list[str]:
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in _SKIP]


def _identity(obj: Base) -> str:
    """The row's primary key (after the flush has assigned it)."""
    mapper = inspect(obj).mapper
    return ",".join(str(getattr(obj, col.key)) for col in mapper.primary_key)


def _cycle_of(obj: Base) -> str | None:
    return obj.id if isinstance(obj, Cycle) else getattr(obj, "cycle_id", None)


def _entry(session: Session, obj: Base, action: str, before: Any, after: Any) -> dict[str, Any]:
    clock = session.info.get("clock")
    return {
        "cycle_id": _cycle_of(obj),
        "at": clock.now() if clock else datetime.now().astimezone(),
        "actor": session.info.get("actor", "system"),
        "action": action,
        "entity": type(obj).__tablename__,
        "entity_id": _identity(obj),
        "before": before,
        "after": after,
        "note": session.info.get("note"),
    }


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, flush_context: Any) -> None:
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry):
            after = {k: _plain(getattr(obj, k)) for k in _columns(obj)}
            rows.append(_entry(session, obj, "create", None, after))
    for obj in session.dirty:
        if not isinstance(obj, Base) or isinstance(obj, AuditEntry):
            continue
        state = inspect(obj)
        before, after = {}, {}
        for key in _columns(obj):
            history = state.attrs[key].history
            if history.has_changes():
                before[key] = _plain(history.deleted[0]) if history.deleted else None
                after[key] = _plain(history.added[0]) if history.added else None
        if after:
            rows.append(_entry(session, obj, "update", before, after))
    for obj in session.deleted:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry):
            before = {k: _plain(getattr(obj, k)) for k in _columns(obj)}
            rows.append(_entry(session, obj, "delete", before, None))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


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
