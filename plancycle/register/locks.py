"""Serialising the writers of one cycle: a row lock on the cycle, held to the end of the unit.

Two reconcile passes (two workers, or a scheduled pass and a planner's ``cycle run``) or
two approvers deciding at the same moment each read the cycle, decide what to change and
write. Without a lock both can read the same "before" — both open the same task, or both
count the quorum without the other's approval. :func:`lock_cycle` makes them take turns:

- **Postgres**: ``SELECT … FOR NO KEY UPDATE`` on the cycle's row; the second writer waits
  until the first commits, then reads what it wrote (READ COMMITTED sees it). Not ``FOR
  UPDATE``: every row inserted for the cycle (an upload, a DQ result, an audit entry) takes
  a ``FOR KEY SHARE`` lock on it for its foreign key, which ``FOR UPDATE`` waits for — two
  units that each inserted first and locked second deadlocked. ``NO KEY UPDATE`` still makes
  lockers (and updates of the row) take turns, but lets foreign-key checks through.
- **SQLite**: a no-op ``UPDATE`` of the row, which takes the database's write lock for the
  rest of the transaction (SQLite has one writer at a time; reads after it are current).

Take it first in the unit of work, before reading what the decision depends on; objects
already loaded are refreshed so nothing stale is acted on.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plancycle.register.models import Cycle


def lock_cycle(session: Session, cycle_id: str, *, refresh: bool = True) -> None:
    """Hold the cycle's write lock until the session commits or rolls back."""
    if refresh and (session.new or session.dirty or session.deleted):
        session.flush()  # keep this unit's own changes; only re-read what others wrote
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Cycle).where(Cycle.id == cycle_id).values(state=Cycle.state)
                        .execution_options(synchronize_session=False))
    else:
        session.execute(select(Cycle.id).where(Cycle.id == cycle_id)
                        .with_for_update(key_share=True))  # FOR NO KEY UPDATE, see above
    if refresh:
        session.expire_all()
