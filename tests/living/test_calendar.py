"""Due dates in people's calendars: invites on emails, updates by UID/SEQUENCE, feeds.

Every .ics here is parsed back with the ``icalendar`` library, as a calendar client would.
"""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from plancycle.assignments import find_person, find_task, reassign
from plancycle.clock import SimulatedClock
from plancycle.icalendar import (
    assignment_uid,
    feed,
    feed_links,
    serve_feed,
    verify_feed_token,
)
from plancycle.links import LinkError, revoke_links
from plancycle.notify.channels import AppriseChannels, Outgoing, RecordingChannels
from plancycle.notify.messages import MessageBuilder
from plancycle.register.models import Assignment, Notification
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE, SAMPLE, build_runtime
from tests.foundation.helpers import cli_env, plancycle_exe
from tests.notify.harness import SmtpServer, use_empty_ca_store


def parse(ics: str | bytes) -> tuple[str | None, list[icalendar.Event]]:
    calendar = icalendar.Calendar.from_ical(ics)
    method = str(calendar["METHOD"]) if "METHOD" in calendar else None
    return method, list(calendar.walk("VEVENT"))


def emails(recording: RecordingChannels, to: str, kind_in_subject: str = "") -> list[Outgoing]:
    return [m for m in recording.sent if m.channel == "email" and m.recipient.email == to
            and kind_in_subject in m.subject]


def assignment_of(rt: Runtime, task: str, person: str) -> Assignment:
    with rt.register.session() as session:
        return session.scalars(select(Assignment).where(
            Assignment.task_id == find_task(session, CYCLE, task).id,
            Assignment.person_id == find_person(session, CYCLE, person).id)).one()


HELEN = "helen.shaw@riverside.nhs.uk"
DAVID = "david.okafor@riverside.nhs.uk"


def test_new_task_and_reminder_emails_carry_the_same_calendar_event(
        runtime: Runtime, recording: RecordingChannels, clock: SimulatedClock) -> None:
    """Given the cycle's first day, the chief executive's new-task email carries an invite
    for the due date; the reminder before it carries the same event (same UID, SEQUENCE)."""
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    [new_task] = emails(recording, HELEN, "New task")
    assignment = assignment_of(runtime, "confirm_exec_sponsor", "helen.shaw")
    method, [event] = parse(new_task.ics)
    assert method == "REQUEST"
    assert str(event["UID"]) == assignment_uid(assignment.id, CYCLE) == \
        f"assignment-{assignment.id}@rxx-2026-27.plancycle"
    assert event.decoded("DTSTART") == assignment.due_on == date(2026, 4, 8)  # Easter skipped
    assert event.decoded("DTEND") == date(2026, 4, 9)
    assert int(event["SEQUENCE"]) == 0
    assert str(event["SUMMARY"]) == "Due: Confirm the executive sponsor for the 2026/27 plan"
    assert str(event["ATTENDEE"]) == f"mailto:{HELEN}"
    assert "Open the task: http://portal.test/t/" in str(event["DESCRIPTION"])
    assert not [m for m in recording.sent if m.channel == "chat" and m.ics]
    with runtime.register.session() as session:
        stored = session.scalars(select(Notification).where(
            Notification.assignment_id == assignment.id, Notification.channel == "email")).one()
        assert stored.ics == new_task.ics

    clock.set(date(2026, 4, 7))   # one working day before the due date
    runtime.chase(CYCLE)
    runtime.deliver(CYCLE)
    [reminder] = emails(recording, HELEN, "Reminder")
    method, [again] = parse(reminder.ics)
    assert method == "REQUEST"
    assert (str(again["UID"]), int(again["SEQUENCE"]), again.decoded("DTSTART")) == (
        str(event["UID"]), 0, date(2026, 4, 8))


