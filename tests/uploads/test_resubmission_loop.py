"""Scenario: a broken return goes back, is chased, comes back fixed and unblocks the review.

Given the sample trust's cycle with its data requests open on 16 April 2026 and real email
(Apprise over SMTP to a local aiosmtpd server), when Lucy's staff in post fails validation on
20 April, then the task needs resubmission and the DQ report is emailed to her; the other
returns are accepted; after the 30 April due date she is chased as usual; the review of DQ
reports does not open on 6 May while her return is outstanding; when her fixed file arrives
on 7 May it is accepted, the task completes, the review opens and Ben Carter is told.
"""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from plancycle.assignments import find_task
from plancycle.clock import SimulatedClock
from plancycle.mailsink import MailSink
from plancycle.notify.channels import AppriseChannels
from plancycle.register.models import Notification, TaskState, Upload
from tests.engine.conftest import build_runtime
from tests.uploads.conftest import CYCLE, RETURNS, SIP_FAILED_CHECKS, upload


def _mail(folder: Path) -> list[EmailMessage]:
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(folder.glob("*.eml"))]


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html", "plain"))
    return part.get_content() if part is not None else ""


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if address in str(m["To"])]


@pytest.fixture(scope="module")
def loop(tmp_path_factory, trust_files):
    """Run the whole scenario once; return what each step observed."""
    home = tmp_path_factory.mktemp("loop")
    env = pytest.MonkeyPatch()
    env.setenv("PLANCYCLE_HOME", str(home))
    env.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    env.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
    sink = MailSink(home / "mail").start()
    clock = SimulatedClock(date(2026, 4, 16))
    rt = build_runtime(home, clock, AppriseChannels(email_url=sink.apprise_url))
    seen: dict[str, object] = {}
    try:
        rt.advance(CYCLE)
        rt.deliver(CYCLE)

        clock.set(date(2026, 4, 20))
        seen["first"] = upload(rt, "staff_in_post_return", "lucy.fernandes",
                               trust_files["staff_in_post_broken"], "esr_staff_in_post.csv")
        with rt.register.session() as session:
            task = find_task(session, CYCLE, "staff_in_post_return")
            seen["state after fail"] = task.state
            seen["assignments after fail"] = [a.state for a in task.assignments]

        clock.set(date(2026, 4, 21))
        seen["others"] = {
            key: upload(rt, key, person, trust_files[kind]).verdict
            for key, (person, kind) in RETURNS.items() if key != "staff_in_post_return"}

        clock.set(date(2026, 5, 1))   # one working day after the 30 April due date
        chase = rt.chase(CYCLE)
        seen["chased"] = sorted((p.step.kind, p.assignment_id) for p in chase.planned)
        rt.deliver(CYCLE)

        clock.set(date(2026, 5, 6))   # the validation stage starts
        seen["6 May"] = rt.advance(CYCLE)
        with rt.register.session() as session:
            seen["review on 6 May"] = find_task(session, CYCLE, "review_dq_reports").state
            seen["sip assignment"] = find_task(
                session, CYCLE, "staff_in_post_return").assignments[0].id

        clock.set(date(2026, 5, 7))
        seen["fixed"] = upload(rt, "staff_in_post_return", "lucy.fernandes",
                               trust_files["staff_in_post"], "esr_staff_in_post.csv")
        with rt.register.session() as session:
            seen["sip state"] = find_task(session, CYCLE, "staff_in_post_return").state
            seen["review state"] = find_task(session, CYCLE, "review_dq_reports").state
            sip_id = find_task(session, CYCLE, "staff_in_post_return").id
            seen["uploads"] = [(u.version, u.state) for u in session.scalars(
                select(Upload).where(Upload.task_id == sip_id).order_by(Upload.id))]

        clock.set(date(2026, 5, 8))
        seen["chased after"] = [p.assignment_id for p in rt.chase(CYCLE).planned]
        rt.deliver(CYCLE)
        with rt.register.session() as session:
            seen["failed deliveries"] = session.scalars(select(Notification.last_error).where(
                Notification.status == "failed", Notification.channel == "email")).all()
        seen["mail"] = _mail(sink.folder)
        yield seen
    finally:
        sink.stop()
        rt.register.dispose()
        env.undo()


def test_a_failed_return_is_sent_back_and_its_dq_report_emailed(loop):
    assert loop["first"].verdict == "fail"
    assert {c.id for c in loop["first"].report.checks if c.status == "fail"} == SIP_FAILED_CHECKS
    assert loop["state after fail"] == TaskState.RESUBMISSION_REQUIRED
    assert loop["assignments after fail"] == ["open"]
    lucy = _to(loop["mail"], "lucy.fernandes@riverside.nhs.uk")
    (report,) = [m for m in lucy if m["Subject"].startswith("Resubmission required")]
    assert report["Subject"] == ("Resubmission required: data quality report for Staff in post "
                                 "extract (ESR) (version 1)")
    body = _html(report)
    for check_id in SIP_FAILED_CHECKS:
        assert check_id in body
    assert 'href="http://portal.test/t/' in body and "Upload the corrected file" in body
    assert not loop["failed deliveries"]


def test_the_other_returns_are_accepted(loop):
    assert loop["others"] == {key: "pass" for key in RETURNS if key != "staff_in_post_return"}


def test_a_sent_back_return_is_chased_as_usual_after_its_due_date(loop):
    assert ("overdue", loop["sip assignment"]) in loop["chased"]
    lucy = _to(loop["mail"], "lucy.fernandes@riverside.nhs.uk")
    assert "Overdue by 1 working day: Staff in post extract (ESR)" in [
        m["Subject"] for m in lucy]


def test_the_dependent_review_waits_for_the_resubmission_then_opens(loop):
    assert "review_dq_reports" not in loop["6 May"].opened_tasks
    assert loop["review on 6 May"] == TaskState.PENDING

    assert loop["fixed"].verdict == "pass"
    assert loop["uploads"] == [(1, "failed"), (2, "accepted")]
    assert loop["sip state"] == TaskState.COMPLETE
    assert loop["review state"] == TaskState.OPEN
    ben = _to(loop["mail"], "ben.carter@riverside.nhs.uk")
    assert [m["Subject"] for m in ben] == [
        "New task: Review data quality reports for all returns (due 13 May)"]


def test_once_accepted_the_submitter_is_told_and_chasing_stops(loop):
    lucy = _to(loop["mail"], "lucy.fernandes@riverside.nhs.uk")
    subjects = [m["Subject"] for m in lucy]
    assert ("Accepted: data quality report for Staff in post extract (ESR) (version 2)"
            in subjects)
    assert loop["sip assignment"] not in loop["chased after"]
    # one DQ report per upload: 1 failed + 1 accepted for staff in post, 3 other returns
    assert sum("data quality report" in s for s in subjects) == 5
