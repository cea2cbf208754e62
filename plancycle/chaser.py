"""The chaser: apply the chasing policy to every open assignment of a cycle on a day.

``plan`` decides what is due (no sending: one query for the open assignments, one for their
tasks' policies and one for which of today's steps were already handled); ``chase`` turns
that into queued notifications, grouping them into one digest per person where the task's
policy asks for it. Delivery is the notifier's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar, working_days_between_arrays
from plancycle.chasing import ChaseStep, chase_steps
from plancycle.clock import LONDON
from plancycle.links import TaskLinks
from plancycle.notify.fallbacks import UNROUTED
from plancycle.notify.messages import MessageBuilder
from plancycle.notify.service import Intent, Notifier, write_notifications
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Notification,
    Task,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class PlannedStep:
    step: ChaseStep
    assignment_id: int
    person_id: int
    digest: bool


@dataclass
class ChaseResult:
    planned: list[PlannedStep] = field(default_factory=list)
    queued: int = 0
    skipped_non_working_day: bool = False


def handled_steps(session: Session, cycle_id: str) -> set[str]:
    """Step keys already queued (any channel, any recipient) — the idempotency memory."""
    keys = session.scalars(select(Notification.idempotency_key).where(
        Notification.cycle_id == cycle_id, Notification.assignment_id.is_not(None)))
    out = set()
    for key in keys:
        parts = key.split(":")
        out.add(":".join(parts[:4]))  # a<id>:<kind>:<step>:<due>
    return out


@lru_cache(maxsize=8)
def _handled_sql(n: int) -> str:
    table = Notification.__tablename__
    # Unary + keeps SQLite on the key's index rather than the cycle's.
    exists = (f"EXISTS (SELECT 1 FROM {table} n WHERE {{}} AND +n.cycle_id = ? "
              "AND n.assignment_id IS NOT NULL)")
    return (f"WITH c(k) AS (VALUES {', '.join(['(?)'] * n)}) SELECT c.k FROM c WHERE "
            + exists.format("n.idempotency_key = c.k") + " OR "
            # Keys are compared byte-wise (BINARY), and ';' follows ':'.
            + exists.format("n.idempotency_key >= c.k || ':' AND n.idempotency_key < c.k || ';'"))


def handled_among(session: Session, cycle_id: str, keys: list[str]) -> set[str]:
    """The step keys among ``keys`` already handled: :func:`handled_steps` ∩ ``keys``.

    On SQLite the register answers for just these keys, through the unique index on
    ``idempotency_key`` (the history grows all year; today's candidates do not). Elsewhere
    (collations differ) the whole memory is read.
    """
    if not keys:
        return set()
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        done = handled_steps(session, cycle_id)
        return {k for k in keys if k in done}
    # Bound parameters per statement: 32,766 since SQLite 3.32, 999 before.
    version = getattr(connection.dialect.dbapi, "sqlite_version_info", (0,))
    size = 8000 if version >= (3, 32) else 400
    out: set[str] = set()
    for start in range(0, len(keys), size):
        chunk = keys[start:start + size]
        out.update(connection.exec_driver_sql(
            _handled_sql(len(chunk)), (*chunk, cycle_id, cycle_id)).scalars().all())
    return out


@dataclass
class _OpenRows:
    """The open assignments of a cycle, column by column (days as numpy datetime64[D])."""

    ids: list[int]
    person_ids: list[int]
    task_ids: list[int]
    due_iso: list[str]
    due: NDArray[np.datetime64]
    assigned_day: NDArray[np.datetime64]  # in the organisation's time zone


def _open_rows(session: Session, cycle_id: str) -> _OpenRows | None:
    """Read the open assignments. The register keeps UTC; the day an assignment was made is
    the organisation's (a pass at 00:05 BST is 23:05 UTC the day before)."""
    import numpy as np

    if session.autoflush:
        session.flush()  # as session.execute() would; the rows are read below the ORM
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # SQLite stores dates and UTC times as ISO text: read them raw and let numpy parse.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(
                f"SELECT id, person_id, task_id, due_on, assigned_at FROM "
                f"{Assignment.__tablename__} WHERE cycle_id = ? AND state = ? ORDER BY id",
                (cycle_id, str(AssignmentState.OPEN)))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return None
        ids, person_ids, task_ids, dues, assigned = zip(*rows, strict=True)
        utc = np.array(assigned, dtype="datetime64[m]")
        # UTC offsets per distinct hour (UK clocks change on the hour, at 01:00 UTC).
        hours, where = np.unique(utc.astype("datetime64[h]"), return_inverse=True)
        offsets = np.array([
            datetime.fromtimestamp(h * 3600, tz=LONDON).utcoffset() // timedelta(minutes=1)
            for h in hours.astype(np.int64).tolist()], dtype="timedelta64[m]")
        local = utc + offsets[where.ravel()]
        return _OpenRows(list(ids), list(person_ids), list(task_ids), list(dues),
                         np.array(dues, dtype="datetime64[D]"), local.astype("datetime64[D]"))
    result = connection.execute(
        select(Assignment.id, Assignment.person_id, Assignment.task_id, Assignment.due_on,
               Assignment.assigned_at)
        .where(Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN)
        .order_by(Assignment.id)).all()
    if not result:
        return None
    ids, person_ids, task_ids, due_dates, assigned_at = zip(*result, strict=True)
    iso: dict[date, str] = {}
    due_iso = [iso.get(d) or iso.setdefault(d, d.isoformat()) for d in due_dates]
    return _OpenRows(list(ids), list(person_ids), list(task_ids), due_iso,
                     np.array(due_iso, dtype="datetime64[D]"),
                     np.array([a.astimezone(LONDON).date().isoformat() for a in assigned_at],
                              dtype="datetime64[D]"))


