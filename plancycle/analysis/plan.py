"""Run the whole analysis on a cycle's accepted returns into one ``WorkforceAnalysis``.

Why: the plan document, the Prefect flow and the ICS roll-up all want the same result object,
computed once, purely from DataFrames, with every assumption recorded next to the numbers it
produced. ``analyse`` refuses returns that are missing, not yet validated or sent back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from plancycle.analysis.actions import ActionItem, build_actions
from plancycle.analysis.affordability import (
    Affordability,
    AffordabilityAssumptions,
    analyse_affordability,
)
from plancycle.analysis.current import CurrentWorkforce, analyse_current
from plancycle.analysis.demand import SCENARIOS, Demand, DemandAssumptions, project_demand
from plancycle.analysis.frames import ANALYSED_KINDS, period_months, prepare
from plancycle.analysis.gap import Gap, analyse_gap
from plancycle.analysis.rag import RagRating, RagThresholds, rate
from plancycle.analysis.refusal import check_returns
from plancycle.analysis.sickness import Sickness, analyse_sickness
from plancycle.analysis.supply import Supply, SupplyAssumptions, project_supply
from plancycle.analysis.temporary_staffing import TemporaryStaffing, analyse_temporary_staffing
from plancycle.analysis.trends import Trends, analyse_trends
from plancycle.analysis.turnover import Turnover, analyse_turnover
from plancycle.analysis.vacancies import Vacancies, analyse_vacancies


@dataclass(frozen=True)
class WorkforceAnalysis:
    """Everything the plan reports, with the assumptions that produced it."""

    org_code: str
    financial_year: str
    data_period: tuple[str, str]
    period_months: int
    current: CurrentWorkforce
    vacancies: Vacancies
    turnover: Turnover
    sickness: Sickness
    temporary_staffing: TemporaryStaffing
    trends: Trends
    supply: Supply
    demand: Demand
    gap: Gap
    affordability: Affordability
    ratings: list[RagRating]
    actions: list[ActionItem]
    service_changes: pd.DataFrame
    education: pd.DataFrame
    returns_summary: pd.DataFrame
    thresholds: RagThresholds
    headline_scenario: str
    notes: list[str] = field(default_factory=list)

    def rating(self, measure: str, scope: str = "Trust") -> RagRating | None:
        """The rating of one measure for the trust or a staff group."""
        return next((r for r in self.ratings if r.measure == measure and r.scope == scope), None)

    def trust_ratings(self) -> list[RagRating]:
        return [r for r in self.ratings if r.scope == "Trust"]


def analyse(
    returns: Mapping[str, pd.DataFrame],
    accepted: Mapping[str, bool],
    *,
    reasons: Mapping[str, str] | None = None,
    financial_year: str | None = None,
    supply: SupplyAssumptions | None = None,
    demand: DemandAssumptions | None = None,
    affordability: AffordabilityAssumptions | None = None,
    thresholds: RagThresholds | None = None,
    headline_scenario: str = "growth",
) -> WorkforceAnalysis:
    """Analyse one organisation's accepted returns (raises AnalysisRefused otherwise)."""
    check_returns(returns, accepted, reasons)
    if headline_scenario not in SCENARIOS:
        raise ValueError(f"headline_scenario must be one of {SCENARIOS}")
    thresholds = thresholds or RagThresholds()
    fy = financial_year or _financial_year(returns["activity_plan"])
    as_at = dt.date(int(fy[:4]), 3, 31)
    r = {kind: prepare(kind, returns[kind], as_at=as_at) for kind in ANALYSED_KINDS}
    staff = r["staff_in_post"]
    monthly = [r[k]["month"] for k in ("vacancies", "leavers", "sickness_absence", "bank_agency")]
    period = period_months(*monthly)

    current = analyse_current(staff)
    vacancies = analyse_vacancies(r["vacancies"],
                                  hot_spot_rate_pct=thresholds.vacancy_rate_pct.amber_max)
    turnover = analyse_turnover(r["leavers"], staff, period)
    sickness = analyse_sickness(r["sickness_absence"],
                                hot_spot_rate_pct=thresholds.sickness_pct.amber_max)
    pay_budget_total = float(r["pay_budget"]["pay_budget_gbp"].sum())
    temporary = analyse_temporary_staffing(r["bank_agency"], pay_budget_total, period)
    trends = analyse_trends(vacancies.monthly, turnover.monthly, sickness.by_month,
                            temporary.monthly)
    supply_result = project_supply(staff, r["leavers"], r["education_training"], supply,
                                   period)
    demand_result = project_demand(staff, r["vacancies"], r["activity_plan"],
                                   r["service_changes"], demand)
    gap = analyse_gap(supply_result, demand_result)
    afford = analyse_affordability(staff, r["pay_budget"], temporary.bank_spend_gbp,
                                   temporary.agency_spend_gbp, supply_result, demand_result,
                                   affordability)
    ratings = _ratings(thresholds, vacancies, turnover, sickness, temporary, gap, afford,
                       headline_scenario)
    final_gap = gap.final_year(headline_scenario)
    final_cost = afford.final_year(headline_scenario)
    actions = build_actions(
        financial_year=fy,
        ratings=ratings,
        thresholds=thresholds,
        vacancies_by_group=vacancies.by_staff_group,
        retirement_risk=current.retirement_risk,
        final_gap=final_gap,
        headline_scenario=headline_scenario,
        cost_per_wte=afford.cost_per_wte.set_index("staff_group")["cost_per_wte_gbp"].to_dict(),
        agency_spend_gbp=temporary.agency_spend_gbp,
        affordability_gap_gbp=-float(final_cost["headroom_gbp"]),
        service_changes=r["service_changes"],
        completer_wte=supply_result.assumptions.completer_join_rate
        * supply_result.assumptions.wte_per_joiner,
    )
    months = sorted({str(m) for series in monthly for m in series.dropna()})
    org = staff["org_code"].dropna().astype(str) if "org_code" in staff.columns else pd.Series()
    return WorkforceAnalysis(
        org_code=str(org.iloc[0]) if len(org) else "",
        financial_year=fy,
        data_period=(months[0], months[-1]) if months else ("", ""),
        period_months=period,
        current=current,
        vacancies=vacancies,
        turnover=turnover,
        sickness=sickness,
        temporary_staffing=temporary,
        trends=trends,
        supply=supply_result,
        demand=demand_result,
        gap=gap,
        affordability=afford,
        ratings=ratings,
        actions=actions,
        service_changes=r["service_changes"],
        education=_education_summary(r["education_training"]),
        returns_summary=pd.DataFrame({"kind": list(ANALYSED_KINDS),
                                      "rows": [len(returns[k]) for k in ANALYSED_KINDS]}),
        thresholds=thresholds,
        headline_scenario=headline_scenario,
        notes=list(current.notes),
    )


