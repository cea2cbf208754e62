"""Due dates in people's own calendars: .ics invites on task emails, feeds and the cycle export.

Why: role holders plan their weeks in Outlook, not in our portal. Each assignment has one
calendar event, UID ``assignment-<id>@<cycle>.plancycle``. Every new-task and reminder email
carries that event with the current SEQUENCE, so a changed due date *updates* the entry in
the person's calendar instead of adding a second one, and handing the task to someone else
sends ``METHOD:CANCEL`` to the person it was taken from. The UID and sequence of each event
live in the register (:class:`~plancycle.register.models.CalendarEvent`), so re-runs agree.

Feeds (``/calendar/<token>.ics``) let a person or the planner subscribe: the token is signed
like a task link (same secret, its own salt, longer life, revoked with the person's links).
:func:`person_feed` and :func:`cycle_feed` are pure functions of the register, for the
portal's route and the CLI (``plancycle cycle ics``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.links import LinkError, SignedLinks
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    CalendarEvent,
    Cycle,
    Person,
    RoleHolder,
    Stage,
    Task,
    TaskState,
)

if TYPE_CHECKING:
    from plancycle.clock import Clock
    from plancycle.links import TaskLinks
    from plancycle.register import Register

PRODID = "-//plancycle//Workforce planning cycle//EN"
REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"
#: Subscription URLs outlive a cycle year (a subscription is made once, early in the year).
FEED_MAX_AGE_DAYS = 400


# --- identifiers ----------------------------------------------------------------------------

def assignment_uid(assignment_id: int, cycle_id: str) -> str:
    return f"assignment-{assignment_id}@{cycle_id}.plancycle"


def task_uid(task_key: str, cycle_id: str) -> str:
    return f"task-{task_key}@{cycle_id}.plancycle"


def milestone_uid(stage_key: str, edge: str, cycle_id: str) -> str:
    return f"stage-{stage_key}-{edge}@{cycle_id}.plancycle"


def organizer_address() -> str:
    """Who the invites come from: ``PLANCYCLE_CALENDAR_FROM``, else the email URL's ``from=``."""
    explicit = os.environ.get("PLANCYCLE_CALENDAR_FROM")
    if explicit:
        return explicit
    url = os.environ.get("PLANCYCLE_EMAIL_URL") or ""
    sender = parse_qs(urlsplit(url).query).get("from", [""])[0]
    return sender or "planning@plancycle.invalid"


# --- building calendars ---------------------------------------------------------------------

@dataclass(frozen=True)
class DueEvent:
    """One all-day calendar entry: a due date or a stage milestone."""

    uid: str
    day: date
    summary: str
    description: str = ""
    sequence: int = 0
    cancelled: bool = False
    url: str | None = None
    attendee: tuple[str, str] | None = None  # (name, email) for an invite
    categories: tuple[str, ...] = ()


