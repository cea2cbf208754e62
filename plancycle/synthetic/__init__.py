"""Synthetic NHS trust: every data return of docs/data-returns.md, realistic and deterministic.

Why: demos, tests and benchmarks need a whole trust's returns without touching personal data.
The shapes follow published NHS workforce statistics (staff-group mix, Agenda for Change bands,
~77% female, ~25% BME, ~20% aged 55+, ~30% part-time, 10-12% turnover, ~5% sickness with a
winter peak, 7-9% vacancies with hot spots). Everything is drawn from one seeded numpy
generator, so the same arguments always give identical frames; ``defects`` injects named
data-quality faults so validation can be tested against known-bad returns.

Time frame: for financial year ``2026/27`` the monthly returns cover the twelve months before
it (``2025-04`` … ``2026-03``), staff in post is the extract at 31 March 2026, and the activity
plan covers the plan year itself (``2026-04`` … ``2027-03``).
"""


from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from plancycle.synthetic.defects import DEFECTS
from plancycle.synthetic.monthly import (
    make_activity_plan,
    make_bank_agency,
    make_education,
    make_leavers,
    make_pay_budget,
    make_service_changes,
    make_sickness,
    make_vacancies,
    months,
    plan_start_year,
    rate_2dp,
)
from plancycle.synthetic.people import make_people, make_staff_in_post
from plancycle.synthetic.shape import COLUMNS, RETURN_KINDS

__all__ = ["COLUMNS", "DEFECTS", "RETURN_KINDS", "generate_trust", "rate_2dp", "write_trust"]


# --- public API -----------------------------------------------------------------------------


def generate_trust(
    size: int = 6000,
    seed: int = 0,
    org_code: str = "RXX",
    financial_year: str = "2026/27",
    defects: set[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every return kind for one synthetic trust of ``size`` people (identical for one seed)."""
    if size < 50:
        raise ValueError(f"size must be at least 50 people, got {size}")
    start_year = plan_start_year(financial_year)
    unknown = set(defects or ()) - set(DEFECTS)
    if unknown:
        raise ValueError(
            f"unknown defect(s) {sorted(unknown)}; choose from {sorted(DEFECTS)}"
        )
    rng = np.random.default_rng(seed)
    history = [f"{y:04d}-{m:02d}" for y, m in months(start_year - 1)]
    plan_months = [f"{y:04d}-{m:02d}" for y, m in months(start_year)]
    scale = size / 6000

    people = make_people(rng, size)
    staff = make_staff_in_post(rng, people, org_code, dt.date(start_year, 3, 31))
    vacancies, in_post_by_month = make_vacancies(rng, staff, org_code, history)
    returns = {
        "staff_in_post": staff,
        "vacancies": vacancies,
        "leavers": make_leavers(rng, people, org_code, history),
        "sickness_absence": make_sickness(rng, in_post_by_month, org_code, history),
        "bank_agency": make_bank_agency(rng, vacancies, in_post_by_month, org_code),
        "pay_budget": make_pay_budget(rng, staff, org_code),
        "activity_plan": make_activity_plan(rng, scale, org_code, plan_months),
        "service_changes": make_service_changes(scale),
        "education_training": make_education(scale),
    }
    for name in sorted(defects or ()):
        DEFECTS[name](returns, rng)
    return returns


def write_trust(
    returns: dict[str, pd.DataFrame], directory: str | Path, fmt: str = "csv"
) -> dict[str, Path]:
    """Write one file per return kind (``<kind>.csv`` or ``.xlsx``) as a lead would upload it."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"fmt must be 'csv' or 'xlsx', got {fmt!r}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for kind, frame in returns.items():
        path = out / f"{kind}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, lineterminator="\n")
        else:
            frame.to_excel(path, index=False, sheet_name=kind[:31])
        written[kind] = path
    return written


