"""The analysis's column contract: bring returns into the contract of docs/data-returns.md
before any arithmetic (public: the planner, the ICS and the analysis share ANALYSED_KINDS).

Why: returns arrive as uploaded (CSV/XLSX, published layouts, ``"A White British"`` or ``"A"``)
and the analysis must not depend on which spelling a lead used. Checking the columns here
lets the analysis refuse a return with a message instead of failing half-way with a KeyError.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plancycle.returns import codes

#: Columns each kind must carry for the analysis (a subset of the upload contract).
REQUIRED: dict[str, tuple[str, ...]] = {
    "staff_in_post": ("person_id", "staff_group", "grade", "wte", "gender", "ethnic_category",
                      "service", "location"),
    "vacancies": ("month", "staff_group", "service", "vacancy_wte", "establishment_wte"),
    "leavers": ("month", "staff_group", "age_band", "leavers_headcount", "leavers_wte",
                "reason"),
    "sickness_absence": ("month", "fte_days_lost", "fte_days_available"),
    "bank_agency": ("month", "staff_group", "bank_wte", "agency_wte", "bank_spend_gbp",
                    "agency_spend_gbp"),
    "pay_budget": ("staff_group", "budgeted_wte", "pay_budget_gbp"),
    "activity_plan": ("month", "service", "point_of_delivery", "planned_activity",
                      "baseline_activity"),
    "service_changes": ("service", "change", "staff_group", "wte_change", "start_year"),
    "education_training": ("programme", "staff_group", "expected_completers",
                           "completion_year"),
}
ANALYSED_KINDS: tuple[str, ...] = tuple(REQUIRED)

NUMERIC: dict[str, tuple[str, ...]] = {
    "staff_in_post": ("wte", "contracted_hours"),
    "vacancies": ("vacancy_wte", "establishment_wte"),
    "leavers": ("leavers_headcount", "leavers_wte"),
    "sickness_absence": ("fte_days_lost", "fte_days_available", "sickness_absence_rate"),
    "bank_agency": ("bank_wte", "agency_wte", "bank_spend_gbp", "agency_spend_gbp"),
    "pay_budget": ("budgeted_wte", "pay_budget_gbp", "average_cost_per_wte_gbp"),
    "activity_plan": ("planned_activity", "baseline_activity"),
    "service_changes": ("wte_change", "start_year"),
    "education_training": ("places", "expected_completers", "completion_year"),
}

#: The published NHS sickness file layout, accepted unchanged (docs/data-returns.md, kind 4).
PUBLISHED_SICKNESS = {
    "date": "month", "fte_days_lost": "fte_days_lost",
    "fte_days_available": "fte_days_available",
    "sickness_absence_rate_percent": "sickness_absence_rate",
}


def missing_columns(kind: str, frame: pd.DataFrame) -> list[str]:
    """Required columns absent from ``frame`` (after case/space folding) for this kind."""
    have = {_fold(c) for c in frame.columns}
    if kind == "sickness_absence" and "date" in have:
        have |= {PUBLISHED_SICKNESS[c] for c in have if c in PUBLISHED_SICKNESS}
    need = list(REQUIRED.get(kind, ()))
    if kind == "staff_in_post" and not ({"age_band", "date_of_birth"} & have):
        need.append("age_band")  # or date_of_birth: the contract wants one of the two
    return [c for c in need if c not in have]


def prepare(kind: str, frame: pd.DataFrame, as_at: dt.date | None = None) -> pd.DataFrame:
    """A contract-shaped copy: folded column names, numbers as floats, codes normalised."""
    out = frame.copy()
    out.columns = [_fold(c) for c in out.columns]
    if kind == "sickness_absence" and "date" in out.columns:
        out = out.rename(columns=PUBLISHED_SICKNESS)
        out["month"] = pd.to_datetime(out["month"], format="%d/%m/%Y").dt.strftime("%Y-%m")
    for column in NUMERIC.get(kind, ()):
        if column in out.columns:
            out[column] = pd.to_numeric(out[column], errors="coerce")
    for column in ("staff_group", "grade", "service", "location", "age_band", "gender",
                   "reason", "point_of_delivery", "month"):
        if column in out.columns:
            out[column] = _clean_text(out[column])
    if "staff_group" in out.columns:
        out["staff_group"] = out["staff_group"].map(
            lambda v: codes.strip_published_prefix(v) if isinstance(v, str) else v)
    if kind == "staff_in_post":
        out["person_id"] = out["person_id"].astype(str).str.strip()
        out["ethnic_code"] = out["ethnic_category"].map(
            lambda v: codes.ethnic_code(v) if isinstance(v, str) else None)
        out["ethnic_code"] = out["ethnic_code"].fillna("Z")
        if "age_band" not in out.columns:
            out["age_band"] = age_bands_from_birth(out["date_of_birth"], as_at)
    return out


def age_bands_from_birth(dates: pd.Series, as_at: dt.date | None) -> pd.Series:
    """Appendix I five-year age band at ``as_at`` from a date of birth column."""
    if as_at is None:
        raise ValueError("date_of_birth needs an as_at date to compute age bands")
    born = pd.to_datetime(dates, errors="coerce")
    ref = pd.Timestamp(as_at)
    age = ref.year - born.dt.year - ((born.dt.month > ref.month)
                                     | ((born.dt.month == ref.month) & (born.dt.day > ref.day)))
    index = np.clip((age.to_numpy(dtype=float) - 15) // 5, 0, len(codes.AGE_BANDS) - 1)
    bands = np.asarray(codes.AGE_BANDS, dtype=object)[np.nan_to_num(index).astype(int)]
    return pd.Series(np.where(born.isna(), None, bands), index=dates.index, dtype=object)


def ordered(frame: pd.DataFrame, column: str, order: tuple[str, ...]) -> pd.DataFrame:
    """Rows sorted by a code list's order (unknown labels last, alphabetically)."""
    rank = {v: i for i, v in enumerate(order)}
    keyed = frame.assign(_rank=frame[column].map(lambda v: rank.get(v, len(rank))),
                         _label=frame[column].astype(str))
    keyed = keyed.sort_values(["_rank", "_label"], kind="stable")
    return keyed.drop(columns=["_rank", "_label"]).reset_index(drop=True)


def pct(numerator: float, denominator: float) -> float:
    """A percentage 0–100, NaN when there is nothing to divide by."""
    return float(numerator) / float(denominator) * 100 if denominator else float("nan")


def period_months(*months: pd.Series) -> int:
    """Months from the earliest to the latest month seen (inclusive), across the series.

    Monthly returns hold rows only where there is something to report (no leavers, no row),
    so the period is the span of the cycle's monthly returns, not a count of months present.
    """
    values = sorted({str(m) for series in months for m in pd.Series(series).dropna()})
    if not values:
        return 12
    first, last = values[0], values[-1]
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1


def annual_factor(period: int) -> float:
    """Scale a sum over a ``period``-month return to twelve months (1.0 for a full year)."""
    return 12 / period if period > 0 else 1.0


def _fold(name: object) -> str:
    return str(name).strip().lower()


def _clean_text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v.strip() if isinstance(v, str) else v)
