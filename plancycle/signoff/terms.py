"""What a gate is made of: verdicts, conditions, the gate's status and the DQ summary approvers see,
and the settings every part of sign-off shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from plancycle.register.models import (
    TaskState,
)

REOPEN_WORKING_DAYS = 10
PASSED_BY_QUORUM = "gate passed by quorum"
CONDITION_WORKING_DAYS = 20
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Verdict(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    REJECT = "reject"


class SignoffError(Exception):
    """A decision that cannot be accepted (user-facing message)."""


@dataclass(frozen=True)
class Condition:
    text: str
    role: str  # the role that owns the follow-up task


@dataclass(frozen=True)
class GateStatus:
    task_key: str
    state: str
    document_kind: str
    document_version: int | None
    document_sha256: str | None
    approved_roles: tuple[str, ...]
    waiting_roles: tuple[str, ...]
    needed: int
    passed: bool
    rejected: bool                  # the last round ended in a rejection (gate sent back)
    rejection_reason: str | None = None

    @property
    def outcome(self) -> str:
        """'passed', 'rejected' or 'waiting' — what a flow waiting on the gate acts on."""
        if self.passed and self.state == TaskState.COMPLETE:
            return "passed"
        return "rejected" if self.rejected else "waiting"


@dataclass(frozen=True)
class DQSummary:
    """What approvers and the ICS see of the data behind the plan: every upload's outcome."""

    accepted: int
    warned: int
    failed: int
    received: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def line(self) -> str:
        return (f"{self.accepted} accepted ({self.warned} with warnings), {self.failed} failed"
                + (f", {self.received} awaiting validation" if self.received else ""))


