"""Signed task links: the way into the portal for people who have no account.

A link is signed for one person and one assignment and expires (default 30 days); each
reminder carries a freshly signed link. Expiry is measured on the injected Clock so a
simulated year behaves like a real one. The secret comes from the environment.

Links can be revoked (a forwarded email, a person who has left): each person in a cycle has
a link *generation* in the register (table ``link_generations``, 0 until first revoked).
Every link carries the generation it was signed in; :func:`revoke_links` bumps it, so every
link signed before stops working at once while the next reminder brings a working one.
A generation rather than a list of revoked tokens because links are never stored.

A correctly signed link is also **bound to people** (:func:`bind_link`): it names a person
and an assignment, and it is honoured only when that person is the assignee, the
assignee's deputy standing in (the assignee is recorded absent, or an escalation asked the
deputy), or a delegate recorded in the register (:mod:`plancycle.delegates`). Anyone else
sent an escalation about the assignment (a line manager, an executive) may see it, not act.
Everyone else is refused with the names of the people to ask.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.assignments import planners, stand_in
from plancycle.clock import Clock, SystemClock
from plancycle.delegates import active_delegations
from plancycle.register.models import Assignment, LinkGeneration, Notification, Person, Task

C = TypeVar("C", bound="_Claims")

if TYPE_CHECKING:
    from plancycle.register.db import Register

DEFAULT_MAX_AGE_DAYS = 30


class LinkError(Exception):
    """A link that cannot be used; ``reason`` is 'expired', 'revoked' or 'invalid'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    person: str      # person key
    assignment: int  # assignment id
    cycle: str


def link_secret(home: Path | None = None) -> str:
    """``PLANCYCLE_LINK_SECRET``, or a per-installation secret generated once (dev/demo)."""
    secret = os.environ.get("PLANCYCLE_LINK_SECRET")
    if secret:
        return secret
    from plancycle.register.db import home as default_home

    path = (home or default_home()) / "link-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class _Claims(Protocol):
    """What every kind of signed link names: a person in a cycle."""

    @property
    def cycle(self) -> str: ...

    @property
    def person(self) -> str: ...


class Revocations(Protocol):
    """Where link generations are kept (the register in production)."""

    def generation(self, cycle: str, person: str) -> int: ...


def current_generation(session: Session, cycle_id: str, person_key: str) -> int:
    row = session.scalars(select(LinkGeneration).where(
        LinkGeneration.cycle_id == cycle_id, LinkGeneration.person_key == person_key)).first()
    return row.generation if row else 0


def revoke_links(session: Session, cycle_id: str, person_key: str, now: datetime,
                 reason: str | None = None) -> int:
    """Revoke every link signed so far for a person in a cycle; returns the new generation.

    Audited like any register change (the session's actor). Links signed afterwards work.
    """
    row = session.scalars(select(LinkGeneration).where(
        LinkGeneration.cycle_id == cycle_id, LinkGeneration.person_key == person_key)).first()
    if row is None:
        row = LinkGeneration(cycle_id=cycle_id, person_key=person_key, generation=0,
                             revoked_at=now)
        session.add(row)
    row.generation += 1
    row.revoked_at = now
    row.reason = reason
    session.flush()
    return row.generation


class RegisterRevocations:
    """Link generations read from the register, afresh on every signing and verifying.

    Uncached on purpose: a revocation must take effect on the next click, and a link signed
    just after one must work. The read is one indexed query on its own connection (~40 µs on
    SQLite), so a chaser pass signing hundreds of links does not notice it.
    """

    def __init__(self, register: Register) -> None:
        self.register = register

    def generation(self, cycle: str, person: str) -> int:
        with self.register.engine.connect() as connection:
            value = connection.scalar(
                select(LinkGeneration.generation).where(LinkGeneration.cycle_id == cycle,
                                                        LinkGeneration.person_key == person))
        return int(value or 0)


