"""From the plan's Annex G items to tracked actions: owners, due dates from the timescale,
numbering, and carrying open actions into next year's cycle."""

from __future__ import annotations

import calendar as months
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.actions.quarters import quarter_bounds
from plancycle.actions.terms import OPEN, ActionError
from plancycle.analysis.actions import ActionItem
from plancycle.calendar import WorkingCalendar, financial_year_bounds
from plancycle.config.loader import parse_config
from plancycle.config.model import CycleConfig, TaskKind
from plancycle.register.models import (
    Action,
    Cycle,
    Task,
)

# --- from Annex G items to tracked actions -----------------------------------------------------

def fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


def owner_role_for(responsible: str, roles: dict[str, str], fallback: str) -> str:
    """The role named first in Annex G's free-text "responsible" (role id → role name).

    "Finance Lead with the Executive Team" → ``finance_lead``; "Service Lead — Surgery" →
    ``service_lead``. Nothing recognised: ``fallback`` (the planner's role).
    """
    text = responsible.lower()
    found = []
    for role_id, name in roles.items():
        for label in {name.lower(), role_id.replace("_", " ").lower(),
                      re.sub(r"\s*\(.*?\)", "", name).lower()}:
            at = text.find(label) if label else -1
            if at >= 0:
                found.append((at, -len(label), role_id))
    return min(found)[2] if found else fallback


def _month_end(year: int, month: int) -> date:
    return date(year, month, months.monthrange(year, month)[1])


def due_from_timescale(timescale: str, financial_year: str, calendar: WorkingCalendar,
                       before_signoff: date | None = None) -> date:
    """A due date from Annex G's timescale text, on a working day (the FY's end if unclear).

    "Q1–Q2 2026/27" → end of September 2026; "By March 2027"; "Winter 2026/27" → end of
    February; "2026/27 to 2028/29" → March 2029; "From plan year 2 (2027/28)" → March 2028;
    "Before sign-off …" → ``before_signoff`` (the board gate's due date).
    """
    _, fy_end = financial_year_bounds(financial_year)
    text = timescale.replace("–", "-").replace("—", "-")
    day: date | None = None
    if (m := re.search(r"Q([1-4])\s*-\s*Q([1-4])\s+(\d{4}/\d{2})", text)) or (
            m := re.search(r"Q([1-4])()\s+(\d{4}/\d{2})", text)):
        day = quarter_bounds(f"{m.group(3)} Q{m.group(2) or m.group(1)}")[1]
    elif m := re.search(r"\bby\s+([A-Z][a-z]+)\s+(\d{4})", text, re.IGNORECASE):
        names = [n.lower() for n in months.month_name]
        if m.group(1).lower() in names:
            day = _month_end(int(m.group(2)), names.index(m.group(1).lower()))
    elif m := re.search(r"winter\s+(\d{4})/\d{2}", text, re.IGNORECASE):
        day = _month_end(int(m.group(1)) + 1, 2)
    elif m := re.search(r"(\d{4}/\d{2})\s+to\s+(\d{4}/\d{2})", text):
        day = financial_year_bounds(m.group(2))[1]
    elif m := re.search(r"plan year \d+ \((\d{4}/\d{2})\)", text, re.IGNORECASE):
        day = financial_year_bounds(m.group(1))[1]
    elif re.search(r"before sign-?off", text, re.IGNORECASE) and before_signoff:
        day = before_signoff
    return calendar.previous_working_day(day or fy_end)


@dataclass
class TrackResult:
    created: list[Action] = field(default_factory=list)
    already: int = 0
    carried: list[Action] = field(default_factory=list)


def cycle_config(session: Session, cycle_id: str) -> CycleConfig:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ActionError(f"no cycle '{cycle_id}' in the register")
    return parse_config(cycle.config_text, file=cycle.config_path)


def _planner_role(config: CycleConfig) -> str:
    return next((t.role for _, t in config.tasks() if t.kind == TaskKind.ANALYSIS),
                config.roles[0].id)


def _next_number(session: Session, cycle_id: str) -> int:
    numbers = [int(k[1:]) for k in session.scalars(select(Action.key).where(
        Action.cycle_id == cycle_id)) if re.fullmatch(r"G\d+", k)]
    return max(numbers, default=0) + 1


