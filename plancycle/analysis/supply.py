"""Appendix I stage 3 — five-year supply projection (stock and flow by staff group).

Why: the plan must show where the staff of the future will come from (1.7.2). Each staff
group's WTE is held by five-year age band and rolled forward a year at a time:

    closing = opening − retirements − other leavers (both by age band, from this year's
              leavers return) , aged one year (a fifth of each band moves up a band)
              + recruits + returners + training completers (education_training return)

Leaving rates come from the leavers return per group × age band, so retirements follow the
55+/60+ profile; thin cells are pulled towards the group's (other leavers) or the trust's age
band (retirements) rate so that one leaver in a small cell does not set a rate of 100%.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plancycle.analysis.frames import annual_factor, ordered
from plancycle.returns import codes

BANDS = codes.AGE_BANDS
#: Age profile of new recruits, returners and newly qualified staff joining from training.
RECRUIT_AGE = {"20-24": 0.25, "25-29": 0.30, "30-34": 0.18, "35-39": 0.12, "40-44": 0.08,
               "45-49": 0.05, "50-54": 0.02}
RETURNER_AGE = {"35-39": 0.20, "40-44": 0.25, "45-49": 0.25, "50-54": 0.20, "55-59": 0.10}
COMPLETER_AGE = {"20-24": 0.60, "25-29": 0.30, "30-34": 0.10}


@dataclass(frozen=True)
class SupplyAssumptions:
    """Supply parameters; annual rates are fractions (0.08 = 8% a year)."""

    years: int = 5
    #: External recruitment each year as a share of the group's opening WTE.
    recruitment_rate: float = 0.08
    #: Per-group overrides of ``recruitment_rate``, e.g. {"HCHS doctors": 0.10}.
    recruitment_rate_by_group: Mapping[str, float] = field(default_factory=dict)
    #: Returners (return to practice, retire and return) as a share of opening WTE.
    returners_rate: float = 0.005
    #: Share of a programme's expected completers who take a post with this organisation.
    completer_join_rate: float = 0.85
    #: Average WTE of a joiner (recruit, returner or newly qualified).
    wte_per_joiner: float = 0.9
    #: Pseudo-WTE pulling a thin group × age cell's leaving rate towards its wider rate.
    shrinkage_wte: float = 10.0


@dataclass(frozen=True)
class Supply:
    """Projected WTE per staff group and plan year (year 0 = today's staff in post)."""

    projection: pd.DataFrame
    leaving_rates: pd.DataFrame
    assumptions: SupplyAssumptions

    def totals(self) -> pd.DataFrame:
        """Trust-wide flows per year."""
        numeric = [c for c in self.projection.columns if c not in ("staff_group", "year")]
        return self.projection.groupby("year", sort=True)[numeric].sum().reset_index()


def _profile(weights: Mapping[str, float]) -> np.ndarray:
    vector = np.array([weights.get(b, 0.0) for b in BANDS], dtype=float)
    return vector / vector.sum()


def leaving_rates(
    staff: pd.DataFrame, leavers: pd.DataFrame, shrinkage_wte: float = 10.0,
    period_months: int = 12,
) -> pd.DataFrame:
    """Annual retirement and other-leaver rates (fractions of WTE) by staff group × age band."""
    factor = annual_factor(period_months)
    wte = staff.groupby(["staff_group", "age_band"])["wte"].sum()
    retiring = leavers["reason"] == "Retirement"
    ret = leavers[retiring].groupby(["staff_group", "age_band"])["leavers_wte"].sum() * factor
    oth = leavers[~retiring].groupby(["staff_group", "age_band"])["leavers_wte"].sum() * factor
    groups = sorted(set(staff["staff_group"]) | set(leavers["staff_group"]))
    index = pd.MultiIndex.from_product([groups, BANDS], names=["staff_group", "age_band"])
    table = pd.DataFrame({
        "wte": wte.reindex(index, fill_value=0.0),
        "retirement_wte": ret.reindex(index, fill_value=0.0),
        "other_leaver_wte": oth.reindex(index, fill_value=0.0),
    }).reset_index()
    group_wte = table.groupby("staff_group")["wte"].transform("sum")
    group_other = table.groupby("staff_group")["other_leaver_wte"].transform("sum")
    group_rate = (group_other / group_wte).where(group_wte > 0, 0.0)
    band_wte = table.groupby("age_band")["wte"].transform("sum")
    band_ret = table.groupby("age_band")["retirement_wte"].transform("sum")
    band_rate = (band_ret / band_wte).where(band_wte > 0, 0.0)
    k = shrinkage_wte
    table["other_rate"] = ((table["other_leaver_wte"] + k * group_rate)
                           / (table["wte"] + k)).clip(0, 1)
    table["retirement_rate"] = ((table["retirement_wte"] + k * band_rate)
                                / (table["wte"] + k)).clip(0, 1)
    total = table["other_rate"] + table["retirement_rate"]
    over = total > 1
    table.loc[over, "other_rate"] = table.loc[over, "other_rate"] / total[over]
    table.loc[over, "retirement_rate"] = table.loc[over, "retirement_rate"] / total[over]
    return table


def project_supply(
    staff: pd.DataFrame,
    leavers: pd.DataFrame,
    education: pd.DataFrame,
    assumptions: SupplyAssumptions | None = None,
    period_months: int = 12,
) -> Supply:
    """Roll every staff group forward ``assumptions.years`` years."""
    a = assumptions or SupplyAssumptions()
    rates = leaving_rates(staff, leavers, a.shrinkage_wte, period_months)
    completers = education.groupby(["staff_group", "completion_year"])[
        "expected_completers"].sum()
    groups = sorted(set(rates["staff_group"]) | set(education["staff_group"]))
    recruit_age, returner_age, completer_age = (
        _profile(RECRUIT_AGE), _profile(RETURNER_AGE), _profile(COMPLETER_AGE))
    stock_by_band = staff.groupby(["staff_group", "age_band"])["wte"].sum()
    rows = []
    for group in groups:
        stock = np.array([stock_by_band.get((group, b), 0.0) for b in BANDS], dtype=float)
        cell = rates[rates["staff_group"] == group].set_index("age_band").reindex(BANDS)
        ret_rate = cell["retirement_rate"].fillna(0.0).to_numpy()
        oth_rate = cell["other_rate"].fillna(0.0).to_numpy()
        recruit_rate = a.recruitment_rate_by_group.get(group, a.recruitment_rate)
        rows.append(_row(group, 0, stock.sum(), 0, 0, 0, 0, 0, stock.sum()))
        for year in range(1, a.years + 1):
            opening = stock.sum()
            retirements, others = stock * ret_rate, stock * oth_rate
            survivors = stock - retirements - others
            aged = survivors * 0.8
            aged[1:] += survivors[:-1] * 0.2
            aged[-1] += survivors[-1] * 0.2
            recruits = recruit_rate * opening
            returners = a.returners_rate * opening
            trained = (float(completers.get((group, year), 0.0)) * a.completer_join_rate
                       * a.wte_per_joiner)
            stock = (aged + recruits * recruit_age + returners * returner_age
                     + trained * completer_age)
            rows.append(_row(group, year, opening, retirements.sum(), others.sum(), recruits,
                             returners, trained, stock.sum()))
    projection = pd.DataFrame(rows)
    projection = ordered(projection, "staff_group", codes.STAFF_GROUPS)
    return Supply(projection=projection, leaving_rates=rates, assumptions=a)


def _row(group: str, year: int, opening: float, retirements: float, others: float,
         recruits: float, returners: float, completers: float, closing: float) -> dict:
    return {"staff_group": group, "year": year, "opening_wte": float(opening),
            "retirements_wte": float(retirements), "other_leavers_wte": float(others),
            "recruits_wte": float(recruits), "returners_wte": float(returners),
            "completers_wte": float(completers), "supply_wte": float(closing)}
