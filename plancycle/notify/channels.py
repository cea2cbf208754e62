"""Channels: how a rendered message reaches a person (Apprise for real, a recorder for tests).

Channel URLs are secrets and come from the environment (or a Prefect Secret block loaded
into the environment by the deployment), never from the cycle YAML:

- ``PLANCYCLE_EMAIL_URL`` — an Apprise ``mailto://`` / ``mailtos://`` URL without ``to=``,
  e.g. ``mailtos://smtp.example.nhs.uk:587?user=…&pass=…&from=planning@example.nhs.uk``;
- ``PLANCYCLE_CHAT_URL`` — an Apprise chat URL (``msteams://…``, ``slack://…``, or
  ``json://host/path`` for a plain webhook); messages mention the person's chat handle.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

CHANNELS = ("email", "chat")


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str | None
    chat: str | None

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.chat


@dataclass(frozen=True)
class Outgoing:
    channel: str
    recipient: Recipient
    subject: str
    body: str
    html: str | None = None
    #: An iCalendar attachment (the task's due date), sent with emails only.
    ics: str | None = None


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None


class Channels(Protocol):
    def supports(self, channel: str) -> bool: ...

    def send(self, message: Outgoing) -> Delivery: ...


class AppriseChannels:
    """Sends with Apprise; ``notify()`` returning False is a failure with Apprise's log line."""

    def __init__(self, email_url: str | None = None, chat_url: str | None = None) -> None:
        self.email_url = email_url
        self.chat_url = chat_url

    @classmethod
    def from_env(cls) -> AppriseChannels:
        return cls(os.environ.get("PLANCYCLE_EMAIL_URL") or None,
                   os.environ.get("PLANCYCLE_CHAT_URL") or None)

    def supports(self, channel: str) -> bool:
        return bool(self.email_url if channel == "email" else self.chat_url)

    def _url(self, message: Outgoing) -> str | None:
        if message.channel == "email" and self.email_url and message.recipient.email:
            sep = "&" if "?" in self.email_url else "?"
            return f"{self.email_url}{sep}to={quote(message.recipient.email, safe='@')}"
        if message.channel == "chat" and self.chat_url:
            return self.chat_url
        return None

    def send(self, message: Outgoing) -> Delivery:
        import apprise

        url = self._url(message)
        if url is None:
            setting = "PLANCYCLE_EMAIL_URL" if message.channel == "email" else "PLANCYCLE_CHAT_URL"
            return Delivery(False, f"{message.channel} is not configured: set {setting}")
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return Delivery(False, f"{message.channel} URL is not a valid Apprise URL")
        html = message.channel == "email" and message.html is not None
        attach = None
        if message.channel == "email" and message.ics:
            from apprise.attachment.memory import AttachMemory

            attach = apprise.AppriseAttachment()
            attach.add(AttachMemory(content=message.ics, name="task.ics",
                                    mimetype="text/calendar"))
        with apprise.LogCapture(level=logging.WARNING) as log:
            ok = notifier.notify(
                title=message.subject,
                body=message.html if html else message.body,
                body_format=apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT,
                attach=attach,
            )
            captured = log.getvalue().strip()
        if ok:
            return Delivery(True)
        return Delivery(False, captured.splitlines()[-1] if captured else "Apprise notify failed")


@dataclass
class RecordingChannels:
    """Keeps every message in memory: for fast unit tests of who-gets-what."""

    sent: list[Outgoing] = field(default_factory=list)
    down: set[str] = field(default_factory=set)  # channels to fail

    def supports(self, channel: str) -> bool:
        return True

    def send(self, message: Outgoing) -> Delivery:
        if message.channel in self.down:
            return Delivery(False, f"{message.channel} is down (test)")
        self.sent.append(message)
        return Delivery(True)
