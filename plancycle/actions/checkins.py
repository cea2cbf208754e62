"""Opening each quarter's check-in tasks for the action owners (chased like any task)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.actions.plan import key_order
from plancycle.actions.quarters import parse_quarter, quarter_of
from plancycle.actions.terms import IN_YEAR_STAGE, OPEN, ActionError
from plancycle.actions.tracking import carry_over, cycle_config
from plancycle.actions.updates import checkin_key
from plancycle.calendar import WorkingCalendar
from plancycle.config.model import TaskKind
from plancycle.register.models import (
    Action,
    Stage,
    StageState,
    Task,
    TaskState,
)

# --- quarterly check-ins ------------------------------------------------------------------------

@dataclass
class CheckinResult:
    quarter: str
    stage: Stage
    created: list[Task] = field(default_factory=list)
    existing: list[Task] = field(default_factory=list)
    reopened_stage: bool = False

    @property
    def waits_for_stage(self) -> bool:
        return self.stage.state == StageState.PENDING


def monitoring_stage(session: Session, cycle_id: str, stage_key: str | None = None) -> Stage:
    stages = list(session.scalars(select(Stage).where(Stage.cycle_id == cycle_id)
                                  .order_by(Stage.starts_on, Stage.sequence)))
    if not stages:
        raise ActionError(f"cycle '{cycle_id}' has no stages")
    if stage_key:
        found = next((s for s in stages if s.key == stage_key), None)
        if found is None:
            raise ActionError(f"no stage '{stage_key}' in cycle '{cycle_id}' (stages: "
                              f"{', '.join(s.key for s in stages)})")
        return found
    return next((s for s in stages if s.key == IN_YEAR_STAGE), None) or next(
        (s for s in stages if "in_year" in s.key or "monitor" in s.key), stages[-1])


def _instructions(quarter: str, actions: Iterable[Action]) -> str:
    lines = [f"For each action below, give a RAG status (Red = will not be met, Amber = at "
             f"risk, Green = on track or done) and a short update on progress in {quarter}:"]
    for action in actions:
        lines.append(f"  {action.key}: {action.text} (due {action.due_on:%d %b %Y}; measure "
                     f"of success: {action.measure_of_success})")
    lines.append("Reply through the task link, or the planner records it with "
                 "`plancycle actions update <key> --rag amber --note \"...\" --person <you>`.")
    return "\n".join(lines)


def open_checkins(session: Session, cycle_id: str, now: datetime, calendar: WorkingCalendar,
                  *, quarter: str | None = None, due: date | None = None,
                  stage_key: str | None = None, working_days: int = 10) -> CheckinResult:
    """Create this quarter's check-in task for every owner role with open actions.

    Idempotent per (quarter, role). The tasks are pending until the engine opens them (next
    reconcile: the stage is open) and assigns the role's holders; a completed in-year stage
    is reopened for them. Due ``working_days`` after today unless ``due`` is given.
    """
    carry_over(session, cycle_id, now)
    label = parse_quarter(quarter, now.date()) if quarter else quarter_of(now.date())
    stage = monitoring_stage(session, cycle_id, stage_key)
    config = cycle_config(session, cycle_id)
    chasing = config.chasing.model_dump(mode="json")
    due_on = due or calendar.add_working_days(now.date(), working_days)
    if not calendar.is_working_day(due_on):
        raise ActionError(f"{due_on:%a %d %b %Y} is not a working day; use "
                          f"{calendar.next_working_day(due_on):%Y-%m-%d}")
    result = CheckinResult(label, stage)
    owners: dict[str, list[Action]] = {}
    for action in session.scalars(select(Action).where(
            Action.cycle_id == cycle_id, Action.status == OPEN)):
        owners.setdefault(action.owner_role, []).append(action)
    sequence = max((t.sequence for t in stage.tasks), default=0)
    for role, actions in sorted(owners.items()):
        actions.sort(key=lambda a: key_order(a.key))
        key = checkin_key(label, role)
        existing = session.scalars(select(Task).where(Task.cycle_id == cycle_id,
                                                      Task.key == key)).first()
        if existing is not None:
            result.existing.append(existing)
            continue
        sequence += 1
        task = Task(cycle_id=cycle_id, stage_id=stage.id, key=key,
                    name=f"Action plan check-in {label}: RAG and update on your actions",
                    kind=TaskKind.REVIEW.value, role_key=role, sequence=sequence, due_on=due_on,
                    depends_on=[], return_kind=None, instructions=_instructions(label, actions),
                    settings={"chasing": chasing,
                              "checkin": {"quarter": label,
                                          "actions": [a.key for a in actions]}},
                    state=TaskState.PENDING)
        session.add(task)
        stage.tasks.append(task)
        result.created.append(task)
    if result.created and stage.state == StageState.COMPLETE:
        stage.state = StageState.OPEN  # every other task of it is done: only these reopen
        result.reopened_stage = True
    session.flush()
    return result


