"""What role holders and the planner can do through the portal (in-process, fast)."""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import select

from plancycle.assignments import complete_assignment, find_person, find_task
from plancycle.register.db import home as data_home
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    AuditEntry,
    Decision,
    LinkGeneration,
    Notification,
    Task,
)

from .helpers import (
    CYCLE,
    PLANNER_TOKEN,
    assignment_id,
    csrf_for,
    csrf_of,
    decision_form,
    escalate,
    link,
    register_plan,
    snapshot,
)


def test_my_tasks_lists_open_tasks_with_due_and_overdue_badges(client, runtime, clock):
    rachel = link(runtime, "rachel.moore", "align_business_planning")
    page = client.get(f"{rachel}/tasks")
    assert page.status_code == 200
    assert "Confirm business-planning and budget-setting dates" in page.text
    assert "Due in 5 working days" in page.text

    clock.set(clock.now().replace(day=16))  # Thu 16 April: due Fri 10 April
    page = client.get(f"{rachel}/tasks")
    assert "Overdue by 4 working days" in page.text
    # Each task in the list links to it with a fresh link for the same person.
    href = re.search(r'<a href="(/t/[^"]+)">Confirm business-planning', page.text).group(1)
    assert client.get(href).status_code == 200


def test_the_task_page_says_who_is_waiting_and_what_to_do(client, runtime):
    helen = client.get(link(runtime, "helen.shaw", "confirm_exec_sponsor")).text
    assert "Who is waiting on this task" in helen
    assert "Agree the planning timetable" in helen and "Priya Nair" in helen
    assert "Mark as complete" in helen
    assert "Kick-off and executive sponsorship" in helen


def test_completing_a_task_opens_what_waits_on_it_and_tells_the_next_person(
        client, runtime, recording):
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    before = len(recording.sent)
    done = client.post(f"{helen}/complete", data={"csrf_token": csrf_of(client.get(helen).text)})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=complete")
    page = client.get(done.headers["location"])
    assert "Your part of this task is recorded as complete" in page.text
    assert "Mark as complete" not in page.text
    sent = recording.sent[before:]
    assert any(m.recipient.name == "Priya Nair" and "Agree the planning timetable" in m.subject
               for m in sent)


def test_a_role_holder_hands_a_task_to_their_deputy(client, runtime, recording):
    rachel = link(runtime, "rachel.moore", "align_business_planning")
    page = client.get(rachel)
    assert "Reassign to Owen Price" in page.text
    token = csrf_of(page.text)

    no_reason = client.post(f"{rachel}/reassign", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 400
    assert "Say why you are handing the task over" in no_reason.text

    moved = client.post(f"{rachel}/reassign", data={"csrf_token": token,
                                                    "reason": "annual leave"})
    assert moved.status_code == 303
    with runtime.register.session() as session:
        task = find_task(session, CYCLE, "align_business_planning")
        states = {a.person.key: a.state for a in task.assignments}
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.actor == "portal:rachel.moore", AuditEntry.action == "reassign")).one()
    assert states == {"rachel.moore": AssignmentState.REASSIGNED,
                      "owen.price": AssignmentState.OPEN}
    assert entry.after["to"] == "owen.price" and entry.after["reason"] == "annual leave"
    assert any(m.recipient.name == "Owen Price" for m in recording.sent)
    # Rachel's link now says who has it and offers nothing to do.
    page = client.get(rachel)
    assert "You handed this task over to <strong>Owen Price</strong>" in page.text
    assert "Mark as complete" not in page.text


