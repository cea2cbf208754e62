"""The chasing sequence of one late task, as received by a real SMTP server and chat webhook.

The story: Lucy Fernandes (HR / ESR data owner, line manager Tom Reeves) is asked for the
staff in post extract when the workforce data stage opens on Thu 16 Apr 2026; it is due
Thu 30 Apr. The engine and the chaser run every calendar day (three chaser passes a day, as
a flow re-run or a planner's manual run would), and she completes it on Mon 11 May: six
working days late, because Mon 4 May is the early May bank holiday.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from plancycle.assignments import complete_assignment, find_person, find_task
from plancycle.calendar import WorkingCalendar
from plancycle.clock import LONDON, SimulatedClock
from plancycle.links import TaskLinks
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE, SAMPLE

from .harness import (
    PORTAL,
    START,
    Driver,
    ReceivedEmail,
    SmtpServer,
    Webhook,
    assert_ledger_matches,
    isolate,
    make_runtime,
)

TASK = "staff_in_post_return"
TASK_NAME = "Staff in post extract (ESR)"
LUCY = "lucy.fernandes@riverside.nhs.uk"
TOM = "tom.reeves@riverside.nhs.uk"
OPENED = date(2026, 4, 16)      # workforce data stage starts (kick-off + 1 working day)
DUE = date(2026, 4, 30)         # 10 working days later
BANK_HOLIDAY = date(2026, 5, 4)  # early May bank holiday
COMPLETED = date(2026, 5, 11)   # 6 working days after the due date
END = date(2026, 5, 22)         # two more weeks: escalation to the exec sponsor would be 15 May
PASSES = 3

LINK = re.compile(re.escape(PORTAL) + r"/t/([A-Za-z0-9_.\-]+)")

#: (day received, recipient, subject) — the whole email history of the task.
EXPECTED_EMAILS = [
    (OPENED, LUCY, f"New task: {TASK_NAME} (due 30 Apr)"),
    (date(2026, 4, 23), LUCY, f"Reminder: {TASK_NAME} is due in 5 working days (30 Apr)"),
    (date(2026, 4, 29), LUCY, f"Reminder: {TASK_NAME} is due in 1 working day (30 Apr)"),
    (DUE, LUCY, f"Due today: {TASK_NAME}"),
    (date(2026, 5, 1), LUCY, f"Overdue by 1 working day: {TASK_NAME}"),
    # Mon 4 May: bank holiday, nothing. Tue 5 May is 2 days overdue: the cadence is 1, 3, 5…
    (date(2026, 5, 6), LUCY, f"Overdue by 3 working days: {TASK_NAME}"),
    (date(2026, 5, 6), TOM,
     f"Escalation: Lucy Fernandes's task '{TASK_NAME}' is 3 working days overdue"),
    (date(2026, 5, 8), LUCY, f"Overdue by 5 working days: {TASK_NAME}"),
    # Mon 11 May: completed before the chaser ran. Silence from then on.
]


@dataclass
class Story:
    runtime: Runtime
    clock: SimulatedClock
    smtp: SmtpServer
    webhook: Webhook
    #: Per day: (emails, chat posts) received before the first chaser pass, then after each.
    counts: dict[date, list[tuple[int, int]]] = field(default_factory=dict)

    def task_emails(self) -> list[ReceivedEmail]:
        return [e for e in self.smtp.emails if TASK_NAME in e.subject]


@pytest.fixture(scope="module")
def late_return(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """Given the sample cycle on 1 Apr 2026, run every day to 22 May with real delivery."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = isolate(monkeypatch, tmp_path_factory.mktemp("late-return"))
        clock = SimulatedClock(START)
        smtp, webhook = SmtpServer(), Webhook()
        smtp.start()
        webhook.start()
        runtime: Runtime | None = None
        try:
            runtime = make_runtime(root, clock, smtp, webhook)
            story = Story(runtime, clock, smtp, webhook)
            day = START
            while day <= END:
                clock.set(day)
                if day == COMPLETED:  # Lucy completes it first thing, before the engine runs
                    with runtime.register.session(actor="lucy.fernandes") as session:
                        complete_assignment(session, find_task(session, CYCLE, TASK),
                                            find_person(session, CYCLE, "lucy.fernandes"),
                                            clock.now())
                runtime.advance(CYCLE)
                counts = [(len(smtp.emails), len(webhook.posts))]
                for _ in range(PASSES):
                    runtime.chase(CYCLE)
                    runtime.deliver(CYCLE)
                    counts.append((len(smtp.emails), len(webhook.posts)))
                story.counts[day] = counts
                day += timedelta(days=1)
            yield story
        finally:
            if runtime is not None:
                runtime.register.dispose()
            smtp.stop()
            webhook.stop()