def build_calendar(events: Iterable[DueEvent], now: datetime, *, method: str | None = None,
                   name: str | None = None, organizer: str | None = None) -> bytes:
    """An RFC 5545 calendar of all-day events (``now`` is the DTSTAMP: from the Clock).

    Written directly (text escaped, lines folded at 75 octets) rather than through the
    icalendar package's object model: every reminder email carries one, so it is on the
    chaser's hot path; the tests read what is written back with the icalendar package.
    """
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0"]
    if method:
        lines.append(f"METHOD:{method}")
    if name:
        lines += [f"X-WR-CALNAME:{_text(name)}", f"NAME:{_text(name)}"]
    stamp = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    organiser = organizer or organizer_address()
    sender = os.environ.get("PLANCYCLE_SENDER_NAME", "Workforce Planning Team")
    for item in events:
        lines += ["BEGIN:VEVENT", f"UID:{_text(item.uid)}", f"DTSTAMP:{stamp}",
                  f"DTSTART;VALUE=DATE:{item.day:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{item.day + timedelta(days=1):%Y%m%d}",
                  f"SEQUENCE:{item.sequence}", f"SUMMARY:{_text(item.summary)}"]
        if item.description:
            lines.append(f"DESCRIPTION:{_text(item.description)}")
        if item.url:
            lines.append(f"URL:{item.url}")
        if item.categories:
            lines.append(f"CATEGORIES:{','.join(_text(c) for c in item.categories)}")
        lines += [f"STATUS:{'CANCELLED' if item.cancelled else 'CONFIRMED'}",
                  # a deadline, not a meeting: the day stays free
                  "TRANSP:TRANSPARENT"]
        if method in (REQUEST, CANCEL):
            lines.append(f"ORGANIZER;CN={_param(sender)}:mailto:{organiser}")
        if item.attendee:
            who, address = item.attendee
            lines.append(f"ATTENDEE;CN={_param(who)};PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;"
                         f"RSVP=FALSE:mailto:{address}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": ""})


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newline escaped."""
    return value.translate(_TEXT_ESCAPES)


def _param(value: str) -> str:
    """A parameter value, quoted when it holds ``:;,`` (quotes themselves are not allowed)."""
    value = value.replace('"', "'").replace("\n", " ").replace("\r", " ")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    if len(line) <= 75 and line.isascii():
        return line
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines start with a space
    return "\r\n ".join(parts)


# --- the event of an assignment -------------------------------------------------------------

class EventBook:
    """The calendar events of one cycle's assignments, loaded once per pass.

    :meth:`track` returns the event an email about an assignment should carry, bumping the
    SEQUENCE when the due date changed or the event is cancelled or reinstated since the
    last email. Changes are written to the register in the caller's unit of work (audited).
    """

    def __init__(self, session: Session, cycle_id: str) -> None:
        self.session = session
        self.cycle_id = cycle_id
        self._rows: dict[int, CalendarEvent] | None = None

    def _all(self) -> dict[int, CalendarEvent]:
        if self._rows is None:
            self._rows = {e.assignment_id: e for e in self.session.scalars(
                select(CalendarEvent).where(CalendarEvent.cycle_id == self.cycle_id))}
        return self._rows

    def get(self, assignment_id: int) -> CalendarEvent | None:
        return self._all().get(assignment_id)

    def track(self, assignment: Assignment, now: datetime, cancel: bool = False
              ) -> CalendarEvent:
        rows = self._all()
        row = rows.get(assignment.id)
        if row is None:
            row = CalendarEvent(cycle_id=assignment.cycle_id, assignment_id=assignment.id,
                                uid=assignment_uid(assignment.id, assignment.cycle_id),
                                sequence=0, due_on=assignment.due_on, cancelled=cancel,
                                updated_at=now)
            self.session.add(row)
            rows[assignment.id] = row
        elif row.due_on != assignment.due_on or row.cancelled != cancel:
            row.sequence += 1
            row.due_on = assignment.due_on
            row.cancelled = cancel
            row.updated_at = now
        return row

    def to_cancel(self, task: Task) -> list[Assignment]:
        """Assignments of ``task`` handed to someone else whose invite is still live.

        Not while the person is marked absent (their deputy stands in): nobody is written to
        while away; the cancellation goes with the next message about the task once back.
        """
        out = []
        for assignment in task.assignments:
            row = self.get(assignment.id)
            if assignment.state == AssignmentState.REASSIGNED and row is not None \
                    and not row.cancelled and not assignment.person.absent:
                out.append(assignment)
        return out


def _task_description(task: Task, stage_name: str, role_name: str, organisation: str,
                      link: str | None) -> str:
    lines = [f"{organisation} workforce planning: {task.name}", f"Stage: {stage_name}",
             f"Role: {role_name}"]
    if task.return_kind:
        lines.append(f"Return: {task.return_kind}")
    if link:
        lines += ["", f"Open the task: {link}"]
    return "\n".join(lines)


def assignment_event(row: CalendarEvent, task: Task, person: Person, *, stage_name: str,
                     role_name: str, organisation: str, link: str | None = None) -> DueEvent:
    """The calendar entry for one person's assignment, as the event row says now."""
    prefix = "Handed over: " if row.cancelled else "Due: "
    return DueEvent(
        uid=row.uid, day=row.due_on, summary=f"{prefix}{task.name}",
        description=_task_description(task, stage_name, role_name, organisation, link),
        sequence=row.sequence, cancelled=row.cancelled, url=None if row.cancelled else link,
        attendee=(person.name, person.email) if person.email else None,
        categories=("Workforce planning",))


