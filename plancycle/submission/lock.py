"""Lock and unlock a cycle: a submitted cycle refuses uploads and new plan versions until a
planner unlocks it with a recorded reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from plancycle.register.models import (
    AuditEntry,
    Cycle,
)
from plancycle.submission.errors import SubmissionError


def _audit(session: Session, cycle_id: str, action: str, actor: str, note: str,
           now: datetime) -> None:
    session.add(AuditEntry(cycle_id=cycle_id, at=now, actor=actor, action=action,
                           entity="cycles", entity_id=cycle_id, before=None, after=None,
                           note=note))


def lock_cycle(session: Session, cycle_id: str, now: datetime, reason: str,
               actor: str = "submission") -> bool:
    """Lock the cycle's returns and plan; True if it was not locked already."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    if cycle.locked:
        return False
    session.info["note"] = reason
    cycle.locked = True
    session.flush()
    _audit(session, cycle_id, "lock", actor, reason, now)
    session.flush()
    return True


def unlock_cycle(session: Session, cycle_id: str, now: datetime, reason: str,
                 actor: str) -> bool:
    """Unlock a locked cycle (a recorded planner action); True if it was locked."""
    if not (reason or "").strip():
        raise SubmissionError("say why the cycle is being unlocked (--reason); it is recorded "
                              "in the audit trail")
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    if not cycle.locked:
        return False
    session.info["note"] = reason.strip()
    cycle.locked = False
    session.flush()
    _audit(session, cycle_id, "unlock", actor, reason.strip(), now)
    session.flush()
    return True
