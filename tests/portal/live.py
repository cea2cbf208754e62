"""Real parts for the browser tests: an SMTP server catching email and the portal on uvicorn.

``Mailbox`` is aiosmtpd on a free loopback port; Apprise's ``mailto://`` delivers to it, so
the task links the tests open are the ones a role holder would click in a real email.
``LiveServer`` runs the portal app with uvicorn in a background thread.
"""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller

SENDER = "planning@riverside.nhs.uk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def bodies(self) -> list[str]:
        return [str(part.get_content()) for part in self.message.walk()
                if part.get_content_maintype() == "text" and not part.is_multipart()]

    def task_link(self, base: str) -> str:
        """The task link in the message, exactly as sent."""
        pattern = re.compile(re.escape(base) + r"/t/[A-Za-z0-9_\-.]+")
        for body in self.bodies():
            match = pattern.search(body)
            if match:
                return match.group(0)
        raise AssertionError(f"no task link to {base} in '{self.subject}'")


class Mailbox:
    """An SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(),
                                           policy=default_policy)
        with self._lock:
            self.mails.append(Mail(tuple(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def apprise_url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from={SENDER}&mode=insecure"

    def latest(self, to: str, subject_contains: str) -> Mail:
        with self._lock:
            found = [m for m in self.mails
                     if to in m.to and subject_contains.lower() in m.subject.lower()]
        assert found, (f"no email to {to} about '{subject_contains}'; received: "
                       f"{[(m.to, m.subject) for m in self.mails]}")
        return found[-1]


class LiveServer:
    """The portal served by uvicorn on a loopback port, in a daemon thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="portal", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the portal did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
