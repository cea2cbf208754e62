"""Scenario: an ICS rolls up five organisations' plans into its system plan, through Prefect.

Given the test ICS (R1D, RL1 and three fictional organisations) whose organisations each run
a compact annual cycle — returns uploaded and validated, a plan, a board gate, submission to
the ICS — and scripted people: ZMH's board rejects its first plan and approves it again, and
ZAM's workforce planner submits only once the ICS has escalated to ZAM's exec sponsor;
when the ics-rollup flow walks the year on the simulated clock,
then one annual-cycle flow run was started per organisation, ZAM's planner was reminded,
chased and escalated in the system cycle, every organisation's task ended complete when it
submitted, the system tables and flags were built (RL1 flagged against the published
statistics, R1D not), the system plan passed the ICS People Board on its exact version and
was submitted to the region once.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.clock import SimulatedClock
from plancycle.ics import service
from plancycle.ics.rehearsal import SystemRehearsal
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Cycle,
    Decision,
    Document,
    Notification,
    Person,
    SubmissionRecord,
    Task,
)
from plancycle.runtime import Runtime
from plancycle.simulation import Rehearsal, Script
from tests.ics.conftest import (
    ICS_CYCLE,
    MEMBERS,
    has_plan,
    member_returns,
    register_plan,
    start_cycles,
    task_state,
    upload_returns,
)
from tests.planning.test_plan_build import pdf_text

LATE, REJECTED = "ZAM", "ZMH"
ORG_CYCLES = [m.cycle_id for m in MEMBERS]
UPLOAD_DAY = date(2026, 4, 2)


def _uploads(member):  # type: ignore[no-untyped-def]
    def hook(rt: Runtime, day: date) -> None:
        if day == UPLOAD_DAY:
            upload_returns(rt, member, member_returns(member))
    return hook


def _plan(member):  # type: ignore[no-untyped-def]
    def hook(rt: Runtime, day: date) -> None:
        if task_state(rt, member.cycle_id, "draft_plan") == "open" \
                and not has_plan(rt, member.cycle_id):
            register_plan(rt, member.cycle_id)
    return hook


def _submits_once_escalated(rt: Runtime, day: date) -> None:
    """ZAM's exec sponsor, escalated to by the ICS, has the planner submit the next day."""
    member = next(m for m in MEMBERS if m.code == LATE)
    with rt.register.session(actor="rehearsal") as session:
        escalated = session.scalars(
            select(Notification).join(Assignment, Notification.assignment_id == Assignment.id)
            .join(Task, Assignment.task_id == Task.id)
            .where(Task.cycle_id == ICS_CYCLE, Task.key == f"submit_{LATE.lower()}_plan",
                   Notification.kind == "escalation")).all()
        if not any(n.created_at.date() < day for n in escalated):
            return
        for assignment in session.scalars(
                select(Assignment).join(Task, Assignment.task_id == Task.id)
                .where(Task.cycle_id == member.cycle_id, Task.key == "submit_to_ics",
                       Assignment.state == AssignmentState.OPEN)):
            assignment.state = AssignmentState.COMPLETE
            assignment.completed_at = rt.clock.now()
    rt.advance(member.cycle_id, actor="rehearsal")


@pytest.fixture(scope="module")
def system_year(prefect_api, tmp_path_factory):
    from flows.ics_rollup import ics_rollup

    home = tmp_path_factory.mktemp("ics")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLANCYCLE_HOME", str(home))
        env.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
        env.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
        env.delenv("PLANCYCLE_DATABASE_URL", raising=False)
        env.delenv("PLANCYCLE_PUBLISHED_DATA", raising=False)
        rt = Runtime.build(clock=SimulatedClock(date(2026, 4, 1)), channels=RecordingChannels(),
                           database_url=f"sqlite:///{home / 'register.db'}")
        start_cycles(rt, home)
        end = date(2026, 12, 31)
        organisations = []
        for member in MEMBERS:
            script = Script(hooks=[_uploads(member), _plan(member)])
            if member.code == REJECTED:
                script.gate_rounds = {"board_gate": ["reject"]}
            if member.code == LATE:
                script.offsets = {"submit_to_ics": 500}  # only when the sponsor says so
            organisations.append(Rehearsal(rt, member.cycle_id, script, end))
        never = {f"submit_{m.code.lower()}_plan": 500 for m in MEMBERS}  # done by submitting
        system = Rehearsal(rt, ICS_CYCLE, Script(offsets={**never, "submit_to_region": 500}),
                           end)
        rehearsal = SystemRehearsal(rt, system, organisations, end,
                                    hooks=[_submits_once_escalated])
        rt.waiter = rehearsal.wait
        with runtime_mod.use(rt):
            result = ics_rollup(ICS_CYCLE, ORG_CYCLES, until_complete=True)
        yield rt, rehearsal, result
    rt.register.dispose()


