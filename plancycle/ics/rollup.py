"""The system tables: organisations' accepted returns rolled up by organisation, staff group
and place in one vectorised pandas pass.

Why one pass: an ICS rolls up tens of organisations of thousands of staff each. The returns
are concatenated once (each row tagged with its organisation and place) and every table is a
``groupby`` over the whole system, so the cost grows with rows, not with a Python loop over
organisations (``bench/rollup.py`` holds it to within 1.5× of a hand-written pipeline).

The definitions are the organisations' own (:mod:`plancycle.analysis`), applied per
organisation, so an organisation's row here equals the figure in its own plan:

- **WTE** is additive: summed across staff groups, organisations and places.
- **Headcount** is de-duplicated *within* an organisation (distinct ``person_id``) and is
  never added up across organisations: one person can work for two of them, so a sum is not
  a count of people. System, staff-group and place tables carry no headcount; the system
  summary says so (:data:`HEADCOUNT_NOTE`).
- **Vacancy rate** = vacancies ÷ establishment in each organisation's latest month.
- **Turnover** = leavers (annualised over the organisation's return period) ÷ staff in post
  headcount. Above organisation level the denominators are organisations' headcounts: a move
  between two member organisations is a leaver from one of them (organisation turnover).
- **Sickness** = FTE days lost ÷ FTE days available × 100 (days summed, never rates averaged;
  whole-organisation rows only for months without staff-group rows).
- **Bank and agency** WTE are monthly averages, spend annualised; agency share = agency
  spend ÷ pay budget.
- **Finance**: staff in post priced at each organisation's own budget per WTE by staff group
  (as its affordability analysis does); **activity** growth = planned ÷ baseline − 1
  excluding the waiting list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from plancycle.returns import codes

#: The return kinds the system tables are built from (plans use all nine).
ROLLED_KINDS: tuple[str, ...] = ("staff_in_post", "vacancies", "leavers", "sickness_absence",
                                 "bank_agency", "pay_budget", "activity_plan")
#: Columns each rolled-up kind contributes (anything else stays in the organisation's plan).
COLUMNS: dict[str, tuple[str, ...]] = {
    "staff_in_post": ("person_id", "staff_group", "wte"),
    "vacancies": ("month", "staff_group", "vacancy_wte", "establishment_wte"),
    "leavers": ("month", "staff_group", "leavers_headcount", "leavers_wte", "reason"),
    "sickness_absence": ("month", "staff_group", "fte_days_lost", "fte_days_available"),
    "bank_agency": ("month", "staff_group", "bank_wte", "agency_wte", "bank_spend_gbp",
                    "agency_spend_gbp"),
    "pay_budget": ("staff_group", "budgeted_wte", "pay_budget_gbp",
                   "average_cost_per_wte_gbp"),
    "activity_plan": ("month", "point_of_delivery", "planned_activity", "baseline_activity"),
}
#: Activity excluded from growth (as the organisations' demand model does).
EXCLUDED_ACTIVITY: tuple[str, ...] = ("Waiting list",)
MONTHLY_KINDS = ("vacancies", "leavers", "sickness_absence", "bank_agency")

HEADCOUNT_NOTE = (
    "Headcount is de-duplicated within each organisation and is not added up across "
    "organisations: one person can work for more than one organisation, so a sum of "
    "organisations' headcounts is not a count of people. WTE is additive and is the system "
    "measure; per-organisation headcount is in the organisation table.")
TURNOVER_NOTE = (
    "Turnover above organisation level divides all leavers by the organisations' staff in "
    "post: a move between two member organisations counts as a leaver (organisation "
    "turnover, not NHS turnover).")


@dataclass(frozen=True)
class Organisation:
    """A member organisation as the roll-up needs it."""

    org_code: str
    name: str
    type: str = "acute"
    place: str = "(no place)"


@dataclass(frozen=True)
class OrganisationReturns:
    """One organisation's accepted returns (typed frames, column contract of each kind)."""

    organisation: Organisation
    returns: Mapping[str, pd.DataFrame]
    cycle_id: str | None = None


