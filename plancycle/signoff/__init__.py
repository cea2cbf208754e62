"""Gates: approvers decide on an exact document version; a quorum of roles passes the gate.

- Only a holder of an approver role, or the deputy/delegate recorded in their place (an
  assignment on the gate), can decide, and only on the document version currently under
  review (its SHA-256). There is no default decision: the verdict is always stated.
- Quorum counts approver *roles*: a role is satisfied when one of its holders approves;
  ``all`` needs every role, ``any`` one, ``N`` any N. One person counts for one role.
- Each person has one live decision per gate: deciding again replaces the earlier one.
- A rejection (reason required) sends the cycle back: the named stage (default: the one
  before the gate's) and every stage after it up to the gate reopen with fresh due dates,
  every approval given in them becomes invalid, and the holders of the reopened work are
  told why (:func:`rejection_notices`; the note also shows on their "new task" message).
- Approval with conditions passes like an approval; each condition becomes a task for a
  named role, opened and chased by the engine like any other.
- A new document version invalidates approvals of the old one: the approvers are asked
  again (a gate that had passed on the old version reopens).
- A locked (submitted) cycle takes no new document versions.

One concept per module: :mod:`.terms` (verdicts, conditions, status), :mod:`.documents` (the
version under review), :mod:`.quorum`, :mod:`.decisions` (deciding, conditions, reopening),
:mod:`.notices` (approval requests, rejection notices) and :mod:`.trail`.
"""

from __future__ import annotations

from plancycle.signoff.decisions import (
    approvers_waiting,
    decide,
    is_condition,
    reopen_note,
    reopen_range,
)
from plancycle.signoff.documents import (
    TEMPLATE_KIND,
    current_document,
    current_documents,
    document_kind,
    gate_settings,
    register_document,
)
from plancycle.signoff.notices import (
    approval_requests,
    dq_summary,
    queue_gate_messages,
    rejection_notices,
    rejections,
)
from plancycle.signoff.quorum import (
    approver_roles,
    gate_status,
    roles_of,
)
from plancycle.signoff.terms import (
    CONDITION_WORKING_DAYS,
    PASSED_BY_QUORUM,
    REOPEN_WORKING_DAYS,
    SHA256,
    Condition,
    DQSummary,
    GateStatus,
    SignoffError,
    Verdict,
)
from plancycle.signoff.trail import (
    audit_trail,
    decision_trail,
)

__all__ = [
    "CONDITION_WORKING_DAYS",
    "Condition",
    "DQSummary",
    "GateStatus",
    "PASSED_BY_QUORUM",
    "REOPEN_WORKING_DAYS",
    "SHA256",
    "SignoffError",
    "TEMPLATE_KIND",
    "Verdict",
    "approval_requests",
    "approver_roles",
    "approvers_waiting",
    "audit_trail",
    "current_document",
    "current_documents",
    "decide",
    "decision_trail",
    "document_kind",
    "dq_summary",
    "gate_settings",
    "gate_status",
    "is_condition",
    "queue_gate_messages",
    "register_document",
    "rejection_notices",
    "rejections",
    "reopen_note",
    "reopen_range",
    "roles_of",
]
