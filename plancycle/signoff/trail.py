"""The decision trail and the audit trail of a cycle, for the submission package and the board."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.register.models import (
    AuditEntry,
    Decision,
    Document,
    Person,
    Task,
)
from plancycle.signoff.documents import document_kind

# --- the trail ---------------------------------------------------------------------------------

def decision_trail(session: Session, cycle_id: str) -> list[dict[str, Any]]:
    """Every decision of a cycle, oldest first, with who, when, on what and whether it holds."""
    rows = session.execute(
        select(Decision, Task, Person).join(Task, Decision.task_id == Task.id)
        .join(Person, Decision.person_id == Person.id)
        .where(Decision.cycle_id == cycle_id).order_by(Decision.decided_at, Decision.id)).all()
    documents = {(d.kind, d.sha256): d.version for d in session.scalars(
        select(Document).where(Document.cycle_id == cycle_id))}
    return [{
        "decision_id": d.id, "decided_at": d.decided_at.isoformat(), "gate": t.key,
        "gate_name": t.name, "person": p.key, "person_name": p.name, "role": d.role_key,
        "decision": d.decision, "reason": d.reason or "",
        "conditions": "; ".join(f"{c['text']} ({c['role']})" for c in d.conditions or []),
        "document_kind": document_kind(t),
        "document_version": documents.get((document_kind(t), d.document_sha256)),
        "document_sha256": d.document_sha256, "signature": d.signature or "",
        "valid": d.valid,
    } for d, t, p in rows]


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``state: open → complete`` for updates; the non-empty values for creations."""
    if before and after:
        return ", ".join(f"{k}: {before.get(k)} → {after.get(k)}" for k in after)
    values = after or before or {}
    return ", ".join(f"{k}={v}" for k, v in values.items() if v not in (None, "", [], {}))


def audit_trail(session: Session, cycle_id: str) -> list[dict[str, Any]]:
    """The cycle's full trail: every audited state change and every decision, in time order."""
    rows: list[dict[str, Any]] = []
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.cycle_id == cycle_id)
                                 .order_by(AuditEntry.id)):
        rows.append({"at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
                     "entity": entry.entity, "entity_id": entry.entity_id,
                     "details": _changes(entry.before, entry.after), "note": entry.note or "",
                     "_order": (entry.at, 0, entry.id)})
    for d in decision_trail(session, cycle_id):
        details = (f"{d['role']} on {d['document_kind']} v{d['document_version'] or '?'} "
                   f"({d['document_sha256'][:12]}…)"
                   + (f"; conditions: {d['conditions']}" if d["conditions"] else "")
                   + (f"; signed '{d['signature']}'" if d["signature"] else "")
                   + ("" if d["valid"] else "; no longer valid"))
        rows.append({"at": d["decided_at"], "actor": d["person"],
                     "action": f"decision:{d['decision']}", "entity": "gate",
                     "entity_id": d["gate"], "details": details, "note": d["reason"],
                     "_order": (datetime.fromisoformat(d["decided_at"]), 1, d["decision_id"])})
    rows.sort(key=lambda r: r["_order"])
    for row in rows:
        del row["_order"]
    return rows