def track_actions(session: Session, cycle_id: str, items: Sequence[ActionItem], now: datetime,
                  calendar: WorkingCalendar | None = None) -> TrackResult:
    """Record Annex G items as tracked actions (idempotent: an item already tracked — same
    text — is left alone). Actions carried from last year are brought in first."""
    calendar = calendar or WorkingCalendar()
    config = cycle_config(session, cycle_id)
    result = TrackResult(carried=carry_over(session, cycle_id, now))
    roles = {r.id: r.name for r in config.roles}
    fallback = _planner_role(config)
    signoff = session.scalar(select(func.max(Task.due_on)).where(
        Task.cycle_id == cycle_id, Task.kind == TaskKind.GATE))
    known = set(session.scalars(select(Action.fingerprint).where(Action.cycle_id == cycle_id)))
    number = _next_number(session, cycle_id)
    for item in items:
        print_ = fingerprint(item.action)
        if print_ in known:
            result.already += 1
            continue
        action = Action(
            cycle_id=cycle_id, key=f"G{number}", fingerprint=print_, text=item.action,
            priority=item.priority, timescale=item.timescale, responsible=item.responsible,
            owner_role=owner_role_for(item.responsible, roles, fallback),
            support_needed=item.support_needed, resources=item.resources,
            measure_of_success=item.measures_of_success, source=item.source,
            due_on=due_from_timescale(item.timescale, config.cycle.financial_year, calendar,
                                      signoff),
            status=OPEN, created_at=now)
        session.add(action)
        known.add(print_)
        result.created.append(action)
        number += 1
    session.flush()
    return result


def carry_over(session: Session, cycle_id: str, now: datetime) -> list[Action]:
    """Bring in the actions the cycle's ``baseline:`` lists as still open last year.

    Each becomes a new action here linked to last year's (``carried_from_id``) when last
    year's cycle is in this register, so :func:`history` still shows its updates; otherwise
    it is recreated from the YAML. Idempotent.
    """
    config = cycle_config(session, cycle_id)
    if config.baseline is None or not config.baseline.actions:
        return []
    roles = {r.id for r in config.roles}
    planner = _planner_role(config)
    existing = {a.key: a for a in session.scalars(select(Action).where(
        Action.cycle_id == cycle_id))}
    carried_ids = {a.carried_from_id for a in existing.values() if a.carried_from_id}
    created = []
    for item in config.baseline.actions:
        previous = session.scalars(select(Action).where(
            Action.cycle_id == config.baseline.cycle, Action.key == item.key)).first()
        if previous is not None and previous.id in carried_ids:
            continue
        if previous is None and item.key in existing:
            continue
        key = item.key if item.key not in existing else f"G{_next_number(session, cycle_id)}"
        owner = item.owner if item.owner in roles else (
            previous.owner_role if previous is not None and previous.owner_role in roles
            else planner)
        action = Action(
            cycle_id=cycle_id, key=key, fingerprint=fingerprint(item.action), text=item.action,
            priority=previous.priority if previous else "Medium",
            timescale=previous.timescale if previous else "Carried over",
            responsible=previous.responsible if previous else owner,
            owner_role=owner,
            support_needed=previous.support_needed if previous else None,
            resources=previous.resources if previous else None,
            measure_of_success=item.measure_of_success or (
                previous.measure_of_success if previous else ""),
            source=f"Carried from {config.baseline.cycle}",
            due_on=item.due or (previous.due_on if previous else now.date()),
            status=OPEN, rag=item.rag or (previous.rag if previous else None),
            carried_from_id=previous.id if previous else None, created_at=now)
        session.add(action)
        session.flush()
        existing[key] = action
        created.append(action)
    return created


# --- the analysis' actions ---------------------------------------------------------------------

def analysed_actions(session: Session, cycle_id: str) -> list[ActionItem]:
    """Annex G as the plan prints it: the analysis of the cycle's accepted returns.

    Raises :class:`plancycle.analysis.AnalysisRefused` or
    :class:`plancycle.planning.PlanningError` when the returns cannot be analysed.
    """
    from plancycle.planning import analyse_returns, gather_returns

    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ActionError(f"no cycle '{cycle_id}' in the register")
    return list(analyse_returns(gather_returns(session, cycle_id), cycle.financial_year).actions)
