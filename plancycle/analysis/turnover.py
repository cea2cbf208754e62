"""Annex B.4 / E.5.6 — staff turnover by staff group, reason and age.

Why: turnover drives the supply projection. Turnover = leavers ÷ average staff in post × 100,
in headcount. With one staff-in-post extract the average is that extract's distinct people
(per group); pass ``average_headcount`` when an opening extract gives a better average. Sums
over a period other than twelve months (``period_months``, the span of the cycle's monthly
returns) are annualised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.frames import annual_factor, ordered, pct
from plancycle.returns import codes


@dataclass(frozen=True)
class Turnover:
    """Annual leavers and turnover rates (percentages 0–100)."""

    leavers_headcount: int
    leavers_wte: float
    average_headcount: float
    rate_pct: float
    retirements: int
    retirement_share_pct: float
    months: int
    by_staff_group: pd.DataFrame
    by_reason: pd.DataFrame
    by_age_band: pd.DataFrame
    monthly: pd.DataFrame


def analyse_turnover(
    leavers: pd.DataFrame,
    staff: pd.DataFrame,
    period_months: int = 12,
    average_headcount: Mapping[str, float] | None = None,
) -> Turnover:
    """Turnover overall and by staff group from the leavers return and staff in post."""
    factor = annual_factor(period_months)
    in_post = staff.drop_duplicates(["person_id", "staff_group"]).groupby("staff_group").size()
    average = {g: float(n) for g, n in in_post.items()}
    total_average = float(staff["person_id"].nunique())
    if average_headcount:
        average.update({k: float(v) for k, v in average_headcount.items() if k != "total"})
        total_average = float(average_headcount.get("total", total_average))
    retiring = leavers["reason"] == "Retirement"
    by_group = leavers.assign(retirements=leavers["leavers_headcount"].where(retiring, 0)) \
        .groupby("staff_group", sort=True)[["leavers_headcount", "leavers_wte", "retirements"]] \
        .sum().reset_index()
    groups = sorted(set(by_group["staff_group"]) | set(average))
    by_group = pd.DataFrame({"staff_group": groups}).merge(by_group, how="left").fillna(0)
    for column in ("leavers_headcount", "leavers_wte", "retirements"):
        by_group[column] = by_group[column] * factor
    by_group["average_headcount"] = by_group["staff_group"].map(average).fillna(0.0)
    by_group["rate_pct"] = (by_group["leavers_headcount"] / by_group["average_headcount"]
                            * 100).where(by_group["average_headcount"] > 0)
    total = float(leavers["leavers_headcount"].sum()) * factor
    retirements = float(leavers.loc[retiring, "leavers_headcount"].sum()) * factor
    by_reason = leavers.groupby("reason", sort=True)[["leavers_headcount", "leavers_wte"]] \
        .sum().reset_index()
    by_reason = ordered(by_reason, "reason", codes.LEAVING_REASONS)
    by_reason["pct"] = by_reason["leavers_headcount"] / by_reason["leavers_headcount"].sum() * 100
    by_age = leavers.groupby("age_band", sort=True)[["leavers_headcount", "leavers_wte"]] \
        .sum().reset_index()
    return Turnover(
        leavers_headcount=round(total),
        leavers_wte=float(leavers["leavers_wte"].sum()) * factor,
        average_headcount=total_average,
        rate_pct=pct(total, total_average),
        retirements=round(retirements),
        retirement_share_pct=pct(retirements, total),
        months=period_months,
        by_staff_group=ordered(by_group, "staff_group", codes.STAFF_GROUPS),
        by_reason=by_reason,
        by_age_band=ordered(by_age, "age_band", codes.AGE_BANDS),
        monthly=leavers.groupby("month", sort=True)[["leavers_headcount", "leavers_wte"]]
        .sum().reset_index(),
    )
