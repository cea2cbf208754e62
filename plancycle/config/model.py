"""The cycle configuration: one YAML file per planning cycle, validated by pydantic.

The model says what a planner may write; cross-references (roles, people, dependencies,
dates) are checked afterwards in :mod:`plancycle.config.checks` so that every mistake in a
file is reported at once, each with its YAML path.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, max_length=80)]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently switch a feature off."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskKind(StrEnum):
    DATA_REQUEST = "data_request"
    REVIEW = "review"
    ANALYSIS = "analysis"
    GATE = "gate"
    SUBMISSION = "submission"
    ACKNOWLEDGEMENT = "acknowledgement"


class Organisation(Strict):
    name: str
    org_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{3,5}$")]
    type: Literal["acute", "mental_health", "community", "ambulance", "primary_care_network",
                  "integrated_care_board", "other"] = "acute"
    ics_code: Annotated[str, Field(pattern=r"^Q[A-Z0-9]{2}$")] | None = None
    ics_name: str | None = None


class CycleInfo(Strict):
    id: Ident
    name: str
    financial_year: Annotated[str, Field(pattern=r"^\d{4}/\d{2}$")]
    timezone: str = "Europe/London"


class Person(Strict):
    id: Ident
    name: str
    email: str | None = None
    chat: str | None = Field(
        default=None, description="Handle in the organisation's chat channel, e.g. @amira.khan")
    deputy: Ident | None = None
    line_manager: Ident | None = None
    absent: bool = Field(default=False, description="Away: their deputy is assigned instead")
    object_id: str | None = Field(
        default=None, max_length=100,
        description="Their identity at the organisation's sign-in provider (Entra ID object "
                    "id, 'oid'); without it, sign-in matches the e-mail address")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError(
                f"{value!r} is not an email address (expected name@organisation.nhs.uk)")
        return value


class Role(Strict):
    id: Ident
    name: str
    holders: list[Ident] = Field(min_length=1)
    description: str | None = None


class EscalationStep(Strict):
    after_working_days_overdue: Annotated[int, Field(ge=1)]
    to: str = Field(
        description="'line_manager', 'deputy' or 'role:<role id>' (e.g. role:chief_executive)")

    @field_validator("to")
    @classmethod
    def _target(cls, value: str) -> str:
        if value in ("line_manager", "deputy") or re.match(r"^role:[a-z0-9_.\-]+$", value):
            return value
        raise ValueError(
            f"escalation target {value!r} must be 'line_manager', 'deputy' or 'role:<role id>'")


class ChasingPolicy(Strict):
    """When reminders, overdue chasers and escalations go out, in working days."""

    reminders_before_due: list[Annotated[int, Field(ge=1, le=60)]] = [5, 1]
    remind_on_due_date: bool = True
    overdue_every: Annotated[int, Field(ge=1, le=30)] = 2
    escalation: list[EscalationStep] = [
        EscalationStep(after_working_days_overdue=3, to="line_manager"),
        EscalationStep(after_working_days_overdue=10, to="role:chief_executive"),
    ]
    digest: bool = Field(default=False, description="One message a day per person, not per task")
    channels: list[Literal["email", "chat"]] = ["email", "chat"]
    escalation_fallback: str | None = Field(
        default=None,
        description="role:<role id> told when an escalation has nobody to go to (no line "
                    "manager, deputy or holder of the role); default: the workforce planner")

    @field_validator("escalation_fallback")
    @classmethod
    def _fallback(cls, value: str | None) -> str | None:
        if value is None or re.match(r"^role:[a-z0-9_.\-]+$", value):
            return value
        raise ValueError(f"escalation_fallback {value!r} must be 'role:<role id>'")


class ChasingOverride(Strict):
    """Per-task changes to the cycle's chasing policy; unset fields inherit."""

    reminders_before_due: list[Annotated[int, Field(ge=1, le=60)]] | None = None
    remind_on_due_date: bool | None = None
    overdue_every: Annotated[int, Field(ge=1, le=30)] | None = None
    escalation: list[EscalationStep] | None = None
    digest: bool | None = None
    channels: list[Literal["email", "chat"]] | None = None

    def apply(self, base: ChasingPolicy) -> ChasingPolicy:
        changes = self.model_dump(exclude_none=True)
        return base.model_copy(update={k: getattr(self, k) for k in changes})


class RelativeDate(Strict):
    """A date counted in working days from another stage's end (or start)."""

    after: Ident = Field(description="The stage this one follows")
    working_days: Annotated[int, Field(ge=0, le=260)] = 0
    from_: Literal["end", "start"] = Field(default="end", alias="from")


class Duration(Strict):
    working_days: Annotated[int, Field(ge=0, le=260)]


class Gate(Strict):
    approvers: list[Ident] = Field(min_length=1, description="Approver role ids")
    quorum: Literal["all", "any"] | Annotated[int, Field(ge=1)] = "all"
    document: Literal["plan", "exec_summary", "action_plan"] = "plan"
    on_reject_reopen: Ident | None = Field(
        default=None, description="Stage to go back to when rejected (default: the previous one)")
    sign_in: bool = Field(
        default=False, description="Approvers must sign in with their organisational account "
                                   "(OpenID Connect) as well as open their link to decide")


class Task(Strict):
    id: Ident
    name: str
    kind: TaskKind
    role: Ident
    due: date | Duration = Field(description="A date, or working days after the stage starts")
    depends_on: list[Ident] = []
    return_kind: str | None = Field(default=None, alias="return")
    instructions: str | None = None
    chasing: ChasingOverride | None = None
    gate: Gate | None = None


