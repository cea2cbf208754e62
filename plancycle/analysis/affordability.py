"""Affordability — the cost of the demanded workforce against the pay budget.

Why: DOMAIN says affordability is a hard constraint; the finance lead triangulates the plan
with the pay budget. Cost per WTE by staff group comes from the pay budget return (budget ÷
budgeted WTE, which includes on-costs); the current position adds bank and agency spend to
the cost of staff in post. ``over_budget_pct`` > 0 means the plan costs more than the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.demand import Demand
from plancycle.analysis.frames import ordered, pct
from plancycle.analysis.supply import Supply
from plancycle.returns import codes


@dataclass(frozen=True)
class AffordabilityAssumptions:
    """Budget parameters (fractions per year)."""

    #: Annual real-terms growth of the pay budget over the plan years.
    budget_growth: float = 0.0


@dataclass(frozen=True)
class Affordability:
    """Current spend and projected cost against the pay budget (GBP a year)."""

    pay_budget_gbp: float
    budgeted_wte: float
    staff_in_post_cost_gbp: float
    temporary_staffing_gbp: float
    current_spend_gbp: float
    current_over_budget_pct: float
    cost_per_wte: pd.DataFrame
    projection: pd.DataFrame
    assumptions: AffordabilityAssumptions

    def final_year(self, scenario: str) -> pd.Series:
        rows = self.projection[self.projection["scenario"] == scenario]
        return rows.loc[rows["year"].idxmax()]


def cost_per_wte(pay_budget: pd.DataFrame) -> pd.DataFrame:
    """Budget ÷ budgeted WTE per staff group (falls back to the stated average cost)."""
    table = pay_budget.groupby("staff_group", sort=True)[["budgeted_wte", "pay_budget_gbp"]] \
        .sum().reset_index()
    table["cost_per_wte_gbp"] = (table["pay_budget_gbp"] / table["budgeted_wte"]).where(
        table["budgeted_wte"] > 0)
    if "average_cost_per_wte_gbp" in pay_budget.columns:
        stated = pay_budget.groupby("staff_group")["average_cost_per_wte_gbp"].mean()
        table["cost_per_wte_gbp"] = table["cost_per_wte_gbp"].fillna(
            table["staff_group"].map(stated))
    return ordered(table, "staff_group", codes.STAFF_GROUPS)


def analyse_affordability(
    staff: pd.DataFrame,
    pay_budget: pd.DataFrame,
    bank_spend_gbp: float,
    agency_spend_gbp: float,
    supply: Supply,
    demand: Demand,
    assumptions: AffordabilityAssumptions | None = None,
) -> Affordability:
    """Price today's workforce and every scenario's demand and projected supply."""
    a = assumptions or AffordabilityAssumptions()
    costs = cost_per_wte(pay_budget)
    budget = float(pay_budget["pay_budget_gbp"].sum())
    budgeted_wte = float(pay_budget["budgeted_wte"].sum())
    trust_rate = budget / budgeted_wte if budgeted_wte else 0.0
    rate = costs.set_index("staff_group")["cost_per_wte_gbp"].to_dict()

    def price(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame[column] * frame["staff_group"].map(lambda g: rate.get(g, trust_rate))

    in_post_cost = float(price(staff, "wte").sum())
    temporary = float(bank_spend_gbp + agency_spend_gbp)
    demand_cost = demand.projection.assign(cost=price(demand.projection, "demand_wte")) \
        .groupby(["scenario", "year"], sort=False)["cost"].sum()
    supply_cost = supply.projection.assign(cost=price(supply.projection, "supply_wte")) \
        .groupby("year")["cost"].sum()
    rows = []
    for (scenario, year), cost in demand_cost.items():
        year_budget = budget * (1 + a.budget_growth) ** year
        rows.append({
            "scenario": scenario, "year": int(year), "demand_cost_gbp": float(cost),
            "supply_cost_gbp": float(supply_cost.get(year, 0.0)),
            "pay_budget_gbp": year_budget, "headroom_gbp": year_budget - float(cost),
            "over_budget_pct": pct(float(cost) - year_budget, year_budget),
        })
    current = in_post_cost + temporary
    return Affordability(
        pay_budget_gbp=budget,
        budgeted_wte=budgeted_wte,
        staff_in_post_cost_gbp=in_post_cost,
        temporary_staffing_gbp=temporary,
        current_spend_gbp=current,
        current_over_budget_pct=pct(current - budget, budget),
        cost_per_wte=costs,
        projection=pd.DataFrame(rows),
        assumptions=a,
    )
