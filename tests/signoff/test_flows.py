"""The sign-off gate flow through the real Prefect API: polling the register, and pausing
for a decision input that another thread (the CLI or portal, in life) resumes it with."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.assignments import find_person, find_task
from plancycle.register.models import AuditEntry, Decision, Person
from plancycle.signoff import decide
from tests.signoff.conftest import CYCLE, GATE, register_plan, walk_to


def _decider(rt, steps: list[tuple[str, str, str | None]], sha: str):
    """A waiter: on each wait, the next approver decides (as if through the CLI)."""
    queue = list(steps)

    def wait(_seconds: float) -> None:
        if not queue:
            raise AssertionError("the flow kept waiting after every approver had decided")
        person, verdict, reason = queue.pop(0)
        rt.clock.set(rt.calendar.add_working_days(rt.clock.today(), 1))
        with rt.register.session(actor=person) as session:
            decide(session, find_task(session, CYCLE, GATE), find_person(session, CYCLE, person),
                   verdict, sha, rt.clock.now(), rt.calendar, reason=reason)
    return wait


def test_polling_the_register_the_gate_passes_once_every_role_approved(
        prefect_api, start, recording):
    from flows.signoff import signoff_gate

    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    rt.waiter = _decider(rt, [("dan.ceo", "approve", None), ("fay.finance", "approve", None),
                              ("ruth.chair", "approve", None)], sha)
    with runtime_mod.use(rt):
        result = signoff_gate(CYCLE, GATE, poll_seconds=0)
        again = signoff_gate(CYCLE, GATE, poll_seconds=0)  # re-run: nothing more is sent
    assert result["outcome"] == "passed" and again["outcome"] == "passed"
    assert result["approved_roles"] == ["chief_executive", "director_of_finance", "board"]
    requests = [m for m in recording.sent if m.channel == "email"
                and m.subject.startswith("Your decision is needed")]
    assert sorted(m.recipient.name for m in requests) == [
        "Dan Chowdhury", "Fay Finch", "Ruth Callaghan"]
    assert all(sha in m.body for m in requests)


def test_polling_a_rejection_ends_the_round_and_tells_the_reopened_work(
        prefect_api, start, recording):
    from flows.signoff import signoff_gate

    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    rt.waiter = _decider(rt, [("ruth.chair", "reject", "Nursing gap not funded")], sha)
    with runtime_mod.use(rt):
        result = signoff_gate(CYCLE, GATE, poll_seconds=0)
    assert (result["outcome"], result["rejection_reason"]) == ("rejected",
                                                               "Nursing gap not funded")
    told = [m.recipient.name for m in recording.sent if m.channel == "email"
            and m.subject.startswith("Reopened after a rejection")]
    assert sorted(told) == ["Ann Planner", "Dan Chowdhury", "Fay Finch", "Ruth Callaghan"]


def _resume_when_paused(inputs: list[dict], errors: list[BaseException],
                        rejected: list[str]) -> None:
    """Another process's view: wait for the run to pause, then resume it with each input."""
    from prefect.exceptions import PrefectHTTPStatusError

    from flows.signoff import resume_waiting_gate

    try:
        for run_input in inputs:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if resume_waiting_gate(CYCLE, GATE, run_input):
                        break
                except (RuntimeError, PrefectHTTPStatusError) as exc:
                    # The server validates the input against GateDecisionInput's schema.
                    rejected.append(str(exc))
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("the gate flow never paused")
                time.sleep(0.3)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_pausing_for_decision_inputs_resumed_from_another_thread(prefect_api, start, recording):
    """Given the gate flow paused for input, when a decision without a verdict, a
    non-approver's and then each approver's decisions arrive via resume_flow_run, then the
    verdict-less input is refused by the API, the outsider is refused and recorded, and the
    gate passes with the three approvals."""
    from flows.signoff import signoff_gate

    rt = start("2")
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    inputs = [
        {"person": "dan.ceo", "document_sha256": sha},  # no decision: must not default
        {"person": "zed.outsider", "decision": "approve", "document_sha256": sha},
        {"person": "dan.ceo", "decision": "approve", "document_sha256": sha,
         "signature": "Dan Chowdhury"},
        {"person": "fay.finance", "decision": "approve_with_conditions", "document_sha256": sha,
         "conditions": [{"text": "Add a retention action", "role": "director_of_nursing"}]},
    ]
    errors: list[BaseException] = []
    rejected: list[str] = []
    helper = threading.Thread(target=_resume_when_paused, args=(inputs, errors, rejected),
                              daemon=True)
    helper.start()
    with runtime_mod.use(rt):
        result = signoff_gate(CYCLE, GATE, wait="pause", pause_timeout=120,
                              pause_poll_seconds=1)
    helper.join(timeout=60)
    assert not errors, errors
    assert len(rejected) == 1, rejected  # the verdict-less input never reached the flow
    assert "decision" in rejected[0], rejected
    assert result["outcome"] == "passed"
    assert result["approved_roles"] == ["chief_executive", "director_of_finance"]
    with rt.register.session() as session:
        decisions = session.execute(select(Decision, Person).join(Person)).all()
        assert [(p.key, d.decision, d.signature) for d, p in decisions] == [
            ("dan.ceo", "approve", "Dan Chowdhury"),
            ("fay.finance", "approve_with_conditions", None)]
        inputs_seen = [(e.actor, e.note) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "gate_input"))]
        assert inputs_seen[0][0] == "flow:zed.outsider"
        assert inputs_seen[0][1].startswith("refused: Zed Outsider is not an approver")
        assert [n for _, n in inputs_seen[1:]] == ["recorded", "recorded"]
        # The condition opened at once as a task for the director of nursing.
        assert find_task(session, CYCLE, "board_gate-condition-1").state == "open"


@pytest.fixture(autouse=True)
def _quiet_prefect(monkeypatch):
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