@dataclass(frozen=True)
class SystemTables:
    """The roll-up: one row per organisation, per organisation × staff group, per staff group
    and per place, the finance and activity triangulation, and the system totals."""

    organisations: pd.DataFrame
    organisation_staff_group: pd.DataFrame
    staff_group: pd.DataFrame
    place: pd.DataFrame
    triangulation: pd.DataFrame
    system: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for CSV files, artifacts and comparisons)."""
        return {"organisations": self.organisations,
                "organisation_staff_group": self.organisation_staff_group,
                "staff_group": self.staff_group, "place": self.place,
                "triangulation": self.triangulation,
                "system": pd.DataFrame([self.system])}


# --- bringing the returns together -----------------------------------------------------------

def _fold(frame: pd.DataFrame) -> pd.DataFrame:
    if all(isinstance(c, str) and c == c.strip().lower() for c in frame.columns):
        return frame
    return frame.rename(columns=lambda c: str(c).strip().lower())


def _by_value(series: pd.Series, fix) -> pd.Series:  # type: ignore[no-untyped-def]
    """Apply ``fix`` to each distinct value only (a system has few distinct labels)."""
    uniques = pd.unique(series.to_numpy())
    mapping = {v: fix(v) for v in uniques if isinstance(v, str)}
    if all(k == v for k, v in mapping.items()):
        return series
    return series.map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)


def _label(value: str) -> str:
    """Published numeric prefixes ("002_Nurses …") and spaces off a staff group."""
    return codes.strip_published_prefix(value.strip())


def _staff_groups(series: pd.Series) -> pd.Categorical:
    """Staff groups as a categorical of normalised labels ("" for a whole-organisation row).

    Factorised once; the labels are cleaned on the categories, and categories that clean to
    the same label ("002_Nurses …" and "Nurses …") are merged.
    """
    raw = pd.Categorical(series)
    labels = [_label(c) if isinstance(c, str) else "" for c in raw.categories]
    merged = sorted(set(labels) | {""})
    position = {label: i for i, label in enumerate(merged)}
    remap = np.array([position[label] for label in labels] + [position[""]], dtype=np.int64)
    return pd.Categorical.from_codes(remap[raw.codes], categories=merged)  # code -1 → ""


def _month_text(value: str) -> str:
    """``YYYY-MM`` whether the return wrote 2025-04 or the published 30/04/2025."""
    text = value.strip()
    if len(text) >= 7 and text[4] == "-" and text[:4].isdigit():
        return text[:7]
    parsed = pd.to_datetime(text, dayfirst=True, errors="coerce")
    return text if pd.isna(parsed) else parsed.strftime("%Y-%m")


def _select(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The kind's rolled-up columns of one return (all of its columns when it has few more).

    Selecting copies the frame, which costs more than the concatenation when a return holds
    little else (a roll-up that read only these columns): :func:`combine` selects again
    after concatenating.
    """
    out = _fold(frame)
    if kind == "sickness_absence" and "month" not in out.columns and "date" in out.columns:
        out = out.rename(columns={"date": "month"})
    wanted = [c for c in COLUMNS[kind] if c in out.columns]
    if kind == "sickness_absence" and "staff_group" not in out.columns:
        out = out.assign(staff_group="")
        wanted.append("staff_group")
    if len(out.columns) <= len(wanted) + 1:  # e.g. only ``org_code`` besides
        return out
    return out[wanted]