def plan(session: Session, cycle_id: str, today: date,
         calendar: WorkingCalendar | None = None) -> list[PlannedStep]:
    """Every chase step due today that has not been handled yet (nothing is sent).

    One pass is sized for tens of thousands of open assignments: the tasks' policies are
    decoded once each, working days are counted for all rows in one numpy call, the policy
    (:func:`chase_steps`, the one definition of it) is applied once per distinct (policy,
    days to due, days from assignment to due), and only today's candidate keys are checked
    against the history.
    """
    import numpy as np

    calendar = calendar or WorkingCalendar()
    if not calendar.is_working_day(today):
        return []
    rows = _open_rows(session, cycle_id)
    if rows is None:
        return []
    # Each task's chasing policy, decoded once; identical policies share one entry.
    policies: list[dict[str, Any]] = []
    policy_of: dict[str, int] = {}
    task_policy: dict[int, int] = {}
    for task_id, settings in session.connection().execute(
            select(Task.id, Task.settings).where(Task.id.in_(
                select(Assignment.task_id).where(Assignment.cycle_id == cycle_id,
                                                 Assignment.state == AssignmentState.OPEN)))):
        chasing = settings.get("chasing", {})
        text = json.dumps(chasing, sort_keys=True)
        if text not in policy_of:
            policy_of[text] = len(policies)
            policies.append(chasing)
        task_policy[task_id] = policy_of[text]
    # Working days to the due date from today, and from the day each assignment was made.
    n = len(rows.ids)
    to_due = working_days_between_arrays(calendar, np.full(n, today, "datetime64[D]"),
                                         rows.due)
    assigned_to_due = working_days_between_arrays(calendar, rows.assigned_day, rows.due)
    # The policy's answer per distinct (policy, to_due, assigned_to_due), then per row; rows
    # whose task is missing (an inner join with tasks) get policy -1 and no answer.
    policy = np.array([task_policy.get(t, -1) for t in rows.task_ids], dtype=np.int64)
    span = 2 * int(max(np.abs(to_due).max(), np.abs(assigned_to_due).max()) + 1)
    code = ((policy + 1) * span + to_due + span // 2) * span + assigned_to_due + span // 2
    distinct, which = np.unique(code, return_inverse=True)
    answers: list[tuple[tuple[str, int, str | None], ...]] = []
    for value in distinct.tolist():
        rest, a_to_due = divmod(value, span)
        p, t_due = divmod(rest, span)
        answers.append(() if p == 0 else tuple((s.kind, s.step, s.target) for s in chase_steps(
            0, today, policies[p - 1], t_due - span // 2, a_to_due - span // 2)))
    has_steps = np.array([bool(a) for a in answers])[which.ravel()]
    rows_with_steps = np.flatnonzero(has_steps).tolist()
    answer_of = which.ravel()[rows_with_steps].tolist()
    at: list[int] = []
    kinds: list[str] = []
    numbers: list[int] = []
    targets: list[str | None] = []
    keys: list[str] = []
    ids, due_iso = rows.ids, rows.due_iso
    for i, answer in zip(rows_with_steps, answer_of, strict=True):
        for kind, step, target in answers[answer]:
            at.append(i)
            kinds.append(kind)
            numbers.append(step)
            targets.append(target)
            keys.append(f"a{ids[i]}:{kind}:{step}:{due_iso[i]}")
    done = handled_among(session, cycle_id, keys)
    digest = [bool(p.get("digest")) for p in policies]
    policy_at = policy.tolist()
    days: dict[str, date] = {}
    planned = []
    for j, key in enumerate(keys):
        if key in done:
            continue
        i = at[j]
        due_on = days.get(due_iso[i]) or days.setdefault(due_iso[i],
                                                         date.fromisoformat(due_iso[i]))
        planned.append(PlannedStep(ChaseStep(ids[i], kinds[j], numbers[j], due_on, targets[j]),
                                   ids[i], rows.person_ids[i], digest[policy_at[i]]))
    return planned


def _marker(planned: PlannedStep, cycle_id: str, now: datetime, channel: str, status: str,
            subject: str) -> dict[str, Any]:
    """A notification row that records a step as handled without sending anything."""
    return {"idempotency_key": f"{planned.step.key}:{channel}", "cycle_id": cycle_id,
            "person_id": planned.person_id, "assignment_id": planned.assignment_id,
            "kind": planned.step.kind, "channel": channel, "subject": subject, "body": "",
            "html": None, "ics": None, "status": status, "attempts": 0, "last_error": None,
            "created_at": now, "sent_at": None, "next_attempt_at": None, "claimed_by": None,
            "claimed_until": None}


def _assignments(session: Session, cycle_id: str, ids: set[int]) -> dict[int, Assignment]:
    """The planned steps' assignments (all open): by id in chunks, or the cycle's open ones
    at once when most of them are wanted (bound parameters are limited per statement)."""
    wanted = sorted(ids)
    if len(wanted) > 5000:
        return {a.id: a for a in session.scalars(select(Assignment).where(
            Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN))
            if a.id in ids}
    return {a.id: a for a in session.scalars(select(Assignment).where(
        Assignment.id.in_(wanted)))}


def chase(session: Session, cycle_id: str, today: date, notifier: Notifier, links: TaskLinks,
          calendar: WorkingCalendar | None = None) -> ChaseResult:
    """Plan today's steps and queue their messages (digests grouped per person)."""
    calendar = calendar or WorkingCalendar()
    result = ChaseResult(skipped_non_working_day=not calendar.is_working_day(today))
    result.planned = plan(session, cycle_id, today, calendar)
    if not result.planned:
        return result
    builder = MessageBuilder(session, cycle_id, links, calendar, today)
    assignments = _assignments(session, cycle_id, {p.assignment_id for p in result.planned})
    intents: list[Intent] = []
    digest_people: set[int] = set()
    digest_marks: list[PlannedStep] = []
    unrouted: list[PlannedStep] = []
    for planned in result.planned:
        assignment = assignments[planned.assignment_id]
        if planned.digest and planned.step.kind != "escalation":
            digest_people.add(planned.person_id)
            digest_marks.append(planned)
            continue
        messages = builder.chase(planned.step, assignment)
        if not messages:
            unrouted.append(planned)  # an escalation nobody in the cycle can receive
        intents += messages
    if digest_people:
        open_by_person: dict[int, list[Assignment]] = {}
        for a in session.scalars(select(Assignment).where(
                Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN,
                Assignment.person_id.in_(digest_people))):
            open_by_person.setdefault(a.person_id, []).append(a)
        for person_id, items in open_by_person.items():
            intents.append(builder.digest(builder.people[person_id], items))
    created = notifier.queue(session, intents) if intents else []
    # Steps folded into a digest, and escalations nobody can receive, are recorded as
    # handled so they are not planned again (the unrouted ones are shown to the planner).
    now = notifier.clock.now()
    write_notifications(session, [
        _marker(planned, cycle_id, now, "digest", "digested",
                f"included in digest of {today.isoformat()}") for planned in digest_marks] + [
        _marker(planned, cycle_id, now, "none", UNROUTED,
                "escalation with nobody to receive it: no line manager, deputy, role holder "
                "or workforce planner in the cycle") for planned in unrouted])
    result.queued = len(created)
    return result
