"""Scenario helpers for portal tests: a started sample cycle, links, and register snapshots."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select

from plancycle.assignments import complete_assignment, find_person, find_task
from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.notify.channels import Channels, RecordingChannels
from plancycle.register.cycles import start_cycle
from plancycle.register.db import home
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Decision,
    LinkGeneration,
    Stage,
    Task,
    TaskState,
    Upload,
)
from plancycle.runtime import Runtime
from plancycle.signoff import register_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
CYCLE = "rxx-2026-27"
PLANNER_TOKEN = "planner-token-for-tests-0123456789"


def build_runtime(home: Path, clock: SimulatedClock, channels: Channels,
                  portal_url: str | None = None) -> Runtime:
    runtime = Runtime.build(clock=clock, channels=channels, portal_url=portal_url,
                            database_url=f"sqlite:///{home / 'register.db'}")
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, load_config(SAMPLE), SAMPLE)
    return runtime


def open_stage(rt: Runtime, clock: SimulatedClock, stage_key: str) -> None:
    """Move the clock to the stage's first day and let the engine open what is due."""
    with rt.register.session() as session:
        stage = session.scalars(select(Stage).where(Stage.cycle_id == CYCLE,
                                                    Stage.key == stage_key)).one()
        starts = stage.starts_on
    if clock.today() < starts:
        clock.set(starts)
    rt.advance(CYCLE)


def assignment_id(rt: Runtime, person: str, task_key: str) -> int:
    with rt.register.session() as session:
        task = find_task(session, CYCLE, task_key)
        who = find_person(session, CYCLE, person)
        return next(a.id for a in task.assignments if a.person_id == who.id)


def link(rt: Runtime, person: str, task_key: str, holder: str | None = None) -> str:
    """The portal path of ``holder``'s assignment on a task, signed for ``person``."""
    return "/t/" + rt.links.token(person, assignment_id(rt, holder or person, task_key), CYCLE)


def escalate(rt: Runtime, task_key: str, holder: str) -> date:
    """Run the chaser on the day ``holder``'s assignment reaches its first escalation step,
    as the daily chaser would (the clock stays): the escalation is queued with its link."""
    with rt.register.session() as session:
        task = find_task(session, CYCLE, task_key)
        who = find_person(session, CYCLE, holder)
        due = next(a.due_on for a in task.assignments if a.person_id == who.id)
        steps = task.settings["chasing"]["escalation"]
    day = rt.calendar.add_working_days(due, int(steps[0]["after_working_days_overdue"]))
    rt.chase(CYCLE, as_of=day)
    return day


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def snapshot(rt: Runtime) -> dict[str, object]:
    """What a refused request must not change: uploads, decisions, assignments, tasks, links."""
    with rt.register.session() as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {
            "uploads": count(Upload), "decisions": count(Decision),
            "link_generations": count(LinkGeneration),
            "assignments": sorted(session.execute(select(Assignment.id, Assignment.state,
                                                         Assignment.person_id)).all()),
            "tasks": sorted(session.execute(select(Task.key, Task.state)).all()),
            "stored_files": sorted(str(p) for p in (home() / "uploads").rglob("*")
                                   if p.is_file()),
        }


def drive_until_open(rt: Runtime, clock: SimulatedClock, task_key: str) -> None:
    """Complete everything the task waits on (as its holders would), until it is open."""
    with rt.register.session() as session:
        task = find_task(session, CYCLE, task_key)
        starts = session.get(Stage, task.stage_id).starts_on
    if clock.today() < starts:
        clock.set(starts)
    for _ in range(60):
        rt.advance(CYCLE)
        with rt.register.session(actor="setup") as session:
            if find_task(session, CYCLE, task_key).state == TaskState.OPEN:
                return
            waiting = session.scalars(
                select(Assignment).join(Task, Assignment.task_id == Task.id)
                .where(Task.cycle_id == CYCLE, Assignment.state == AssignmentState.OPEN,
                       Task.state.in_([TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED]),
                       Task.kind != "gate", Task.key != task_key)).all()
            assert waiting, f"{task_key} is not open and nothing is left to complete"
            for assignment in waiting:
                complete_assignment(session, assignment.task, assignment.person, clock.now())
    raise AssertionError(f"{task_key} did not open")


def quietly(rt: Runtime) -> RecordingChannels:
    """Deliver the set-up's backlog of messages to a recorder, not to the real channels."""
    real, recorder = rt.notifier.channels, RecordingChannels()
    rt.notifier.channels = recorder
    try:
        rt.deliver(CYCLE)
    finally:
        rt.notifier.channels = real
    return recorder


def register_plan(rt: Runtime, folder: Path, now: datetime, text: str = "v1") -> str:
    """Write a plan document and register it for sign-off; returns its SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"plan-{text}.html"
    path.write_text(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Plan"
                    f"</title><style>h1{{color:#005eb8}}</style></head><body><h1>Workforce plan "
                    f"2026/27 ({text})</h1><p>The draft plan.</p></body></html>",
                    encoding="utf-8")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with rt.register.session(actor="planner") as session:
        register_document(session, CYCLE, "plan", sha, str(path), now)
    return sha


def csrf_for(client, person: str, assignment: int) -> str:  # type: ignore[no-untyped-def]
    """A valid CSRF token for a link's scope, for proving that a check *other* than CSRF
    refuses the request (a view-only link has no form to take one from)."""
    portal = client.app.state.portal
    return portal.csrf.field_for(client.cookies.get("pc_csrf"), f"link:{person}:{assignment}")


def decision_form(client, path: str, **fields: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The approval form of a link as a browser would post it (first step: review)."""
    page = client.get(f"{path}/approve")
    return {"csrf_token": csrf_of(page.text), "document_sha256": fields.pop("sha", ""),
            "step": "review", **fields}


def confirm_decision(client, path: str, **fields: str):  # type: ignore[no-untyped-def]
    """Post the decision, then confirm it on the check page; the confirmation's response."""
    review = client.post(f"{path}/approve", data=decision_form(client, path, **fields))
    assert review.status_code == 200, review.text
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"',
                             review.text))
    return client.post(f"{path}/approve", data={**hidden, "csrf_token": csrf_of(review.text),
                                                "step": "confirm"})
