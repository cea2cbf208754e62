"""The workforce plan template's shape: months, staff types, bridge items, sheets, assumptions.

Why one module: the trust that builds a template, the ICS that checks an incoming one and the
roll-up that adds them up must agree on every sheet name, header and row label, so those
live here once. The layout follows the operational planning workbook (NHS Improvement / HEE
"Technical guidance: workforce planning"): a WTE staffing forecast by staff group and by
substantive / bank / agency for the opening actual and each month-end M1 April … M12 March,
a bridge from opening to closing WTE, KPIs per month, triangulation with the finance and
activity plans, and a validation sheet.

Numbers are :class:`~decimal.Decimal` throughout: an opening position is the exact sum of the
source's decimal strings, movements are rounded to 2 dp, and every closing figure is an exact
sum, so "opening + movements = closing" holds with ``==`` and JSON/CSV never shows float noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

FORMAT = "plancycle-workforce-template/1"
MONTH_NAMES = ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb",
               "Mar")
MONTHS: tuple[str, ...] = tuple(f"M{i}" for i in range(1, 13))
OPENING = "Opening"
PERIODS: tuple[str, ...] = (OPENING, *MONTHS)
YEAR = "Year"
#: Substantive, bank and agency WTE; "total" is their sum (a row on the sheet, checked).
STAFF_TYPES: tuple[str, ...] = ("substantive", "bank", "agency")
TOTAL_TYPE = "total"
ALL_GROUPS = "All staff groups"
#: Movements from opening to closing WTE, in the order the bridge shows them.
MOVEMENTS: tuple[str, ...] = ("Leavers", "Starters", "Newly qualified", "International recruits",
                              "Service changes", "CIP / productivity", "Bank change",
                              "Agency change")
OPENING_ITEM, CLOSING_ITEM = "Opening WTE", "Closing WTE"
BRIDGE_ITEMS: tuple[str, ...] = (OPENING_ITEM, *MOVEMENTS, CLOSING_ITEM)
#: KPI rows: (key, label, unit).
KPIS: tuple[tuple[str, str, str], ...] = (
    ("turnover_pct", "Turnover (annualised leavers ÷ staff in post)", "%"),
    ("sickness_pct", "Sickness absence rate", "%"),
    ("vacancy_rate_pct", "Vacancy rate (establishment − substantive WTE)", "%"),
    ("agency_share_pct", "Agency spend as a share of the pay budget", "%"),
    ("establishment_wte", "Funded establishment", "WTE"),
    ("sickness_fte_days_lost", "Sickness: FTE days lost", "days"),
    ("sickness_fte_days_available", "Sickness: FTE days available", "days"),
)
KPI_RANGES = {"turnover_pct": (Decimal(0), Decimal(100)),
              "sickness_pct": (Decimal(0), Decimal(100)),
              "vacancy_rate_pct": (Decimal(-100), Decimal(100)),
              "agency_share_pct": (Decimal(0), Decimal(100))}

# Sheet names (the workbook's tabs; the CSV files are named after them).
GUIDANCE, COVER, ASSUMPTIONS, FORECAST, BRIDGE, KPI, TRIANGULATION, VALIDATION = (
    "Guidance", "Cover", "Assumptions", "WTE forecast", "Bridge", "KPIs", "Triangulation",
    "Validation")
SHEETS: tuple[str, ...] = (GUIDANCE, COVER, ASSUMPTIONS, FORECAST, BRIDGE, KPI, TRIANGULATION,
                           VALIDATION)
FORECAST_COLUMNS = ("staff_group", "staff_type", *PERIODS)
BRIDGE_COLUMNS = ("staff_group", "item", *MONTHS, YEAR)
KPI_COLUMNS = ("measure", "label", "unit", *PERIODS)
TRIANGULATION_COLUMNS = ("staff_group", "opening_wte", "closing_wte", "wte_growth_pct",
                         "demand_growth_pct", "cost_per_wte_gbp", "closing_pay_cost_gbp",
                         "pay_budget_gbp", "over_budget_pct")
VALIDATION_COLUMNS = ("check", "severity", "sheet", "row", "column", "message", "fix")
KEY_VALUE_COLUMNS = ("field", "value")

TWO_DP = Decimal("0.01")
ZERO = Decimal(0)


def month_labels(financial_year: str) -> dict[str, str]:
    """``{"Opening": "Opening (31 Mar 2026)", "M1": "M1 Apr-26", …}`` for a year like 2026/27."""
    start = int(financial_year[:4])
    out = {OPENING: f"Opening (31 Mar {start})"}
    for i, (key, name) in enumerate(zip(MONTHS, MONTH_NAMES, strict=True)):
        year = start if i < 9 else start + 1
        out[key] = f"{key} {name}-{year % 100:02d}"
    return out


def dec(value: object) -> Decimal | None:
    """A Decimal from a cell or CSV string written by a person or a program (None if blank)."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return Decimal(repr(value))
    text = str(value).strip().replace(",", "")
    if text == "" or text.lower() == "nan":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def q2(value: Decimal | float) -> Decimal:
    """Rounded half-up to 2 dp (how every movement and KPI is stated)."""
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return d.quantize(TWO_DP, rounding=ROUND_HALF_UP)


