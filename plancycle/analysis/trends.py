"""Appendix I stage 2 — monthly trends of the measures the board watches.

Why: a single month hides direction. This lines up, by month, staff in post WTE (from the
vacancies return's establishment minus vacancies), vacancies, leavers, sickness and temporary
staffing, and labels each series rising, falling or stable from its least-squares slope.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A series is "stable" when its fitted change over the period is within this share of its mean.
STABLE_WITHIN = 0.02


@dataclass(frozen=True)
class Trends:
    """Monthly measures and the direction of each over the return months."""

    monthly: pd.DataFrame
    directions: dict[str, str]


def direction(values: pd.Series, stable_within: float = STABLE_WITHIN) -> str:
    """"rising", "falling" or "stable" from the fitted change across the series."""
    y = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(y) < 3 or not np.isfinite(y).all() or y.mean() == 0:
        return "stable"
    slope = np.polyfit(np.arange(len(y)), y, 1)[0]
    change = slope * (len(y) - 1) / abs(y.mean())
    if change > stable_within:
        return "rising"
    if change < -stable_within:
        return "falling"
    return "stable"


def analyse_trends(
    vacancies_monthly: pd.DataFrame,
    leavers_monthly: pd.DataFrame,
    sickness_monthly: pd.DataFrame,
    temporary_monthly: pd.DataFrame,
) -> Trends:
    """One row per month with every measure; blank where a return has no row for a month."""
    monthly = vacancies_monthly.rename(columns={"rate_pct": "vacancy_rate_pct"})[
        ["month", "staff_in_post_wte", "vacancy_wte", "vacancy_rate_pct"]]
    monthly = monthly.merge(leavers_monthly[["month", "leavers_headcount"]], on="month",
                            how="outer")
    monthly = monthly.merge(sickness_monthly.rename(columns={"rate_pct": "sickness_rate_pct"})[
        ["month", "sickness_rate_pct"]], on="month", how="outer")
    monthly = monthly.merge(temporary_monthly[["month", "bank_wte", "agency_wte",
                                              "agency_spend_gbp"]], on="month", how="outer")
    monthly = monthly.sort_values("month").reset_index(drop=True)
    measures = [c for c in monthly.columns if c != "month"]
    return Trends(monthly=monthly, directions={m: direction(monthly[m]) for m in measures})
