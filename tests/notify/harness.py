"""Real delivery end to end: an SMTP server and a chat webhook on loopback, no mocks.

``SmtpServer`` is aiosmtpd collecting envelopes (restartable on the same port, to take the
mail server down and bring it back); ``Webhook`` is a ``ThreadingHTTPServer`` recording the
JSON bodies Apprise posts to ``json://`` URLs, and can answer 500 to the next N requests.
Each message is stamped with the simulated day on which it arrived: delivery is synchronous
(Apprise waits for the server's reply), so the clock's day when the server receives it is
the day it was sent.
"""

from __future__ import annotations

import email
import json
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from plancycle.clock import SimulatedClock
from plancycle.notify.channels import AppriseChannels
from plancycle.register.models import Notification, NotificationStatus, Person
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE, SAMPLE, build_runtime

SENDER = "planning@riverside.nhs.uk"
START = date(2026, 4, 1)
PORTAL = "http://portal.test"  # what the engine tests' ``home`` fixture sets

Stamp = Callable[[], date | None]


def free_port() -> int:
    """A free loopback port (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def use_empty_ca_store(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Point OpenSSL at an empty CA store.

    The servers here speak plain SMTP and HTTP (``mode=insecure``), but Apprise builds a TLS
    context for every email anyway, and loading the system CA bundle costs 30-75 ms a time;
    a simulated month sends hundreds of emails. Nothing in these tests verifies a
    certificate, so an empty store changes no behaviour, only the speed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(folder / "none.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))


def isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """What the ``home`` fixture does, for fixtures wider than one test."""
    monkeypatch.setenv("PLANCYCLE_HOME", str(root))
    monkeypatch.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    monkeypatch.setenv("PLANCYCLE_PORTAL_URL", PORTAL)
    use_empty_ca_store(monkeypatch, root / "empty-ca")
    return root


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class ReceivedEmail:
    day: date | None
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    #: Which SMTP connection (session) carried it: a delivery pass should use one.
    connection: int = 0

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, content_type: str) -> str | None:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return str(part.get_content())
        return None

    @property
    def text(self) -> str | None:
        return self.part("text/plain")

    @property
    def html(self) -> str | None:
        return self.part("text/html")


class SmtpServer:
    """aiosmtpd on a fixed loopback port that can be stopped and started again."""

    def __init__(self, stamp: Stamp = lambda: None, tls: ssl.SSLContext | None = None) -> None:
        self.port = free_port()
        self.stamp = stamp
        self.emails: list[ReceivedEmail] = []
        #: Called with each message as it arrives (e.g. to pause or crash the sender).
        self.on_message: Callable[[ReceivedEmail], None] | None = None
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._sessions: dict[int, int] = {}
        self._tls = tls

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self._lock:
            connection = self._sessions.setdefault(id(session), len(self._sessions) + 1)
            received = ReceivedEmail(self.stamp(), envelope.mail_from, tuple(envelope.rcpt_tos),
                                     message, connection)
            self.emails.append(received)
        if self.on_message is not None:
            self.on_message(received)
        return "250 Message accepted for delivery"

    @property
    def connections(self) -> int:
        """How many SMTP sessions carried at least one message."""
        with self._lock:
            return len({e.connection for e in self.emails})

    def start(self) -> None:
        if self._controller is None:
            kwargs: dict[str, Any] = {}
            if self._tls is not None:
                kwargs = {"tls_context": self._tls, "require_starttls": True}
            controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def apprise_url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from={SENDER}&mode=insecure"


# --------------------------------------------------------------------------- webhook


@dataclass(frozen=True)
class ReceivedPost:
    day: date | None
    path: str
    status: int  # what the receiver answered
    body: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.body.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class Webhook:
    """A loopback JSON webhook: records every POST; answers 500 to the next N when told."""

    def __init__(self, stamp: Stamp = lambda: None) -> None:
        self.stamp = stamp
        self.received: list[ReceivedPost] = []  # every request, including the refused ones
        self._failures = 0
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with hook._lock:
                    status = 500 if hook._failures > 0 else 200
                    hook._failures = max(0, hook._failures - 1)
                    hook.received.append(ReceivedPost(hook.stamp(), self.path, status, payload))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, n: int) -> None:
        """Answer HTTP 500 to the next ``n`` requests."""
        with self._lock:
            self._failures = n

    @property
    def posts(self) -> list[ReceivedPost]:
        """The messages accepted (answered 200)."""
        with self._lock:
            return [p for p in self.received if p.status == 200]

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


# --------------------------------------------------------------------------- runtime


def apprise_channels(smtp: SmtpServer, webhook: Webhook) -> AppriseChannels:
    return AppriseChannels(email_url=smtp.apprise_url, chat_url=webhook.apprise_url)


@dataclass
class Driver:
    """Drives a cycle through the calendar the way the daily flows do."""

    runtime: Runtime
    clock: SimulatedClock
    cycle_id: str = CYCLE

    def day(self, day: date) -> None:
        """One day at 09:00: reconcile, chase, deliver."""
        self.clock.set(day)
        self.runtime.advance(self.cycle_id)
        self.runtime.chase(self.cycle_id)
        self.runtime.deliver(self.cycle_id)

    def days(self, first: date, last: date) -> None:
        """Every calendar day from ``first`` to ``last``, weekends and holidays included."""
        day = first
        while day <= last:
            self.day(day)
            day += timedelta(days=1)


def make_runtime(home: Path, clock: SimulatedClock, smtp: SmtpServer, webhook: Webhook,
                 config_path: Path = SAMPLE) -> Runtime:
    smtp.stamp = clock.today
    webhook.stamp = clock.today
    return build_runtime(home, clock, apprise_channels(smtp, webhook), config_path)


def assert_ledger_matches(runtime: Runtime, smtp: SmtpServer, webhook: Webhook) -> None:
    """Nothing lost, nothing duplicated: the register's sent rows are exactly what the two
    servers accepted, once each, and nothing is left pending or failed."""
    with runtime.register.session() as session:
        rows = session.execute(
            select(Notification.channel, Notification.status, Notification.subject,
                   Notification.body, Person.email)
            .join(Person, Notification.person_id == Person.id)
            .where(Notification.channel.in_(["email", "chat"]))).all()
    assert not [r for r in rows if r.status in (NotificationStatus.PENDING,
                                                NotificationStatus.FAILED)]
    sent = [r for r in rows if r.status == NotificationStatus.SENT]
    assert Counter((e.to, e.subject) for e in smtp.emails) == Counter(
        (r.email, r.subject) for r in sent if r.channel == "email")
    assert Counter((p.title, p.message) for p in webhook.posts) == Counter(
        (r.subject, r.body) for r in sent if r.channel == "chat")
    assert max(Counter((e.day, e.to, e.subject) for e in smtp.emails).values(), default=1) == 1
    assert max(Counter((p.day, p.message) for p in webhook.posts).values(), default=1) == 1
