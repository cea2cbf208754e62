"""The chasing policy: which reminder, overdue chaser or escalation is due for an assignment.

Pure and deterministic: given how many working days remain until the due date (negative
when overdue) it names the step due *today*. Steps are keyed (assignment × kind × step ×
due date) so the notifier sends each at most once, and a missed day catches up with the
latest step only — never a burst of stale reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class ChaseStep:
    assignment_id: int
    kind: str            # reminder / due / overdue / escalation
    step: int            # working days before due, days overdue, or escalation level
    due_on: date
    target: str | None = None  # escalation: 'line_manager', 'deputy' or 'role:<id>'

    @property
    def key(self) -> str:
        return f"a{self.assignment_id}:{self.kind}:{self.step}:{self.due_on.isoformat()}"


def chase_steps(
    assignment_id: int,
    due_on: date,
    policy: dict[str, Any],
    days_to_due: int,
    days_assigned_to_due: int,
) -> list[ChaseStep]:
    """Steps due today for one open assignment.

    ``days_to_due`` — working days from today to the due date (0 = due today, < 0 = overdue);
    ``days_assigned_to_due`` — the same from the day it was assigned, so reminders scheduled
    before the person was even asked are skipped (the new-task message covers them).
    """
    steps: list[ChaseStep] = []
    if days_to_due > 0:
        scheduled = [n for n in policy.get("reminders_before_due", [])
                     if days_to_due <= n < days_assigned_to_due]
        if scheduled:
            steps.append(ChaseStep(assignment_id, "reminder", min(scheduled), due_on))
        return steps
    if days_to_due == 0:
        if policy.get("remind_on_due_date", True) and days_assigned_to_due > 0:
            steps.append(ChaseStep(assignment_id, "due", 0, due_on))
        return steps
    overdue = -days_to_due
    every = max(1, int(policy.get("overdue_every", 2)))
    steps.append(ChaseStep(assignment_id, "overdue", 1 + ((overdue - 1) // every) * every, due_on))
    for level, escalation in enumerate(policy.get("escalation", [])):
        if overdue >= escalation["after_working_days_overdue"]:
            steps.append(ChaseStep(assignment_id, "escalation", level, due_on, escalation["to"]))
    return steps