class SignedLinks:
    """Clock-aware, expiring, revocable signed tokens; one salt per kind of link."""

    salt = "plancycle.signed-link"
    default_max_age_days = DEFAULT_MAX_AGE_DAYS

    def __init__(self, secret: str, base_url: str | None = None, clock: Clock | None = None,
                 max_age_days: int | None = None,
                 revocations: Revocations | None = None) -> None:
        self.base_url = (base_url or os.environ.get("PLANCYCLE_PORTAL_URL")
                         or "http://127.0.0.1:8000").rstrip("/")
        self.clock = clock or SystemClock()
        self.max_age_seconds = (max_age_days or self.default_max_age_days) * 86400
        self.revocations = revocations
        clock_ref = self.clock

        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock_ref.now().timestamp())

        self._serializer = URLSafeTimedSerializer(secret, salt=self.salt, signer=_ClockSigner)

    def _generation(self, cycle: str, person: str) -> int:
        return 0 if self.revocations is None else self.revocations.generation(cycle, person)

    def _verified(self, token: str, parse: Callable[[dict[str, Any]], C]) -> C:
        """Check signature, age and generation; ``parse`` turns the payload into claims."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds)
            claims = parse(data)
            generation = int(data.get("g", 0))
        except SignatureExpired:
            raise LinkError("expired") from None
        except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
            raise LinkError("invalid") from None
        if generation != self._generation(claims.cycle, claims.person):
            raise LinkError("revoked")
        return claims


class TaskLinks(SignedLinks):
    salt = "plancycle.task-link"

    def token(self, person: str, assignment: int, cycle: str,
              generation: int | None = None) -> str:
        """``generation``: the person's link generation when the caller has just read it
        (a chaser pass reads every person's once instead of once per link)."""
        if generation is None:
            generation = self._generation(cycle, person)
        return self._serializer.dumps({"p": person, "a": assignment, "c": cycle,
                                       "g": generation})

    def url(self, person: str, assignment: int, cycle: str,
            generation: int | None = None) -> str:
        return f"{self.base_url}/t/{self.token(person, assignment, cycle, generation)}"

    def verify(self, token: str) -> LinkClaims:
        return self._verified(token, lambda data: LinkClaims(
            person=str(data["p"]), assignment=int(data["a"]), cycle=str(data["c"])))


# --- links bound to people ------------------------------------------------------------------

ASSIGNEE, DEPUTY, DELEGATE, ESCALATION = "assignee", "deputy", "delegate", "escalation"


class LinkNotBound(Exception):
    """A correctly signed link used by someone it does not let in; the message says whom to
    ask (shown to the person as it is)."""


@dataclass(frozen=True)
class LinkBinding:
    """Why a person may use a link to an assignment, and whether they may act on it."""

    how: str            # assignee / deputy / delegate / escalation (see the module docstring)
    person: Person      # who the link lets in
    holder: Person      # whose assignment it is
    assignment: Assignment

    @property
    def acts(self) -> bool:
        """May complete, upload or decide (an escalation only shows who holds it)."""
        return self.how != ESCALATION

    @property
    def own(self) -> bool:
        return self.how == ASSIGNEE


def _contact(person: Person) -> str:
    return f"{person.name} ({person.email})" if person.email else person.name


def _ask_planner(session: Session, cycle_id: str) -> str:
    names = [_contact(p) for p in planners(session, cycle_id)]
    return "the workforce planner" + (f" ({', '.join(names)})" if names else "")


def bind_link(session: Session, person: Person, assignment: Assignment, today: date
              ) -> LinkBinding:
    """How ``person`` may use a link to ``assignment`` today, or :class:`LinkNotBound`.

    In order: the assignee; their deputy standing in (the assignee is absent and the
    deputy is next in their chain of stand-ins, or an escalation of this assignment was sent
    to the deputy); a delegate of the assignee recorded in the register and in force today
    for this task; someone sent an escalation about it (view only).
    """
    holder = session.get(Person, assignment.person_id)
    task = session.get(Task, assignment.task_id)
    if holder.id == person.id:
        return LinkBinding(ASSIGNEE, person, holder, assignment)
    escalated = session.scalars(select(Notification.id).where(
        Notification.assignment_id == assignment.id, Notification.person_id == person.id,
        Notification.kind == "escalation").limit(1)).first() is not None
    people = {p.key: p for p in session.scalars(
        select(Person).where(Person.cycle_id == assignment.cycle_id))}
    is_deputy = holder.deputy_key == person.key
    standing_in = holder.absent and stand_in(holder, people).id == person.id
    if standing_in or (is_deputy and escalated):
        return LinkBinding(DEPUTY, person, holder, assignment)
    if active_delegations(session, assignment.cycle_id, person_key=holder.key,
                          delegate_key=person.key, on=today, task_key=task.key):
        return LinkBinding(DELEGATE, person, holder, assignment)
    if escalated:
        return LinkBinding(ESCALATION, person, holder, assignment)
    planner = _ask_planner(session, assignment.cycle_id)
    if is_deputy:
        raise LinkNotBound(
            f"This link was made for {person.name}, {holder.name}'s deputy, but "
            f"{holder.name} is not recorded as away, so '{task.name}' is still theirs. Ask "
            f"{_contact(holder)} to hand it to you from their own link, or ask {planner} to "
            f"record {holder.name} as absent.")
    raise LinkNotBound(
        f"This link was made for {person.name}, but '{task.name}' is assigned to "
        f"{holder.name}. Only {holder.name}, their deputy standing in, or a delegate the "
        f"workforce planner has recorded can use it. Ask {_contact(holder)} to hand the task "
        f"to you, or ask {planner} to record you as {holder.name}'s delegate "
        "(`plancycle link delegate`).")


def acting_for(session: Session, person: Person, today: date) -> set[int]:
    """Ids of the people whose tasks ``person`` may act on today, as deputy or delegate (a
    first sieve: :func:`bind_link` decides each assignment, e.g. a one-task delegation)."""
    people = {p.key: p for p in session.scalars(
        select(Person).where(Person.cycle_id == person.cycle_id))}
    out = {p.id for p in people.values()
           if p.id != person.id and p.absent and stand_in(p, people).id == person.id}
    for delegation in active_delegations(session, person.cycle_id, delegate_key=person.key,
                                         on=today):
        if delegation.person_key in people:
            out.add(people[delegation.person_key].id)
    return out