def test_the_story_dates_are_working_day_arithmetic() -> None:
    cal = WorkingCalendar()
    assert cal.add_working_days(OPENED, 10) == DUE
    assert cal.add_working_days(DUE, -5) == date(2026, 4, 23)
    assert cal.add_working_days(DUE, -1) == date(2026, 4, 29)
    assert cal.is_bank_holiday(BANK_HOLIDAY)
    assert [cal.add_working_days(DUE, n) for n in (1, 3, 5, 6)] == [
        date(2026, 5, 1), date(2026, 5, 6), date(2026, 5, 8), COMPLETED]


def test_given_a_late_task_then_the_smtp_server_receives_exactly_the_chasing_sequence(
        late_return: Story) -> None:
    received = [(e.day, e.to, e.subject) for e in late_return.task_emails()]
    assert received == EXPECTED_EMAILS
    assert all(e.mail_from == "planning@riverside.nhs.uk" and len(e.rcpt_tos) == 1
               for e in late_return.task_emails())


def test_then_nothing_is_sent_on_weekends_or_bank_holidays(late_return: Story) -> None:
    cal = WorkingCalendar()
    sent_on = {e.day for e in late_return.smtp.emails} | {p.day for p in late_return.webhook.posts}
    assert sent_on, "the story sent nothing at all"
    assert all(day is not None and cal.is_working_day(day) for day in sent_on), sorted(
        d for d in sent_on if d is None or not cal.is_working_day(d))
    # Good Friday, Easter Monday and the early May bank holiday: not a single message.
    for holiday in (date(2026, 4, 3), date(2026, 4, 6), BANK_HOLIDAY):
        before = late_return.counts[holiday - timedelta(days=1)][-1]
        assert set(late_return.counts[holiday]) == {before}


def test_when_the_chaser_runs_three_times_a_day_then_nothing_is_sent_twice(
        late_return: Story) -> None:
    for day, counts in late_return.counts.items():
        _before, first, *again = counts
        assert again == [first] * (PASSES - 1), f"re-running the chaser on {day} sent more"
    # Not vacuous: the first pass does send (the escalation day, for one).
    escalation_day = late_return.counts[date(2026, 5, 6)]
    assert escalation_day[1][0] > escalation_day[0][0]
    # Every message arrived once, and the register agrees with the servers.
    assert_ledger_matches(late_return.runtime, late_return.smtp, late_return.webhook)


def test_then_after_completion_the_task_falls_silent(late_return: Story) -> None:
    last = max(day for day, _to, _subject in EXPECTED_EMAILS)
    assert all(e.day <= last for e in late_return.task_emails())
    assert all(p.day <= last for p in late_return.webhook.posts if TASK_NAME in p.message)
    # …while Lucy's other, still open, returns go on being chased (the chaser did run).
    assert any(e.day and e.day > COMPLETED and e.to == LUCY for e in late_return.smtp.emails)


