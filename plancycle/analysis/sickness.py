"""Annex E.5.1 — sickness absence rates by month and staff group, with hot spots.

Why: sickness is both a retention signal and a loss of capacity. Rate = FTE days lost ÷ FTE
days available × 100, always summing days before dividing (never averaging rates). Rows with
a blank staff group are whole-organisation figures: they are used for a month only when that
month has no staff-group rows, so nothing is counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.frames import ordered, pct
from plancycle.returns import codes


@dataclass(frozen=True)
class Sickness:
    """Sickness absence over the return's months (percentages 0–100)."""

    rate_pct: float
    fte_days_lost: float
    fte_days_available: float
    by_month: pd.DataFrame
    by_staff_group: pd.DataFrame
    hot_spots: pd.DataFrame
    peak_month: str


def sickness_rate(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Summed FTE days and rate per ``by`` cell."""
    table = frame.groupby(by, sort=True)[["fte_days_lost", "fte_days_available"]].sum()
    table = table.reset_index()
    table["rate_pct"] = (table["fte_days_lost"] / table["fte_days_available"] * 100).where(
        table["fte_days_available"] > 0)
    return table


def analyse_sickness(sickness: pd.DataFrame, hot_spot_rate_pct: float = 5.0) -> Sickness:
    """Trust rate, monthly series, staff-group rates and groups at or over the hot-spot rate."""
    frame = sickness.copy()
    if "staff_group" not in frame.columns:
        frame["staff_group"] = ""
    blank = frame["staff_group"].isna() | (frame["staff_group"].astype(str).str.strip() == "")
    frame.loc[blank, "staff_group"] = ""
    months_with_groups = set(frame.loc[~blank, "month"])
    frame = frame[~blank | ~frame["month"].isin(months_with_groups)]
    lost, available = float(frame["fte_days_lost"].sum()), float(frame["fte_days_available"].sum())
    by_month = sickness_rate(frame, ["month"])
    by_group = sickness_rate(frame[frame["staff_group"] != ""], ["staff_group"])
    by_group = ordered(by_group, "staff_group", codes.STAFF_GROUPS)
    hot = by_group[by_group["rate_pct"] >= hot_spot_rate_pct].sort_values(
        "rate_pct", ascending=False, kind="stable").reset_index(drop=True)
    peak = by_month.loc[by_month["rate_pct"].idxmax(), "month"] if len(by_month) else ""
    return Sickness(
        rate_pct=pct(lost, available),
        fte_days_lost=lost,
        fte_days_available=available,
        by_month=by_month,
        by_staff_group=by_group,
        hot_spots=hot,
        peak_month=str(peak),
    )
