"""Annex D — five-year workforce demand under three scenarios.

Why: demand is what the services will need, triangulated with activity (DOMAIN: ICS plans
are "triangulated with finance and activity"). Every scenario starts from today's funded
establishment (staff in post + vacancies, latest month of the vacancies return) and adds the
service leads' intended changes (service_changes return, from their start year on):

* ``baseline``     – no activity growth: establishment + service changes;
* ``growth``       – establishment grows with the activity plan: each staff group's growth is
                     the WTE-weighted growth of the services it works in, scaled by an
                     elasticity for its skill mix, compounded each year;
* ``productivity`` – the growth scenario less an annual labour-productivity gain (the NHS
                     Long Term Workforce Plan's "Reform" assumption).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from plancycle.analysis.frames import ordered
from plancycle.returns import codes

SCENARIOS: tuple[str, ...] = ("baseline", "growth", "productivity")


def _default_elasticity() -> dict[str, float]:
    return {"registered": 1.0, "unregistered": 0.9, "support": 0.4, "unknown": 0.5}


@dataclass(frozen=True)
class DemandAssumptions:
    """Demand parameters; growth and productivity are annual fractions (0.02 = 2%)."""

    years: int = 5
    #: Share of activity growth that turns into WTE growth, by skill mix.
    activity_elasticity: Mapping[str, float] = field(default_factory=_default_elasticity)
    #: Activity growth in years 2–5; None repeats the activity plan's year-1 growth.
    later_year_growth: float | None = None
    #: Annual labour-productivity gain in the productivity scenario.
    productivity_gain: float = 0.015
    #: Points of delivery left out of the growth index (a waiting list is a stock, not a flow).
    excluded_points_of_delivery: tuple[str, ...] = ("Waiting list",)
    #: Add the service leads' intended WTE changes to every scenario.
    include_service_changes: bool = True


@dataclass(frozen=True)
class Demand:
    """Required WTE per scenario, staff group and plan year (year 0 = today's establishment)."""

    projection: pd.DataFrame
    establishment: pd.DataFrame
    activity_growth: pd.DataFrame
    group_growth: pd.DataFrame
    assumptions: DemandAssumptions

    def totals(self) -> pd.DataFrame:
        return self.projection.groupby(["scenario", "year"], sort=False)["demand_wte"] \
            .sum().reset_index()


def activity_growth(activity: pd.DataFrame, excluded: tuple[str, ...]) -> pd.DataFrame:
    """Planned ÷ baseline activity − 1 per service, plus a trust-wide row ``(all services)``."""
    flows = activity[~activity["point_of_delivery"].isin(excluded)]
    table = flows.groupby("service", sort=True)[["baseline_activity", "planned_activity"]] \
        .sum().reset_index()
    total = pd.DataFrame({"service": ["(all services)"],
                          "baseline_activity": [flows["baseline_activity"].sum()],
                          "planned_activity": [flows["planned_activity"].sum()]})
    table = pd.concat([table, total], ignore_index=True)
    table["growth_pct"] = ((table["planned_activity"] / table["baseline_activity"] - 1) * 100) \
        .where(table["baseline_activity"] > 0, 0.0)
    return table


def project_demand(
    staff: pd.DataFrame,
    vacancies: pd.DataFrame,
    activity: pd.DataFrame,
    service_changes: pd.DataFrame,
    assumptions: DemandAssumptions | None = None,
) -> Demand:
    """Demand WTE for every scenario, staff group and year."""
    a = assumptions or DemandAssumptions()
    latest = vacancies[vacancies["month"] == vacancies["month"].max()]
    establishment = latest.groupby("staff_group")["establishment_wte"].sum()
    in_post = staff.groupby("staff_group")["wte"].sum()
    groups = sorted(set(establishment.index) | set(in_post.index)
                    | set(service_changes["staff_group"]))
    base = pd.Series({g: float(establishment.get(g, in_post.get(g, 0.0))) for g in groups})
    growth = activity_growth(activity, a.excluded_points_of_delivery)
    service_growth = growth.set_index("service")["growth_pct"] / 100
    trust_growth = float(service_growth.get("(all services)", 0.0))
    weights = staff.groupby(["staff_group", "service"])["wte"].sum()
    group_rows = []
    for group in groups:
        w = weights.get(group)
        if w is None or w.sum() == 0:
            raw = trust_growth
        else:
            g = w.index.map(lambda s: float(service_growth.get(s, trust_growth)))
            raw = float((w.to_numpy() * g.to_numpy()).sum() / w.sum())
        mix = codes.SKILL_MIX.get(group, "unknown")
        elasticity = float(a.activity_elasticity.get(mix, 0.5))
        group_rows.append({"staff_group": group, "skill_mix": mix,
                           "activity_growth_pct": raw * 100, "elasticity": elasticity,
                           "wte_growth_pct": raw * elasticity * 100})
    group_growth = ordered(pd.DataFrame(group_rows), "staff_group", codes.STAFF_GROUPS)
    changes = service_changes.groupby(["staff_group", "start_year"])["wte_change"].sum()
    rows = []
    for scenario in SCENARIOS:
        for record in group_growth.itertuples(index=False):
            first = record.wte_growth_pct / 100
            later = (first if a.later_year_growth is None
                     else a.later_year_growth * record.elasticity)
            factor = 1.0
            for year in range(0, a.years + 1):
                if year >= 1 and scenario != "baseline":
                    factor *= 1 + (first if year == 1 else later)
                    if scenario == "productivity":
                        factor /= 1 + a.productivity_gain
                change = 0.0
                if a.include_service_changes and year >= 1:
                    change = float(sum(changes.get((record.staff_group, y), 0.0)
                                       for y in range(1, year + 1)))
                establishment_wte = float(base[record.staff_group])
                rows.append({"scenario": scenario, "staff_group": record.staff_group,
                             "year": year, "establishment_wte": establishment_wte,
                             "activity_factor": factor, "service_change_wte": change,
                             "demand_wte": establishment_wte * factor + change})
    establishment_table = ordered(
        pd.DataFrame({"staff_group": base.index, "establishment_wte": base.to_numpy()}),
        "staff_group", codes.STAFF_GROUPS)
    return Demand(projection=pd.DataFrame(rows), establishment=establishment_table,
                  activity_growth=growth, group_growth=group_growth, assumptions=a)
