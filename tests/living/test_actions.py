"""The living plan through the year: Annex G actions tracked, quarterly check-ins chased,
RAG history kept across the annual roll-forward, and the quarterly summary for the board."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from plancycle import actions
from plancycle.analysis.actions import ActionItem
from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.notify.channels import RecordingChannels
from plancycle.register.cycles import start_cycle
from plancycle.register.models import Action, Assignment, AssignmentState, Person, Task
from plancycle.rollforward import last_year, roll_forward
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE, SAMPLE, build_runtime
from tests.foundation.helpers import cli_env, plancycle_exe

NEXT = "rxx-2027-28"


@pytest.fixture(scope="module")
def annex_g() -> list[ActionItem]:
    """The action plan the analysis drafts for a synthetic 300-person trust in 2026/27."""
    from plancycle.analysis import analyse
    from plancycle.synthetic import generate_trust

    returns = generate_trust(size=300, seed=1)
    return list(analyse(returns, {k: True for k in returns}, financial_year="2026/27").actions)


def track(rt: Runtime, items: list[ActionItem], cycle: str = CYCLE) -> actions.TrackResult:
    with rt.register.session(actor="planner") as session:
        return actions.track_actions(session, cycle, items, rt.clock.now(), rt.calendar)


def by_text(rt: Runtime, start: str, cycle: str = CYCLE) -> Action:
    with rt.register.session() as session:
        return next(a for a in session.scalars(select(Action).where(Action.cycle_id == cycle))
                    if a.text.startswith(start))


def update(rt: Runtime, key: str, rag: str, note: str, person: str | None = None,
           cycle: str = CYCLE, **extra: object) -> None:
    with rt.register.session(actor=f"cli:{person or 'planner'}") as session:
        actions.record_update(session, cycle, key, rt.clock.now(), rag=rag, note=note,
                              person_key=person, **extra)  # type: ignore[arg-type]


def test_each_annex_g_action_is_tracked_with_owner_role_due_date_and_measure(
        runtime: Runtime, annex_g: list[ActionItem]) -> None:
    result = track(runtime, annex_g)
    assert [a.key for a in result.created] == [f"G{i}" for i in range(1, len(annex_g) + 1)]
    owners = {a.responsible: a.owner_role for a in result.created}
    assert owners["Finance Lead with the Executive Team"] == "finance_lead"
    assert owners["HR / ESR data owner with occupational health"] == "hr_esr_data_owner"
    assert owners["Workforce Planner (Trust) with HR / ESR data owner"] == "workforce_planner"
    assert owners["Learning & Development Lead with Workforce Planner (Trust)"] == \
        "learning_development_lead"
    assert owners["Service Lead — Surgery"] == "service_lead"
    dues = {a.timescale: a.due_on for a in result.created}
    assert dues["By March 2027"] == date(2027, 3, 31)
    assert dues["Winter 2026/27"] == date(2027, 2, 26)       # 28 February 2027 is a Sunday
    assert dues["2026/27 to 2030/31"] == date(2031, 3, 31)
    assert dues["From plan year 2 (2027/28)"] == date(2028, 3, 31)
    with runtime.register.session() as session:
        board = session.scalars(select(Task).where(Task.cycle_id == CYCLE,
                                                   Task.key == "board_gate")).one()
        assert dues["Before sign-off of the 2026/27 plan"] == board.due_on
    assert all(runtime.calendar.is_working_day(a.due_on) for a in result.created)
    assert [a.measure_of_success for a in result.created] == \
        [i.measures_of_success for i in annex_g]
    again = track(runtime, annex_g)
    assert (again.created, again.already) == ([], len(annex_g))


def test_quarterly_checkins_are_assigned_chased_and_completed_by_the_rag_updates(
        runtime: Runtime, recording: RecordingChannels, clock: SimulatedClock,
        annex_g: list[ActionItem]) -> None:
    """Given the tracked plan, when the in-year stage opens in January, each owner role is
    asked for its Q3 RAG and update, chased when late, and done once it has reported."""
    track(runtime, annex_g)
    clock.set(date(2027, 1, 11))
    runtime.advance(CYCLE)                       # the in-year refresh stage opens
    with runtime.register.session(actor="planner") as session:
        opened = actions.open_checkins(session, CYCLE, clock.now(), runtime.calendar,
                                       quarter="2026/27 Q3")
        created = {t.role_key: t.key for t in opened.created}
        assert opened.stage.key == "in_year_refresh" and not opened.waits_for_stage
    assert created == {
        role: f"actions_checkin_2026-27_q3_{role}" for role in (
            "finance_lead", "hr_esr_data_owner", "learning_development_lead", "service_lead",
            "workforce_planner")}
    with runtime.register.session(actor="planner") as session:
        again = actions.open_checkins(session, CYCLE, clock.now(), runtime.calendar,
                                      quarter="Q3")  # a re-run asks nobody twice
        assert again.created == [] and len(again.existing) == 5

    progress = runtime.advance(CYCLE)
    assert set(created.values()) <= set(progress.opened_tasks)
    runtime.deliver(CYCLE)
    finance = created["finance_lead"]
    asked = [m for m in recording.sent if "Action plan check-in 2026/27 Q3" in m.subject
             and m.channel == "email"]
    assert {m.recipient.name for m in asked} >= {
        "Rachel Moore", "Lucy Fernandes", "Chidi Eze", "Amira Khan", "Dr Oliver Hughes",
        "Claire Dunn", "Nadia Rahman", "Michael O'Brien", "Samuel Green", "Victoria Lee"}
    [to_rachel] = [m for m in asked if m.recipient.name == "Rachel Moore"]
    assert "Agree an affordable establishment" in to_rachel.body   # the actions it asks about
    assert to_rachel.ics and "BEGIN:VEVENT" in to_rachel.ics

    with runtime.register.session() as session:
        task = session.scalars(select(Task).where(Task.key == finance)).one()
        due = task.due_on
    assert due == date(2027, 1, 25)                 # 10 working days after the check-in
    clock.set(runtime.calendar.add_working_days(due, 1))
    runtime.chase(CYCLE)
    runtime.deliver(CYCLE)
    overdue = [m for m in recording.sent if m.recipient.name == "Rachel Moore"
               and m.subject.startswith("Overdue") and "check-in" in m.subject]
    assert overdue, "the check-in is chased like any task"

    affordable = by_text(runtime, "Agree an affordable establishment")
    update(runtime, affordable.key, "amber", "Establishment review with the ICB in February",
           person="rachel.moore")          # answering the open Q3 check-in
    with runtime.register.session() as session:
        [reported] = actions.history(session, session.get(Action, affordable.id))
        assert (reported.quarter, reported.rag, reported.author) == (
            "2026/27 Q3", "amber", "Rachel Moore")
    progress = runtime.advance(CYCLE)
    assert finance in progress.completed_tasks
    with runtime.register.session() as session:
        rows = session.scalars(select(Assignment).join(Task).where(Task.key == finance)).all()
        assert [a.state for a in rows] == [AssignmentState.COMPLETE]
    chased = len(recording.sent)
    clock.set(runtime.calendar.add_working_days(clock.today(), 2))
    runtime.chase(CYCLE)
    runtime.deliver(CYCLE)
    assert not [m for m in recording.sent[chased:] if m.recipient.name == "Rachel Moore"
                and "check-in" in m.subject], "chasing stops once the check-in is done"


def test_the_quarterly_checkins_flow_asks_each_owner_once_per_quarter(
        prefect_api, runtime: Runtime, recording: RecordingChannels, clock: SimulatedClock,
        annex_g: list[ActionItem]) -> None:
    """Given the tracked plan and the in-year stage open in January, when the scheduled
    quarterly-checkins flow runs (a real Prefect flow run, no cycle named: every open
    cycle), then each owner role gets its Q3 check-in task, assigned and sent with its
    link; when the schedule fires again that quarter, nobody is asked twice."""
    from flows.checkins import quarterly_checkins
    from plancycle import runtime as runtime_mod

    track(runtime, annex_g)
    clock.set(date(2027, 1, 11))
    runtime.advance(CYCLE)
    with runtime_mod.use(runtime):
        first = quarterly_checkins(quarter="2026/27 Q3")
        again = quarterly_checkins(quarter="2026/27 Q3")
    assert first[CYCLE]["created"] and first["delivery"]["sent"] > 0
    assert again[CYCLE]["created"] == [] and again["delivery"]["sent"] == 0
    asked = [m for m in recording.sent if "Action plan check-in 2026/27 Q3" in m.subject
             and m.channel == "email"]
    assert len(asked) == len({m.recipient.name for m in asked}) >= 10, "each owner once"
    with runtime.register.session() as session:
        keys = set(session.scalars(select(Task.key).where(
            Task.cycle_id == CYCLE, Task.key.like("actions_checkin_2026-27_q3_%"))))
    assert len(keys) == len(first[CYCLE]["created"]) == 5


def test_an_action_carried_into_next_year_keeps_its_history(
        home: Path, clock: SimulatedClock, recording: RecordingChannels,
        annex_g: list[ActionItem]) -> None:
    """Given actions reported on in Q3 and Q4, when the cycle rolls into 2027/28, the open
    ones come with their RAG history; a completed one stays behind."""
    rt = build_runtime(home, clock, recording)
    try:
        track(rt, annex_g)
        retention = by_text(rt, "Retention plan for Support to ST&T staff")
        affordable = by_text(rt, "Agree an affordable establishment")
        clock.set(date(2026, 11, 3))
        update(rt, retention.key, "amber", "Stay conversations started in two wards",
               person="lucy.fernandes")
        update(rt, affordable.key, "green", "Agreed with the ICB", status="complete")
        clock.set(date(2027, 2, 9))
        update(rt, retention.key, "red", "Turnover up to 15%: exit survey backlog",
               person="lucy.fernandes")

        with rt.register.session() as session:
            last = last_year(session, CYCLE)
        rolled = roll_forward(SAMPLE.read_text(), "2027/28", last)
        assert rolled.valid, rolled.problems
        assert retention.key in [a.key for a in rolled.carried_actions]
        assert affordable.key not in [a.key for a in rolled.carried_actions]
        next_file = home / "trust_annual_cycle_2027_28.yaml"
        next_file.write_text(rolled.text)
        clock.set(date(2027, 4, 1))
        with rt.register.session(actor="planner") as session:
            start_cycle(session, load_config(next_file), next_file)
            carried = actions.carry_over(session, NEXT, clock.now())
            assert actions.carry_over(session, NEXT, clock.now()) == []   # idempotent
        assert len(carried) == len(annex_g) - 1

        clock.set(date(2027, 6, 14))
        update(rt, retention.key, "amber", "Exit interviews back on track", cycle=NEXT,
               person="lucy.fernandes")
        with rt.register.session() as session:
            now_action = actions.find_action(session, NEXT, retention.key)
            assert now_action.carried_from_id == retention.id
            assert now_action.text == retention.text and now_action.rag == "amber"
            history = actions.history(session, now_action)
            assert [(u.quarter, u.rag, u.note) for u in history] == [
                ("2026/27 Q3", "amber", "Stay conversations started in two wards"),
                ("2026/27 Q4", "red", "Turnover up to 15%: exit survey backlog"),
                ("2027/28 Q1", "amber", "Exit interviews back on track"),
            ]
            assert [u.author for u in history] == ["Lucy Fernandes"] * 3
            # last year's record is untouched
            assert len(actions.history(session, session.get(Action, retention.id))) == 2
            view = next(v for v in actions.action_plan(session, NEXT)
                        if v.action.key == retention.key)
            assert view.carried_from == CYCLE
            assert view.trail() == [("2026/27 Q3", "amber"), ("2026/27 Q4", "red"),
                                    ("2027/28 Q1", "amber")]
            summary = actions.render_board_summary(session, NEXT, "2027/28 Q1", clock.today())
    finally:
        rt.register.dispose()

    assert f"carried over from {CYCLE}" in summary.html
    assert "progress in 2027/28 Q1" in summary.html
    assert "Exit interviews back on track" in summary.html
    assert summary.html.count('<span class="q">2026/27 Q4</span>') == 1
    assert summary.pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(summary.pdf)).pages)
    assert "Workforce plan action plan: progress in 2027/28 Q1" in text


def test_the_planner_lists_updates_checks_in_and_summarises_from_the_cli(
        tmp_path: Path, annex_g: list[ActionItem]) -> None:
    home = tmp_path / "home"
    env = cli_env(PLANCYCLE_HOME=str(home), PLANCYCLE_LINK_SECRET="test-secret")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([plancycle_exe(), *args], capture_output=True, text=True,
                              env=env, timeout=180)

    assert run("cycle", "start", str(SAMPLE)).returncode == 0
    rt = build_runtime(home, SimulatedClock(date(2026, 10, 1)), RecordingChannels())
    try:
        track(rt, annex_g[:3])
        with rt.register.session() as session:
            person = session.scalars(select(Person).where(Person.key == "lucy.fernandes")).one()
            assert person.name == "Lucy Fernandes"
    finally:
        rt.register.dispose()

    updated = run("actions", "update", "g1", "--rag", "amber", "--note", "Two wards started",
                  "--person", "lucy.fernandes", "--as-of", "2026-11-03")
    assert updated.returncode == 0, updated.stderr
    assert "G1: amber for 2026/27 Q3" in updated.stdout
    listed = run("actions", "list", "--as-of", "2026-11-04")
    assert listed.returncode == 0, listed.stderr
    assert "G1" in listed.stdout and "Two wards started (Lucy Fernandes, 2026/27 Q3)" in \
        listed.stdout
    wrong = run("actions", "update", "G99", "--rag", "amber")
    assert wrong.returncode == 2 and "no action 'G99'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    bad_rag = run("actions", "update", "G1", "--rag", "purple")
    assert bad_rag.returncode == 2 and "should be red, amber or green" in bad_rag.stderr
    asked = run("actions", "checkin", "--quarter", "Q3", "--as-of", "2026-11-04")
    assert asked.returncode == 0, asked.stderr
    assert "actions_checkin_2026-27_q3_" in asked.stdout
    assert "open with 'In-year refresh and monitoring' on 11 Jan 2027" in asked.stdout
    summary = run("actions", "summary", "--quarter", "Q3", "--no-pdf", "--as-of", "2026-11-04")
    assert summary.returncode == 0, summary.stderr
    html = next((home / "documents" / CYCLE).glob("action_summary-2026-27-Q3-*.html"))
    assert "Two wards started" in html.read_text()
