"""Links bound to people: a correctly signed link is honoured only for the assignee, their
deputy standing in, or a delegate recorded in the register; escalation recipients see, and
everyone else is refused with the names of the people to ask."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from plancycle.assignments import find_person, find_task
from plancycle.cli import app as cli_app
from plancycle.cli.common import UserError
from plancycle.register.models import (
    AssignmentState,
    AuditEntry,
    Decision,
    Delegation,
    Person,
    Task,
)

from .helpers import (
    CYCLE,
    assignment_id,
    confirm_decision,
    csrf_for,
    csrf_of,
    escalate,
    link,
    snapshot,
)


def assignments_of(runtime, task_key: str) -> dict[str, tuple[str, str | None]]:
    """person → (state, on behalf of) for every assignment of a task."""
    with runtime.register.session() as session:
        task = find_task(session, CYCLE, task_key)
        keys = {p.id: p.key for p in session.scalars(select(Person))}
        return {keys[a.person_id]: (a.state, keys.get(a.on_behalf_of_id))
                for a in task.assignments}


def delegate(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli_app, ["link", "delegate", *args])


def test_a_correctly_signed_link_for_another_persons_assignment_is_refused(client, runtime):
    # Signed with the real secret, for Rachel, on Helen's assignment: the missing check.
    forged = link(runtime, "rachel.moore", "confirm_exec_sponsor", holder="helen.shaw")
    before = snapshot(runtime)
    page = client.get(forged)
    assert page.status_code == 403
    text = page.text.replace("&#39;", "'")
    assert "assigned to Helen Shaw" in text
    assert "Ask Helen Shaw (helen.shaw@riverside.nhs.uk)" in text
    assert "the workforce planner (Amira Khan (amira.khan@riverside.nhs.uk))" in text
    assert "<form" not in page.text
    token = csrf_for(client, "rachel.moore",
                     assignment_id(runtime, "helen.shaw", "confirm_exec_sponsor"))
    for action in ("", "/complete", "/upload", "/approve", "/tasks", "/document"):
        method = client.post if action in ("/complete", "/upload", "/approve") else client.get
        response = method(forged + action, **({"data": {"csrf_token": token}}
                                               if method == client.post else {}))
        assert response.status_code == 403, action
    assert snapshot(runtime) == before
    with runtime.register.session() as session:
        refusals = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "link_refused")).all()
    assert refusals and refusals[0].actor == "portal:rachel.moore"
    assert refusals[0].after["person"] == "rachel.moore"


def test_a_deputy_is_refused_while_the_assignee_is_not_away(client, runtime):
    owen = link(runtime, "owen.price", "align_business_planning", holder="rachel.moore")
    page = client.get(owen)
    assert page.status_code == 403
    text = page.text.replace("&#39;", "'")
    assert "Rachel Moore's deputy" in text and "not recorded as away" in text
    assert "record Rachel Moore as absent" in text


def test_the_deputy_of_an_absent_assignee_acts_for_them_and_the_task_passes_to_them(
        client, runtime):
    # The cycle file now says Rachel is away (re-running `cycle start` updates the flag;
    # her open assignment stays hers): Owen, her deputy, stands in.
    with runtime.register.session(actor="planner") as session:
        find_person(session, CYCLE, "rachel.moore").absent = True
    owen = link(runtime, "owen.price", "align_business_planning", holder="rachel.moore")
    page = client.get(owen)
    assert page.status_code == 200
    assert "You can act on this task for Rachel Moore" in page.text
    assert "Rachel Moore's deputy" in page.text and "Mark as complete" in page.text
    assert "Hand this task to your deputy" not in page.text  # only the assignee hands over

    done = client.post(f"{owen}/complete", data={"csrf_token": csrf_of(page.text),
                                                 "note": "Dates agreed while Rachel is away"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=complete")
    assert client.get(done.headers["location"]).status_code == 200
    assert assignments_of(runtime, "align_business_planning") == {
        "rachel.moore": (AssignmentState.REASSIGNED, None),
        "owen.price": (AssignmentState.COMPLETE, "rachel.moore")}
    with runtime.register.session() as session:
        actions = [(e.action, e.entity) for e in session.scalars(select(AuditEntry).where(
            AuditEntry.actor == "portal:owen.price")).all()]
    assert ("take_over", "assignments") in actions and ("complete", "assignments") in actions


def test_a_deputy_sent_an_escalation_for_the_task_may_stand_in(client, runtime):
    with runtime.register.session(actor="planner") as session:
        task = find_task(session, CYCLE, "align_business_planning")
        chasing = dict(task.settings["chasing"])
        chasing["escalation"] = [{"after_working_days_overdue": 2, "to": "deputy"}]
        task.settings = {**task.settings, "chasing": chasing}
    owen = link(runtime, "owen.price", "align_business_planning", holder="rachel.moore")
    assert client.get(owen).status_code == 403
    escalate(runtime, "align_business_planning", "rachel.moore")   # to Owen, her deputy
    page = client.get(owen)
    assert page.status_code == 200 and "Mark as complete" in page.text


def test_a_recorded_delegate_decides_a_gate_for_the_approver(client, runtime, gate):
    grace = link(runtime, "grace.mensah", "executive_gate", holder="helen.shaw")
    assert client.get(f"{grace}/approve").status_code == 403

    recorded = delegate("--person", "helen.shaw", "--to", "grace.mensah", "--task",
                        "executive_gate", "--from", "2026-04-01",
                        "--reason", "Helen is at the NHS Providers conference")
    assert recorded.exit_code == 0, recorded.output
    assert "grace.mensah may act for helen.shaw on task executive_gate" in recorded.output
    assert "/t/" in recorded.output  # the delegate's own link to each covered task
    again = delegate("--person", "helen.shaw", "--to", "grace.mensah", "--task",
                     "executive_gate", "--from", "2026-04-01", "--reason", "again")
    assert again.exit_code == 0
    with runtime.register.session() as session:
        assert len(session.scalars(select(Delegation)).all()) == 1  # not recorded twice
        created = session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "delegations")).one()
        assert (created.actor, created.action) == ("cli", "create")

    page = client.get(f"{grace}/approve")
    assert page.status_code == 200
    assert "Helen Shaw</strong>'s delegate" in page.text
    assert "Continue to check your decision" in page.text
    # The delegate signs with her own name, not the approver's.
    wrong = client.post(f"{grace}/approve", data={
        "csrf_token": csrf_of(page.text), "document_sha256": gate["sha"], "step": "review",
        "verdict": "approve", "signature": "Helen Shaw"})
    assert wrong.status_code == 400 and "Grace Mensah" in wrong.text
    done = confirm_decision(client, grace, sha=gate["sha"], verdict="approve",
                            signature="Grace Mensah")
    assert done.status_code == 303
    assert client.get(done.headers["location"]).status_code == 200
    with runtime.register.session() as session:
        decision = session.scalars(select(Decision)).one()
        assert decision.person_id == find_person(session, CYCLE, "grace.mensah").id
        assert decision.role_key == "chief_executive" and decision.signature == "Grace Mensah"
    assert assignments_of(runtime, "executive_gate")["grace.mensah"] == (
        AssignmentState.COMPLETE, "helen.shaw")
    # Only for that task: Helen's other tasks stay hers.
    other = link(runtime, "grace.mensah", "confirm_exec_sponsor", holder="helen.shaw")
    assert client.get(other).status_code == 403


def test_a_delegation_ends_on_its_date_and_when_withdrawn(client, runtime, clock):
    path = link(runtime, "ben.carter", "confirm_exec_sponsor", holder="helen.shaw")
    result = delegate("--person", "helen.shaw", "--to", "ben.carter", "--from", "2026-04-01",
                      "--until", "2026-04-02", "--reason", "covering the executive office")
    assert result.exit_code == 0, result.output
    assert client.get(path).status_code == 200
    tasks = client.get(f"{link(runtime, 'ben.carter', 'confirm_exec_sponsor', 'helen.shaw')}"
                       "/tasks")
    assert "Confirm the executive sponsor" in tasks.text and "for Helen Shaw" in tasks.text
    clock.advance(days=2)   # Friday 3 April: the delegation has ended
    assert client.get(link(runtime, "ben.carter", "confirm_exec_sponsor",
                           holder="helen.shaw")).status_code == 403

    assert delegate("--person", "helen.shaw", "--to", "ben.carter", "--from", "2026-04-03",
                    "--reason", "again").exit_code == 0
    fresh = link(runtime, "ben.carter", "confirm_exec_sponsor", holder="helen.shaw")
    assert client.get(fresh).status_code == 200
    withdrawn = CliRunner().invoke(cli_app, ["link", "undelegate", "--person", "helen.shaw",
                                             "--to", "ben.carter", "--reason", "back"])
    assert withdrawn.exit_code == 0, withdrawn.output
    assert client.get(fresh).status_code == 403
    listed = CliRunner().invoke(cli_app, ["link", "delegates"])
    assert "No delegations recorded." in listed.output


def test_delegation_mistakes_are_named(runtime):
    for args, says in (
            (["--person", "helen.shaw", "--to", "helen.shaw", "--reason", "x"],
             "cannot be their own delegate"),
            (["--person", "helen.shaw", "--to", "nobody", "--reason", "x"], "no person 'nobody'"),
            (["--person", "helen.shaw", "--to", "ben.carter", "--task", "no_such_task",
              "--reason", "x"], "no task 'no_such_task'"),
            (["--person", "helen.shaw", "--to", "ben.carter", "--reason", " "], "say why"),
            (["--person", "helen.shaw", "--to", "ben.carter", "--from", "2026-05-02",
              "--until", "2026-05-01", "--reason", "x"], "before it starts"),
            (["--person", "helen.shaw", "--to", "ben.carter", "--until", "May",
              "--reason", "x"], "--until 'May' is not a date")):
        result = delegate(*args)
        assert isinstance(result.exception, UserError), (args, result.output)
        assert says in str(result.exception), args
    undo = CliRunner().invoke(cli_app, ["link", "undelegate", "--person", "helen.shaw",
                                        "--to", "ben.carter"])
    assert isinstance(undo.exception, UserError)
    assert "not recorded as helen.shaw's delegate" in str(undo.exception)


def test_an_escalation_recipient_sees_the_task_but_only_after_the_escalation(client, runtime):
    manager = link(runtime, "david.okafor", "align_business_planning", holder="rachel.moore")
    assert client.get(manager).status_code == 403      # no escalation yet: not his to see
    escalate(runtime, "align_business_planning", "rachel.moore")
    page = client.get(manager)
    assert page.status_code == 200 and "You are seeing this task because it is late" in page.text
    with runtime.register.session() as session:
        task = session.scalars(select(Task).where(Task.key == "align_business_planning")).one()
        assert task.assignments[0].state == AssignmentState.OPEN
