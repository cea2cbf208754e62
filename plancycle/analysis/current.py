"""Annex B (B.1, B.2) — the current workforce from the staff-in-post extract.

Why: the plan's starting point is who is employed now. Headcount counts distinct people
(``person_id``) at each level and is never summed across levels, because one person can hold
several assignments; WTE is additive and summed. Part-time status, age, gender and ethnicity
belong to the person, so profiles are computed on one row per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from plancycle.analysis.frames import ordered, pct
from plancycle.returns import codes

SKILL_MIX_ORDER = ("registered", "unregistered", "support")
RETIREMENT_55 = ("55-59", "60-64", "65+")
RETIREMENT_60 = ("60-64", "65+")


@dataclass(frozen=True)
class CurrentWorkforce:
    """Annex B staffing details; every ``*_pct`` is a percentage 0–100."""

    headcount: int
    wte: float
    assignments: int
    by_staff_group: pd.DataFrame
    by_grade: pd.DataFrame
    by_service: pd.DataFrame
    by_location: pd.DataFrame
    skill_mix: pd.DataFrame
    part_time_pct: float
    part_time_by: dict[str, pd.DataFrame]
    age_profile: pd.DataFrame
    retirement_risk: pd.DataFrame
    aged_55_plus_pct: float
    aged_60_plus_pct: float
    under_25_pct: float
    gender_profile: pd.DataFrame
    ethnic_profile: pd.DataFrame
    bme_pct: float
    ethnicity_not_stated_pct: float
    notes: list[str] = field(default_factory=list)


def people(staff: pd.DataFrame) -> pd.DataFrame:
    """One row per person: their first assignment's attributes and their total WTE."""
    first = staff.drop_duplicates("person_id", keep="first").set_index("person_id")
    total = staff.groupby("person_id", sort=False)["wte"].sum()
    cols = ["gender", "age_band", "ethnic_code", "staff_group"]
    out = first[cols].join(total.rename("total_wte"))
    out["part_time"] = out["total_wte"] < 1.0
    return out.reset_index()


def headcount_wte(staff: pd.DataFrame, by: str) -> pd.DataFrame:
    """Distinct people and summed WTE per value of ``by`` (headcount not additive across rows)."""
    table = staff.groupby(by, sort=True).agg(
        headcount=("person_id", "nunique"), wte=("wte", "sum")).reset_index()
    table["wte_pct"] = table["wte"] / table["wte"].sum() * 100 if len(table) else []
    return table


def analyse_current(staff: pd.DataFrame) -> CurrentWorkforce:
    """All Annex B staffing tables from a prepared staff-in-post frame."""
    persons = people(staff)
    headcount = int(persons["person_id"].nunique())
    by_group = ordered(headcount_wte(staff, "staff_group"), "staff_group", codes.STAFF_GROUPS)
    by_group.insert(1, "skill_mix", by_group["staff_group"].map(codes.SKILL_MIX).fillna("unknown"))
    staff_mix = staff.assign(skill_mix=staff["staff_group"].map(codes.SKILL_MIX).fillna("unknown"))
    skill = ordered(headcount_wte(staff_mix, "skill_mix"), "skill_mix", SKILL_MIX_ORDER)
    notes = []
    unknown = sorted(set(staff["staff_group"]) - set(codes.STAFF_GROUPS))
    if unknown:
        notes.append(f"Staff groups outside the NHS code list: {', '.join(map(str, unknown))}")
    return CurrentWorkforce(
        headcount=headcount,
        wte=float(staff["wte"].sum()),
        assignments=len(staff),
        by_staff_group=by_group,
        by_grade=ordered(headcount_wte(staff, "grade"), "grade", codes.GRADES),
        by_service=headcount_wte(staff, "service"),
        by_location=headcount_wte(staff, "location"),
        skill_mix=skill,
        part_time_pct=pct(persons["part_time"].sum(), headcount),
        part_time_by={
            "gender": _part_time(persons, "gender", codes.GENDERS),
            "age_band": _part_time(persons, "age_band", codes.AGE_BANDS),
            "ethnic_code": _part_time(persons, "ethnic_code", tuple(codes.ETHNIC_CATEGORIES)),
        },
        age_profile=_age_profile(persons),
        retirement_risk=_retirement_risk(staff),
        aged_55_plus_pct=pct(persons["age_band"].isin(RETIREMENT_55).sum(), headcount),
        aged_60_plus_pct=pct(persons["age_band"].isin(RETIREMENT_60).sum(), headcount),
        under_25_pct=pct(persons["age_band"].isin(("<20", "20-24")).sum(), headcount),
        gender_profile=_profile(persons, "gender", codes.GENDERS),
        ethnic_profile=_ethnic_profile(persons),
        bme_pct=pct(persons["ethnic_code"].isin(codes.BME_CODES).sum(), headcount),
        ethnicity_not_stated_pct=pct((persons["ethnic_code"] == "Z").sum(), headcount),
        notes=notes,
    )


