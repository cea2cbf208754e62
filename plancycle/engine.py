"""The cycle engine: a reconciler that brings the register up to date with the calendar.

``reconcile`` is safe to run at any time, any number of times: it opens stages whose start
has come, opens tasks whose dependencies are complete (assigning them and queueing the
"new task" message), completes tasks whose assignments are all done, and completes stages
and the cycle. The register is the truth; Prefect flows just call this on a rhythm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from plancycle.assignments import assign_task
from plancycle.config.model import TaskKind
from plancycle.register.locks import lock_cycle
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Cycle,
    CycleState,
    Stage,
    StageState,
    Task,
    TaskState,
)

DONE = (TaskState.COMPLETE, TaskState.CANCELLED)


@dataclass
class Progress:
    """What one reconcile pass changed (empty when the register was already up to date)."""

    opened_stages: list[str] = field(default_factory=list)
    opened_tasks: list[str] = field(default_factory=list)
    new_assignments: list[Assignment] = field(default_factory=list)
    completed_tasks: list[str] = field(default_factory=list)
    completed_stages: list[str] = field(default_factory=list)
    cycle_complete: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.opened_stages or self.opened_tasks or self.completed_tasks
                    or self.completed_stages)


def task_is_done(task: Task) -> bool:
    """A task is done when every live assignment is complete.

    Gates are decided by the sign-off rules (quorum), not by assignments, so they are left
    to :mod:`plancycle.signoff` which marks the task complete itself.
    """
    if task.kind == TaskKind.GATE:
        return task.state == TaskState.COMPLETE
    live = [a for a in task.assignments
            if a.state in (AssignmentState.OPEN, AssignmentState.COMPLETE)]
    return bool(live) and all(a.state == AssignmentState.COMPLETE for a in live)


def reconcile(session: Session, cycle_id: str, today: date, now: datetime) -> Progress:
    """One pass; passes of the same cycle at the same moment take turns (cycle row lock),
    so the second sees what the first opened and assigns nobody twice."""
    progress = Progress()
    lock_cycle(session, cycle_id)
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise LookupError(f"no cycle '{cycle_id}' in the register")
    stages = list(session.scalars(
        select(Stage).where(Stage.cycle_id == cycle_id).order_by(Stage.starts_on, Stage.sequence)
        .options(selectinload(Stage.tasks).selectinload(Task.assignments))))
    tasks = {t.key: t for s in stages for t in s.tasks}

    for stage in stages:
        if stage.state == StageState.PENDING and stage.starts_on <= today:
            stage.state = StageState.OPEN
            progress.opened_stages.append(stage.key)

    # Complete tasks whose work is done, then open what that unblocks, until stable.
    changed = True
    while changed:
        changed = False
        for stage in stages:
            if stage.state != StageState.OPEN:
                continue
            for task in stage.tasks:
                if task.state in (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED) \
                        and task_is_done(task):
                    task.state = TaskState.COMPLETE
                    task.completed_at = now
                    progress.completed_tasks.append(task.key)
                    changed = True
                elif task.state == TaskState.PENDING and all(
                        tasks[d].state in DONE for d in task.depends_on if d in tasks):
                    task.state = TaskState.OPEN
                    task.opened_at = now
                    progress.new_assignments += assign_task(session, task, now)
                    progress.opened_tasks.append(task.key)
                    changed = True

    for stage in stages:
        if stage.state == StageState.OPEN and all(t.state in DONE for t in stage.tasks):
            stage.state = StageState.COMPLETE
            progress.completed_stages.append(stage.key)
    if all(s.state == StageState.COMPLETE for s in stages):
        progress.cycle_complete = True
        if cycle.state == CycleState.STARTED:
            cycle.state = CycleState.CLOSED
    session.flush()
    return progress


def waiting_on(session: Session, task: Task) -> list[Task]:
    """Open or pending tasks that depend on ``task`` ("who is waiting on it")."""
    candidates = session.scalars(select(Task).where(Task.cycle_id == task.cycle_id))
    return [t for t in candidates if task.key in (t.depends_on or []) and t.state not in DONE]
