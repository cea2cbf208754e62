"""What the portal refuses, as exceptions the application turns into pages.

Kept apart from the routes and services so that every module can raise them without
importing the application (imports point one way: ``app`` → routers → ``deps`` →
``services`` → these).
"""

from __future__ import annotations

from collections.abc import Mapping

#: What a person with a bad link is told: how to get a new one, nothing about the task.
LINK_PROBLEMS = {
    "invalid": (403, "This link does not work",
                "The link is incomplete or has been changed. Links must be opened exactly as "
                "they were sent."),
    "expired": (410, "This link has expired",
                "Task links work for a limited time so that old emails cannot be used."),
    "revoked": (410, "This link has been withdrawn",
                "The workforce planner has withdrawn the links sent to you before now."),
    "unknown": (404, "This link does not work",
                "The task this link was made for is no longer in the planning register."),
}


class PortalProblem(Exception):
    """A request the portal refuses, shown as a page with a status and what to do."""

    def __init__(self, status: int, title: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.headers = dict(headers or {})


class LinkProblem(Exception):
    """A task link that cannot be used: ``reason`` is a key of :data:`LINK_PROBLEMS`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