def combine(members: Sequence[OrganisationReturns]) -> dict[str, pd.DataFrame]:
    """Each rolled-up kind as one frame for the whole system, every row tagged ``org_code``.

    The member's ORG_CODE is authoritative (a return's own ``org_code`` column, if any, is
    checked by :mod:`plancycle.ics.flags`, not trusted here). Labels are normalised once, on
    the system's distinct values, after the concatenation.
    """
    out: dict[str, pd.DataFrame] = {}
    codes_ = [m.organisation.org_code for m in members]
    for kind in ROLLED_KINDS:
        parts = []
        for member in members:
            frame = member.returns.get(kind)
            if frame is None:
                raise ValueError(f"{member.organisation.org_code} has no accepted {kind} "
                                 "return; the roll-up needs every organisation's returns")
            parts.append(_select(kind, frame))
        combined = pd.concat(parts, ignore_index=True)
        combined = combined[[c for c in COLUMNS[kind] if c in combined.columns]]
        # Categorical keys: every groupby below works on small integer codes, not strings.
        combined.insert(0, "org_code", pd.Categorical.from_codes(
            np.repeat(np.arange(len(codes_)), [len(p) for p in parts]), categories=codes_))
        if "staff_group" in combined.columns:
            combined["staff_group"] = _staff_groups(combined["staff_group"])
        if "month" in combined.columns:
            months = _by_value(combined["month"].astype(object), _month_text)
            # Ordered by text, which for YYYY-MM is the calendar: min/max work on the codes.
            combined["month"] = pd.Categorical(months, categories=sorted(months.dropna().unique()),
                                               ordered=True)
        out[kind] = combined
    return out


# --- the tables ------------------------------------------------------------------------------

def _rate(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den * 100).where(den > 0)