def test_data_requests_are_completed_by_an_accepted_upload_not_a_button(client, runtime,
                                                                        clock):
    from .helpers import open_stage

    open_stage(runtime, clock, "workforce_data")
    lucy = link(runtime, "lucy.fernandes", "staff_in_post_return")
    page = client.get(lucy)
    assert "Upload your return" in page.text and "Mark as complete" not in page.text
    upload_page = client.get(f"{lucy}/upload")
    assert 'enctype="multipart/form-data"' in upload_page.text
    assert "up to 1 MB" in upload_page.text
    before = snapshot(runtime)
    refused = client.post(f"{lucy}/complete", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 409
    assert snapshot(runtime) == before
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    assert client.get(f"{helen}/upload").status_code == 409


# --- approvals ------------------------------------------------------------------------------

def test_the_approval_page_shows_the_document_hash_and_no_default_choice(client, gate):
    page = client.get(f"{gate['helen']}/approve")
    assert page.status_code == 200
    assert gate["sha"] in page.text and "File matches" in page.text
    assert 'name="verdict"' in page.text
    assert not re.search(r'name="verdict"[^>]* checked', page.text)
    assert "Data quality of the returns" in page.text
    document = client.get(f"{gate['helen']}/document")
    assert document.status_code == 200
    assert "Workforce plan 2026/27" in document.text
    assert "sandbox" in document.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in document.headers["content-security-policy"]


def test_a_decision_needs_a_choice_a_reason_to_reject_and_the_approvers_own_name(
        client, runtime, gate):
    helen, sha = gate["helen"], gate["sha"]
    before = snapshot(runtime)
    cases = [
        ({"signature": "Helen Shaw"}, "Choose approve, approve with conditions or reject"),
        ({"verdict": "reject", "signature": "Helen Shaw"}, "Say why you reject"),
        ({"verdict": "approve_with_conditions", "signature": "Helen Shaw"},
         "Write at least one condition"),
        ({"verdict": "approve_with_conditions", "signature": "Helen Shaw",
          "condition_text_1": "Review agency spend"}, "Condition 1: choose the role"),
        ({"verdict": "approve", "signature": "David Okafor"}, "must be your name as recorded"),
        ({"verdict": "approve", "signature": ""}, "Type your full name"),
    ]
    for fields, message in cases:
        response = client.post(f"{helen}/approve", data=decision_form(client, helen, sha=sha,
                                                                      **fields))
        assert response.status_code == 400, message
        assert message in response.text
    stale = client.post(f"{helen}/approve", data=decision_form(
        client, helen, sha="0" * 64, verdict="approve", signature="Helen Shaw"))
    assert stale.status_code == 400 and "The document has changed" in stale.text
    assert snapshot(runtime) == before


def test_a_decision_is_recorded_only_after_the_confirmation_step(client, runtime, gate):
    helen, sha = gate["helen"], gate["sha"]
    review = client.post(f"{helen}/approve", data=decision_form(
        client, helen, sha=sha, verdict="approve", signature="helen  shaw"))
    assert review.status_code == 200
    assert "Check your decision before it is recorded" in review.text
    with runtime.register.session() as session:
        assert session.scalars(select(Decision)).first() is None

    token = csrf_of(review.text)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"',
                             review.text))
    change = client.post(f"{helen}/approve", data={**fields, "csrf_token": token,
                                                   "step": "edit"})
    assert change.status_code == 200 and 'value="approve" checked' in change.text

    confirmed = client.post(f"{helen}/approve", data={**fields, "csrf_token": token,
                                                      "step": "confirm"})
    assert confirmed.status_code == 303
    page = client.get(confirmed.headers["location"])
    assert "Your decision has been recorded" in page.text
    with runtime.register.session() as session:
        decision = session.scalars(select(Decision)).one()
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.actor == "portal:helen.shaw", AuditEntry.action == "decide")).one()
    assert (decision.decision, decision.document_sha256) == ("approve", sha)
    assert audit.after["document_sha256"] == sha
    # Done: the form is gone and a second confirmation changes nothing.
    assert "Continue to check your decision" not in page.text
    again = client.post(f"{helen}/approve", data={**fields, "csrf_token": token,
                                                  "step": "confirm"})
    assert again.status_code == 409


def test_a_rejection_reopens_the_draft_and_other_people_cannot_decide(client, runtime, gate):
    helen, sha = gate["helen"], gate["sha"]
    # Priya's line manager is Helen: an escalation link to Priya's decision is view-only.
    escalate(runtime, "executive_gate", "priya.nair")
    manager = link(runtime, "helen.shaw", "executive_gate", holder="priya.nair")
    view = client.get(f"{manager}/approve")
    assert view.status_code == 200 and "cannot decide it here" in view.text
    assert "Continue to check your decision" not in view.text
    forbidden = client.post(f"{manager}/approve", data={
        "csrf_token": csrf_for(client, "helen.shaw",
                               assignment_id(runtime, "priya.nair", "executive_gate")),
        "verdict": "approve", "document_sha256": sha,
        "signature": "Helen Shaw", "step": "confirm"})
    assert forbidden.status_code == 403

    review = client.post(f"{helen}/approve", data=decision_form(
        client, helen, sha=sha, verdict="reject", signature="Helen Shaw",
        reason="The agency trajectory is not affordable"))
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"',
                             review.text))
    done = client.post(f"{helen}/approve", data={**fields, "csrf_token": csrf_of(review.text),
                                                 "step": "confirm"})
    assert done.status_code == 303
    with runtime.register.session() as session:
        decision = session.scalars(select(Decision)).one()
        draft = find_task(session, CYCLE, "draft_plan_document")
    assert decision.decision == "reject" and decision.reason.startswith("The agency")
    assert draft.state in ("pending", "open")


def test_the_approval_of_a_changed_document_is_refused(client, runtime, gate, clock):
    helen, sha = gate["helen"], gate["sha"]
    review = client.post(f"{helen}/approve", data=decision_form(
        client, helen, sha=sha, verdict="approve", signature="Helen Shaw"))
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"',
                             review.text))
    register_plan(runtime, data_home() / "documents", clock.now(), text="v2")  # a new version
    before = snapshot(runtime)
    response = client.post(f"{helen}/approve", data={**fields, "csrf_token": csrf_of(
        review.text), "step": "confirm"})
    assert response.status_code == 400
    assert "The document has changed" in response.text
    assert snapshot(runtime) == before


