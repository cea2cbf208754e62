"""Delegates: someone recorded in the register to act for a person on their tasks.

Why: a task link is personal, and the portal honours it only for the assignee, their deputy
standing in, or a delegate recorded here (:func:`plancycle.links.bind_link`). A delegation
is what an executive's office needs ("my chief of staff handles my approvals in August")
without handing over a link or marking the executive absent. It is recorded by the
planner (``plancycle link delegate``), may be limited to one task and to dates, is audited
like every register change, and is withdrawn rather than deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plancycle.assignments import AssignmentError, find_person, find_task
from plancycle.register.models import Delegation


class DelegationError(Exception):
    """A delegation that cannot be recorded or withdrawn (the message says what to do)."""


def record_delegation(session: Session, cycle_id: str, person_key: str, delegate_key: str,
                      now: datetime, *, reason: str, recorded_by: str,
                      task_key: str | None = None, starts_on: date | None = None,
                      ends_on: date | None = None) -> Delegation:
    """Record that ``delegate_key`` may act for ``person_key`` (on one task, or on all).

    Idempotent: the same active delegation recorded twice is returned, not duplicated.
    """
    if not reason.strip():
        raise DelegationError("say why the delegation is needed (--reason); it is kept in "
                              "the audit trail")
    try:
        person = find_person(session, cycle_id, person_key)
        delegate = find_person(session, cycle_id, delegate_key)
        if task_key is not None:
            find_task(session, cycle_id, task_key)
    except AssignmentError as exc:
        raise DelegationError(str(exc)) from None
    if person.id == delegate.id:
        raise DelegationError(f"{person_key} cannot be their own delegate")
    starts_on = starts_on or now.date()
    if ends_on is not None and ends_on < starts_on:
        raise DelegationError(f"the delegation ends ({ends_on:%d %b %Y}) before it starts "
                              f"({starts_on:%d %b %Y}); check --until")
    for existing in active_delegations(session, cycle_id, person_key=person_key,
                                       delegate_key=delegate_key):
        if (existing.task_key, existing.starts_on, existing.ends_on) == (
                task_key, starts_on, ends_on):
            return existing
    delegation = Delegation(cycle_id=cycle_id, person_key=person_key, delegate_key=delegate_key,
                            task_key=task_key, starts_on=starts_on, ends_on=ends_on,
                            reason=reason.strip(), recorded_at=now, recorded_by=recorded_by)
    session.add(delegation)
    session.flush()
    return delegation


def withdraw_delegations(session: Session, cycle_id: str, person_key: str, delegate_key: str,
                         now: datetime, reason: str | None = None) -> int:
    """Withdraw every active delegation from ``person_key`` to ``delegate_key``; how many."""
    rows = active_delegations(session, cycle_id, person_key=person_key,
                              delegate_key=delegate_key)
    for row in rows:
        row.withdrawn_at = now
        row.withdrawn_reason = reason
    session.flush()
    return len(rows)


def active_delegations(session: Session, cycle_id: str, *, person_key: str | None = None,
                       delegate_key: str | None = None, on: date | None = None,
                       task_key: str | None = None) -> list[Delegation]:
    """Delegations not withdrawn (and, given ``on``, in force that day; given ``task_key``,
    covering that task)."""
    query = select(Delegation).where(Delegation.cycle_id == cycle_id,
                                     Delegation.withdrawn_at.is_(None))
    if person_key is not None:
        query = query.where(Delegation.person_key == person_key)
    if delegate_key is not None:
        query = query.where(Delegation.delegate_key == delegate_key)
    if on is not None:
        query = query.where(Delegation.starts_on <= on,
                            or_(Delegation.ends_on.is_(None), Delegation.ends_on >= on))
    if task_key is not None:
        query = query.where(or_(Delegation.task_key.is_(None), Delegation.task_key == task_key))
    return list(session.scalars(query.order_by(Delegation.id)))