def _hand_over(rt: Runtime, task: str, from_: str, to: str) -> None:
    """What ``plancycle task reassign`` does: hand over, then tell the new holder."""
    with rt.register.session(actor=f"cli:{from_}") as session:
        row = find_task(session, CYCLE, task)
        new = reassign(session, row, find_person(session, CYCLE, from_),
                       find_person(session, CYCLE, to), rt.clock.now(), "on leave")
        session.flush()
        builder = MessageBuilder(session, CYCLE, rt.links, rt.calendar, rt.clock.today())
        rt.notifier.queue(session, [builder.new_task(new)])
    rt.deliver(CYCLE)


def test_handing_a_task_over_cancels_the_event_of_the_person_it_was_taken_from(
        runtime: Runtime, recording: RecordingChannels, clock: SimulatedClock) -> None:
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    _, [helens] = parse(emails(recording, HELEN, "New task")[0].ics)

    clock.set(date(2026, 4, 2))
    _hand_over(runtime, "confirm_exec_sponsor", "helen.shaw", "david.okafor")
    [handed] = emails(recording, HELEN, "Handed over")
    method, [cancel] = parse(handed.ics)
    assert method == "CANCEL"
    assert str(cancel["UID"]) == str(helens["UID"])
    assert int(cancel["SEQUENCE"]) == 1 and str(cancel["STATUS"]) == "CANCELLED"
    [chat] = [m for m in recording.sent if m.channel == "chat" and "Handed over" in m.subject]
    assert "now with David Okafor" in chat.body and chat.ics is None
    [davids_task] = emails(recording, DAVID, "New task")
    method, [davids] = parse(davids_task.ics)
    assert method == "REQUEST" and int(davids["SEQUENCE"]) == 0
    assert str(davids["UID"]) != str(helens["UID"])

    # Handed back: Helen's event is reinstated (higher SEQUENCE), David's is cancelled.
    clock.set(date(2026, 4, 7))
    _hand_over(runtime, "confirm_exec_sponsor", "david.okafor", "helen.shaw")
    method, [back] = parse(emails(recording, HELEN, "New task")[-1].ics)
    assert (method, str(back["UID"]), int(back["SEQUENCE"])) == ("REQUEST", str(helens["UID"]), 2)
    method, [davids_cancel] = parse(emails(recording, DAVID, "Handed over")[0].ics)
    assert (method, str(davids_cancel["UID"]), int(davids_cancel["SEQUENCE"])) == (
        "CANCEL", str(davids["UID"]), 1)

    # Telling the holder again changes nothing: no second cancellation.
    sent = len(recording.sent)
    with runtime.register.session() as session:
        builder = MessageBuilder(session, CYCLE, runtime.links, runtime.calendar, clock.today())
        assignment = session.get(Assignment, assignment_of(runtime, "confirm_exec_sponsor",
                                                           "helen.shaw").id)
        runtime.notifier.queue(session, [builder.new_task(assignment)])
    runtime.deliver(CYCLE)
    assert len(recording.sent) == sent


def test_someone_marked_absent_is_not_written_to_while_their_deputy_stands_in(
        runtime: Runtime, recording: RecordingChannels, clock: SimulatedClock) -> None:
    from plancycle.assignments import mark_absent

    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    clock.set(date(2026, 4, 2))
    sent = len(recording.sent)
    with runtime.register.session(actor="planner") as session:
        moved = mark_absent(session, find_person(session, CYCLE, "rachel.moore"), clock.now())
        session.flush()
        builder = MessageBuilder(session, CYCLE, runtime.links, runtime.calendar, clock.today())
        runtime.notifier.queue(session, [builder.new_task(a) for a in moved])
    runtime.deliver(CYCLE)
    new = recording.sent[sent:]
    assert {m.recipient.name for m in new} == {"Owen Price"}
    method, [event] = parse(next(m for m in new if m.channel == "email").ics)
    assert method == "REQUEST" and str(event["SUMMARY"]).startswith("Due: Confirm business")


