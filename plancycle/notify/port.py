"""The notify port: what a delivery pass hands a channel, and what it gets back.

Adapters (:mod:`plancycle.notify.channels`: SMTP and Apprise for real, a recorder for tests)
implement :class:`Channels`; the notifier (:mod:`plancycle.notify.service`) depends on this
module only, never on an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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
    #: The notification's idempotency key: the email's stable Message-ID comes from it.
    key: str | None = None


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None


class Sender(Protocol):
    def send(self, message: Outgoing) -> Delivery: ...


class Channels(Protocol):
    def supports(self, channel: str) -> bool: ...

    def send(self, message: Outgoing) -> Delivery: ...

    def batch(self) -> Any:
        """A context manager yielding a :class:`Sender` for one delivery pass."""
        ...
