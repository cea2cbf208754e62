"""Annex G — the action plan matrix, generated from RAG ratings, gaps and leads' input.

Why: the plan must end in actions (1.10) with priority, timescale, who is responsible, the
support and resources they need and how success is measured. Red and Amber ratings and the
five-year shortfalls each produce an action with a measurable target (the Green threshold);
the service leads' intended changes become delivery actions owned by those leads. The planner
edits and adds to this draft; nothing here is final until the board signs the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.rag import AMBER, RED, RagRating, RagThresholds
from plancycle.returns import codes

PRIORITY_ORDER = {"High": 0, "Medium": 1, "Low": 2}


@dataclass(frozen=True)
class ActionItem:
    """One row of the Annex G matrix."""

    action: str
    priority: str
    timescale: str
    responsible: str
    support_needed: str
    resources: str
    measures_of_success: str
    source: str


def fy_label(financial_year: str, offset: int = 0) -> str:
    """``fy_label("2026/27", 2)`` → ``"2028/29"`` (plan year 1 is ``financial_year`` itself)."""
    start = int(financial_year[:4]) + offset
    return f"{start}/{(start + 1) % 100:02d}"


def _year_end(financial_year: str, offset: int = 0) -> str:
    return f"March {int(financial_year[:4]) + offset + 1}"


def _priority(status: str) -> str:
    return "High" if status == RED else "Medium"


def _money(value: float) -> str:
    return f"£{value / 1e6:,.1f}m" if abs(value) >= 1e6 else f"£{value:,.0f}"


def build_actions(
    *,
    financial_year: str,
    ratings: Iterable[RagRating],
    thresholds: RagThresholds,
    vacancies_by_group: pd.DataFrame,
    retirement_risk: pd.DataFrame,
    final_gap: pd.DataFrame,
    headline_scenario: str,
    cost_per_wte: dict[str, float],
    agency_spend_gbp: float,
    affordability_gap_gbp: float,
    service_changes: pd.DataFrame,
    completer_wte: float,
    max_per_measure: int = 4,
) -> list[ActionItem]:
    """Draft Annex G actions, High priority first."""
    fy, end = financial_year, _year_end(financial_year)
    ratings = list(ratings)
    vac = vacancies_by_group.set_index("staff_group")
    actions: list[ActionItem] = []

    def flagged(measure: str) -> list[RagRating]:
        rows = [r for r in ratings if r.measure == measure and r.scope != "Trust"
                and r.status in (RED, AMBER)]
        return sorted(rows, key=lambda r: -r.value)[:max_per_measure]

    for r in flagged("vacancy_rate_pct"):
        vacant = float(vac["vacancy_wte"].get(r.scope, 0.0))
        registered = codes.SKILL_MIX.get(r.scope) == "registered"
        actions.append(ActionItem(
            action=f"Targeted recruitment for {r.scope}: fill {vacant:,.1f} WTE vacancies "
                   f"(vacancy rate {r.value:.1f}%)",
            priority=_priority(r.status),
            timescale=f"Q1–Q2 {fy}" if r.status == RED else f"By {end}",
            responsible="Workforce Planner (Trust) with HR / ESR data owner",
            support_needed=("International and newly qualified recruitment pipeline"
                            if registered else "Trust academy, local employment hubs"),
            resources=f"Recruitment campaign; agency spend released as posts fill "
                      f"(≈{_money(vacant * cost_per_wte.get(r.scope, 0.0))} a year of posts)",
            measures_of_success=f"Vacancy rate at or below "
                                f"{thresholds.vacancy_rate_pct.green_max:g}% by {end}",
            source="RAG: vacancy rate",
        ))
    for r in flagged("turnover_pct"):
        actions.append(ActionItem(
            action=f"Retention plan for {r.scope} (turnover {r.value:.1f}%): stay "
                   "conversations, flexible working, exit survey follow-up",
            priority=_priority(r.status),
            timescale=f"By {end}",
            responsible="HR / ESR data owner",
            support_needed="Line managers; staff-side partners",
            resources="HR business partner time; flexible working offer",
            measures_of_success=f"Turnover at or below {thresholds.turnover_pct.green_max:g}% "
                                f"by {end}",
            source="RAG: turnover",
        ))
    for r in flagged("sickness_pct"):
        actions.append(ActionItem(
            action=f"Attendance and wellbeing support in {r.scope} (sickness {r.value:.2f}%)",
            priority=_priority(r.status),
            timescale=f"Winter {fy}",
            responsible="HR / ESR data owner with occupational health",
            support_needed="Occupational health; managers trained in attendance management",
            resources="Occupational health and wellbeing capacity",
            measures_of_success=f"Sickness at or below {thresholds.sickness_pct.green_max:g}% "
                                f"by {end}",
            source="RAG: sickness absence",
        ))
    risk = retirement_risk[retirement_risk["pct_55_plus"] >= 25.0].sort_values(
        "pct_55_plus", ascending=False, kind="stable").head(max_per_measure)
    for row in risk.itertuples(index=False):
        actions.append(ActionItem(
            action=f"Flexible retirement and retire-and-return offer for {row.staff_group} "
                   f"({row.aged_55_plus} staff aged 55+, {row.pct_55_plus:.0f}%)",
            priority="Medium",
            timescale=f"By {end}",
            responsible="HR / ESR data owner",
            support_needed="Pensions advice; service leads to redesign rotas",
            resources="Pensions and HR advice sessions",
            measures_of_success="Retirements replaced or retained part-time; 55+ leavers "
                                "below last year's number",
            source="Retirement profile (55+)",
        ))
    trust_agency = [r for r in ratings if r.measure == "agency_share_pct" and r.scope == "Trust"]
    if trust_agency and trust_agency[0].status in (RED, AMBER):
        r = trust_agency[0]
        actions.append(ActionItem(
            action=f"Reduce agency use ({_money(agency_spend_gbp)} a year, {r.value:.1f}% of "
                   "the pay budget): convert agency shifts to bank and substantive posts",
            priority=_priority(r.status),
            timescale=f"Q1–Q4 {fy}",
            responsible="Finance Lead",
            support_needed="Temporary staffing team; executive approval of off-framework use",
            resources="Bank rate review; substantive recruitment",
            measures_of_success=f"Agency spend at or below "
                                f"{thresholds.agency_share_pct.green_max:g}% of the pay budget",
            source="RAG: agency spend",
        ))
    short = final_gap[final_gap["shortfall_pct"] > thresholds.gap_shortfall_pct.green_max]
    for row in short.head(max_per_measure).itertuples(index=False):
        shortfall = -row.gap_wte
        places = shortfall / max(completer_wte, 0.1) / 5
        actions.append(ActionItem(
            action=f"Close the {row.staff_group} gap of {shortfall:,.1f} WTE by "
                   f"{fy_label(fy, int(row.year) - 1)} ({headline_scenario} scenario): train, "
                   "retain and reform (new roles, skill mix)",
            priority="High" if row.shortfall_pct > thresholds.gap_shortfall_pct.amber_max
            else "Medium",
            timescale=f"{fy} to {fy_label(fy, int(row.year) - 1)}",
            responsible="Learning & Development Lead with Workforce Planner (Trust)",
            support_needed="HEIs and the ICS for commissions; service leads for new roles",
            resources=f"About {places:,.0f} more training places or apprenticeships a year",
            measures_of_success=f"Projected shortfall at or below "
                                f"{thresholds.gap_shortfall_pct.green_max:g}% of demand at the "
                                "next annual refresh",
            source="Gap: supply vs demand",
        ))
    afford = [r for r in ratings if r.measure == "affordability_over_budget_pct"]
    if afford and afford[0].status in (RED, AMBER):
        actions.append(ActionItem(
            action=f"Agree an affordable establishment: demand costs "
                   f"{_money(affordability_gap_gbp)} above the pay budget in the final year "
                   f"({afford[0].value:.1f}%)",
            priority=_priority(afford[0].status),
            timescale=f"Before sign-off of the {fy} plan",
            responsible="Finance Lead with the Executive Team",
            support_needed="Commissioning Lead and Activity Lead to test activity assumptions",
            resources="Finance and workforce modelling time",
            measures_of_success="Demand cost within the pay budget in every plan year",
            source="RAG: affordability",
        ))
    actions += _lead_actions(service_changes, fy, cost_per_wte)
    return sorted(actions, key=lambda a: PRIORITY_ORDER.get(a.priority, 3))


def _lead_actions(service_changes: pd.DataFrame, fy: str,
                  cost_per_wte: dict[str, float]) -> list[ActionItem]:
    """One delivery action per (service, change) from the service leads' return."""
    out = []
    for (service, change), rows in service_changes.groupby(["service", "change"], sort=False):
        year = int(rows["start_year"].min())
        parts = [f"{w:+,.1f} WTE {g}" for g, w in zip(rows["staff_group"], rows["wte_change"],
                                                       strict=True)]
        cost = float(sum(w * cost_per_wte.get(g, 0.0)
                         for g, w in zip(rows["staff_group"], rows["wte_change"], strict=True)))
        out.append(ActionItem(
            action=f"{change} ({service}): {', '.join(parts)}",
            priority="Medium",
            timescale=f"From plan year {year} ({fy_label(fy, year - 1)})",
            responsible=f"Service Lead — {service}",
            support_needed="Workforce Planner (Trust); Finance Lead for the establishment change",
            resources=f"{_money(cost)} a year at budget cost per WTE",
            measures_of_success="Posts established and filled on time; service outcomes in "
                                "the business case",
            source="Service lead input",
        ))
    return out
