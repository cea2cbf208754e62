"""Turns a cycle configuration's relative calendar into concrete dates.

Stages may start "N working days after stage X ends" and tasks are due "N working days after
their stage starts", so the planner writes the calendar once and it survives a roll-forward
into next year with bank holidays respected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from plancycle.calendar import WorkingCalendar
from plancycle.config.model import CycleConfig, Duration, RelativeDate
from plancycle.config.problems import ConfigProblem


@dataclass(frozen=True)
class StageDates:
    stage_id: str
    sequence: int
    starts: date
    ends: date


@dataclass(frozen=True)
class Schedule:
    stages: dict[str, StageDates]
    task_due: dict[str, date]

    def ordered_stages(self) -> list[StageDates]:
        """Calendar order: by start date, then by position in the file."""
        return sorted(self.stages.values(), key=lambda s: (s.starts, s.sequence))


def resolve_schedule(
    config: CycleConfig, calendar: WorkingCalendar | None = None
) -> tuple[Schedule, list[ConfigProblem]]:
    """Resolve every stage start/end and task due date; report what cannot be resolved."""
    calendar = calendar or WorkingCalendar()
    problems: list[ConfigProblem] = []
    index = {stage.id: i for i, stage in enumerate(config.stages)}
    resolved: dict[str, StageDates] = {}
    due: dict[str, date] = {}
    visiting: set[str] = set()

    def resolve(stage_id: str) -> StageDates | None:
        if stage_id in resolved:
            return resolved[stage_id]
        i = index[stage_id]
        stage = config.stages[i]
        if stage_id in visiting:
            problems.append(ConfigProblem(
                ("stages", i, "starts", "after"),
                f"stage '{stage_id}' starts after itself through a chain of 'after' references",
                "give one stage in the chain a fixed start date (starts: 2026-04-01)"))
            return None
        visiting.add(stage_id)
        if isinstance(stage.starts, RelativeDate):
            if stage.starts.after not in index:
                problems.append(ConfigProblem(
                    ("stages", i, "starts", "after"),
                    f"stage '{stage_id}' starts after unknown stage '{stage.starts.after}'",
                    f"use one of the stage ids: {', '.join(index)}"))
                visiting.discard(stage_id)
                return None
            anchor = resolve(stage.starts.after)
            if anchor is None:
                visiting.discard(stage_id)
                return None
            base = anchor.ends if stage.starts.from_ == "end" else anchor.starts
            starts = calendar.add_working_days(base, stage.starts.working_days)
        else:
            starts = stage.starts
        for task in stage.tasks:
            if isinstance(task.due, Duration):
                due[task.id] = calendar.add_working_days(starts, task.due.working_days)
            else:
                due[task.id] = task.due
        task_dues = [due[t.id] for t in stage.tasks]
        if isinstance(stage.ends, Duration):
            ends = calendar.add_working_days(starts, stage.ends.working_days)
        elif isinstance(stage.ends, date):
            ends = stage.ends
        else:
            ends = max(task_dues)
        visiting.discard(stage_id)
        resolved[stage_id] = StageDates(stage_id, i, starts, ends)
        return resolved[stage_id]

    for stage in config.stages:
        resolve(stage.id)
    return Schedule(resolved, due), problems
