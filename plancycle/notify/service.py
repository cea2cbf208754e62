"""The notify service: queue messages idempotently, deliver each once, record every outcome.

Queueing writes one row per message and channel, keyed so that a re-run, a retry or a second
chaser running at the same moment never creates a second one (``INSERT … ON CONFLICT DO
NOTHING`` on the unique key). A chaser pass queues thousands of messages, so the rows are
written in bulk, with their audit entries (:func:`plancycle.register.audit.record`).

Delivering **claims** messages before sending them: a batch of due rows is marked with the
deliverer's id and a lease (``FOR UPDATE SKIP LOCKED`` on Postgres; the single ``UPDATE …
RETURNING`` is atomic on SQLite), so two deliverers never take the same message. Each
outcome is committed as soon as it is known: a deliverer killed mid-pass leaves at most the
message in flight unrecorded (it is sent again, with the same Message-ID, once its lease
expires); the rest of its batch was never sent and is taken by the next pass. Failures keep
their error and are retried with backoff; a chase message whose assignment is no longer open
is cancelled instead of sent, so chasing stops the moment a task is complete.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from plancycle.clock import Clock
from plancycle.notify.fallbacks import FALLBACK_KIND
from plancycle.notify.port import Channels, Outgoing, Recipient
from plancycle.notify.render import render
from plancycle.register import audit
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Notification,
    NotificationStatus,
    Person,
)

CHASE_KINDS = frozenset({"reminder", "due", "overdue"})
#: Kinds that are pointless once the assignment is no longer open.
CANCELLABLE_KINDS = CHASE_KINDS | {"escalation", FALLBACK_KIND, "new_task"}
CANCELLED = "cancelled"
SUPERSEDED = "superseded"
DELIVERABLE = (NotificationStatus.PENDING, NotificationStatus.FAILED)
MAX_BACKOFF = timedelta(hours=6)
#: Messages claimed at a time: small enough that a dead deliverer holds little back.
CLAIM_BATCH = 200
DEFAULT_LEASE = timedelta(minutes=5)
#: Keys looked up per statement (bound parameters: 32,766 on SQLite ≥ 3.32, 65,535 on PG).
_CHUNK = 5000

_TABLE = Notification.__table__
_COLUMNS = audit.audited_columns(Notification)
#: One delivery outcome, keyed on the claim (built once: it runs once per message).
_RECORD_OUTCOME = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("o_id"), _TABLE.c.claimed_by == bindparam("o_by"))
    .values({**{name: bindparam(f"o_{name}") for name in
                ("status", "attempts", "sent_at", "last_error", "next_attempt_at")},
             "claimed_until": None}))


@dataclass(frozen=True)
class Intent:
    """A message someone wants sent; ``key`` identifies it across re-runs (no channel part)."""

    key: str
    cycle_id: str
    person: Person
    kind: str
    context: dict[str, Any]
    channels: tuple[str, ...]
    assignment_id: int | None = None
    #: iCalendar attached to the email (the assignment's due date; see plancycle.icalendar).
    ics: str | None = None
    #: Messages that must go with this one, e.g. the calendar cancellation sent to the person
    #: a task was handed over from when the new holder is told. Queued like any intent.
    companions: tuple[Intent, ...] = ()


@dataclass(frozen=True)
class Queued:
    """A notification row written by :meth:`Notifier.queue`."""

    id: int
    key: str
    person_id: int
    kind: str
    channel: str


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Retry at once on the next pass, then 5, 10, 20 … minutes, at most six hours."""
    if attempts <= 1:
        return timedelta(0)
    return min(timedelta(minutes=5 * 2 ** (attempts - 2)), MAX_BACKOFF)


def recipient(person: Person) -> Recipient:
    return Recipient(person.name, person.email, person.chat)


def lease_from_env() -> timedelta:
    """``PLANCYCLE_DELIVERY_LEASE_SECONDS``: how long a claim keeps other deliverers away."""
    value = os.environ.get("PLANCYCLE_DELIVERY_LEASE_SECONDS")
    return timedelta(seconds=float(value)) if value else DEFAULT_LEASE