def test_then_the_same_sequence_reaches_the_chat_webhook(late_return: Story) -> None:
    posts = [p for p in late_return.webhook.posts if TASK_NAME in p.message]
    # Tom has no chat handle in the sample, so his escalation goes by email only.
    expected = [(day, subject) for day, to, subject in EXPECTED_EMAILS if to == LUCY]
    assert [(p.day, p.title) for p in posts] == expected
    assert all(p.path == "/hook" and "@lucy.fernandes" in p.message for p in posts)
    assert all(LINK.search(p.message) for p in posts)
    assert [p.message.split(" — ")[0] for p in posts] == [
        "New task for @lucy.fernandes",
        "Reminder @lucy.fernandes: due in 5 working days",
        "Reminder @lucy.fernandes: due in 1 working day",
        "Due today @lucy.fernandes",
        "OVERDUE by 1 working day @lucy.fernandes",
        "OVERDUE by 3 working days @lucy.fernandes",
        "OVERDUE by 5 working days @lucy.fernandes",
    ]


def test_then_each_email_has_an_html_part_a_working_task_link_and_who_is_waiting(
        late_return: Story) -> None:
    emails = late_return.task_emails()
    assignment_ids = set()
    for e in emails:
        assert e.html is not None and e.html.lstrip().startswith("<!DOCTYPE html>")
        assert e.text is not None and TASK_NAME in e.text
        match = LINK.search(e.html)
        assert match, f"no task link in {e.subject!r}"
        # Signed for the recipient, valid on the day it arrived.
        assert e.day is not None
        claims = TaskLinks("test-secret", PORTAL, SimulatedClock(e.day)).verify(match.group(1))
        assert (claims.person, claims.cycle) == (e.to.split("@")[0], CYCLE)
        assignment_ids.add(claims.assignment)
        # The validation stage's review is blocked by this return: say so, and who holds it.
        waiting = "Review data quality reports for all returns (Ben Carter)"
        assert f"<li>{waiting}</li>" in e.html
        assert waiting in e.text
    assert len(assignment_ids) == 1  # all about Lucy's one assignment
    escalation = next(e for e in emails if e.to == TOM)
    assert escalation.html is not None
    body = html.unescape(escalation.html)
    assert "You are receiving this as Lucy Fernandes's line manager" in body
    assert "<td>Lucy Fernandes</td>" in body  # "Assigned to"


def test_the_plain_text_part_carries_the_task_link_too(late_return: Story) -> None:
    for e in late_return.task_emails():
        assert e.text is not None and LINK.search(e.text), e.subject


def test_given_a_stage_opens_just_after_midnight_bst_then_no_reminder_on_assignment_day(
        home: Path, smtp: SmtpServer, webhook: Webhook) -> None:
    """The annual-cycle flow polls every 15 minutes, so stages open at about 00:05 London
    time — 23:05 UTC the day before during BST. The new-task message covers the reminders
    scheduled before the person was asked; none may arrive alongside it."""
    clock = SimulatedClock(datetime(2026, 4, 1, 0, 5, tzinfo=LONDON))
    runtime = make_runtime(home, clock, smtp, webhook)
    try:
        runtime.advance(CYCLE)  # 00:05: kick-off opens, its tasks are assigned
        runtime.chase(CYCLE)
        runtime.deliver(CYCLE)
        Driver(runtime, clock).day(date(2026, 4, 2))
    finally:
        runtime.register.dispose()
    # Rachel's business-planning dates: due Fri 10 Apr, exactly 5 working days after 1 Apr.
    assert [(e.day, e.subject) for e in smtp.emails if e.to == "rachel.moore@riverside.nhs.uk"
            ] == [(START, "New task: Confirm business-planning and budget-setting dates "
                          "(due 10 Apr)")]


# --------------------------------------------------------------------------- digest