def invite(events: Sequence[DueEvent], now: datetime) -> str:
    """The .ics text attached to an email: REQUEST, or CANCEL when every event is cancelled."""
    method = CANCEL if events and all(e.cancelled for e in events) else REQUEST
    return build_calendar(events, now, method=method).decode("utf-8")


# --- feeds ------------------------------------------------------------------------------------

def _cycle(session: Session, cycle_id: str) -> Cycle:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise LookupError(f"no cycle '{cycle_id}' in the register")
    return cycle


def _role_names(session: Session, cycle_id: str) -> dict[str, str]:
    return {h.role_key: h.role_name for h in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}


def _milestones(cycle: Cycle, stages: Iterable[Stage]) -> list[DueEvent]:
    out = []
    for stage in stages:
        out.append(DueEvent(milestone_uid(stage.key, "starts", cycle.id), stage.starts_on,
                            f"Stage opens: {stage.name}", f"{cycle.name}: {stage.name} opens.",
                            categories=("Workforce planning", "Milestone")))
        out.append(DueEvent(milestone_uid(stage.key, "ends", cycle.id), stage.ends_on,
                            f"Stage closes: {stage.name}", f"{cycle.name}: {stage.name} closes.",
                            categories=("Workforce planning", "Milestone")))
    return out


def person_feed(session: Session, cycle_id: str, person_key: str, now: datetime) -> bytes:
    """A person's deadlines (their open and completed assignments) and their stages' milestones.

    No task links: a feed is fetched and stored by calendar servers, so the signed links stay
    in the emails. Raises LookupError for an unknown cycle or person.
    """
    cycle = _cycle(session, cycle_id)
    person = session.scalars(select(Person).where(
        Person.cycle_id == cycle_id, Person.key == person_key)).first()
    if person is None:
        raise LookupError(f"no person '{person_key}' in cycle '{cycle_id}'")
    roles = _role_names(session, cycle_id)
    book = EventBook(session, cycle_id)
    events: list[DueEvent] = []
    stages: dict[int, Stage] = {}
    rows = session.execute(
        select(Assignment, Task, Stage).join(Task, Assignment.task_id == Task.id)
        .join(Stage, Task.stage_id == Stage.id)
        .where(Assignment.cycle_id == cycle_id, Assignment.person_id == person.id,
               Assignment.state.in_([AssignmentState.OPEN, AssignmentState.COMPLETE]))
        .order_by(Assignment.due_on, Assignment.id)).all()
    for assignment, task, stage in rows:
        stages[stage.id] = stage
        tracked = book.get(assignment.id)
        done = assignment.state == AssignmentState.COMPLETE
        events.append(DueEvent(
            uid=assignment_uid(assignment.id, cycle_id), day=assignment.due_on,
            summary=f"{'Done' if done else 'Due'}: {task.name}",
            description=_task_description(task, stage.name, roles.get(task.role_key,
                                                                      task.role_key),
                                          cycle.org_name, None)
            + "\n\nOpen the task from the link in your most recent email about it.",
            sequence=tracked.sequence if tracked else 0,
            categories=("Workforce planning",)))
    events += _milestones(cycle, sorted(stages.values(), key=lambda s: (s.starts_on, s.sequence)))
    return build_calendar(events, now, method=PUBLISH,
                          name=f"{cycle.name} — {person.name}")


