"""Delivery as it runs for real: one SMTP connection a pass, our own MIME, claims, crashes.

Everything here talks to a real aiosmtpd server on loopback (``harness.SmtpServer``); the
crash test kills a real delivering process with SIGKILL; the concurrency tests run two
deliverers and two chasers at once on a SQLite file and on a throwaway Postgres.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plancycle.chaser import plan
from plancycle.clock import SimulatedClock, SystemClock
from plancycle.notify.channels import AppriseChannels, RecordingChannels
from plancycle.notify.messages import MessageBuilder
from plancycle.notify.service import Intent
from plancycle.notify.smtp import message_id
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    AuditEntry,
    Notification,
    NotificationStatus,
)
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE, SAMPLE, build_runtime

from .harness import SENDER, SmtpServer, Webhook

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = SENDER.rpartition("@")[2]


def queue_emails(runtime: Runtime, n: int) -> list[str]:
    """Open the first day's tasks and queue ``n`` distinct emails about them; their keys.

    The two "new task" messages of the first day are marked sent first (they went out on
    an earlier pass), so the register holds exactly these ``n`` to deliver."""
    runtime.advance(CYCLE)
    with runtime.register.session(actor="test") as session:
        for row in session.scalars(select(Notification)):
            row.status, row.next_attempt_at = NotificationStatus.SENT, None
    with runtime.register.session(actor="test") as session:
        builder = MessageBuilder(session, CYCLE, runtime.links, runtime.calendar,
                                 runtime.clock.today())
        opened = list(session.scalars(select(Assignment).where(
            Assignment.cycle_id == CYCLE, Assignment.state == AssignmentState.OPEN)))
        intents: list[Intent] = []
        for i in range(n):
            intent = builder.new_task(opened[i % len(opened)])
            intents.append(dataclasses.replace(intent, key=f"bulk{i}:{intent.key}",
                                               channels=("email",), companions=()))
        created = runtime.notifier.queue(session, intents)
    assert len(created) == n
    return [q.key for q in created]


def email_runtime(home: Path, clock: SimulatedClock | SystemClock, smtp: SmtpServer,
                  url: str | None = None) -> Runtime:
    rt = Runtime.build(clock=clock, channels=AppriseChannels(url or smtp.apprise_url, None),
                       database_url=f"sqlite:///{home / 'register.db'}")
    return rt


@pytest.fixture
def mail_runtime(home: Path, clock: SimulatedClock, smtp: SmtpServer) -> Runtime:
    rt = build_runtime(home, clock, AppriseChannels(smtp.apprise_url, None))
    smtp.stamp = clock.today
    yield rt
    rt.register.dispose()


# --------------------------------------------------------------------------- one connection


def test_a_delivery_pass_sends_every_email_over_one_smtp_connection(
        mail_runtime: Runtime, smtp: SmtpServer) -> None:
    keys = queue_emails(mail_runtime, 60)

    report = mail_runtime.deliver(CYCLE)

    assert (report.sent, report.failed) == (60, 0)
    assert len(smtp.emails) == 60
    assert smtp.connections == 1
    assert sorted(str(e.message["X-Plancycle-Key"]) for e in smtp.emails) == sorted(
        f"{CYCLE}/{k}" for k in keys)


def test_each_email_carries_our_text_template_and_a_message_id_from_its_key(
        runtime: Runtime, smtp: SmtpServer, webhook: Webhook) -> None:
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)

    with runtime.register.session() as session:
        rows = {n.idempotency_key: n for n in session.scalars(
            select(Notification).where(Notification.channel == "email"))}
    assert len(smtp.emails) == len(rows) == 2
    for received in smtp.emails:
        key = str(received.message["X-Plancycle-Key"]).split("/", 1)[1]
        row = rows[key]
        assert received.message_id == message_id(f"{CYCLE}/{key}", DOMAIN)
        # The plain-text part is our own text template, not a conversion of the HTML.
        assert received.text is not None and received.html is not None
        assert received.text.replace("\r\n", "\n").strip() == row.body.strip()
        assert "Open the task: http://portal.test/t/" in received.text
        assert received.html.replace("\r\n", "\n").strip() == (row.html or "").strip()
        assert received.part("text/calendar") is not None
        assert received.subject == row.subject


# --------------------------------------------------------------------------- claims


def _deliver_at_once(runtimes: list[Runtime]) -> list[tuple[int, int]]:
    start = threading.Barrier(len(runtimes))
    outcomes: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def work(rt: Runtime) -> None:
        try:
            start.wait()
            report = rt.deliver(CYCLE)
            outcomes.append((report.sent, report.failed))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(rt,)) for rt in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return outcomes


def _one_sent_entry_per_row(rt: Runtime) -> None:
    with rt.register.session() as session:
        sent = Counter(session.scalars(select(AuditEntry.entity_id).where(
            AuditEntry.entity == "notifications", AuditEntry.action == "update")
            .where(AuditEntry.after["status"].as_string() == "sent")))
        rows = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.status == NotificationStatus.SENT, Notification.channel == "email"))
    assert len(sent) == rows and set(sent.values()) == {1}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_deliverers_at_once_send_each_message_once(
        backend: str, home: Path, clock: SimulatedClock, smtp: SmtpServer,
        request: pytest.FixtureRequest) -> None:
    url = (request.getfixturevalue("postgres_url") if backend == "postgres"
           else f"sqlite:///{home / 'register.db'}")
    first = Runtime.build(clock=clock, channels=AppriseChannels(smtp.apprise_url, None),
                          database_url=url)
    second = Runtime.build(clock=clock, channels=AppriseChannels(smtp.apprise_url, None),
                           database_url=url)
    try:
        from plancycle.config import load_config
        from plancycle.register.cycles import start_cycle

        with first.register.session(actor="planner") as session:
            start_cycle(session, load_config(SAMPLE), SAMPLE)
        keys = queue_emails(first, 400)

        outcomes = _deliver_at_once([first, second])

        assert sum(sent for sent, _ in outcomes) == 400
        assert all(failed == 0 for _, failed in outcomes)
        received = Counter(str(e.message["X-Plancycle-Key"]) for e in smtp.emails)
        assert sorted(received) == sorted(f"{CYCLE}/{k}" for k in keys)
        assert set(received.values()) == {1}  # every message once, none twice
        _one_sent_entry_per_row(first)
        assert first.deliver(CYCLE).sent == 0
    finally:
        first.register.dispose()
        second.register.dispose()


DELIVERER = """
import sys
from plancycle.clock import SystemClock
from plancycle.notify.channels import AppriseChannels
from plancycle.runtime import Runtime
rt = Runtime.build(clock=SystemClock(), channels=AppriseChannels(sys.argv[2], None),
                   database_url=sys.argv[1])