def test_a_changed_due_date_updates_the_event_instead_of_adding_one(
        home: Path, clock: SimulatedClock, recording: RecordingChannels) -> None:
    """When the board rejects the plan, the draft reopens with a later due date: the planner's
    calendar entry keeps its UID and gets a higher SEQUENCE with the new date."""
    from plancycle.register.models import Person, Task
    from plancycle.signoff import decide
    from tests.signoff.conftest import CYCLE as GATES
    from tests.signoff.conftest import register_plan, walk_to, write_config

    rt = build_runtime(home, clock, recording, write_config(home, "all"))
    try:
        walk_to(rt, cycle_id=GATES)
        ann = "ann.planner@gateshire.nhs.uk"
        [first] = [m for m in recording.sent if m.channel == "email" and m.recipient.email == ann
                   and "Draft the workforce plan" in m.subject]
        _, [before] = parse(first.ics)
        sha = register_plan(rt, "<p>plan v1</p>", GATES)
        with rt.register.session(actor="ruth.chair") as session:
            gate = session.scalars(select(Task).where(Task.cycle_id == GATES,
                                                      Task.key == "board_gate")).one()
            chair = session.scalars(select(Person).where(Person.cycle_id == GATES,
                                                         Person.key == "ruth.chair")).one()
            decide(session, gate, chair, "reject", sha, rt.clock.now(), rt.calendar,
                   reason="The gap analysis needs the new activity plan")
        rt.advance(GATES)
        rt.deliver(GATES)
        again = [m for m in recording.sent if m.channel == "email" and m.recipient.email == ann
                 and m.subject.startswith("New task: Draft the workforce plan")]
        assert len(again) == 2
        _, [after] = parse(again[-1].ics)
    finally:
        rt.register.dispose()
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("DTSTART") > before.decoded("DTSTART")


