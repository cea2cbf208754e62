"""``plan`` (vectorised, for 10,000+ assignments) against the policy applied row by row.

The reference below is the chaser as first written: every open assignment with its task,
working days counted one day at a time by :class:`WorkingCalendar`, :func:`chase_steps`
for each row and the whole notification history read back as the handled set. Given the
sample cycle plus synthetic tasks with other policies and assignments made at awkward
times (just after midnight in summer time, on the clock-change days), when the chaser runs
on some days and not others, then ``plan`` answers exactly as the reference every day.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.chaser import PlannedStep, handled_steps, plan
from plancycle.chasing import chase_steps
from plancycle.clock import LONDON, SimulatedClock
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import Assignment, AssignmentState, Person, Stage, Task
from tests.engine.conftest import CYCLE, build_runtime

CAL = WorkingCalendar()
POLICIES = [
    {"reminders_before_due": [10, 5, 1], "remind_on_due_date": True, "overdue_every": 2,
     "escalation": [{"after_working_days_overdue": 3, "to": "line_manager"}],
     "digest": False, "channels": ["email", "chat"]},
    {"reminders_before_due": [3], "remind_on_due_date": False, "overdue_every": 3,
     "escalation": [{"after_working_days_overdue": 1, "to": "deputy"},
                    {"after_working_days_overdue": 4, "to": "role:exec_sponsor"}],
     "digest": True, "channels": ["email"]},
    {"reminders_before_due": [], "remind_on_due_date": True, "overdue_every": 1,
     "escalation": [], "digest": False, "channels": ["chat"]},
]


def reference_plan(session: Session, cycle_id: str, today: date) -> list[PlannedStep]:
    if not CAL.is_working_day(today):
        return []
    done = handled_steps(session, cycle_id)
    planned = []
    for a, task in session.execute(
            select(Assignment, Task).join(Task, Assignment.task_id == Task.id)
            .where(Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN)
            .order_by(Assignment.id)).tuples():
        policy = task.settings.get("chasing", {})
        assigned_on = a.assigned_at.astimezone(LONDON).date()
        for step in chase_steps(a.id, a.due_on, policy,
                                CAL.working_days_between(today, a.due_on),
                                CAL.working_days_between(assigned_on, a.due_on)):
            if step.key not in done:
                planned.append(PlannedStep(step, a.id, a.person_id, bool(policy.get("digest"))))
    return planned


def add_synthetic_assignments(session: Session, n: int, seed: int) -> None:
    rng = random.Random(seed)
    stage = session.scalars(select(Stage).where(Stage.cycle_id == CYCLE)).first()
    assert stage is not None
    people = list(session.scalars(select(Person.id).where(Person.cycle_id == CYCLE)))
    # Made just after midnight in summer time (the day before in UTC) with the due date
    # right on a reminder (or on the same day), where an off-by-one day shows; and made on
    # the clock-change day or late in the evening, where it must not.
    awkward = [(datetime(2026, 4, 20, 0, 5), 10), (datetime(2026, 4, 23, 0, 30), 3),
               (datetime(2026, 4, 24, 0, 5), 0), (datetime(2026, 3, 29, 0, 30), None),
               (datetime(2026, 3, 29, 2, 30), None), (datetime(2026, 4, 20, 23, 55), None)]
    for k in range(n):
        due = CAL.add_working_days(date(2026, 5, 6), rng.randint(-25, 25))
        if k < len(awkward):
            made, notice = awkward[k]
            if notice is not None:
                due = CAL.add_working_days(made.date(), notice)
        else:
            made = datetime.combine(
                min(CAL.add_working_days(due, -rng.randint(-3, 15)), date(2026, 4, 24)),
                time(rng.randint(0, 23), rng.choice([0, 5, 30, 55])))
        task = Task(cycle_id=CYCLE, stage_id=stage.id, key=f"synthetic_{k}",
                    name=f"Synthetic {k}", kind="review", role_key="service_lead",
                    sequence=100 + k, due_on=due, depends_on=[], state="open",
                    settings={"chasing": POLICIES[k % len(POLICIES)]})
        session.add(task)
        session.flush()
        session.execute(insert(Assignment), [{
            "cycle_id": CYCLE, "task_id": task.id, "person_id": person, "due_on": due,
            "assigned_at": made.replace(tzinfo=LONDON).astimezone(UTC),
            "state": AssignmentState.OPEN if rng.random() < 0.9 or k < len(awkward)
            else AssignmentState.COMPLETE,
        } for person in rng.sample(people, 2)])


@pytest.fixture
def register_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLANCYCLE_HOME", str(tmp_path))
    monkeypatch.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    return tmp_path


def test_plan_matches_the_policy_applied_row_by_row_every_day(register_home: Path) -> None:
    clock = SimulatedClock(date(2026, 4, 1))
    runtime = build_runtime(register_home, clock, RecordingChannels())
    try:
        runtime.advance(CYCLE)
        clock.set(date(2026, 4, 16))
        runtime.advance(CYCLE)
        with runtime.register.session() as session:
            add_synthetic_assignments(session, 90, seed=7)
        day = date(2026, 4, 24)
        compared = 0
        while day <= date(2026, 5, 22):
            clock.set(day)
            with runtime.register.session() as session:
                ours, reference = plan(session, CYCLE, day), reference_plan(session, CYCLE, day)
            assert ours == reference, day
            compared += len(ours)
            if day.day % 3:  # the chaser runs on some days only: others must catch up
                runtime.chase(CYCLE)
            day += timedelta(days=1)
        assert compared > 300
    finally:
        runtime.register.dispose()
