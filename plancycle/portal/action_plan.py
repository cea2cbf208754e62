"""The dashboard's action plan: the Annex G actions, their owners, RAG now and last quarter,
and the quarterly check-ins that are overdue.

*RAG now* is the latest status reported (with the quarter it was for); *last quarter* is the
status reported for the quarter before that one, so the two columns show the movement between
consecutive check-ins (an action first reported this quarter has no previous RAG). Data come
from the register as :mod:`plancycle.actions` keeps it (actions, updates, check-in tasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.actions import CHECKIN_PREFIX, OPEN, action_plan, previous_quarter
from plancycle.register.models import Action, ActionUpdate, Person, RoleHolder, Task

RANK = {"red": 0, "amber": 1, "green": 2}


@dataclass(frozen=True)
class ActionRow:
    key: str
    text: str
    owner: str            # the role, and who holds it
    due_on: date
    status: str
    rag: str | None       # now: the latest reported
    rag_quarter: str | None
    previous: str | None  # reported for the quarter before ``rag_quarter``
    previous_quarter: str | None
    carried_from: str | None
    overdue: bool         # open and past its due date

    @property
    def trend(self) -> str:
        if self.rag is None or self.previous is None:
            return ""
        if RANK[self.rag] == RANK[self.previous]:
            return "no change"
        return "better" if RANK[self.rag] > RANK[self.previous] else "worse"


@dataclass(frozen=True)
class OverdueCheckin:
    task_key: str
    quarter: str
    person: str
    due_on: date
    days: int
    awaited: list[str]    # the action keys not yet reported for that quarter


def action_rows(session: Session, cycle_id: str, today: date) -> list[ActionRow]:
    holders: dict[str, list[str]] = {}
    for role, name in session.execute(
            select(RoleHolder.role_key, Person.name).join(Person, RoleHolder.person_id == Person.id)
            .where(RoleHolder.cycle_id == cycle_id).order_by(Person.name)):
        holders.setdefault(role, []).append(name)
    rows = []
    for view in action_plan(session, cycle_id):
        action = view.action
        latest = view.latest
        before = previous_quarter(latest.quarter) if latest else None
        people = holders.get(action.owner_role, [])
        rows.append(ActionRow(
            action.key, action.text,
            f"{view.owner_name} ({', '.join(people)})" if people else view.owner_name,
            action.due_on, action.status, latest.rag if latest else None,
            latest.quarter if latest else None, view.rag_in(before) if before else None,
            before, view.carried_from, action.status == OPEN and action.due_on < today))
    return rows


def overdue_checkins(session: Session, cycle_id: str,
                     overdue: list[tuple[str, str, date, int]]) -> list[OverdueCheckin]:
    """The check-in tasks among the overdue assignments (task key, person, due, days)."""
    late = [o for o in overdue if o[0].startswith(f"{CHECKIN_PREFIX}_")]
    if not late:
        return []
    tasks = {t.key: t for t in session.scalars(select(Task).where(
        Task.cycle_id == cycle_id, Task.key.in_({o[0] for o in late})))}
    out = []
    for key, person, due_on, days in late:
        asked = (tasks[key].settings or {}).get("checkin", {})
        quarter = asked.get("quarter", "")
        reported = set(session.scalars(
            select(Action.key).join(ActionUpdate, ActionUpdate.action_id == Action.id)
            .where(Action.cycle_id == cycle_id, ActionUpdate.quarter == quarter)))
        still_open = set(session.scalars(select(Action.key).where(
            Action.cycle_id == cycle_id, Action.status == OPEN)))
        awaited = [k for k in asked.get("actions", []) if k not in reported and k in still_open]
        out.append(OverdueCheckin(key, quarter, person, due_on, days, awaited))
    return out
