"""Signed task links: the way into the portal for people who have no account.

A link is signed for one person and one assignment and expires (default 30 days); each
reminder carries a freshly signed link. Expiry is measured on the injected Clock so a
simulated year behaves like a real one. The secret comes from the environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from plancycle.clock import Clock, SystemClock

DEFAULT_MAX_AGE_DAYS = 30


class LinkError(Exception):
    """A link that cannot be used; ``reason`` is 'expired' or 'invalid'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    person: str      # person key
    assignment: int  # assignment id
    cycle: str


def link_secret(home: Path | None = None) -> str:
    """``PLANCYCLE_LINK_SECRET``, or a per-installation secret generated once (dev/demo)."""
    secret = os.environ.get("PLANCYCLE_LINK_SECRET")
    if secret:
        return secret
    from plancycle.register.db import home as default_home

    path = (home or default_home()) / "link-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class TaskLinks:
    def __init__(self, secret: str, base_url: str | None = None, clock: Clock | None = None,
                 max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> None:
        self.base_url = (base_url or os.environ.get("PLANCYCLE_PORTAL_URL")
                         or "http://127.0.0.1:8000").rstrip("/")
        self.clock = clock or SystemClock()
        self.max_age_seconds = max_age_days * 86400
        clock_ref = self.clock

        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock_ref.now().timestamp())

        self._serializer = URLSafeTimedSerializer(secret, salt="plancycle.task-link",
                                                  signer=_ClockSigner)

    def token(self, person: str, assignment: int, cycle: str) -> str:
        return self._serializer.dumps({"p": person, "a": assignment, "c": cycle})

    def url(self, person: str, assignment: int, cycle: str) -> str:
        return f"{self.base_url}/t/{self.token(person, assignment, cycle)}"

    def verify(self, token: str) -> LinkClaims:
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired:
            raise LinkError("expired") from None
        except BadSignature:
            raise LinkError("invalid") from None
        return LinkClaims(person=data["p"], assignment=int(data["a"]), cycle=data["c"])