def deliverer_id() -> str:
    """Who claims messages in this pass: host, process and a nonce (unique per pass)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def existing_keys_among(session: Session, keys: Sequence[str]) -> set[str]:
    """The idempotency keys among ``keys`` that the register already holds."""
    out: set[str] = set()
    column = Notification.idempotency_key
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        out.update(session.connection().execute(
            select(column).where(column.in_(chunk))).scalars())
    return out


def _insert_statement(session: Session) -> Any:
    """INSERT that skips rows whose key exists (a concurrent pass may have written it)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the register runs on SQLite or Postgres
        return insert(_TABLE)
    return dialect_insert(_TABLE).on_conflict_do_nothing(index_elements=["idempotency_key"])


def write_notifications(session: Session, rows: list[dict[str, Any]]) -> list[Queued]:
    """Insert notification rows in bulk (skipping existing keys) and audit each one."""
    if not rows:
        return []
    stmt = _insert_statement(session).returning(_TABLE.c.id, _TABLE.c.idempotency_key)
    ids = dict((key, id_) for id_, key in session.connection().execute(stmt, rows).all())
    created: list[Queued] = []
    changes: list[audit.Change] = []
    for row in rows:
        id_ = ids.get(row["idempotency_key"])
        if id_ is None:
            continue  # written meanwhile by someone else: theirs stands
        created.append(Queued(id_, row["idempotency_key"], row["person_id"], row["kind"],
                              row["channel"]))
        after = {k: audit.plain(row.get(k)) for k in _COLUMNS}
        after["id"] = id_
        changes.append(audit.Change(str(id_), "create", None, after, row["cycle_id"]))
    audit.record(session, Notification, changes)
    return created