def text(value: object) -> str:
    """How a cell is written to CSV: Decimals in fixed notation, blanks empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@dataclass(frozen=True)
class TemplateAssumptions:
    """What the planner chooses in the cycle YAML (``template:``); percentages are 0–100."""

    #: The demand scenario the trajectory plans to (baseline / growth / productivity).
    scenario: str = "growth"
    #: Activity growth for the year (%); None takes the activity plan's.
    activity_growth_pct: Decimal | None = None
    #: CIP / productivity: substantive WTE released over the year, % of opening.
    productivity_pct: Decimal = ZERO
    #: Agency spend may not exceed this share of the pay budget in any month.
    agency_cap_pct: Decimal = Decimal("3.7")
    #: Agency WTE reduction by M12 (%, straight line from the opening).
    agency_reduction_pct: Decimal = ZERO
    #: Starters per staff group in the year (WTE), replacing the recruitment-rate estimate.
    recruitment_pipeline: Mapping[str, Decimal] = field(default_factory=dict)
    #: International recruits per staff group in the year (WTE).
    international_recruits: Mapping[str, Decimal] = field(default_factory=dict)
    #: Triangulation tolerance: WTE growth vs demand (points) and pay cost vs budget (%).
    tolerance_pct: Decimal = Decimal(5)

    def rows(self) -> list[tuple[str, str]]:
        def groups(values: Mapping[str, Decimal]) -> str:
            return "; ".join(f"{g}: {text(v)}" for g, v in values.items()) or "none"

        return [
            ("scenario", self.scenario),
            ("activity_growth_pct", "from the activity plan" if self.activity_growth_pct is None
             else text(self.activity_growth_pct)),
            ("productivity_pct", text(self.productivity_pct)),
            ("agency_cap_pct", text(self.agency_cap_pct)),
            ("agency_reduction_pct", text(self.agency_reduction_pct)),
            ("recruitment_pipeline", groups(self.recruitment_pipeline)),
            ("international_recruits", groups(self.international_recruits)),
            ("tolerance_pct", text(self.tolerance_pct)),
        ]


@dataclass
class WorkforceTemplate:
    """One organisation's (or the system's) template: a frame per data sheet.

    ``cover`` and ``assumptions`` are ordered (field, value) pairs; the frames hold Decimals
    (None where a figure is not available, e.g. a published baseline has no bank data).
    """

    org_code: str
    org_name: str
    financial_year: str
    cover: list[tuple[str, str]]
    assumptions: list[tuple[str, str]]
    forecast: pd.DataFrame
    bridge: pd.DataFrame
    kpis: pd.DataFrame
    triangulation: pd.DataFrame
    validation: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(VALIDATION_COLUMNS)))

    @property
    def staff_groups(self) -> list[str]:
        groups = self.forecast["staff_group"]
        return list(dict.fromkeys(g for g in groups if g != ALL_GROUPS))

    def wte(self, staff_group: str = ALL_GROUPS, staff_type: str = TOTAL_TYPE,
            period: str = OPENING) -> Decimal:
        row = self.forecast[(self.forecast["staff_group"] == staff_group)
                            & (self.forecast["staff_type"] == staff_type)]
        if row.empty:
            raise KeyError(f"no {staff_type} row for {staff_group!r} in the WTE forecast")
        return row.iloc[0][period]

    def kpi(self, measure: str, period: str = OPENING) -> Decimal | None:
        row = self.kpis[self.kpis["measure"] == measure]
        if row.empty:
            raise KeyError(f"no KPI {measure!r}")
        return row.iloc[0][period]

    def cover_value(self, name: str) -> str | None:
        return dict(self.cover).get(name)
