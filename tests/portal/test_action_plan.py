"""The dashboard's action plan (#18.7): actions, owners, RAG now and last quarter, and the
quarterly check-ins that are overdue."""

from __future__ import annotations

import re
from datetime import date

from plancycle import actions
from plancycle.analysis.actions import ActionItem

from .helpers import CYCLE, PLANNER_TOKEN, csrf_of


def item(text: str, responsible: str) -> ActionItem:
    return ActionItem(action=text, priority="High", timescale="By March 2027",
                      responsible=responsible, support_needed="", resources="",
                      measures_of_success="Agreed at the people committee", source="test")


def row(html: str, key: str) -> str:
    match = re.search(rf'<tr data-action="{key}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {key}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_dashboard_shows_the_action_plan_with_rag_movement_and_late_checkins(
        client, runtime, clock):
    """Given an action plan reported on in Q2 and Q3, and a Q3 check-in the HR owner has not
    answered 3 working days after it was due, when the planner opens the dashboard, then each
    action shows its owner, RAG now and last quarter, and the late check-in is listed with
    the action it waits for."""
    with runtime.register.session(actor="planner") as session:
        tracked = actions.track_actions(session, CYCLE, [
            item("Agree an affordable establishment", "Finance Lead"),
            item("Cut sickness absence to 4.5%", "HR / ESR data owner"),
            item("Publish the refreshed workforce plan", "Workforce Planner (Trust)"),
        ], clock.now(), runtime.calendar)
    finance, hr, planner = (a.key for a in tracked.created)
    for key, quarter, rag in ((finance, "Q2", "red"), (finance, "Q3", "amber"),
                              (hr, "Q2", "green"), (hr, "Q3", "amber"),
                              (planner, "Q3", "green")):
        with runtime.register.session(actor="planner") as session:
            actions.record_update(session, CYCLE, key, clock.now(), rag=rag, quarter=quarter,
                                  note=f"{quarter} update")

    clock.set(date(2027, 1, 11))
    runtime.advance(CYCLE)
    with runtime.register.session(actor="planner") as session:
        opened = actions.open_checkins(session, CYCLE, clock.now(), runtime.calendar,
                                       quarter="2026/27 Q4")
        due = opened.created[0].due_on
    runtime.advance(CYCLE)
    with runtime.register.session(actor="rachel") as session:  # finance answers in time
        actions.record_update(session, CYCLE, finance, clock.now(), rag="green",
                              note="Establishment agreed with the ICB", person_key="rachel.moore")
    runtime.advance(CYCLE)
    clock.set(runtime.calendar.add_working_days(due, 3))

    login = client.get("/planner/login")
    client.post("/planner/login", data={"csrf_token": csrf_of(login.text),
                                        "token": PLANNER_TOKEN})
    page = client.get(f"/planner/cycles/{CYCLE}")
    assert page.status_code == 200
    assert 'href="#action-plan">Action plan (3)' in page.text

    finance_row = row(page.text, finance)
    assert "Agree an affordable establishment" in finance_row
    assert "Finance Lead (Rachel Moore)" in finance_row
    assert "Green 2026/27 Q4" in finance_row and "Amber 2026/27 Q3" in finance_row
    assert finance_row.rstrip().endswith("better")
    hr_row = row(page.text, hr)
    assert "Amber 2026/27 Q3" in hr_row and "Green 2026/27 Q2" in hr_row
    assert hr_row.rstrip().endswith("worse")
    planner_row = row(page.text, planner)
    assert "Green 2026/27 Q3" in planner_row and "Not reported" in planner_row

    late = re.search(r'<table class="checkins">(.*?)</table>', page.text, re.S)
    assert late, "the overdue check-ins are listed"
    rows = re.findall(r'<tr data-task="(actions_checkin_[^"]+)">(.*?)</tr>', late.group(1), re.S)
    by_task = {key: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cells)) for key, cells in rows}
    hr_checkins = [k for k in by_task if k.endswith("_hr_esr_data_owner")]
    assert hr_checkins and not [k for k in by_task if k.endswith("_finance_lead")]
    hr_cells = by_task[hr_checkins[0]]
    assert "2026/27 Q4" in hr_cells and hr in hr_cells and " 3 " in hr_cells