def _periods(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Months spanned by each organisation's monthly returns (as its own analysis counts)."""
    spans = [frames[k].groupby("org_code", sort=False)["month"].agg(["min", "max"])
             .astype(object) for k in MONTHLY_KINDS]
    first = pd.concat([s["min"] for s in spans], axis=1).min(axis=1).astype(str)
    last = pd.concat([s["max"] for s in spans], axis=1).max(axis=1).astype(str)
    period = ((last.str.slice(0, 4).astype(int) - first.str.slice(0, 4).astype(int)) * 12
              + last.str.slice(5, 7).astype(int) - first.str.slice(5, 7).astype(int) + 1)
    return pd.DataFrame({"months": period, "factor": 12 / period.clip(lower=1)})


def _sickness_rows(sickness: pd.DataFrame) -> pd.DataFrame:
    """Staff-group rows, and whole-organisation rows only for months that have no others."""
    blank = (sickness["staff_group"] == "").to_numpy()
    with_groups = sickness.loc[~blank, ["org_code", "month"]].drop_duplicates()
    key = pd.MultiIndex.from_frame(sickness[["org_code", "month"]])
    has_groups = key.isin(pd.MultiIndex.from_frame(with_groups))
    return sickness[~blank | ~has_groups]


def _cost_rates(pay: pd.DataFrame) -> pd.DataFrame:
    """Budget per WTE by organisation and staff group (the stated average where unbudgeted)."""
    table = pay.groupby(["org_code", "staff_group"], sort=False)[
        ["budgeted_wte", "pay_budget_gbp"]].sum()
    rate = (table["pay_budget_gbp"] / table["budgeted_wte"]).where(table["budgeted_wte"] > 0)
    if "average_cost_per_wte_gbp" in pay.columns:
        stated = pay.groupby(["org_code", "staff_group"], sort=False)[
            "average_cost_per_wte_gbp"].mean()
        rate = rate.fillna(stated)
    return rate.rename("cost_per_wte_gbp")


def organisation_staff_group(frames: Mapping[str, pd.DataFrame], periods: pd.DataFrame
                             ) -> pd.DataFrame:
    """Every measure per organisation and staff group (headcount within the organisation)."""
    keys = ["org_code", "staff_group"]
    staff = frames["staff_in_post"]
    people = staff.groupby(keys, sort=False).agg(wte=("wte", "sum"),
                                                 headcount=("person_id", "nunique"))
    vac = frames["vacancies"]
    latest = vac["month"] == vac.groupby("org_code", sort=False)["month"].transform("max")
    vacancies = vac[latest].groupby(keys, sort=False)[["vacancy_wte", "establishment_wte"]].sum()
    lv = frames["leavers"]
    lv = lv.assign(retirements=lv["leavers_headcount"].where(lv["reason"] == "Retirement", 0.0))
    leavers = lv.groupby(keys, sort=False)[["leavers_headcount", "leavers_wte",
                                            "retirements"]].sum()
    sick = _sickness_rows(frames["sickness_absence"])
    sickness = sick[sick["staff_group"] != ""].groupby(keys, sort=False)[
        ["fte_days_lost", "fte_days_available"]].sum()
    temporary = frames["bank_agency"].groupby(keys, sort=False)[
        ["bank_wte", "agency_wte", "bank_spend_gbp", "agency_spend_gbp"]].sum()
    pay = frames["pay_budget"]
    budget = pay.groupby(keys, sort=False)[["budgeted_wte", "pay_budget_gbp"]].sum()
    table = pd.concat([people, vacancies, leavers, sickness, temporary, budget], axis=1)
    table = table.fillna(0.0)
    table["headcount"] = table["headcount"].astype(int)
    table = table.reset_index()
    table[keys] = table[keys].astype("str")  # plain labels in the published tables
    factor = table["org_code"].map(periods["factor"]).fillna(1.0)
    months = table["org_code"].map(periods["months"]).fillna(12).clip(lower=1)
    for column in ("leavers_headcount", "leavers_wte", "retirements", "bank_spend_gbp",
                   "agency_spend_gbp"):
        table[column] = table[column] * factor
    for column in ("bank_wte", "agency_wte"):
        table[column] = table[column] / months
    rate = _cost_rates(pay)
    rates = pd.Series(rate.to_numpy(), index=pd.MultiIndex.from_tuples(rate.index))
    org_rate = budget.groupby(level=0)["pay_budget_gbp"].sum() / \
        budget.groupby(level=0)["budgeted_wte"].sum()
    looked_up = rates.reindex(pd.MultiIndex.from_frame(table[keys])).to_numpy()
    fallback = table["org_code"].map(org_rate).to_numpy()
    table["staff_in_post_cost_gbp"] = table["wte"] * np.where(np.isnan(looked_up), fallback,
                                                              looked_up)
    return _with_rates(table)


def _with_rates(table: pd.DataFrame) -> pd.DataFrame:
    table["vacancy_rate_pct"] = _rate(table["vacancy_wte"], table["establishment_wte"])
    if "headcount" in table.columns:
        table["turnover_pct"] = _rate(table["leavers_headcount"], table["headcount"])
    table["sickness_pct"] = _rate(table["fte_days_lost"], table["fte_days_available"])
    table["agency_share_pct"] = _rate(table["agency_spend_gbp"], table["pay_budget_gbp"])
    return table


ADDITIVE = ["wte", "establishment_wte", "vacancy_wte", "leavers_headcount", "leavers_wte",
            "retirements", "fte_days_lost", "fte_days_available", "bank_wte", "agency_wte",
            "bank_spend_gbp", "agency_spend_gbp", "budgeted_wte", "pay_budget_gbp",
            "staff_in_post_cost_gbp"]


def _order_groups(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    rank = {g: i for i, g in enumerate(codes.STAFF_GROUPS)}
    keyed = frame.assign(_r=frame["staff_group"].map(rank).fillna(len(rank)))
    return keyed.sort_values([*by, "_r", "staff_group"], kind="stable") \
        .drop(columns="_r").reset_index(drop=True)


def roll_up(members: Sequence[OrganisationReturns]) -> SystemTables:
    """The system tables from the members' accepted returns (see the module docstring)."""
    if not members:
        raise ValueError("no organisations to roll up")
    codes_seen = [m.organisation.org_code for m in members]
    if len(set(codes_seen)) != len(codes_seen):
        raise ValueError(f"an organisation appears twice in the roll-up: {codes_seen}")
    frames = combine(members)
    periods = _periods(frames)
    info = pd.DataFrame([vars(m.organisation) for m in members]).set_index("org_code")
    order = {code: i for i, code in enumerate(codes_seen)}

    by_org_group = organisation_staff_group(frames, periods)
    by_org_group = by_org_group.assign(_o=by_org_group["org_code"].map(order))
    by_org_group = _order_groups(by_org_group, ["_o"]).drop(columns="_o")

    # Organisation rows: additive measures summed over groups; headcount distinct per org.
    orgs = by_org_group.groupby("org_code", sort=False)[ADDITIVE].sum()
    staff = frames["staff_in_post"]
    orgs["headcount"] = staff.groupby("org_code", sort=False)["person_id"].nunique()
    orgs["assignments"] = staff.groupby("org_code", sort=False).size()
    # Sickness at organisation level includes whole-organisation rows (months without groups).
    sick = _sickness_rows(frames["sickness_absence"]).groupby("org_code", sort=False)[
        ["fte_days_lost", "fte_days_available"]].sum()
    orgs[["fte_days_lost", "fte_days_available"]] = sick.reindex(orgs.index).fillna(0.0)
    vac = frames["vacancies"]
    orgs["vacancy_month"] = vac.groupby("org_code", sort=False)["month"].max().astype("str")
    orgs["months"] = periods["months"]
    activity = frames["activity_plan"]
    flows = activity[~activity["point_of_delivery"].isin(EXCLUDED_ACTIVITY)]
    orgs[["baseline_activity", "planned_activity"]] = flows.groupby(
        "org_code", sort=False)[["baseline_activity", "planned_activity"]].sum()
    orgs = orgs.reindex(codes_seen).fillna({"headcount": 0, "assignments": 0})
    orgs = info.join(orgs, how="left").reset_index()
    orgs[["headcount", "assignments"]] = orgs[["headcount", "assignments"]].astype(int)
    orgs = _finance(_with_rates(orgs))

    groups = by_org_group.groupby("staff_group", sort=False)[[*ADDITIVE, "headcount"]].sum()
    groups = _with_rates(groups.reset_index())
    groups = _order_groups(groups.drop(columns="headcount"), [])

    places = orgs.groupby("place", sort=False).agg(
        organisations=("org_code", "size"), **{c: (c, "sum") for c in
                                               [*ADDITIVE, "headcount", "baseline_activity",
                                                "planned_activity"]})
    places = _finance(_with_rates(places.reset_index())).drop(columns="headcount")

    system = _system_row(orgs)
    triangulation = pd.concat([orgs[TRIANGULATION], pd.DataFrame([{
        **{c: system.get(c) for c in TRIANGULATION}, "org_code": "System",
        "name": f"All {len(orgs)} organisations"}])], ignore_index=True)
    return SystemTables(
        organisations=orgs,
        organisation_staff_group=by_org_group,
        staff_group=groups,
        place=places,
        triangulation=triangulation,
        system=system,
        notes=[HEADCOUNT_NOTE, TURNOVER_NOTE],
    )


TRIANGULATION = ["org_code", "name", "pay_budget_gbp", "budgeted_wte", "establishment_wte",
                 "budget_vs_establishment_wte", "wte", "staff_in_post_cost_gbp",
                 "temporary_staffing_gbp", "current_spend_gbp", "over_budget_pct",
                 "agency_share_pct", "baseline_activity", "planned_activity",
                 "activity_growth_pct"]


def _finance(table: pd.DataFrame) -> pd.DataFrame:
    """Pay budget against establishment and spend, and activity growth (triangulation)."""
    table["budget_vs_establishment_wte"] = table["budgeted_wte"] - table["establishment_wte"]
    table["temporary_staffing_gbp"] = table["bank_spend_gbp"] + table["agency_spend_gbp"]
    table["current_spend_gbp"] = table["staff_in_post_cost_gbp"] + table["temporary_staffing_gbp"]
    table["over_budget_pct"] = _rate(table["current_spend_gbp"] - table["pay_budget_gbp"],
                                     table["pay_budget_gbp"])
    table["activity_growth_pct"] = ((table["planned_activity"] / table["baseline_activity"] - 1)
                                    * 100).where(table["baseline_activity"] > 0)
    return table


def _system_row(orgs: pd.DataFrame) -> dict[str, Any]:
    """The system totals: additive sums and rates recomputed from them; no headcount."""
    total = orgs[[*ADDITIVE, "baseline_activity", "planned_activity"]].sum()
    row = _finance(_with_rates(pd.DataFrame([total.to_dict()]).assign(
        headcount=float(orgs["headcount"].sum())))).iloc[0].to_dict()
    row.pop("headcount", None)
    row.update({"organisations": len(orgs), "places": int(orgs["place"].nunique()),
                "headcount": None, "headcount_note": HEADCOUNT_NOTE})
    return {k: (float(v) if isinstance(v, np.floating | np.integer) else v)
            for k, v in row.items()}