def _part_time(persons: pd.DataFrame, by: str, order: tuple[str, ...]) -> pd.DataFrame:
    """People, part-time people and part-time share per value of ``by``."""
    table = persons.groupby(by, sort=True).agg(
        headcount=("person_id", "size"), part_time=("part_time", "sum")).reset_index()
    table["part_time"] = table["part_time"].astype(int)
    table["part_time_pct"] = table["part_time"] / table["headcount"] * 100
    return ordered(table, by, order)


def _profile(persons: pd.DataFrame, by: str, order: tuple[str, ...]) -> pd.DataFrame:
    table = persons.groupby(by, sort=True).size().rename("headcount").reset_index()
    table["pct"] = table["headcount"] / len(persons) * 100
    return ordered(table, by, order)


def _age_profile(persons: pd.DataFrame) -> pd.DataFrame:
    """Headcount by age band and gender (the age pyramid) with each band's share."""
    pivot = persons.pivot_table(index="age_band", columns="gender", values="person_id",
                                aggfunc="count", fill_value=0)
    for gender in codes.GENDERS:
        if gender not in pivot.columns:
            pivot[gender] = 0
    table = pivot[list(codes.GENDERS)].reset_index()
    table.columns.name = None
    table["headcount"] = table[list(codes.GENDERS)].sum(axis=1)
    table["pct"] = table["headcount"] / len(persons) * 100
    full = pd.DataFrame({"age_band": list(codes.AGE_BANDS)})
    table = full.merge(table, on="age_band", how="outer").fillna(0)
    for column in (*codes.GENDERS, "headcount"):
        table[column] = table[column].astype(int)
    return ordered(table, "age_band", codes.AGE_BANDS)


def _retirement_risk(staff: pd.DataFrame) -> pd.DataFrame:
    """People aged 55+ and 60+ per staff group (distinct people in each group) and WTE 55+."""
    rows = staff.drop_duplicates(["person_id", "staff_group"])
    table = rows.groupby("staff_group", sort=True).agg(
        headcount=("person_id", "size"),
        aged_55_plus=("age_band", lambda a: int(a.isin(RETIREMENT_55).sum())),
        aged_60_plus=("age_band", lambda a: int(a.isin(RETIREMENT_60).sum())),
    ).reset_index()
    wte55 = staff[staff["age_band"].isin(RETIREMENT_55)].groupby("staff_group")["wte"].sum()
    table["wte_55_plus"] = table["staff_group"].map(wte55).fillna(0.0)
    table["pct_55_plus"] = table["aged_55_plus"] / table["headcount"] * 100
    table["pct_60_plus"] = table["aged_60_plus"] / table["headcount"] * 100
    return ordered(table, "staff_group", codes.STAFF_GROUPS)


def _ethnic_profile(persons: pd.DataFrame) -> pd.DataFrame:
    table = _profile(persons, "ethnic_code", tuple(codes.ETHNIC_CATEGORIES))
    table.insert(1, "label", table["ethnic_code"].map(codes.ETHNIC_CATEGORIES))
    table["bme"] = table["ethnic_code"].isin(codes.BME_CODES)
    return table