def _ics_sent(session, person: str | None = None):  # type: ignore[no-untyped-def]
    query = (select(Notification, Person, Task).join(Person, Notification.person_id == Person.id)
             .join(Assignment, Notification.assignment_id == Assignment.id)
             .join(Task, Assignment.task_id == Task.id)
             .where(Notification.cycle_id == ICS_CYCLE, Notification.status == "sent")
             .order_by(Notification.id))
    if person:
        query = query.where(Person.key == person)
    return session.execute(query).all()


def test_one_annual_cycle_run_per_organisation_then_the_system_cycle_completes(system_year):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    rt, _, result = system_year
    assert result["complete"] is True
    assert {c: r["mode"] for c, r in result["runs"].items()} == dict.fromkeys(
        ORG_CYCLES, "subflow")
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(
            any_=["annual-cycle"])))
    started = {str(r.id) for r in runs if r.parameters.get("cycle_id") in ORG_CYCLES}
    assert {r["flow_run_id"] for r in result["runs"].values()} <= started
    with rt.register.session() as session:
        tasks = session.scalars(select(Task).where(Task.cycle_id == ICS_CYCLE)).all()
        assert {t.key: t.state for t in tasks} == {t.key: "complete" for t in tasks}
        assert session.get(Cycle, ICS_CYCLE).locked is True
        for cycle_id in ORG_CYCLES:
            submit = session.scalars(select(Task).where(
                Task.cycle_id == cycle_id, Task.key == "submit_to_ics")).one()
            assert submit.state == "complete"


def test_the_late_organisation_is_chased_then_escalated_to_its_exec_sponsor(system_year):
    rt, _, _ = system_year
    with rt.register.session() as session:
        planner = [(n.created_at.date(), n.kind) for n, _, t in
                   _ics_sent(session, "planner.zam") if t.key == "submit_zam_plan"]
        assert planner == [
            (date(2026, 5, 5), "new_task"),
            (date(2026, 6, 5), "reminder"),   # 5 working days before Fri 12 June
            (date(2026, 6, 11), "reminder"),
            (date(2026, 6, 12), "due"),
            (date(2026, 6, 15), "overdue"),
            (date(2026, 6, 17), "overdue"),
        ]
        escalations = [(n.created_at.date(), p.key, t.key) for n, p, t in _ics_sent(session)
                       if n.kind == "escalation"]
        assert escalations == [(date(2026, 6, 17), "sponsor.zam", "submit_zam_plan")]
        late = session.scalars(select(Task).where(Task.cycle_id == ICS_CYCLE,
                                                  Task.key == "submit_zam_plan")).one()
        assert late.completed_at.date() == date(2026, 6, 18)
        (assignment,) = late.assignments
        assert "ZAM's cycle zam-2026-27 submitted its plan on 18 Jun 2026" in assignment.reason
        for member in MEMBERS:
            if member.code == LATE:
                continue
            task = session.scalars(select(Task).where(
                Task.cycle_id == ICS_CYCLE, Task.key == f"submit_{member.code.lower()}_plan")
            ).one()
            assert task.completed_at.date() <= date(2026, 6, 12), member.code


def test_the_rejected_organisation_submits_after_its_board_approves_again(system_year):
    rt, _, _ = system_year
    with rt.register.session() as session:
        decisions = session.execute(select(Decision.decision, Decision.valid).join(
            Task, Decision.task_id == Task.id).where(
            Task.cycle_id == "zmh-2026-27", Task.key == "board_gate").order_by(Decision.id)).all()
        assert decisions[0] == ("reject", False)
        assert [d for d, valid in decisions if valid] == ["approve", "approve"]


