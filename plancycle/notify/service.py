"""The notify service: queue messages idempotently, deliver them, record every outcome.

A message is first written to the register (one row per channel, keyed so a re-run or a
retry never creates a second one), then delivered. Failures are kept with their error and
retried on the next pass; a chase message whose assignment is no longer open is cancelled
instead of sent, so chasing stops the moment a task is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.clock import Clock
from plancycle.notify.channels import Channels, Outgoing, Recipient
from plancycle.notify.render import render
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Notification,
    NotificationStatus,
    Person,
)

CHASE_KINDS = frozenset({"reminder", "due", "overdue"})
CANCELLED = "cancelled"
SUPERSEDED = "superseded"
MAX_BACKOFF = timedelta(hours=6)


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


class Notifier:
    def __init__(self, channels: Channels, clock: Clock) -> None:
        self.channels = channels
        self.clock = clock

    def existing_keys(self, session: Session, cycle_id: str) -> set[str]:
        return set(session.scalars(
            select(Notification.idempotency_key).where(Notification.cycle_id == cycle_id)))

    def queue(self, session: Session, intents: list[Intent],
              known: set[str] | None = None) -> list[Notification]:
        """Write the notifications for ``intents`` that do not exist yet (one per channel)."""
        intents = [*intents, *(c for intent in intents for c in intent.companions)]
        known = self.existing_keys(session, intents[0].cycle_id) if known is None and intents \
            else (known or set())
        now = self.clock.now()
        created: list[Notification] = []
        for intent in intents:
            channels = self.channels_for(intent)
            pending = [c for c in channels if f"{intent.key}:{c}" not in known]
            if not pending:
                continue
            rendered = render(intent.kind, intent.context)
            if intent.kind in CHASE_KINDS and intent.assignment_id is not None:
                self._supersede(session, intent.assignment_id, now)
            for channel in pending:
                key = f"{intent.key}:{channel}"
                row = Notification(
                    idempotency_key=key, cycle_id=intent.cycle_id, person_id=intent.person.id,
                    assignment_id=intent.assignment_id, kind=intent.kind, channel=channel,
                    subject=rendered.subject,
                    body=rendered.chat if channel == "chat" else rendered.text,
                    html=rendered.html if channel == "email" else None,
                    ics=intent.ics if channel == "email" else None,
                    status=NotificationStatus.PENDING, attempts=0, created_at=now,
                    next_attempt_at=now,
                )
                session.add(row)
                known.add(key)
                created.append(row)
        session.flush()
        return created

    def channels_for(self, intent: Intent) -> list[str]:
        """The person's channels that are configured; if none is, their first channel anyway,
        so the failure is recorded and the message goes out once a channel is set up."""
        person = recipient(intent.person)
        reachable = [c for c in intent.channels if person.address(c)]
        usable = [c for c in reachable if self.channels.supports(c)]
        return usable or reachable[:1]

    def _supersede(self, session: Session, assignment_id: int, now: datetime) -> None:
        """An older unsent reminder is stale once a newer chase step exists."""
        for row in session.scalars(select(Notification).where(
                Notification.assignment_id == assignment_id,
                Notification.kind.in_(CHASE_KINDS),
                Notification.status.in_([NotificationStatus.PENDING, NotificationStatus.FAILED]))):
            row.status = SUPERSEDED
            row.next_attempt_at = None

    def deliver(self, session: Session, cycle_id: str | None = None) -> DeliveryReport:
        """Send everything pending or due for a retry; record each outcome."""
        now = self.clock.now()
        report = DeliveryReport()
        query = (select(Notification, Person, Assignment)
                 .join(Person, Notification.person_id == Person.id)
                 .outerjoin(Assignment, Notification.assignment_id == Assignment.id)
                 .where(Notification.status.in_([NotificationStatus.PENDING,
                                                 NotificationStatus.FAILED]),
                        Notification.next_attempt_at <= now)
                 .order_by(Notification.id))
        if cycle_id:
            query = query.where(Notification.cycle_id == cycle_id)
        for row, person, assignment in session.execute(query).all():
            if row.kind in CHASE_KINDS | {"escalation", "new_task"} and assignment is not None \
                    and assignment.state != AssignmentState.OPEN:
                row.status = CANCELLED
                row.next_attempt_at = None
                report.cancelled += 1
                continue
            result = self.channels.send(Outgoing(row.channel, recipient(person), row.subject,
                                                 row.body, row.html, row.ics))
            row.attempts += 1
            if result.ok:
                row.status = NotificationStatus.SENT
                row.sent_at = now
                row.last_error = None
                row.next_attempt_at = None
                report.sent += 1
            else:
                row.status = NotificationStatus.FAILED
                row.last_error = result.error
                row.next_attempt_at = now + backoff(row.attempts)
                report.failed += 1
                report.errors.append(f"{row.idempotency_key}: {result.error}")
            # Commit each outcome at once: a crash after sending must not cause a re-send.
            session.commit()
        return report
