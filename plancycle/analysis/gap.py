"""Annex D — the gap between projected supply and demand, by staff group and year.

Why: the gap is what the action plan must close. gap = supply − demand in WTE, so a negative
gap is a shortfall; ``shortfall_pct`` is the shortfall as a share of demand (0 when supply
covers demand). Year 0 is today's vacancy position (staff in post − establishment).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.demand import Demand
from plancycle.analysis.supply import Supply


@dataclass(frozen=True)
class Gap:
    """Supply, demand and gap per scenario, staff group and year, and trust totals."""

    by_group: pd.DataFrame
    totals: pd.DataFrame

    def final_year(self, scenario: str) -> pd.DataFrame:
        """Staff groups in the plan's last year for one scenario, largest shortfall first."""
        last = int(self.by_group["year"].max())
        rows = self.by_group[(self.by_group["scenario"] == scenario)
                             & (self.by_group["year"] == last)]
        return rows.sort_values("gap_wte", kind="stable").reset_index(drop=True)


def _shortfall_pct(frame: pd.DataFrame) -> pd.Series:
    short = (-frame["gap_wte"]).clip(lower=0)
    return (short / frame["demand_wte"] * 100).where(frame["demand_wte"] > 0, 0.0)


def analyse_gap(supply: Supply, demand: Demand) -> Gap:
    """Join supply to every demand scenario and compute the gap."""
    supply_wte = supply.projection[["staff_group", "year", "supply_wte"]]
    table = demand.projection[["scenario", "staff_group", "year", "demand_wte"]].merge(
        supply_wte, on=["staff_group", "year"], how="outer")
    missing = table["scenario"].isna()
    if missing.any():  # a group with supply but no demand row: demand is zero in every scenario
        extra = [table[missing].assign(scenario=s) for s in demand.projection["scenario"].unique()]
        table = pd.concat([table[~missing], *extra], ignore_index=True)
    table[["demand_wte", "supply_wte"]] = table[["demand_wte", "supply_wte"]].fillna(0.0)
    table["gap_wte"] = table["supply_wte"] - table["demand_wte"]
    table["shortfall_pct"] = _shortfall_pct(table)
    scenario_order = {s: i for i, s in enumerate(demand.projection["scenario"].unique())}
    group_order = {g: i for i, g in enumerate(supply.projection["staff_group"].unique())}
    table = table.assign(
        _s=table["scenario"].map(scenario_order),
        _g=table["staff_group"].map(group_order).fillna(len(group_order)),
    ).sort_values(["_s", "_g", "staff_group", "year"], kind="stable").drop(columns=["_s", "_g"])
    table = table[["scenario", "staff_group", "year", "supply_wte", "demand_wte", "gap_wte",
                   "shortfall_pct"]].reset_index(drop=True)
    totals = table.groupby(["scenario", "year"], sort=False)[
        ["supply_wte", "demand_wte", "gap_wte"]].sum().reset_index()
    totals["shortfall_pct"] = _shortfall_pct(totals)
    return Gap(by_group=table, totals=totals)