class Notifier:
    def __init__(self, channels: Channels, clock: Clock, lease: timedelta | None = None) -> None:
        self.channels = channels
        self.clock = clock
        self.lease = lease or lease_from_env()

    # --- queueing -------------------------------------------------------------------------

    def queue(self, session: Session, intents: Iterable[Intent],
              known: set[str] | None = None) -> list[Queued]:
        """Write the notifications for ``intents`` that do not exist yet (one per channel).

        ``known`` may name keys the caller knows exist. Only messages not yet in the register
        are rendered; an older unsent chase message for the same assignment is superseded.
        """
        intents = list(intents)
        intents += [c for intent in intents for c in intent.companions]
        if not intents:
            return []
        now = self.clock.now()
        wanted = [(intent, self.channels_for(intent)) for intent in intents]
        existing = existing_keys_among(
            session, [f"{intent.key}:{c}" for intent, channels in wanted for c in channels])
        existing |= known or set()
        rows: list[dict[str, Any]] = []
        chased: dict[int, list[int]] = {}  # assignment → its newest chase rows in this batch
        for intent, channels in wanted:
            pending = [c for c in channels if f"{intent.key}:{c}" not in existing]
            if not pending:
                continue
            rendered = render(intent.kind, intent.context, shapes=_shapes(pending))
            chase = intent.kind in CHASE_KINDS and intent.assignment_id is not None
            if chase:
                for stale in chased.get(intent.assignment_id, []):  # type: ignore[arg-type]
                    rows[stale].update(status=SUPERSEDED, next_attempt_at=None)
                chased[intent.assignment_id] = []  # type: ignore[index]
            for channel in pending:
                key = f"{intent.key}:{channel}"
                if chase:
                    chased[intent.assignment_id].append(len(rows))  # type: ignore[index]
                rows.append({
                    "idempotency_key": key, "cycle_id": intent.cycle_id,
                    "person_id": intent.person.id, "assignment_id": intent.assignment_id,
                    "kind": intent.kind, "channel": channel, "subject": rendered.subject,
                    "body": rendered.chat if channel == "chat" else rendered.text,
                    "html": rendered.html if channel == "email" else None,
                    "ics": intent.ics if channel == "email" else None,
                    "status": NotificationStatus.PENDING.value, "attempts": 0,
                    "last_error": None, "created_at": now, "sent_at": None,
                    "next_attempt_at": now, "claimed_by": None, "claimed_until": None,
                })
                existing.add(key)
        if chased:
            self._supersede(session, list(chased))
        return write_notifications(session, rows)

    def channels_for(self, intent: Intent) -> list[str]:
        """The person's channels that are configured; if none is, their first channel anyway,
        so the failure is recorded and the message goes out once a channel is set up."""
        person = recipient(intent.person)
        reachable = [c for c in intent.channels if person.address(c)]
        usable = [c for c in reachable if self.channels.supports(c)]
        return usable or reachable[:1]

    def _supersede(self, session: Session, assignment_ids: list[int]) -> None:
        """An older unsent reminder is stale once a newer chase step exists."""
        connection = session.connection()
        changes: list[audit.Change] = []
        for start in range(0, len(assignment_ids), _CHUNK):
            chunk = assignment_ids[start:start + _CHUNK]
            stale = connection.execute(
                select(_TABLE.c.id, _TABLE.c.status, _TABLE.c.next_attempt_at,
                       _TABLE.c.cycle_id).where(
                    _TABLE.c.assignment_id.in_(chunk), _TABLE.c.kind.in_(CHASE_KINDS),
                    _TABLE.c.status.in_(DELIVERABLE))).all()
            if not stale:
                continue
            connection.execute(update(_TABLE).where(_TABLE.c.id.in_([r.id for r in stale]))
                               .values(status=SUPERSEDED, next_attempt_at=None))
            changes += [audit.Change(
                str(r.id), "update",
                {"status": r.status, "next_attempt_at": audit.plain(r.next_attempt_at)},
                {"status": SUPERSEDED, "next_attempt_at": None}, r.cycle_id) for r in stale]
        audit.record(session, Notification, changes)
        _expire_cached(session, {int(c.entity_id) for c in changes})

    # --- delivering -----------------------------------------------------------------------

    def deliver(self, session: Session, cycle_id: str | None = None) -> DeliveryReport:
        """Send everything pending or due for a retry; record each outcome as it happens."""
        report = DeliveryReport()
        deliverer = deliverer_id()
        session.commit()  # what the caller queued is visible to every deliverer from here
        after_id = self._first_due(session, cycle_id)
        with self.channels.batch() as sender:
            while after_id is not None and (
                    batch := self._claim(session, cycle_id, deliverer, after_id)):
                renewed = time.monotonic()
                for row in batch:
                    self._deliver_one(session, sender, row, deliverer, report)
                    session.commit()  # this outcome is kept even if the process dies next
                    if time.monotonic() - renewed > self.lease.total_seconds() / 3:
                        self._renew(session, deliverer)
                        renewed = time.monotonic()
                after_id = batch[-1].id
        return report

    def has_due(self, session: Session, cycle_id: str | None = None) -> bool:
        """Whether anything is pending or due for a retry: lets a pass with nothing to send
        skip the delivery step (and its task run) altogether."""
        return self._first_due(session, cycle_id) is not None

    def _due(self, cycle_id: str | None, walk: bool = False) -> list[Any]:
        """Conditions of a message that is due. ``walk``: for a claim that walks the ids —
        the status is wrapped (``status || ''``) so the database follows the primary key
        instead of sorting every due row of the status index on each claim."""
        now = self.clock.now()
        status = _TABLE.c.status + "" if walk else _TABLE.c.status
        where = [status.in_(DELIVERABLE), _TABLE.c.next_attempt_at <= now,
                 or_(_TABLE.c.claimed_until.is_(None), _TABLE.c.claimed_until < now)]
        if cycle_id:
            where.append(_TABLE.c.cycle_id == cycle_id)
        return where

    def _first_due(self, session: Session, cycle_id: str | None) -> int | None:
        """Where this pass starts: just before the oldest message due (one indexed lookup)."""
        first = session.connection().execute(
            select(func.min(_TABLE.c.id)).where(*self._due(cycle_id))).scalar()
        return None if first is None else first - 1

    def _claim(self, session: Session, cycle_id: str | None, deliverer: str,
               after_id: int) -> list[Any]:
        """Take up to CLAIM_BATCH due messages after ``after_id`` for this deliverer.

        The pass walks the ids forward (each claim starts where the last ended), so a pass
        over N messages reads each row once, and a message that failed in this pass waits
        for the next one instead of being retried at once.
        """
        due = (select(_TABLE.c.id).where(_TABLE.c.id > after_id, *self._due(cycle_id, walk=True))
               .order_by(_TABLE.c.id).limit(CLAIM_BATCH)
               .with_for_update(skip_locked=True))
        now = self.clock.now()
        connection = session.connection()
        ids = connection.execute(
            update(_TABLE).where(_TABLE.c.id.in_(due.scalar_subquery()))
            .values(claimed_by=deliverer, claimed_until=now + self.lease)
            .returning(_TABLE.c.id)).scalars().all()
        session.commit()
        if not ids:
            return []
        people, assignments = Person.__table__, Assignment.__table__
        return session.connection().execute(
            select(_TABLE.c.id, _TABLE.c.idempotency_key, _TABLE.c.cycle_id, _TABLE.c.kind,
                   _TABLE.c.channel, _TABLE.c.subject, _TABLE.c.body, _TABLE.c.html,
                   _TABLE.c.ics, _TABLE.c.status, _TABLE.c.attempts, _TABLE.c.last_error,
                   _TABLE.c.next_attempt_at, people.c.name, people.c.email, people.c.chat,
                   assignments.c.state.label("assignment_state"))
            .join(people, people.c.id == _TABLE.c.person_id)
            .outerjoin(assignments, assignments.c.id == _TABLE.c.assignment_id)
            .where(_TABLE.c.id.in_(ids)).order_by(_TABLE.c.id)).all()

    def _deliver_one(self, session: Session, sender: Any, row: Any, deliverer: str,
                     report: DeliveryReport) -> None:
        now = self.clock.now()
        before = {"status": row.status, "attempts": row.attempts, "sent_at": None,
                  "last_error": row.last_error,
                  "next_attempt_at": audit.plain(row.next_attempt_at)}
        if row.kind in CANCELLABLE_KINDS and row.assignment_state is not None \
                and row.assignment_state != AssignmentState.OPEN:
            after = {"status": CANCELLED, "next_attempt_at": None}
            report.cancelled += 1
        else:
            result = sender.send(Outgoing(
                row.channel, Recipient(row.name, row.email, row.chat), row.subject, row.body,
                row.html, row.ics, key=f"{row.cycle_id}/{row.idempotency_key}"))
            attempts = row.attempts + 1
            if result.ok:
                after = {"status": NotificationStatus.SENT.value, "attempts": attempts,
                         "sent_at": now, "last_error": None, "next_attempt_at": None}
                report.sent += 1
            else:
                after = {"status": NotificationStatus.FAILED.value, "attempts": attempts,
                         "last_error": result.error,
                         "next_attempt_at": now + backoff(attempts)}
                report.failed += 1
                report.errors.append(f"{row.idempotency_key}: {result.error}")
        # Keyed on the claim: the outcome is this deliverer's to record.
        values = {"status": row.status, "attempts": row.attempts, "sent_at": None,
                  "last_error": row.last_error, "next_attempt_at": row.next_attempt_at,
                  **after}
        session.connection().execute(_RECORD_OUTCOME, {
            "o_id": row.id, "o_by": deliverer, **{f"o_{k}": v for k, v in values.items()}})
        after = {k: audit.plain(v) for k, v in after.items()}
        audit.record(session, Notification, [audit.Change(
            str(row.id), "update", {k: before[k] for k in after}, after, row.cycle_id)])

    def _renew(self, session: Session, deliverer: str) -> None:
        """Keep the rest of this deliverer's batch claimed while it works through it."""
        session.connection().execute(
            update(_TABLE).where(_TABLE.c.claimed_by == deliverer,
                                 _TABLE.c.claimed_until.is_not(None))
            .values(claimed_until=self.clock.now() + self.lease))
        session.commit()


def _shapes(channels: Iterable[str]) -> frozenset[str]:
    """Which renderings the channels need: text (email and digest bodies), HTML, chat."""
    out = set()
    for channel in channels:
        out |= {"text", "html"} if channel == "email" else {"chat"}
    return frozenset(out)


def _expire_cached(session: Session, ids: set[int]) -> None:
    """Rows changed by Core statements: forget any stale copy the session holds."""
    if not ids:
        return
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Notification) and obj.id in ids:
            session.expire(obj)
