"""The register: SQLAlchemy tables holding the truth about every cycle.

Prefect's run state is not the source of truth — this is. Flows reconcile against it, the
chaser reads it, the portal and CLI write to it, and every change lands in the audit log
(see :mod:`plancycle.register.audit`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the register; use the injected Clock")
        return value.astimezone(UTC)  # stored as UTC: SQLite keeps no zone

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class CycleState(StrEnum):
    STARTED = "started"
    SUBMITTED = "submitted"
    CLOSED = "closed"


class StageState(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    COMPLETE = "complete"


class TaskState(StrEnum):
    PENDING = "pending"            # not yet open: stage not started or dependencies incomplete
    OPEN = "open"                  # assigned and being chased
    RESUBMISSION_REQUIRED = "resubmission_required"  # a return failed validation
    COMPLETE = "complete"
    CANCELLED = "cancelled"


class AssignmentState(StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    REASSIGNED = "reassigned"      # handed to a deputy/delegate; a new assignment exists
    CANCELLED = "cancelled"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_code: Mapped[str] = mapped_column(String(10), index=True)
    org_name: Mapped[str] = mapped_column(String(200))
    financial_year: Mapped[str] = mapped_column(String(7))
    config_path: Mapped[str] = mapped_column(Text)
    config_sha256: Mapped[str] = mapped_column(String(64))
    config_text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=CycleState.STARTED)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]

    stages: Mapped[list[Stage]] = relationship(back_populates="cycle", order_by="Stage.sequence")


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("cycle_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    chat: Mapped[str | None] = mapped_column(String(200))
    deputy_key: Mapped[str | None] = mapped_column(String(80))
    line_manager_key: Mapped[str | None] = mapped_column(String(80))
    absent: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleHolder(Base):
    """Who holds a role in a cycle (a role may have several holders, e.g. service leads)."""

    __tablename__ = "role_holders"
    __table_args__ = (UniqueConstraint("cycle_id", "role_key", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    role_key: Mapped[str] = mapped_column(String(80))
    role_name: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))


class Stage(Base):
    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("cycle_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default=StageState.PENDING)

    cycle: Mapped[Cycle] = relationship(back_populates="stages")
    tasks: Mapped[list[Task]] = relationship(back_populates="stage", order_by="Task.sequence")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("cycle_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30))
    role_key: Mapped[str] = mapped_column(String(80))
    sequence: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    depends_on: Mapped[list[Any]] = mapped_column(JSON, default=list)
    return_kind: Mapped[str | None] = mapped_column(String(40))
    instructions: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict)  # chasing policy and gate, as resolved from the config
    state: Mapped[str] = mapped_column(String(30), default=TaskState.PENDING, index=True)
    opened_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    stage: Mapped[Stage] = relationship(back_populates="tasks")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="task")


class Assignment(Base):
    """One person asked to do one task; chased until complete."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("task_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=AssignmentState.OPEN, index=True)
    due_on: Mapped[date] = mapped_column(Date)
    assigned_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    on_behalf_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id"))  # set when a deputy or delegate stands in
    reason: Mapped[str | None] = mapped_column(Text)

    task: Mapped[Task] = relationship(back_populates="assignments")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class Upload(Base):
    """A raw data return as received: stored (content-addressed) before any validation."""

    __tablename__ = "uploads"
    #: Two uploads of one task at the same moment (portal and CLI) cannot take one version.
    __table_args__ = (Index("uq_uploads_task_version", "task_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    version: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    stored_path: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="received")  # received/accepted/failed


class DQResult(Base):
    __tablename__ = "dq_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), unique=True)
    verdict: Mapped[str] = mapped_column(String(10))  # pass / warn / fail
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Decision(Base):
    """An approver's decision on a gate, tied to the exact document version (hash)."""

    __tablename__ = "decisions"
    #: One live decision per person and gate, whatever runs at once (migration 0006).
    __table_args__ = (Index("uq_decisions_live_per_person", "task_id", "person_id",
                            unique=True, postgresql_where=text("valid"),
                            sqlite_where=text("valid")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role_key: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(30))  # approve / approve_with_conditions / reject
    conditions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime]
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class Document(Base):
    """A generated document version (plan, summary); approvals refer to its hash."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("cycle_id", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Notification(Base):
    """One message to one person on one channel, keyed so it is never sent twice."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_deliverable", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # new_task, reminder, due, overdue, escalation…
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=NotificationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    #: iCalendar (.ics) attached to an email: the task's due date (see plancycle.icalendar).
    ics: Mapped[str | None] = mapped_column(Text)
    #: Which deliverer last claimed the message (host:pid:nonce), and until when no other may
    #: take it: a deliverer that dies mid-pass leaves its claims to expire, never to be lost.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None]


class SubmissionRecord(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("cycle_id", "package_sha256", "destination"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    package_sha256: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))  # pending / delivered / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only: who changed what, when, from what to what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str | None] = mapped_column(String(80), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))  # create / update / delete / or a verb
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class LinkGeneration(Base):
    """Revocation of a person's task links: links carry the generation they were signed in.

    Bumping ``generation`` (``plancycle link revoke``) invalidates every link signed before;
    see :mod:`plancycle.links`. No row means generation 0 (never revoked).
    """

    __tablename__ = "link_generations"
    __table_args__ = (UniqueConstraint("cycle_id", "person_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(80))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)


class Delegation(Base):
    """Someone recorded to act for a person on their tasks (``plancycle link delegate``).

    A task link is honoured only for its assignee, their deputy standing in, or an active
    delegate recorded here (see :func:`plancycle.links.bind_link`). ``task_key`` None: every
    task of the person; ``ends_on`` None: until withdrawn. Rows are never deleted:
    withdrawing sets ``withdrawn_at`` so the audit shows who could act when.
    """

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(80))     # who delegates
    delegate_key: Mapped[str] = mapped_column(String(80))   # who may act for them
    task_key: Mapped[str | None] = mapped_column(String(80))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class Action(Base):
    """One Annex G action tracked through the year (the living plan).

    Created from the analysis' action plan (``plancycle.actions``); while open it is carried
    into next year's cycle as a new row pointing back at this one (``carried_from_id``), so
    its RAG history follows it instead of being copied.
    """

    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("cycle_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    key: Mapped[str] = mapped_column(String(20))  # "G1", "G2"… as numbered in Annex G
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(20))
    timescale: Mapped[str] = mapped_column(String(200))
    responsible: Mapped[str] = mapped_column(String(300))
    owner_role: Mapped[str] = mapped_column(String(80))
    support_needed: Mapped[str | None] = mapped_column(Text)
    resources: Mapped[str | None] = mapped_column(Text)
    measure_of_success: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open/complete/dropped
    rag: Mapped[str | None] = mapped_column(String(10))  # latest reported: red/amber/green
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class ActionUpdate(Base):
    """A RAG status and short update on an action, usually from a quarterly check-in."""

    __tablename__ = "action_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(12))  # "2026/27 Q3"
    rag: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(20))  # a status change it recorded
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    author: Mapped[str] = mapped_column(String(200))  # name: people rows are per cycle
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))  # the check-in
    recorded_at: Mapped[datetime]


class CalendarEvent(Base):
    """The calendar entry an assignment's emails carry: UID and SEQUENCE per assignment.

    Calendars update an event with the same UID and a higher SEQUENCE, so the sequence is
    bumped whenever the due date changes or the event is cancelled or reinstated.
    """

    __tablename__ = "calendar_events"
    __table_args__ = (UniqueConstraint("assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    uid: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[date] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]