print(rt.deliver(), flush=True)
"""


def test_a_deliverer_killed_mid_pass_loses_nothing_and_resends_at_most_the_one_in_flight(
        mail_runtime: Runtime, home: Path, smtp: SmtpServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 while the server holds the 25th message: it was received but never
    acknowledged, so its outcome was never recorded; the next pass sends it again (the same
    Message-ID, recognisable as a duplicate) and the 175 never attempted, each once."""
    keys = queue_emails(mail_runtime, 200)
    url = f"sqlite:///{home / 'register.db'}"
    env = {**os.environ, "PLANCYCLE_DELIVERY_LEASE_SECONDS": "2"}
    child = subprocess.Popen([sys.executable, "-c", DELIVERER, url, smtp.apprise_url], env=env,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def kill_at_25th(received: object) -> None:
        if len(smtp.emails) == 25:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(30)

    smtp.on_message = kill_at_25th
    assert child.wait(120) == -signal.SIGKILL
    smtp.on_message = None
    assert len(smtp.emails) == 25

    time.sleep(2.5)  # the dead deliverer's lease runs out (2 s here; 5 minutes by default)
    monkeypatch.setenv("PLANCYCLE_DELIVERY_LEASE_SECONDS", "2")
    after = Runtime.build(clock=SystemClock(), channels=AppriseChannels(smtp.apprise_url, None),
                          database_url=url)
    try:
        report = after.deliver(CYCLE)
    finally:
        after.register.dispose()

    received = Counter(str(e.message["X-Plancycle-Key"]) for e in smtp.emails)
    assert sorted(received) == sorted(f"{CYCLE}/{k}" for k in keys)  # nothing lost
    twice = [k for k, n in received.items() if n > 1]
    assert len(twice) == 1 and received[twice[0]] == 2  # only the one in flight, once more
    ids = {e.message_id for e in smtp.emails if str(e.message["X-Plancycle-Key"]) == twice[0]}
    assert len(ids) == 1  # the same Message-ID both times
    assert report.sent == 200 - 24
    with mail_runtime.register.session() as session:
        statuses = Counter(session.scalars(select(Notification.status).where(
            Notification.idempotency_key.like("bulk%"))))
    assert statuses == {NotificationStatus.SENT: 200}


# --------------------------------------------------------------------------- the server down


def test_when_the_smtp_server_is_down_the_pass_fails_fast_and_the_next_sends_each_once(
        mail_runtime: Runtime, clock: SimulatedClock, smtp: SmtpServer) -> None:
    keys = queue_emails(mail_runtime, 30)
    smtp.stop()

    down = mail_runtime.deliver(CYCLE)

    assert (down.sent, down.failed) == (0, 30)
    assert all(f"127.0.0.1:{smtp.port}" in e for e in down.errors)
    with mail_runtime.register.session() as session:
        failed = list(session.scalars(select(Notification).where(
            Notification.idempotency_key.in_(keys))))
    assert {(n.status, n.attempts) for n in failed} == {(NotificationStatus.FAILED, 1)}
    assert all("could not be sent through 127.0.0.1" in (n.last_error or "") for n in failed)

    smtp.start()
    clock.advance(hours=1)
    back = mail_runtime.deliver(CYCLE)

    assert (back.sent, back.failed) == (30, 0)
    assert Counter(str(e.message["X-Plancycle-Key"]) for e in smtp.emails) == {
        f"{CYCLE}/{k}": 1 for k in keys}
    assert mail_runtime.deliver(CYCLE).sent == 0


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("verify", ["no", "yes"])
def test_starttls_to_a_server_with_a_self_signed_certificate(
        verify: str, home: Path, clock: SimulatedClock, certificate: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = SmtpServer(tls=context)
    server.start()
    url = (f"mailtos://127.0.0.1:{server.port}?from={SENDER}&mode=starttls&verify={verify}")
    rt = build_runtime(home, clock, AppriseChannels(url, None))
    try:
        keys = queue_emails(rt, 5)
        report = rt.deliver(CYCLE)
    finally:
        rt.register.dispose()
        server.stop()
    if verify == "no":
        assert (report.sent, report.failed) == (5, 0)
        assert len(server.emails) == 5 and server.connections == 1
    else:  # nothing sent to a server whose certificate cannot be checked; the reason kept
        assert (report.sent, report.failed) == (0, 5)
        assert not server.emails
        assert all("CERTIFICATE_VERIFY_FAILED" in e for e in report.errors), report.errors
        assert {e.split(":", 1)[0] for e in report.errors} == {k.split(":", 1)[0] for k in keys}


# --------------------------------------------------------------------------- queueing


def test_bulk_queueing_audits_each_row_and_supersedes_the_stale_reminder(
        home: Path, clock: SimulatedClock) -> None:
    """Given a reminder that could not be sent yet, when the task becomes due the next day,
    then the old reminder is superseded (audited once) and every new row has its entry."""
    recording = RecordingChannels(down={"email", "chat"})
    rt = build_runtime(home, clock, recording)
    try:
        day = date(2026, 4, 1)
        while day <= date(2026, 4, 8):
            clock.set(day)
            rt.advance(CYCLE)
            rt.chase(CYCLE)
            rt.deliver(CYCLE)
            day += timedelta(days=1)
        with rt.register.session() as session:
            rows = list(session.scalars(select(Notification)))
            created = Counter(session.scalars(select(AuditEntry.entity_id).where(
                AuditEntry.entity == "notifications", AuditEntry.action == "create")))
            superseded = [n for n in rows if n.status == "superseded"]
            entries = {int(e.entity_id): e for e in session.scalars(select(AuditEntry).where(
                AuditEntry.entity == "notifications", AuditEntry.action == "update"))
                if (e.after or {}).get("status") == "superseded"}
    finally:
        rt.register.dispose()
    assert created == {str(n.id): 1 for n in rows}
    assert superseded, "a failed reminder should have been superseded by a newer step"
    assert {n.id for n in superseded} == set(entries)
    assert all(entries[n.id].before["status"] == "failed" for n in superseded)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_chaser_passes_for_the_same_day_at_once_queue_each_step_once(
        backend: str, home: Path, request: pytest.FixtureRequest) -> None:
    url = (request.getfixturevalue("postgres_url") if backend == "postgres"
           else f"sqlite:///{home / 'register.db'}")
    clock = SimulatedClock(date(2026, 4, 1))
    rt = Runtime.build(clock=clock, channels=RecordingChannels(), database_url=url)
    other = Runtime.build(clock=clock, channels=RecordingChannels(), database_url=url)
    try:
        from plancycle.config import load_config
        from plancycle.register.cycles import start_cycle

        with rt.register.session(actor="planner") as session:
            start_cycle(session, load_config(SAMPLE), SAMPLE)
        day = date(2026, 4, 1)
        while day < date(2026, 4, 20):  # tasks open; nobody completes anything
            clock.set(day)
            rt.advance(CYCLE)
            day += timedelta(days=1)
        clock.set(date(2026, 4, 20))
        with rt.register.session() as session:
            due = plan(session, CYCLE, clock.today(), rt.calendar)
        assert len(due) >= 3

        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def chase(r: Runtime) -> None:
            try:
                start.wait()
                r.chase(CYCLE)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=chase, args=(r,)) for r in (rt, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors

        with rt.register.session() as session:
            assert plan(session, CYCLE, clock.today(), rt.calendar) == []  # all handled
            steps = Counter(":".join(k.split(":")[:4]) for k in session.scalars(
                select(Notification.idempotency_key).where(
                    Notification.created_at == clock.now())))
        assert {f"a{p.assignment_id}:{p.step.kind}:{p.step.step}:{p.step.due_on}"
                for p in due} <= set(steps)
    finally:
        rt.register.dispose()
        other.register.dispose()
