"""Starting a cycle from its configuration, and reading its status back.

Starting is an upsert keyed on the ids in the YAML: starting the same file twice changes
nothing, and starting an edited file updates names, dates and people in place (never
deleting history), so the planner can fix the calendar mid-year.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.config.model import CycleConfig
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Cycle,
    CycleState,
    Person,
    RoleHolder,
    Stage,
    Task,
    TaskState,
)
from plancycle.schedule import resolve_schedule


@dataclass(frozen=True)
class StartResult:
    cycle_id: str
    created: bool
    changes: int  # rows inserted or updated


def _upsert(
    session: Session, model: type, key: dict[str, Any], values: dict[str, Any]
) -> tuple[Any, int]:
    row = session.scalars(select(model).filter_by(**key)).one_or_none()
    if row is None:
        row = model(**key, **values)
        session.add(row)
        return row, 1
    changed = 0
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = 1
    return row, changed


def start_cycle(session: Session, config: CycleConfig, config_path: str | Path,
                calendar: WorkingCalendar | None = None) -> StartResult:
    """Create (or reconcile) a cycle and everything in it from its validated configuration."""
    text = Path(config_path).read_text(encoding="utf-8")
    schedule, problems = resolve_schedule(config, calendar)
    if problems:  # load_config already refuses these; guard against unvalidated models
        raise ValueError("; ".join(p.message for p in problems))
    existing = session.get(Cycle, config.cycle.id)
    clock = session.info["clock"]
    changes = 0
    _, n = _upsert(session, Cycle, {"id": config.cycle.id}, {
        "name": config.cycle.name,
        "org_code": config.organisation.org_code,
        "org_name": config.organisation.name,
        "financial_year": config.cycle.financial_year,
        "config_path": str(config_path),
        "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "config_text": text,
        **({} if existing else {"started_at": clock.now()}),
    })
    changes += n
    session.flush()

    people: dict[str, Person] = {}
    for person in config.people:
        row, n = _upsert(session, Person, {"cycle_id": config.cycle.id, "key": person.id}, {
            "name": person.name, "email": person.email, "chat": person.chat,
            "deputy_key": person.deputy, "line_manager_key": person.line_manager,
            "absent": person.absent,
        })
        people[person.id] = row
        changes += n
    session.flush()

    for role in config.roles:
        for holder in role.holders:
            _, n = _upsert(session, RoleHolder, {
                "cycle_id": config.cycle.id, "role_key": role.id,
                "person_id": people[holder].id}, {"role_name": role.name})
            changes += n

    for seq, stage in enumerate(config.stages):
        dates = schedule.stages[stage.id]
        stage_row, n = _upsert(session, Stage, {"cycle_id": config.cycle.id, "key": stage.id}, {
            "name": stage.name, "sequence": seq, "starts_on": dates.starts, "ends_on": dates.ends,
        })
        changes += n
        session.flush()
        for tseq, task in enumerate(stage.tasks):
            settings: dict[str, Any] = {
                "chasing": config.chasing_for(task).model_dump(mode="json"),
            }
            if task.gate is not None:
                settings["gate"] = task.gate.model_dump(mode="json")
            _, n = _upsert(session, Task, {"cycle_id": config.cycle.id, "key": task.id}, {
                "stage_id": stage_row.id, "name": task.name, "kind": str(task.kind),
                "role_key": task.role, "sequence": tseq, "due_on": schedule.task_due[task.id],
                "depends_on": list(task.depends_on), "return_kind": task.return_kind,
                "instructions": task.instructions, "settings": settings,
            })
            changes += n
    session.flush()
    return StartResult(config.cycle.id, existing is None, changes)


def is_system_cycle(config_text: str) -> bool:
    """Whether a cycle file is an ICS's system cycle (it lists member organisations)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(config_text, Loader=loader)  # noqa: S506 - a safe loader
    return isinstance(data, dict) and bool(data.get("ics"))


def open_cycles(session: Session, *, system: bool | None = None) -> list[str]:
    """The cycles still running, oldest first — what scheduled flows work on.

    ``system=False``: organisations' cycles only; ``True``: ICS system cycles only (their
    configuration has an ``ics:`` block); ``None``: both. Deployments take no cycle id: a
    planner who starts a new cycle never edits ``prefect.yaml``.
    """
    rows = session.execute(select(Cycle.id, Cycle.config_text)
                           .where(Cycle.state == CycleState.STARTED)
                           .order_by(Cycle.started_at, Cycle.id)).all()
    return [cycle_id for cycle_id, text in rows
            if system is None or is_system_cycle(text) == system]


@dataclass(frozen=True)
class StatusRow:
    stage: str
    task_key: str
    task: str
    role: str
    assignees: tuple[str, ...]
    due_on: date
    state: str
    working_days_overdue: int


def cycle_status(session: Session, cycle_id: str, as_of: date,
                 calendar: WorkingCalendar | None = None) -> list[StatusRow]:
    """Every task of a cycle in calendar order with who holds it and how late it is."""
    calendar = calendar or WorkingCalendar()
    if session.get(Cycle, cycle_id) is None:
        raise LookupError(cycle_id)
    tasks = session.execute(
        select(Task, Stage).join(Stage, Task.stage_id == Stage.id)
        .where(Task.cycle_id == cycle_id)
        .order_by(Stage.starts_on, Stage.sequence, Task.due_on, Task.sequence)
    ).all()
    assignees: dict[int, list[str]] = {}
    for assignment, person in session.execute(
        select(Assignment, Person).join(Person, Assignment.person_id == Person.id)
        .where(Assignment.cycle_id == cycle_id,
               Assignment.state.in_([AssignmentState.OPEN, AssignmentState.COMPLETE]))
    ):
        assignees.setdefault(assignment.task_id, []).append(person.name)
    rows = []
    for task, stage in tasks:
        late = 0
        if task.state not in (TaskState.COMPLETE, TaskState.CANCELLED) and as_of > task.due_on:
            late = calendar.working_days_between(task.due_on, as_of)
        rows.append(StatusRow(stage.name, task.key, task.name, task.role_key,
                              tuple(assignees.get(task.id, ())), task.due_on, task.state, late))
    return rows