def _financial_year(activity: pd.DataFrame) -> str:
    """The plan year from the activity plan's first month (April starts a financial year)."""
    columns = {str(c).strip().lower(): c for c in activity.columns}
    first = str(activity[columns["month"]].min()).strip()
    year, month = int(first[:4]), int(first[5:7])
    start = year if month >= 4 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _ratings(
    t: RagThresholds, vacancies: Vacancies, turnover: Turnover, sickness: Sickness,
    temporary: TemporaryStaffing, gap: Gap, afford: Affordability, scenario: str,
) -> list[RagRating]:
    """Trust-level ratings for every measure, then per staff group where the data allow."""
    final = gap.totals[(gap.totals["scenario"] == scenario)]
    final = final.loc[final["year"].idxmax()]
    out = [
        rate("vacancy_rate_pct", "Trust", vacancies.rate_pct, t),
        rate("turnover_pct", "Trust", turnover.rate_pct, t),
        rate("sickness_pct", "Trust", sickness.rate_pct, t),
        rate("agency_share_pct", "Trust", temporary.agency_share_pct, t),
        rate("gap_shortfall_pct", "Trust", float(final["shortfall_pct"]), t),
        rate("affordability_over_budget_pct", "Trust",
             float(afford.final_year(scenario)["over_budget_pct"]), t),
    ]
    for row in vacancies.by_staff_group.itertuples(index=False):
        out.append(rate("vacancy_rate_pct", row.staff_group, row.rate_pct, t))
    for row in turnover.by_staff_group.itertuples(index=False):
        if row.average_headcount > 0:
            out.append(rate("turnover_pct", row.staff_group, row.rate_pct, t))
    for row in sickness.by_staff_group.itertuples(index=False):
        out.append(rate("sickness_pct", row.staff_group, row.rate_pct, t))
    for row in gap.final_year(scenario).itertuples(index=False):
        out.append(rate("gap_shortfall_pct", row.staff_group, row.shortfall_pct, t))
    return out


def _education_summary(education: pd.DataFrame) -> pd.DataFrame:
    """Places and completers per programme, with the plan years they complete in."""
    table = education.groupby(["programme", "staff_group"], sort=False).agg(
        places=("places", "sum") if "places" in education.columns else ("expected_completers",
                                                                          "size"),
        expected_completers=("expected_completers", "sum"),
        first_year=("completion_year", "min"),
        last_year=("completion_year", "max"),
    ).reset_index()
    if "provider" in education.columns:
        providers = education.groupby("programme", sort=False)["provider"].first()
        table.insert(2, "provider", table["programme"].map(providers))
    if "apprenticeship" in education.columns:
        flags = education.groupby("programme", sort=False)["apprenticeship"].first()
        table["apprenticeship"] = table["programme"].map(flags).map(_truthy)
    return table


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "y", "1")
    return bool(value)
