"""When a channel is down: failures are recorded, retried on the next pass, never doubled.

On the sample cycle's first day (Wed 1 Apr 2026) the kick-off opens two tasks, so the
notifier has four messages to deliver: a new-task email and chat line each for Helen Shaw
(confirm the executive sponsor) and Rachel Moore (business-planning dates).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from plancycle.assignments import complete_assignment, find_person, find_task
from plancycle.clock import SimulatedClock
from plancycle.register.models import Notification, NotificationStatus, Person
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE

from .harness import Driver, SmtpServer, Webhook, assert_ledger_matches

HELEN = "helen.shaw@riverside.nhs.uk"
RACHEL = "rachel.moore@riverside.nhs.uk"
FIRST_DAY_EMAILS = {
    (HELEN, "New task: Confirm the executive sponsor for the 2026/27 plan (due 08 Apr)"),
    (RACHEL, "New task: Confirm business-planning and budget-setting dates (due 10 Apr)"),
}


def first_day(runtime: Runtime) -> None:
    runtime.advance(CYCLE)
    runtime.chase(CYCLE)


def rows(runtime: Runtime, channel: str | None = None) -> list[tuple[Notification, str]]:
    with runtime.register.session() as session:
        query = (select(Notification, Person.key).join(Person)
                 .where(Notification.channel.in_(["email", "chat"])).order_by(Notification.id))
        if channel:
            query = query.where(Notification.channel == channel)
        return [(n, key) for n, key in session.execute(query).all()]


def test_given_the_webhook_answers_500_then_chat_is_failed_email_sent_and_retry_sends_once(
        runtime: Runtime, clock: SimulatedClock, smtp: SmtpServer, webhook: Webhook) -> None:
    webhook.fail_next(1)
    first_day(runtime)

    report = runtime.deliver(CYCLE)

    assert (report.sent, report.failed) == (3, 1)
    failed = [(n, key) for n, key in rows(runtime) if n.status == NotificationStatus.FAILED]
    assert len(failed) == 1
    row, person = failed[0]
    assert (row.channel, row.kind, person, row.attempts) == ("chat", "new_task", "helen.shaw", 1)
    assert row.last_error is not None and "error=500" in row.last_error
    assert row.sent_at is None
    assert row.next_attempt_at == clock.now()  # first retry: the very next pass
    assert report.errors == [f"{row.idempotency_key}: {row.last_error}"]
    # The email channel did not care.
    assert {(e.to, e.subject) for e in smtp.emails} == FIRST_DAY_EMAILS
    assert [p.status for p in webhook.received] == [500, 200]

    # When the receiver is healthy again, the next pass sends the failed line exactly once.
    retry = runtime.deliver(CYCLE)

    assert (retry.sent, retry.failed, retry.cancelled) == (1, 0, 0)
    [(row, _)] = [(n, k) for n, k in rows(runtime) if n.id == row.id]
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.SENT, 2, None)
    assert [p.status for p in webhook.received] == [500, 200, 200]
    refused, *accepted = webhook.received
    assert refused.body == accepted[1].body  # the same message, re-sent as it was
    assert "@helen.shaw" in refused.message and "@rachel.moore" in accepted[0].message
    assert len(smtp.emails) == 2

    # Further passes, and the next day, add nothing for these four messages.
    assert runtime.deliver(CYCLE).sent == 0
    Driver(runtime, clock).day(date(2026, 4, 2))
    assert len([p for p in webhook.posts if p.title.startswith("New task")]) == 2
    assert_ledger_matches(runtime, smtp, webhook)


def test_given_smtp_refuses_then_email_is_failed_and_sent_once_after_the_server_returns(
        runtime: Runtime, smtp: SmtpServer, webhook: Webhook) -> None:
    smtp.stop()
    first_day(runtime)

    report = runtime.deliver(CYCLE)

    assert (report.sent, report.failed) == (2, 2)
    emails = rows(runtime, "email")
    assert [n.status for n, _ in emails] == [NotificationStatus.FAILED] * 2
    assert all(n.attempts == 1 and n.last_error and "127.0.0.1" in n.last_error
               for n, _ in emails), [n.last_error for n, _ in emails]
    assert smtp.emails == []
    assert len(webhook.posts) == 2  # chat went out regardless

    smtp.start()  # the same port: the configured URL is unchanged
    retry = runtime.deliver(CYCLE)

    assert (retry.sent, retry.failed) == (2, 0)
    assert {(e.to, e.subject) for e in smtp.emails} == FIRST_DAY_EMAILS
    assert len(smtp.emails) == 2 and len(webhook.posts) == 2
    assert all(n.status == NotificationStatus.SENT and n.attempts == 2 and n.last_error is None
               for n, _ in rows(runtime, "email"))
    assert runtime.deliver(CYCLE).sent == 0
    assert_ledger_matches(runtime, smtp, webhook)


def test_given_a_longer_outage_then_retries_back_off_and_nothing_is_lost(
        runtime: Runtime, clock: SimulatedClock, smtp: SmtpServer, webhook: Webhook) -> None:
    smtp.stop()
    first_day(runtime)
    assert runtime.deliver(CYCLE).failed == 2   # attempt 1: retry on the next pass
    assert runtime.deliver(CYCLE).failed == 2   # attempt 2: retry in 5 minutes
    assert all(n.attempts == 2 and n.next_attempt_at == clock.now() + timedelta(minutes=5)
               for n, _ in rows(runtime, "email"))

    smtp.start()
    early = runtime.deliver(CYCLE)
    assert (early.sent, early.failed) == (0, 0)  # backing off: not yet
    clock.advance(hours=0.1)
    late = runtime.deliver(CYCLE)

    assert (late.sent, late.failed) == (2, 0)
    assert {(e.to, e.subject) for e in smtp.emails} == FIRST_DAY_EMAILS
    assert_ledger_matches(runtime, smtp, webhook)


def test_given_a_queued_reminder_when_the_task_is_completed_before_delivery_then_cancelled(
        runtime: Runtime, clock: SimulatedClock, smtp: SmtpServer, webhook: Webhook) -> None:
    # Rachel's business-planning dates are due Fri 10 Apr: her reminder is due Thu 9 Apr.
    driver = Driver(runtime, clock)
    driver.day(date(2026, 4, 1))
    clock.set(date(2026, 4, 9))
    runtime.advance(CYCLE)
    runtime.chase(CYCLE)
    reminders = [(n, k) for n, k in rows(runtime) if n.kind == "reminder" and k == "rachel.moore"]
    assert [(n.channel, n.status) for n, _ in reminders] == [
        ("email", NotificationStatus.PENDING), ("chat", NotificationStatus.PENDING)]
    subject = reminders[0][0].subject
    assert subject.startswith("Reminder: Confirm business-planning and budget-setting dates")

    with runtime.register.session(actor="rachel.moore") as session:  # she does it meanwhile
        complete_assignment(session, find_task(session, CYCLE, "align_business_planning"),
                            find_person(session, CYCLE, "rachel.moore"), clock.now())
    report = runtime.deliver(CYCLE)

    assert report.cancelled == 2
    ids = {n.id for n, _ in reminders}
    assert all(n.status == "cancelled" and n.sent_at is None and n.attempts == 0
               for n, _ in rows(runtime) if n.id in ids)
    assert not [e for e in smtp.emails if e.subject == subject]
    assert not [p for p in webhook.received if p.title == subject]
    # Others' messages the same day still went (Helen's sponsor confirmation is overdue).
    assert any(e.to == HELEN and e.subject.startswith("Overdue") for e in smtp.emails)

    # Re-running the chaser does not queue it again, and on its due date nothing comes.
    assert not [p for p in runtime.chase(CYCLE).planned if p.person_id == reminders[0][0].
                person_id]
    driver.day(date(2026, 4, 10))
    assert not [e for e in smtp.emails if e.to == RACHEL and "business-planning" in e.subject
                and not e.subject.startswith("New task")]
    assert_ledger_matches(runtime, smtp, webhook)
