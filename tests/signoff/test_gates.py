"""Scenarios for board sign-off gates on the real register (no Prefect needed).

Given a small cycle whose board gate asks the chief executive, the director of finance and
the chair of the board to approve the plan, and a plan document registered by its hash.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from plancycle.assignments import find_person, find_task, mark_absent
from plancycle.register.models import Assignment, Decision, Task
from plancycle.signoff import (
    Condition,
    SignoffError,
    decide,
    gate_status,
    queue_gate_messages,
)
from tests.signoff.conftest import CYCLE, GATE, do_open_work, register_plan, walk_to


def _decide(rt, person: str, verdict: str, sha: str, **kwargs) -> Decision:
    with rt.register.session(actor=person) as session:
        gate = find_task(session, CYCLE, GATE)
        return decide(session, gate, find_person(session, CYCLE, person), verdict, sha,
                      rt.clock.now(), rt.calendar, **kwargs)


def _status(rt):
    with rt.register.session() as session:
        return gate_status(session, find_task(session, CYCLE, GATE))


def _request_messages(rt) -> int:
    with rt.register.session(actor="test") as session:
        queued = queue_gate_messages(session, CYCLE, rt.notifier, rt.links, rt.calendar,
                                     rt.clock.today())
    rt.deliver(CYCLE)
    return queued


def _emails(recording, kind_subject: str) -> list:
    return [m for m in recording.sent if m.channel == "email" and kind_subject in m.subject]


@pytest.mark.parametrize(("quorum", "deciders", "passed_after"), [
    ("all", ["dan.ceo", "fay.finance", "ruth.chair"], [False, False, True]),
    ("any", ["fay.finance"], [True]),
    ("2", ["ruth.chair", "dan.ceo"], [False, True]),
])
def test_quorum_of_approver_roles(start, quorum, deciders, passed_after):
    """When approvers decide one by one, the gate passes exactly when the quorum is met."""
    rt = start(quorum)
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    for person, expected in zip(deciders, passed_after, strict=True):
        _decide(rt, person, "approve", sha, signature=person)
        assert _status(rt).passed is expected
    status = _status(rt)
    assert status.outcome == "passed" and status.state == "complete"
    with rt.register.session() as session:
        gate = find_task(session, CYCLE, GATE)
        left = {a.person.key: (a.state, a.reason) for a in gate.assignments
                if a.person.key not in deciders}
    # Those who had not decided need not any more; the next stage's task is unblocked.
    assert all(v == ("cancelled", "gate passed by quorum") for v in left.values())
    rt.clock.set(date(2026, 6, 1))
    assert "submit_to_ics" in rt.advance(CYCLE).opened_tasks


def test_approval_request_names_the_document_links_to_it_and_gives_the_dq_summary(
        start, recording):
    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    assert _request_messages(rt) == 3  # one email per approver (no chat handles)
    assert _request_messages(rt) == 0  # keyed: never twice
    requests = _emails(recording, "Your decision is needed")
    assert sorted(m.recipient.name for m in requests) == [
        "Dan Chowdhury", "Fay Finch", "Ruth Callaghan"]
    body = requests[0].body
    assert requests[0].subject == ("Your decision is needed: Board sign-off of the workforce "
                                   "plan (plan v1)")
    assert sha in body and "plan v1" in body
    assert "http://portal.test/t/" in body
    assert "0 accepted (0 with warnings), 0 failed" in body
    assert "Chief Executive, Director of Finance, Chair of the Board (every role must" in body
    assert sha in requests[0].html


def test_a_non_approver_is_refused_and_nothing_is_recorded(start):
    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    with pytest.raises(SignoffError, match="Zed Outsider is not an approver of 'Board sign-off"):
        _decide(rt, "zed.outsider", "approve", sha)
    with rt.register.session() as session:
        assert session.scalars(select(Decision)).all() == []
    assert _status(rt).approved_roles == ()


def test_a_decision_is_never_defaulted_and_must_name_the_current_version(start):
    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    for verdict in (None, "", "yes"):
        with pytest.raises(SignoffError, match="is not one of approve"):
            _decide(rt, "dan.ceo", verdict, sha)
    with pytest.raises(SignoffError, match="the document under review is version 1"):
        _decide(rt, "dan.ceo", "approve", "a" * 64)
    with pytest.raises(SignoffError, match="a rejection needs a reason"):
        _decide(rt, "dan.ceo", "reject", sha, reason="  ")
    with pytest.raises(SignoffError, match="needs at least one condition"):
        _decide(rt, "dan.ceo", "approve_with_conditions", sha)
    assert _status(rt).approved_roles == ()


def test_a_recorded_deputy_decides_for_an_absent_approver(start, clock):
    """Given the director of finance is away, her deputy's decision counts for her role,
    and she cannot decide over him until the task is handed back."""
    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    with rt.register.session(actor="planner") as session:
        mark_absent(session, find_person(session, CYCLE, "fay.finance"), clock.now())
    decision = _decide(rt, "owen.deputy", "approve", sha, signature="Owen Price")
    assert decision.role_key == "director_of_finance"
    assert _status(rt).approved_roles == ("director_of_finance",)
    with pytest.raises(SignoffError, match="Fay Finch handed 'Board sign-off .*' to Owen Price"):
        _decide(rt, "fay.finance", "reject", sha, reason="no")


def test_deciding_again_replaces_the_earlier_decision(start):
    rt = start("2")
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    _decide(rt, "dan.ceo", "approve", sha)
    _decide(rt, "dan.ceo", "approve", sha, signature="Dan Chief")
    with rt.register.session() as session:
        assert [d.valid for d in session.scalars(select(Decision).order_by(Decision.id))] == [
            False, True]
    assert _status(rt).approved_roles == ("chief_executive",) and not _status(rt).passed


def test_the_same_decision_sent_twice_is_recorded_once(start):
    """A double click, or the portal and the CLI at once: one decision, the same one back."""
    rt = start("2")
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    first = _decide(rt, "dan.ceo", "approve", sha, signature="Dan")
    again = _decide(rt, "dan.ceo", "approve", sha, signature="Dan")
    assert again.id == first.id
    with rt.register.session() as session:
        assert len(session.scalars(select(Decision)).all()) == 1


def test_rejection_reopens_the_stage_and_a_revised_plan_needs_new_approvals(
        start, recording, clock):
    """When the chair rejects v1, the draft reopens with the reason, earlier approvals become
    invalid, and only approvals of the revised v2 pass the gate."""
    rt = start()
    walk_to(rt)
    v1 = register_plan(rt, "<h1>Plan v1</h1>")
    _decide(rt, "dan.ceo", "approve", v1)
    _decide(rt, "fay.finance", "approve", v1)
    reason = "The registered nurse gap is not funded; revise the action plan."
    _decide(rt, "ruth.chair", "reject", v1, reason=reason)

    status = _status(rt)
    assert status.outcome == "rejected" and status.rejection_reason == reason
    with rt.register.session() as session:
        assert [d.valid for d in session.scalars(select(Decision))] == [False, False, False]
        draft = find_task(session, CYCLE, "draft_plan")
        assert (draft.state, find_task(session, CYCLE, GATE).state) == ("pending", "pending")
        assert draft.stage.state == "open"
        assert find_task(session, CYCLE, "staff_in_post_return").state == "complete"

    # The holders of the reopened work are told why, once, and the draft reopens at once
    # with a 'new task' whose note gives the reason.
    from plancycle.signoff.notices import rejections

    with rt.register.session() as session:
        assert len(rejections(session, CYCLE, unnoticed=True)) == 1
    progress = rt.advance(CYCLE)
    assert progress.opened_tasks == ["draft_plan"]
    with rt.register.session() as session:  # later passes need not rebuild its notices
        assert rejections(session, CYCLE, unnoticed=True) == []
        assert len(rejections(session, CYCLE)) == 1
    _request_messages(rt)
    _request_messages(rt)
    reopened = _emails(recording, "Reopened after a rejection")
    assert sorted(m.recipient.name for m in reopened) == [
        "Ann Planner", "Dan Chowdhury", "Fay Finch", "Ruth Callaghan"]
    to_ann = next(m for m in reopened if m.recipient.name == "Ann Planner")
    assert "Ruth Callaghan rejected Board sign-off of the workforce plan" in to_ann.body
    assert reason in to_ann.body
    new_draft = [m for m in _emails(recording, "New task: Draft the workforce plan")]
    assert len(new_draft) == 2
    assert f"Note:      Reopened: Ruth Callaghan rejected 'Board sign-off of the workforce " \
           f"plan' on {clock.today():%d %b %Y}: {reason}" in new_draft[-1].body

    # The planner revises the plan: v2 is issued and the gate reopens for it.
    do_open_work(rt)
    v2 = register_plan(rt, "<h1>Plan v2 with funded nurses</h1>")
    clock.set(rt.calendar.add_working_days(clock.today(), 1))
    assert "board_gate" in rt.advance(CYCLE).opened_tasks
    assert _status(rt).document_version == 2 and _status(rt).approved_roles == ()
    with pytest.raises(SignoffError, match="the document under review is version 2"):
        _decide(rt, "dan.ceo", "approve", v1)
    _request_messages(rt)
    assert sum("plan v2" in m.subject for m in _emails(recording, "decision is needed")) == 3
    for person in ("dan.ceo", "fay.finance", "ruth.chair"):
        _decide(rt, person, "approve", v2)
    assert _status(rt).outcome == "passed"


def test_a_new_version_while_the_gate_is_open_asks_the_approvers_again(start, recording):
    rt = start()
    walk_to(rt)
    v1 = register_plan(rt, "<h1>Plan v1</h1>")
    _request_messages(rt)
    _decide(rt, "dan.ceo", "approve", v1)
    with rt.register.session() as session:
        dan = next(a for a in find_task(session, CYCLE, GATE).assignments
                   if a.person.key == "dan.ceo")
        assert dan.state == "complete"
    register_plan(rt, "<h1>Plan v1.1 typo fixed</h1>")
    assert _status(rt).approved_roles == ()
    with rt.register.session() as session:
        dan = session.get(Assignment, dan.id)
        assert dan.state == "open" and "version 2 of the plan replaces" in dan.reason
    _request_messages(rt)
    to_dan = [m.subject for m in _emails(recording, "decision is needed")
              if m.recipient.name == "Dan Chowdhury"]
    assert to_dan == ["Your decision is needed: Board sign-off of the workforce plan (plan v1)",
                      "Your decision is needed: Board sign-off of the workforce plan (plan v2)"]


def test_a_new_version_after_the_gate_passed_reopens_it(start):
    rt = start("any")
    walk_to(rt)
    v1 = register_plan(rt, "<h1>Plan v1</h1>")
    _decide(rt, "dan.ceo", "approve", v1)
    assert _status(rt).outcome == "passed"
    register_plan(rt, "<h1>Plan v2</h1>")
    status = _status(rt)
    assert (status.state, status.outcome, status.approved_roles) == ("open", "waiting", ())
    with rt.register.session() as session:
        states = sorted(a.state for a in find_task(session, CYCLE, GATE).assignments)
    assert states == ["open", "open", "open"]


def test_conditions_become_tasks_that_open_and_are_chased(start, recording, clock):
    """When the director of finance approves on condition that nursing adds a retention
    action, that becomes a task for the director of nursing: opened, told and chased."""
    rt = start("any")
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    with pytest.raises(SignoffError, match="role 'chief_nurse', which nobody holds"):
        _decide(rt, "fay.finance", "approve_with_conditions", sha,
                conditions=[Condition("Add a retention action", "chief_nurse")])
    _decide(rt, "fay.finance", "approve_with_conditions", sha, signature="Fay Finch",
            conditions=[Condition("Add a nursing retention action to Annex G",
                                  "director_of_nursing")])
    assert _status(rt).outcome == "passed"
    with rt.register.session() as session:
        condition = find_task(session, CYCLE, "board_gate-condition-1")
        assert (condition.state, condition.role_key) == ("pending", "director_of_nursing")
        assert condition.stage.key == "approval" and condition.stage.state == "open"
    assert "board_gate-condition-1" in rt.advance(CYCLE).opened_tasks
    rt.deliver(CYCLE)
    told = _emails(recording, "New task: Condition of Board sign-off")
    assert [m.recipient.name for m in told] == ["Grace Mensah"]
    assert "Add a nursing retention action to Annex G" in told[0].body
    # Chased like any task: a reminder five working days before it is due.
    with rt.register.session() as session:
        due = find_task(session, CYCLE, "board_gate-condition-1").due_on
    clock.set(rt.calendar.add_working_days(due, -5))
    rt.chase(CYCLE)
    rt.deliver(CYCLE)
    reminders = _emails(recording, "Reminder: Condition of Board sign-off")
    assert [m.recipient.name for m in reminders] == ["Grace Mensah"]
    # The stage completes only once the condition is met.
    with rt.register.session() as session:
        assert find_task(session, CYCLE, GATE).stage.state == "open"
    do_open_work(rt)
    rt.advance(CYCLE)
    with rt.register.session() as session:
        stage = session.scalars(select(Task).where(Task.key == GATE)).one().stage
        assert stage.state == "complete"


def test_the_plans_approval_request_carries_the_workforce_plan_template_hash(start, recording):
    from plancycle.signoff import TEMPLATE_KIND, register_document

    rt = start()
    walk_to(rt)
    template_sha = "ab" * 32
    with rt.register.session(actor="planner") as session:
        register_document(session, CYCLE, TEMPLATE_KIND, template_sha, "template.xlsx",
                          rt.clock.now())
    register_plan(rt, "<h1>Plan v1</h1>")
    assert _request_messages(rt) == 3
    request = _emails(recording, "Your decision is needed")[0]
    assert f"workforce plan template v1, SHA-256 {template_sha}" in request.body
    assert template_sha in request.html
