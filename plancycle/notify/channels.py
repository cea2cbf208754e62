"""Channels: how a rendered message reaches a person (SMTP/Apprise for real, a recorder for tests).

Channel URLs are secrets and come from the environment (or a Prefect Secret block loaded
into the environment by the deployment), never from the cycle YAML:

- ``PLANCYCLE_EMAIL_URL`` — an Apprise ``mailto://`` / ``mailtos://`` URL without ``to=``,
  e.g. ``mailtos://smtp.example.nhs.uk:587?user=…&pass=…&from=planning@example.nhs.uk``
  (sent over one SMTP connection per delivery pass, see :mod:`plancycle.notify.smtp`), or
  any other Apprise email service URL (sent through Apprise);
- ``PLANCYCLE_CHAT_URL`` — an Apprise chat URL (``msteams://…``, ``slack://…``, or
  ``json://host/path`` for a plain webhook); messages mention the person's chat handle.

A delivery pass opens :meth:`Channels.batch` once and sends every message through it, so a
transport can keep its connection for the whole pass.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from plancycle.notify.port import CHANNELS, Channels, Delivery, Outgoing, Recipient, Sender
from plancycle.notify.smtp import SmtpConnection, SmtpSettings

__all__ = ["CHANNELS", "AppriseChannels", "Channels", "Delivery", "Outgoing", "Recipient",
           "RecordingChannels", "Sender"]

class AppriseChannels:
    """Email over SMTP (settings parsed by Apprise), chat and other services through Apprise.

    ``notify()`` returning False is a failure with Apprise's log line; an SMTP failure is a
    failure with the server's answer. Nothing raises: every outcome is a :class:`Delivery`.
    """

    def __init__(self, email_url: str | None = None, chat_url: str | None = None) -> None:
        self.email_url = email_url
        self.chat_url = chat_url
        self._smtp_settings: SmtpSettings | None | bool = False  # False: not parsed yet

    @classmethod
    def from_env(cls) -> AppriseChannels:
        return cls(os.environ.get("PLANCYCLE_EMAIL_URL") or None,
                   os.environ.get("PLANCYCLE_CHAT_URL") or None)

    def supports(self, channel: str) -> bool:
        return bool(self.email_url if channel == "email" else self.chat_url)

    def smtp_settings(self) -> SmtpSettings | None:
        """The SMTP settings of the email URL, or None when it is another Apprise service."""
        if self._smtp_settings is False:
            self._smtp_settings = SmtpSettings.from_url(self.email_url) \
                if self.email_url else None
        return self._smtp_settings or None

    def send(self, message: Outgoing) -> Delivery:
        with self.batch() as sender:
            return sender.send(message)

    @contextmanager
    def batch(self) -> Iterator[Sender]:
        sender = _AppriseSender(self)
        try:
            yield sender
        finally:
            sender.close()


class _AppriseSender:
    """One delivery pass: the SMTP connection and the Apprise objects are made once."""

    def __init__(self, channels: AppriseChannels) -> None:
        self.channels = channels
        self._smtp: SmtpConnection | None = None
        self._apprise: dict[str, Any] = {}

    def send(self, message: Outgoing) -> Delivery:
        if message.channel == "email" and self.channels.email_url:
            settings = self.channels.smtp_settings()
            if settings is not None:
                if self._smtp is None:
                    self._smtp = SmtpConnection(settings)
                return self._smtp.send(message)
            if not message.recipient.email:
                return Delivery(False, f"{message.recipient.name} has no email address")
            sep = "&" if "?" in self.channels.email_url else "?"
            url = f"{self.channels.email_url}{sep}to={quote(message.recipient.email, safe='@')}"
            return self._apprise_send(url, message)
        if message.channel == "chat" and self.channels.chat_url:
            return self._apprise_send(self.channels.chat_url, message)
        setting = "PLANCYCLE_EMAIL_URL" if message.channel == "email" else "PLANCYCLE_CHAT_URL"
        return Delivery(False, f"{message.channel} is not configured: set {setting}")

    def _apprise_send(self, url: str, message: Outgoing) -> Delivery:
        import apprise

        notifier = self._apprise.get(url)
        if notifier is None:
            notifier = apprise.Apprise()
            if not notifier.add(url):
                return Delivery(False, f"{message.channel} URL is not a valid Apprise URL")
            self._apprise[url] = notifier
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

    def close(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


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

    @contextmanager
    def batch(self) -> Iterator[Sender]:
        yield self