@pytest.fixture
def digest_config(tmp_path: Path) -> Path:
    """The sample cycle with ``chasing.digest: true``."""
    config = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    config["chasing"]["digest"] = True
    path = tmp_path / "digest_cycle.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def digest_rows(body: str) -> dict[str, tuple[str, str]]:
    """A digest email's table: task name → (due, status), tags stripped."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        if cells:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


LUCY_TASKS = {  # her four data requests: two due Thu 30 Apr, two due Tue 5 May
    "Staff in post extract (ESR)", "Vacancies by staff group, band and service",
    "Leavers and turnover (last 12 months)", "Sickness absence by month and staff group",
}
#: Days on which at least one of her tasks has a reminder, due or overdue step.
DIGEST_DAYS = [date(2026, 4, 23), date(2026, 4, 27), date(2026, 4, 29), date(2026, 4, 30),
               date(2026, 5, 1), date(2026, 5, 5), date(2026, 5, 6), date(2026, 5, 8)]


def test_given_digest_then_a_person_with_several_tasks_gets_one_message_a_day_listing_all(
        home: Path, clock: SimulatedClock, smtp: SmtpServer, webhook: Webhook,
        digest_config: Path) -> None:
    runtime = make_runtime(home, clock, smtp, webhook, digest_config)
    try:
        Driver(runtime, clock).days(START, date(2026, 5, 8))
    finally:
        runtime.register.dispose()

    to_lucy = [e for e in smtp.emails if e.to == LUCY]
    # The new-task messages still come one per task, when the stage opens…
    assert sorted(e.subject.split(" (due")[0] for e in to_lucy if e.day == OPENED) == sorted(
        f"New task: {name}" for name in LUCY_TASKS)
    # …after which chasing comes as one digest a day, never as per-task reminders.
    chasing = [e for e in to_lucy if e.day != OPENED]
    assert [(e.day, e.subject) for e in chasing] == [
        (day, "Your open workforce planning tasks (4)") for day in DIGEST_DAYS]
    for e in chasing:
        assert e.html is not None and e.text is not None
        for name in LUCY_TASKS:
            assert name in e.text and name in e.html, f"{name} missing from {e.day} digest"
        assert len(set(LINK.findall(e.html))) == len(LUCY_TASKS)
    on_6_may = next(e for e in chasing if e.day == date(2026, 5, 6))
    assert on_6_may.html is not None
    assert digest_rows(on_6_may.html) == {
        "Staff in post extract (ESR)": ("Thu 30 Apr 2026", "Overdue by 3 working days"),
        "Vacancies by staff group, band and service":
            ("Thu 30 Apr 2026", "Overdue by 3 working days"),
        "Leavers and turnover (last 12 months)": ("Tue 05 May 2026", "Overdue by 1 working day"),
        "Sickness absence by month and staff group":
            ("Tue 05 May 2026", "Overdue by 1 working day"),
    }
    on_23_apr = next(e for e in chasing if e.day == date(2026, 4, 23))
    assert on_23_apr.html is not None
    assert sorted(status for _due, status in digest_rows(on_23_apr.html).values()) == [
        "Due in 5 working days", "Due in 5 working days",
        "Due in 7 working days", "Due in 7 working days"]

    # The same digest on chat, once a day, mentioning her handle and every task.
    lucy_chat = [p for p in webhook.posts
                 if p.message.startswith("@lucy.fernandes") and p.title.startswith("Your open")]
    assert [p.day for p in lucy_chat] == DIGEST_DAYS
    assert all(name in p.message for p in lucy_chat for name in LUCY_TASKS)

    # Escalations are not folded into digests: Tom hears about each late task.
    escalations = sorted((e.day, e.subject) for e in smtp.emails
                         if e.to == TOM and e.subject.startswith("Escalation"))
    assert escalations == sorted(
        [(date(2026, 5, 6), f"Escalation: Lucy Fernandes's task '{name}' is 3 working days "
          "overdue") for name in ("Staff in post extract (ESR)",
                                  "Vacancies by staff group, band and service")]
        + [(date(2026, 5, 8), f"Escalation: Lucy Fernandes's task '{name}' is 3 working days "
            "overdue") for name in ("Leavers and turnover (last 12 months)",
                                    "Sickness absence by month and staff group")])
