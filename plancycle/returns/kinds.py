"""Return kinds: the column contract of every data return (docs/data-returns.md).

One registry feeds the reader (header matching, aliases), the expectation suites
(``python -m plancycle.returns.suites``), the Python checks and the synthetic generator, so
the contract is written down once and cannot drift between them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from plancycle.returns import codes

Dtype = Literal["str", "code", "float", "int", "date", "month", "bool"]
Severity = Literal["fail", "warn"]

#: Severity by full check id, then by family (the part before the dot), unless a kind
#: overrides it.
DEFAULT_SEVERITY: Mapping[str, Severity] = {
    "columns.unknown": "warn",
    "columns.unnamed": "warn",
    "columns": "fail",
    "present": "fail",
    "not_null": "fail",
    "type": "fail",
    "codes": "fail",
    "range": "fail",
    "unique": "fail",
    "cross": "fail",
    "dates": "fail",
    "file": "fail",
    "rows": "warn",
    "header": "warn",
    "context": "warn",
    "completeness": "warn",
}


def normalise_header(label: object) -> str:
    """``" Staff Group "`` → ``"staff_group"``: how headers and aliases are compared."""
    return re.sub(r"[^0-9a-z]+", "_", str(label).strip().lower()).strip("_")


@dataclass(frozen=True)
class Column:
    """One column of a return: its type, whether it is required and what values are allowed."""

    name: str
    dtype: Dtype = "str"
    required: bool = True
    codes: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    #: True when the lower bound itself is not allowed (``> 0`` rather than ``>= 0``).
    min_exclusive: bool = False
    unique: bool = False
    aliases: tuple[str, ...] = ()
    #: Published NHS files prefix labels with an ordering number (``002_Nurses …``).
    strip_prefix: bool = False
    description: str = ""

    @property
    def typed(self) -> bool:
        """Whether the text must be parsed (numbers, dates, months, yes/no)."""
        return self.dtype in ("float", "int", "date", "month", "bool")

    def header_names(self) -> set[str]:
        """Normalised header spellings that mean this column."""
        return {normalise_header(self.name), *(normalise_header(a) for a in self.aliases)}

    def type_text(self) -> str:
        """What the column holds, in words (``a number``, ``a date (yyyy-mm-dd …)``)."""
        return {
            "str": "text",
            "code": "one of the listed codes",
            "float": "a number",
            "int": "a whole number",
            "date": "a date (yyyy-mm-dd or dd/mm/yyyy)",
            "month": "a month (yyyy-mm)",
            "bool": "yes or no",
        }[self.dtype]

    def range_text(self) -> str:
        """The allowed range in words (``from 0 to 1.5``, ``above 0``); empty if unbounded."""
        if self.min is not None and self.max is not None:
            return f"from {_num(self.min)} to {_num(self.max)}"
        if self.min is not None:
            return f"above {_num(self.min)}" if self.min_exclusive else f"{_num(self.min)} or more"
        if self.max is not None:
            return f"{_num(self.max)} or less"
        return ""

    def rule_text(self) -> str:
        """Plain-English rule for fix sentences (``a number from 0 to 1.5``)."""
        return f"{self.type_text()} {self.range_text()}".strip()


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class ReturnKind:
    """A kind of data return: key, title, column contract, extra rules and check severities."""

    key: str
    title: str
    columns: tuple[Column, ...]
    #: Column sets that must be unique together (one row per key).
    unique_together: tuple[str, ...] = ()
    #: Python rule ids (see ``plancycle.returns.checks.RULES``) run after the GX suite.
    rules: tuple[str, ...] = ()
    #: Per-check severity overrides, by full check id (``"range.wte"``) or family (``"cross"``).
    severities: Mapping[str, Severity] = field(default_factory=dict)
    #: Sheet names (normalised) that hold this return in a multi-sheet workbook.
    sheet_names: tuple[str, ...] = ()
    #: Columns that may appear in the file and are read but ignored without a warning.
    ignored_columns: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        """The column named ``name``; KeyError names the kind so the bug is easy to place."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"return kind {self.key!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def severity(self, check_id: str) -> Severity:
        """Severity of a check: kind override by id, then by family, then the default."""
        family = check_id.split(".", 1)[0]
        for table in (self.severities, DEFAULT_SEVERITY):
            if check_id in table:
                return table[check_id]
            if family in table:
                return table[family]
        return "fail"

    def header_map(self) -> dict[str, str]:
        """Normalised header spelling → contract column name (names and aliases)."""
        mapping: dict[str, str] = {}
        for col in self.columns:
            for spelling in col.header_names():
                mapping.setdefault(spelling, col.name)
        return mapping

    def expected_columns_text(self) -> str:
        """``"a, b, c (optional: d, e)"`` for error messages."""
        required = ", ".join(self.required_columns)
        optional = ", ".join(c.name for c in self.columns if not c.required)
        return f"{required} (optional: {optional})" if optional else required


# --- shared columns -------------------------------------------------------------------------

def _month() -> Column:
    return Column("month", "month", aliases=("period", "date", "month_end", "data_month"),
                  description="Month of the figures, yyyy-mm (a full date is read as its month)")


def _org() -> Column:
    return Column("org_code", aliases=("organisation_code", "org", "organisation", "trust_code"),
                  description="ODS code of the reporting organisation, e.g. RJE")


def _staff_group(required: bool = True) -> Column:
    return Column("staff_group", "code", required=required, codes=codes.STAFF_GROUPS,
                  aliases=("staff_group_1",),
                  description="NHS Digital staff group 1 (without the numeric prefix)")


def _grade() -> Column:
    return Column("grade", "code", codes=codes.GRADES, aliases=("pay_band", "band", "afc_band"),
                  description="Agenda for Change band or medical grade")


def _service() -> Column:
    return Column("service", aliases=("specialty", "service_line"),
                  description="Service or specialty as the trust names it")


def _wte(name: str, aliases: tuple[str, ...] = (), **kw: object) -> Column:
    return Column(name, "float", min=0, aliases=aliases, **kw)  # type: ignore[arg-type]


#: Descriptive columns of the published NHS layouts: read, kept, not checked beyond text.
_PUBLISHED_LABELS = (
    Column("region_code", required=False, aliases=("nhse_region_code",)),
    Column("region_name", required=False, aliases=("nhse_region_name",)),
    Column("ics_code", required=False),
    Column("ics_name", required=False),
    Column("org_name", required=False, aliases=("organisation_name",)),
)

KINDS: dict[str, ReturnKind] = {}


def _register(kind: ReturnKind) -> ReturnKind:
    KINDS[kind.key] = kind
    return kind


_register(ReturnKind(
    key="staff_in_post",
    title="Staff in post",
    columns=(
        Column("assignment_id", unique=True, aliases=("assignment_number", "assignment"),
               description="ESR assignment number; one row per assignment"),
        Column("person_id", aliases=("employee_number", "person_number", "staff_number"),
               description="Person identifier; one person may hold several assignments"),
        _org(),
        _staff_group(),
        Column("job_role", aliases=("role", "occupation"), description="ESR job role"),
        _grade(),
        Column("wte", "float", min=0, max=1.5, aliases=("fte", "whole_time_equivalent",
                                                        "full_time_equivalent"),
               description="Whole-time equivalent of the assignment (1.0 = full time)"),
        Column("contracted_hours", "float", min=0, max=60,
               aliases=("hours", "weekly_hours", "contracted_hours_per_week")),
        Column("age_band", "code", required=False, codes=codes.AGE_BANDS,
               description="Five-year age band; give this or date_of_birth"),
        Column("date_of_birth", "date", required=False, aliases=("dob", "birth_date"),
               description="Date of birth; give this or age_band"),
        Column("gender", "code", codes=codes.GENDERS, aliases=("sex",)),
        Column("ethnic_category", "code", codes=tuple(codes.ETHNIC_CATEGORIES),
               aliases=("ethnicity", "ethnic_origin", "ethnic_group"),
               description="NHS Data Dictionary code letter or 'code label', "
                           "e.g. 'A White British'"),
        Column("start_date", "date", aliases=("hire_date", "date_started", "latest_start_date")),
        Column("cost_centre", aliases=("cost_center", "cost_centre_code")),
        _service(),
        Column("location", aliases=("site", "base")),
    ),
    rules=("cross.age_band_or_dob", "context.reconcile_pay_budget", "completeness.row_swing"),
    sheet_names=("staff_in_post", "sip", "staff"),
))

_register(ReturnKind(
    key="vacancies",
    title="Vacancies",
    columns=(
        _month(), _org(), _staff_group(), _grade(), _service(),
        _wte("vacancy_wte", ("vacancies_wte", "vacancy_fte", "vacancies")),
        _wte("establishment_wte", ("establishment", "establishment_fte", "funded_wte")),
    ),
    unique_together=("month", "org_code", "staff_group", "grade", "service"),
    rules=("cross.vacancy_le_establishment", "context.staff_groups_in_sip",
           "completeness.row_swing"),
    sheet_names=("vacancies", "vacancy"),
))

_register(ReturnKind(
    key="leavers",
    title="Leavers (turnover)",
    columns=(
        _month(), _org(), _staff_group(), _grade(),
        Column("age_band", "code", codes=codes.AGE_BANDS),
        Column("leavers_headcount", "int", min=0, aliases=("headcount", "leavers")),
        _wte("leavers_wte", ("leavers_fte",)),
        Column("reason", "code", codes=codes.LEAVING_REASONS,
               aliases=("reason_for_leaving", "leaving_reason")),
    ),
    rules=("cross.leavers_wte_le_headcount", "completeness.row_swing"),
    severities={"cross.leavers_wte_le_headcount": "warn"},
    sheet_names=("leavers", "turnover"),
))

_register(ReturnKind(
    key="sickness_absence",
    title="Sickness absence",
    columns=(
        _month(), _org(), _staff_group(required=False),
        _wte("fte_days_lost", ("days_lost",)),
        Column("fte_days_available", "float", min=0, min_exclusive=True,
               aliases=("days_available",)),
        Column("sickness_absence_rate", "float", required=False, min=0, max=100,
               aliases=("sickness_absence_rate_percent", "absence_rate", "rate")),
        *_PUBLISHED_LABELS,
        Column("org_type", required=False, aliases=("organisation_type",)),
    ),
    unique_together=("month", "org_code", "staff_group"),
    rules=("cross.lost_le_available", "cross.rate_matches", "completeness.row_swing"),
    sheet_names=("sickness_absence", "sickness", "absence"),
))

_register(ReturnKind(
    key="bank_agency",
    title="Bank and agency use",
    columns=(
        _month(), _org(), _staff_group(),
        _wte("bank_wte", ("bank_fte",)), _wte("agency_wte", ("agency_fte",)),
        _wte("bank_spend_gbp", ("bank_spend", "bank_cost")),
        _wte("agency_spend_gbp", ("agency_spend", "agency_cost")),
    ),
    unique_together=("month", "org_code", "staff_group"),
    rules=("completeness.row_swing",),
    sheet_names=("bank_agency", "bank_and_agency", "temporary_staffing"),
))

_register(ReturnKind(
    key="pay_budget",
    title="Pay budget (finance establishment)",
    columns=(
        _org(), _staff_group(), _service(),
        _wte("budgeted_wte", ("budget_wte", "establishment_wte", "funded_wte")),
        _wte("pay_budget_gbp", ("pay_budget", "budget_gbp")),
        Column("average_cost_per_wte_gbp", "float", min=0, min_exclusive=True,
               aliases=("average_cost_per_wte", "cost_per_wte")),
    ),
    unique_together=("org_code", "staff_group", "service"),
    rules=("cross.budget_equals_wte_times_cost", "context.reconcile_pay_budget",
           "completeness.row_swing"),
    severities={"cross.budget_equals_wte_times_cost": "warn"},
    sheet_names=("pay_budget", "budget", "establishment"),
))

_register(ReturnKind(
    key="activity_plan",
    title="Activity plan",
    columns=(
        _month(), _org(), _service(),
        Column("point_of_delivery", "code", codes=codes.POINTS_OF_DELIVERY, aliases=("pod",)),
        _wte("planned_activity", ("plan", "planned")),
        _wte("baseline_activity", ("baseline",)),
    ),
    unique_together=("month", "org_code", "service", "point_of_delivery"),
    rules=("completeness.row_swing",),
    sheet_names=("activity_plan", "activity"),
))

_register(ReturnKind(
    key="service_changes",
    title="Service changes",
    columns=(
        _service(),
        Column("change", aliases=("service_change", "intention")),
        _staff_group(),
        Column("wte_change", "float", aliases=("change_wte", "fte_change"),
               description="Signed change in WTE: + growth, - reduction"),
        Column("start_year", "int", min=1, max=5, aliases=("plan_year", "year"),
               description="Plan year 1-5 in which the change starts"),
        Column("narrative", required=False, aliases=("notes", "description", "comments")),
    ),
    sheet_names=("service_changes", "changes"),
))

_register(ReturnKind(
    key="education_training",
    title="Education and training",
    columns=(
        Column("programme", aliases=("course", "programme_name")),
        _staff_group(),
        Column("provider", aliases=("hei", "education_provider")),
        Column("places", "int", min=0, aliases=("commissioned_places",)),
        Column("expected_completers", "int", min=0, aliases=("completers",)),
        Column("completion_year", "int", min=1, max=5, aliases=("year",)),
        Column("apprenticeship", "bool", aliases=("is_apprenticeship",)),
    ),
    rules=("cross.completers_le_places",),
    severities={"cross.completers_le_places": "warn"},
    sheet_names=("education_training", "education_and_training", "training"),
))

_register(ReturnKind(
    key="staff_in_post_published",
    title="Staff in post (published NHS Workforce Statistics, Core 5)",
    columns=(
        Column("data_month", "date"),
        Column("data_level"),
        *_PUBLISHED_LABELS,
        _org(),
        Column("main_staff_group", strip_prefix=True),
        Column("staff_group_1", "code", codes=codes.PUBLISHED_STAFF_GROUPS, strip_prefix=True,
               description="Staff group 1 with its published prefix, e.g. "
                           "'002_Nurses & health visitors'"),
        Column("staff_group_2", strip_prefix=True),
        Column("care_setting", strip_prefix=True),
        Column("level", strip_prefix=True),
        Column("grade", "code", codes=codes.AFC_BANDS + codes.OTHER_GRADES),
        Column("fte", "float", min=0),
        Column("headcount", "int", min=0),
    ),
    unique_together=("org_code", "main_staff_group", "staff_group_1", "staff_group_2",
                     "care_setting", "level", "grade"),
    rules=("cross.fte_le_headcount",),
    severities={"cross.fte_le_headcount": "warn"},
    sheet_names=("core_5", "staff_in_post_published"),
))


def get_kind(key: str) -> ReturnKind:
    """The kind registered as ``key``; the error lists the kinds that exist."""
    try:
        return KINDS[key]
    except KeyError:
        raise KeyError(
            f"unknown return kind {key!r}; known kinds: {', '.join(sorted(KINDS))}"
        ) from None