# --- the planner ----------------------------------------------------------------------------

def sign_in(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/planner/login")
    response = client.post("/planner/login", data={"csrf_token": csrf_of(page.text),
                                                   "token": PLANNER_TOKEN})
    assert response.status_code == 303


def test_the_dashboard_shows_rag_overdue_notifications_returns_and_prefect(client, runtime,
                                                                          clock):
    sign_in(client)
    page = client.get(f"/planner/cycles/{CYCLE}").text
    assert 'data-stage="kickoff" data-rag="green"' in page
    assert 'data-stage="workforce_data" data-rag="grey"' in page
    assert "Nothing is overdue." in page
    assert 'href="http://prefect.test/runs"' in page
    assert '<dd data-count="accepted">0</dd>' in page
    assert "New task: Confirm the executive sponsor" in page  # the notification log

    clock.set(clock.now().replace(day=9))  # eight days on: the 12-hour session has lapsed
    assert client.get(f"/planner/cycles/{CYCLE}").status_code == 303
    sign_in(client)
    page = client.get(f"/planner/cycles/{CYCLE}").text
    assert 'data-stage="kickoff" data-rag="amber"' in page
    assert 'tr data-task="confirm_exec_sponsor"' in page


def test_the_planner_withdraws_someones_links_from_the_dashboard(client, runtime):
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    sign_in(client)
    page = client.get(f"/planner/cycles/{CYCLE}")
    missing_csrf = client.post(f"/planner/cycles/{CYCLE}/revoke",
                               data={"person": "helen.shaw"})
    assert missing_csrf.status_code == 403
    done = client.post(f"/planner/cycles/{CYCLE}/revoke", data={
        "csrf_token": csrf_of(page.text), "person": "helen.shaw", "reason": "forwarded"})
    assert done.status_code == 303
    assert client.get(helen).status_code == 410
    with runtime.register.session() as session:
        row = session.scalars(select(LinkGeneration)).one()
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "revoke_links")).one()
    assert (row.person_key, row.generation, row.reason) == ("helen.shaw", 1, "forwarded")
    assert entry.actor == "portal:planner"


def test_escalation_emails_carry_a_read_only_link_for_the_manager(runtime, clock, recording):
    """The chaser's escalation to Rachel's line manager links to her task, signed for him."""
    clock.set(clock.now().replace(day=16))
    runtime.chase(CYCLE)
    runtime.deliver(CYCLE)
    with runtime.register.session() as session:
        note = session.scalars(select(Notification).where(
            Notification.kind == "escalation")).first()
        manager = find_person(session, CYCLE, "david.okafor")
        assignment = session.get(Assignment, note.assignment_id)
        assert note.person_id == manager.id and assignment.person.key == "rachel.moore"
    token = re.search(r"/t/(\S+)", note.body).group(1)
    claims = runtime.links.verify(token)
    assert (claims.person, claims.assignment) == ("david.okafor", assignment.id)


def test_completing_outside_the_portal_shows_on_the_task_page(client, runtime, clock):
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    with runtime.register.session() as session:
        complete_assignment(session, find_task(session, CYCLE, "confirm_exec_sponsor"),
                            find_person(session, CYCLE, "helen.shaw"), clock.now())
    page = client.get(helen).text
    assert "Your part of this task was completed on" in page


def test_the_approval_page_offers_the_workforce_plan_template_approved_with_the_plan(
        client, runtime, clock, gate):
    import hashlib
    from pathlib import Path

    from plancycle.analysis import analyse
    from plancycle.signoff import TEMPLATE_KIND, register_document
    from plancycle.synthetic import RETURN_KINDS
    from plancycle.template import from_analysis
    from plancycle.template.workbook import xlsx_bytes

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "analysis"
    returns = {k: pd.read_csv(fixtures / f"{k}.csv") for k in RETURN_KINDS}
    data = xlsx_bytes(from_analysis(analyse(returns, dict.fromkeys(RETURN_KINDS, True)),
                                    returns["staff_in_post"]))
    sha = hashlib.sha256(data).hexdigest()
    path = data_home() / "documents" / f"workforce_template-{sha}.xlsx"
    path.write_bytes(data)
    with runtime.register.session() as session:
        cycle_id = session.scalars(select(Task.cycle_id)).first()
        register_document(session, cycle_id, TEMPLATE_KIND, sha, str(path), clock.now())
    page = client.get(f"{gate['helen']}/approve")
    assert "Workforce plan template" in page.text and sha in page.text
    download = client.get(f"{gate['helen']}/template")
    assert download.status_code == 200 and download.content == data
    assert "spreadsheetml" in download.headers["content-type"]
    path.write_bytes(data + b"x")  # altered on disk: not offered
    assert client.get(f"{gate['helen']}/template").status_code == 404