def cycle_feed(session: Session, cycle_id: str, now: datetime) -> bytes:
    """The whole cycle for the planner: every task's due date and every stage milestone."""
    cycle = _cycle(session, cycle_id)
    roles = _role_names(session, cycle_id)
    holders: dict[int, list[str]] = {}
    for assignment, person in session.execute(
            select(Assignment, Person).join(Person, Assignment.person_id == Person.id)
            .where(Assignment.cycle_id == cycle_id,
                   Assignment.state.in_([AssignmentState.OPEN, AssignmentState.COMPLETE]))
            .order_by(Assignment.id)):
        holders.setdefault(assignment.task_id, []).append(person.name)
    stages = list(session.scalars(select(Stage).where(Stage.cycle_id == cycle_id)
                                  .order_by(Stage.starts_on, Stage.sequence)))
    events: list[DueEvent] = []
    for stage in stages:
        for task in sorted(stage.tasks, key=lambda t: (t.due_on, t.sequence)):
            if task.state == TaskState.CANCELLED:
                continue
            role = roles.get(task.role_key, task.role_key)
            who = ", ".join(holders.get(task.id, [])) or f"holders of {role}"
            done = task.state == TaskState.COMPLETE
            events.append(DueEvent(
                uid=task_uid(task.key, cycle_id), day=task.due_on,
                summary=f"{'Done' if done else 'Due'}: {task.name} ({role})",
                description=f"{_task_description(task, stage.name, role, cycle.org_name, None)}"
                            f"\nAssigned to: {who}\nState: {task.state}",
                categories=("Workforce planning",)))
    events += _milestones(cycle, stages)
    return build_calendar(events, now, method=PUBLISH, name=cycle.name)


# --- signed feed URLs ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedClaims:
    """Whose feed a token opens. Every token is issued to a person, so ``plancycle link
    revoke --person`` withdraws it; ``whole`` is the planner's feed of the whole cycle."""

    cycle: str
    person: str
    whole: bool = False


class FeedLinks(SignedLinks):
    """Signs and checks ``/calendar/<token>.ics`` URLs (expiring, revocable, clock-aware)."""

    salt = "plancycle.calendar-feed"
    default_max_age_days = FEED_MAX_AGE_DAYS

    def token(self, cycle: str, person: str, whole: bool = False) -> str:
        """A feed token for ``person`` (their deadlines, or with ``whole`` the cycle's)."""
        return self._serializer.dumps({"c": cycle, "p": person, "w": bool(whole),
                                       "g": self._generation(cycle, person)})

    def url(self, cycle: str, person: str, whole: bool = False) -> str:
        return f"{self.base_url}/calendar/{self.token(cycle, person, whole)}.ics"

    def verify(self, token: str) -> FeedClaims:
        return self._verified(token.removesuffix(".ics"), lambda data: FeedClaims(
            cycle=str(data["c"]), person=str(data["p"]), whole=bool(data.get("w", False))))


class FeedHost(Protocol):
    """What serving a feed needs from the runtime: the register, the task links, the clock."""

    register: Register
    links: TaskLinks
    clock: Clock


def feed_links(runtime: FeedHost, max_age_days: int = FEED_MAX_AGE_DAYS) -> FeedLinks:
    """Feed URLs for a runtime: its link secret, portal URL, clock and revocations."""
    from plancycle.links import link_secret

    return FeedLinks(link_secret(), runtime.links.base_url, runtime.clock, max_age_days,
                     runtime.links.revocations)


def verify_feed_token(links: FeedLinks, token: str) -> FeedClaims:
    """The claims of a feed token; raises LinkError('invalid' / 'expired' / 'revoked')."""
    if len(token) > 1000:
        raise LinkError("invalid")
    return links.verify(token)


def feed(session: Session, claims: FeedClaims, now: datetime) -> bytes:
    """The feed a verified token is for (LookupError if its cycle or person has gone)."""
    if session.scalars(select(Person.id).where(Person.cycle_id == claims.cycle,
                                               Person.key == claims.person)).first() is None:
        raise LookupError(f"no person '{claims.person}' in cycle '{claims.cycle}'")
    if claims.whole:
        return cycle_feed(session, claims.cycle, now)
    return person_feed(session, claims.cycle, claims.person, now)


def serve_feed(runtime: FeedHost, token: str) -> tuple[int, bytes]:
    """For the portal's ``/calendar/<token>.ics`` route: (HTTP status, body).

    200 with the calendar; 403 for a tampered token; 410 for an expired or revoked one; 404
    when its cycle or person is no longer in the register.
    """
    try:
        claims = verify_feed_token(feed_links(runtime), token)
    except LinkError as exc:
        status = 403 if exc.reason == "invalid" else 410
        return status, f"This calendar link is {exc.reason}.".encode()
    try:
        with runtime.register.session(actor=f"feed:{claims.person}") as session:
            return 200, feed(session, claims, runtime.clock.now())
    except LookupError:
        return 404, b"This calendar is no longer in the planning register."
