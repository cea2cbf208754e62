"""Annex B.3 — vacancies: number, rate, hot spots and trend.

Why: the vacancy rate is the first sign of where the workforce cannot be recruited. Rate =
vacancies ÷ (staff in post + vacancies) × 100; the vacancies return carries the establishment
(= staff in post + vacancies) for every cell, so the rate is vacancy WTE ÷ establishment WTE and
works month by month without a staff-in-post extract for each month.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.frames import ordered, pct
from plancycle.returns import codes


@dataclass(frozen=True)
class Vacancies:
    """The latest month's vacancies, where they cluster, and the monthly trend."""

    month: str
    vacancy_wte: float
    establishment_wte: float
    staff_in_post_wte: float
    rate_pct: float
    by_staff_group: pd.DataFrame
    by_service: pd.DataFrame
    hot_spots: pd.DataFrame
    monthly: pd.DataFrame


def vacancy_table(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Vacancy WTE, staff in post WTE, establishment WTE and rate per ``by`` cell."""
    table = frame.groupby(by, sort=True)[["vacancy_wte", "establishment_wte"]].sum().reset_index()
    table["staff_in_post_wte"] = table["establishment_wte"] - table["vacancy_wte"]
    table["rate_pct"] = (table["vacancy_wte"] / table["establishment_wte"] * 100).where(
        table["establishment_wte"] > 0)
    return table


def analyse_vacancies(
    vacancies: pd.DataFrame, hot_spot_rate_pct: float = 10.0, min_hot_spot_wte: float = 1.0,
    top: int = 10,
) -> Vacancies:
    """Latest-month position, hot spots (group × service cells at or over the rate and with at
    least ``min_hot_spot_wte`` vacant, worst first) and the monthly series."""
    month = str(vacancies["month"].max())
    latest = vacancies[vacancies["month"] == month]
    vac, est = float(latest["vacancy_wte"].sum()), float(latest["establishment_wte"].sum())
    cells = vacancy_table(latest, ["staff_group", "service"])
    hot = cells[(cells["rate_pct"] >= hot_spot_rate_pct)
                & (cells["vacancy_wte"] >= min_hot_spot_wte)]
    hot = hot.sort_values(["rate_pct", "vacancy_wte"], ascending=False, kind="stable").head(top)
    return Vacancies(
        month=month,
        vacancy_wte=vac,
        establishment_wte=est,
        staff_in_post_wte=est - vac,
        rate_pct=pct(vac, est),
        by_staff_group=ordered(vacancy_table(latest, ["staff_group"]), "staff_group",
                               codes.STAFF_GROUPS),
        by_service=vacancy_table(latest, ["service"]),
        hot_spots=hot.reset_index(drop=True),
        monthly=vacancy_table(vacancies, ["month"]),
    )