def test_the_invite_arrives_as_a_text_calendar_attachment_over_real_smtp(
        home: Path, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    use_empty_ca_store(monkeypatch, home / "empty-ca")
    smtp = SmtpServer(stamp=clock.today)
    smtp.start()
    monkeypatch.setenv("PLANCYCLE_EMAIL_URL", smtp.apprise_url)   # as in production
    rt = build_runtime(home, clock, AppriseChannels.from_env())
    try:
        rt.advance(CYCLE)
        report = rt.deliver(CYCLE)
    finally:
        rt.register.dispose()
        smtp.stop()
    assert report.failed == 0
    [mail] = [e for e in smtp.emails if e.to == HELEN]
    parts = [p for p in mail.message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1 and parts[0].get_filename() == "task.ics"
    method, [event] = parse(parts[0].get_payload(decode=True))
    assert method == "REQUEST" and event.decoded("DTSTART") == date(2026, 4, 8)
    assert str(event["ORGANIZER"]) == "mailto:planning@riverside.nhs.uk"  # the email's sender
    assert "Confirm the executive sponsor" in (mail.html or "")


def test_a_feed_needs_a_valid_unexpired_unrevoked_signature(
        runtime: Runtime, clock: SimulatedClock) -> None:
    runtime.advance(CYCLE)
    links = feed_links(runtime)
    token = links.token(CYCLE, "helen.shaw")
    assert links.url(CYCLE, "helen.shaw") == f"http://portal.test/calendar/{token}.ics"
    claims = verify_feed_token(links, token + ".ics")
    with runtime.register.session() as session:
        method, events = parse(feed(session, claims, clock.now()))
    assert method == "PUBLISH"
    summaries = {str(e["SUMMARY"]) for e in events}
    assert "Due: Confirm the executive sponsor for the 2026/27 plan" in summaries
    assert "Stage opens: Kick-off and executive sponsorship" in summaries
    assert not any(e.get("URL") or "/t/" in str(e.get("DESCRIPTION", "")) for e in events)

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad, reason in ((tampered, "invalid"), ("x" * 2000, "invalid"),
                        (links.token(CYCLE, "helen.shaw").replace(".", "-", 1), "invalid")):
        with pytest.raises(LinkError) as refused:
            verify_feed_token(links, bad)
        assert refused.value.reason == reason
    assert serve_feed(runtime, tampered)[0] == 403
    status, body = serve_feed(runtime, token)
    assert status == 200 and body.startswith(b"BEGIN:VCALENDAR")

    whole = links.token(CYCLE, "amira.khan", whole=True)  # the planner's: the whole cycle
    status, body = serve_feed(runtime, whole)
    _, events = parse(body)
    with runtime.register.session() as session:
        from plancycle.register.models import Stage, Task

        tasks = len(session.scalars(select(Task).where(Task.cycle_id == CYCLE)).all())
        stages = len(session.scalars(select(Stage).where(Stage.cycle_id == CYCLE)).all())
    assert status == 200 and len(events) == tasks + 2 * stages

    with runtime.register.session(actor="planner") as session:
        revoke_links(session, CYCLE, "helen.shaw", clock.now(), "left the trust")
    assert serve_feed(runtime, token)[0] == 410
    assert serve_feed(runtime, links.token(CYCLE, "helen.shaw"))[0] == 200  # a fresh one works

    assert serve_feed(runtime, links.token(CYCLE, "nobody.here"))[0] == 404
    fresh = links.token(CYCLE, "helen.shaw")
    clock.set(clock.now() + timedelta(days=401))
    with pytest.raises(LinkError) as expired:
        verify_feed_token(links, fresh)
    assert expired.value.reason == "expired"


def test_the_portal_serves_the_feed_only_to_a_signed_link(runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    from plancycle.portal.app import create_app

    app = create_app(runtime)
    runtime.advance(CYCLE)
    token = feed_links(runtime).token(CYCLE, "helen.shaw")
    with TestClient(app) as client:
        good = client.get(f"/calendar/{token}.ics")
        assert good.status_code == 200
        assert good.headers["content-type"].startswith("text/calendar")
        parse(good.content)
        assert client.get(f"/calendar/{token[:-3]}xyz.ics").status_code == 403


def test_the_cli_exports_the_whole_cycle_and_prints_a_subscription_url(tmp_path: Path) -> None:
    env = cli_env(PLANCYCLE_HOME=str(tmp_path / "home"), PLANCYCLE_LINK_SECRET="test-secret",
                  PLANCYCLE_PORTAL_URL="https://portal.example.nhs.uk")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([plancycle_exe(), *args], capture_output=True, text=True,
                              env=env, timeout=120)

    assert run("cycle", "start", str(SAMPLE)).returncode == 0
    out = tmp_path / "cycle.ics"
    exported = run("cycle", "ics", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    method, events = parse(out.read_bytes())
    assert method == "PUBLISH" and len(events) == 49 + 2 * 14
    assert f"{len(events)} events written to {out}" in exported.stdout
    url = run("cycle", "ics", "--person", "amira.khan", "--url", "--whole-cycle")
    assert url.stdout.startswith("https://portal.example.nhs.uk/calendar/")
    assert url.stdout.strip().endswith(".ics")
    nobody = run("cycle", "ics", "--url")
    assert nobody.returncode == 2 and "say whose feed it is with --person" in nobody.stderr
    unknown = run("cycle", "ics", "--person", "nobody.here")
    assert unknown.returncode == 2 and "no person 'nobody.here'" in unknown.stderr


def test_a_digest_carries_one_event_per_open_task(runtime: Runtime, clock: SimulatedClock
                                                  ) -> None:
    clock.set(date(2026, 4, 16))   # the data requests are open: Lucy holds four
    runtime.advance(CYCLE)
    with runtime.register.session() as session:
        lucy = find_person(session, CYCLE, "lucy.fernandes")
        mine = session.scalars(select(Assignment).where(
            Assignment.person_id == lucy.id, Assignment.state == "open")).all()
        builder = MessageBuilder(session, CYCLE, runtime.links, runtime.calendar, clock.today())
        intent = builder.digest(lucy, list(mine))
        method, events = parse(intent.ics)
        assert method == "REQUEST" and len(events) == len(mine) == 4
        assert {str(e["UID"]) for e in events} == {assignment_uid(a.id, CYCLE) for a in mine}
