"""The register: the database that holds the truth about every cycle."""

from plancycle.register.db import Register, default_url, home
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    AuditEntry,
    Cycle,
    Decision,
    Document,
    DQResult,
    Notification,
    NotificationStatus,
    Person,
    RoleHolder,
    Stage,
    StageState,
    SubmissionRecord,
    Task,
    TaskState,
    Upload,
)

__all__ = [
    "Assignment", "AssignmentState", "AuditEntry", "Cycle", "DQResult", "Decision", "Document",
    "Notification", "NotificationStatus", "Person", "Register", "RoleHolder", "Stage",
    "StageState", "SubmissionRecord", "Task", "TaskState", "Upload", "default_url", "home",
]