class Stage(Strict):
    id: Ident
    name: str
    starts: date | RelativeDate
    ends: date | Duration | None = Field(
        default=None, description="Optional; defaults to the last task's due date")
    description: str | None = None
    tasks: list[Task] = Field(min_length=1)


class Destination(Strict):
    type: Literal["outbox", "http", "email"]
    path: str | None = Field(default=None, description="outbox: directory")
    url_env: str | None = Field(
        default=None, description="http: name of the environment variable holding the URL")
    to: str | None = Field(default=None, description="email: recipient address")


class Submission(Strict):
    recipient: str = "ICS workforce team"
    destinations: list[Destination] = [Destination(type="outbox", path="outbox")]


class BaselineReturn(Strict):
    """Last year's accepted upload of one return kind: what this year's is compared with."""

    kind: str = Field(description="The return kind (e.g. staff_in_post)")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    file: str | None = Field(default=None, description="Where the accepted file is stored")
    rows: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Data rows (the year-on-year row-count check compares them)")
    upload: int | None = Field(default=None, description="Upload id in last year's register")


class CarriedAction(Strict):
    """An Annex G action still open at the roll-forward, carried into this cycle."""

    key: str = Field(description="Its key last year (e.g. G3)")
    action: str
    owner: Ident | None = Field(default=None, description="Owner role id")
    due: date | None = None
    measure_of_success: str | None = None
    rag: Literal["red", "amber", "green"] | None = None


class Baseline(Strict):
    """Written by ``plancycle cycle roll-forward``: last year's cycle, returns and actions."""

    cycle: Ident = Field(description="Last year's cycle id")
    returns: list[BaselineReturn] = []
    actions: list[CarriedAction] = []


class IcsMember(Strict):
    """One organisation of an integrated care system, whose plan the system cycle waits on."""

    org_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{3,6}$")] = Field(
        description="ORG_CODE as published (e.g. RXW); a PCN code may have six characters")
    name: str
    type: Literal["acute", "mental_health", "community", "ambulance", "primary_care_network",
                  "integrated_care_board", "other"]
    place: str = Field(description="The place (sub-system) it belongs to, e.g. Shropshire")
    workforce_planner: Ident = Field(description="Person id of its workforce planner")
    exec_sponsor: Ident = Field(description="Person id of its executive sponsor")
    submission_task: Ident | None = Field(
        default=None, description="The task waiting on its plan (default submit_<org>_plan)")

    @property
    def task_key(self) -> str:
        return self.submission_task or f"submit_{self.org_code.lower()}_plan"


class Ics(Strict):
    """An integrated care system's member organisations (only in a system cycle)."""

    code: Annotated[str, Field(pattern=r"^Q[A-Z0-9]{2}$")] = Field(description="ICS code, e.g. QOC")
    name: str
    region: str | None = Field(default=None, description="NHS England region, e.g. Midlands")
    organisations: list[IcsMember] = Field(min_length=1)


class TemplateSettings(Strict):
    """The workforce plan template's scenario and assumptions (percentages are 0–100)."""

    scenario: Literal["baseline", "growth", "productivity"] = Field(
        default="growth", description="The demand scenario the WTE trajectory plans to")
    activity_growth_pct: Decimal | None = Field(
        default=None, description="Activity growth for the year; default: the activity plan's")
    productivity_pct: Annotated[Decimal, Field(ge=0, le=50)] = Field(
        default=Decimal(0), description="CIP / productivity: % of substantive WTE released")
    agency_cap_pct: Annotated[Decimal, Field(ge=0, le=100)] = Field(
        default=Decimal("3.7"), description="Agency spend may not exceed this % of pay budget")
    agency_reduction_pct: Annotated[Decimal, Field(ge=0, le=100)] = Field(
        default=Decimal(0), description="Agency WTE reduction by March (straight line)")
    recruitment_pipeline: dict[str, Decimal] = Field(
        default_factory=dict, description="Starters in the year (WTE) per staff group")
    international_recruits: dict[str, Decimal] = Field(
        default_factory=dict, description="International recruits in the year (WTE) per group")
    tolerance_pct: Annotated[Decimal, Field(ge=0, le=100)] = Field(
        default=Decimal(5), description="Triangulation tolerance (points / % of budget)")


class CycleConfig(Strict):
    """One planning cycle: who, what, when and how hard to chase."""

    version: Literal[1] = 1
    cycle: CycleInfo
    organisation: Organisation
    people: list[Person] = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    chasing: ChasingPolicy = ChasingPolicy()
    stages: list[Stage] = Field(min_length=1)
    submission: Submission = Submission()
    baseline: Baseline | None = None
    ics: Ics | None = Field(
        default=None, description="System cycles only: the ICS and its member organisations")
    template: TemplateSettings = TemplateSettings()
    #: Problems that do not stop the file loading (see ``checks.config_warnings``), set by
    #: the loader with their lines.
    _warnings: list = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list:
        return list(self._warnings)

    # Convenience look-ups (the model is frozen, so these are cheap and safe).
    def person(self, person_id: str) -> Person:
        return next(p for p in self.people if p.id == person_id)

    def role(self, role_id: str) -> Role:
        return next(r for r in self.roles if r.id == role_id)

    def tasks(self) -> list[tuple[Stage, Task]]:
        return [(stage, task) for stage in self.stages for task in stage.tasks]

    def task(self, task_id: str) -> Task:
        return next(t for _, t in self.tasks() if t.id == task_id)

    def chasing_for(self, task: Task) -> ChasingPolicy:
        return task.chasing.apply(self.chasing) if task.chasing else self.chasing