def test_system_tables_flags_and_the_system_plan_through_the_people_board(system_year):
    rt, _, result = system_year
    built = result["system_plan"]
    assert built is not None and built["plan_version"] == 1
    with rt.register.session() as session:
        documents = {d.kind: d for d in session.scalars(select(Document).where(
            Document.cycle_id == ICS_CYCLE))}
        assert {"plan", "exec_summary", "system_tables", "signed_plan"} <= set(documents)
        plan = documents["plan"]
        approvals = session.execute(select(Decision.role_key, Decision.document_sha256).join(
            Task).where(Task.key == "people_board_gate", Decision.valid.is_(True))).all()
        assert sorted(approvals) == [("chief_people_officer", plan.sha256),
                                     ("people_board_chair", plan.sha256)]
        records = session.scalars(select(SubmissionRecord).where(
            SubmissionRecord.cycle_id == ICS_CYCLE)).all()
        assert [r.status for r in records] == ["delivered"]
    html = Path(plan.path).read_text(encoding="utf-8")
    assert "System Workforce Plan" in html and "Shropshire, Telford and Wrekin" in html
    assert "not added up across organisations" in html
    tables = Path(documents["system_tables"].path).read_text(encoding="utf-8")
    for heading in ("By organisation", "By place", "By staff group",
                    "Finance and activity triangulation", "Supply, demand and gap by year",
                    "gap by staff group and year", "Organisations&#x27; plans and submissions",
                    "Consistency flags"):
        assert heading in tables, heading
    assert "RL1 staff in post (excluding doctors)" in tables
    assert "R1D returned" not in tables          # R1D agrees with what is published
    # The ICS's own plan: system wording, a page per organisation, system tables, trajectory.
    text = " ".join(pdf_text(Path(plan.path).with_suffix(".pdf")).split())
    assert "the trust" not in text.lower(), "system plan says 'the trust'"
    assert "Annex H – The system" in text and "H.1 The system by organisation" in text
    assert "H.2 System WTE trajectory" in text and "H.3 System bridge" in text
    for code in ("R1D", "RL1", "ZMH", "ZAM", "ZPC"):
        assert f"({code})" in text
    assert "System wte trajectory" in tables and "System bridge" in tables
    # The region package carries the system tables as CSV and the system template.
    home = Path(plan.path).parents[2]
    package = sorted((home / "submissions" / ICS_CYCLE).glob("*/manifest.json"))
    manifest = json.loads(package[-1].read_text())
    for name in ("organisations", "organisation_staff_group", "system_wte_trajectory",
                 "system_bridge", "system_kpis"):
        assert f"system_tables/{name}.csv" in manifest["system_tables"], name
    assert manifest["template"]["path"].endswith(".xlsx")


def test_rerunning_the_roll_up_sends_and_submits_nothing_new(system_year):
    from flows.ics_rollup import ics_rollup

    rt, _, _ = system_year
    with rt.register.session() as session:
        before = (len(session.scalars(select(Notification)).all()),
                  len(session.scalars(select(SubmissionRecord)).all()))
    with runtime_mod.use(rt):
        again = ics_rollup(ICS_CYCLE, ORG_CYCLES)
    assert again["complete"] is True
    # Submitting again (as after a failed destination) reuses the package of the locked cycle.
    resubmitted = service.submit_system_plan(rt, service.roll_up_cycles(rt, ICS_CYCLE,
                                                                        ORG_CYCLES))
    assert resubmitted.package.reused and resubmitted.delivered
    assert all(not r["sent_now"] for r in resubmitted.records)
    with rt.register.session() as session:
        after = (len(session.scalars(select(Notification)).all()),
                 len(session.scalars(select(SubmissionRecord)).all()))
    assert after == before


def test_a_template_failing_the_ics_checks_goes_back_to_its_workforce_planner(system_year):
    """Given ZPC's submitted template with a bridge that does not reconcile, when the ICS
    builds its system plan, then ZPC is left out of the system template, and ZPC's workforce
    planner is sent the DQ report (sheet, row and fix) once — building again sends nothing
    new — and it is delivered like any message."""
    import io

    import openpyxl

    from plancycle.ics.templates import template_file
    from plancycle.planning import plan_context

    rt, _, _ = system_year
    rollup = service.roll_up_cycles(rt, ICS_CYCLE, ORG_CYCLES)
    row = rollup.plans.set_index("org_code").loc["ZPC"]
    with rt.register.session() as session:
        path = template_file(session, row["cycle_id"], row["package_sha256"])
    assert path is not None and path.suffix == ".xlsx"
    original = path.read_bytes()
    book = openpyxl.load_workbook(io.BytesIO(original))
    sheet = book["Bridge"]
    sheet.protection.sheet = False
    sheet["C4"] = float(sheet["C4"].value) + 0.5
    out = io.BytesIO()
    book.save(out)
    try:
        path.write_bytes(out.getvalue())
        for _ in range(2):
            with rt.register.session(actor="test") as session:
                context, _extra = service.system_template_context(
                    session, rt, rollup, plan_context(session, ICS_CYCLE))
        report = rt.deliver(ICS_CYCLE)
    finally:
        path.write_bytes(original)
    assert report.failed == 0
    assert any("ZPC's workforce plan template was sent back" in n for n in context.system.notes)
    assert "ZPC" not in set(_extra["system_template_organisations"]["org_code"])
    with rt.register.session() as session:
        sent = session.execute(
            select(Notification, Person).join(Person, Notification.person_id == Person.id)
            .where(Notification.cycle_id == ICS_CYCLE,
                   Notification.kind == service.TEMPLATE_SENT_BACK)).all()
    assert sent and {p.key for _, p in sent} == {"planner.zpc"}
    assert len({n.channel for n, _ in sent}) == len(sent), "once per channel, built twice"
    assert all(n.status == "sent" for n, _ in sent)
    email = next(n for n, _ in sent if n.channel == "email")
    assert "bridge.reconciles" in email.body and "sheet 'Bridge', row 11" in email.body
    assert "Sent back by the ICS" in email.subject
