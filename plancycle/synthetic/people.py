"""The trust's people and its staff-in-post extract (one row per assignment at 31 March)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plancycle.returns import codes
from plancycle.synthetic.shape import (
    AGE_MIX,
    DOCTORS,
    ETHNIC_MIX,
    ETHNIC_MIX_DOCTORS,
    FEMALE_SHARE,
    GRADE_MIX,
    GROUP_MIX,
    JOB_ROLES,
    MEDICAL_AGES,
    SERVICE_MIX,
    SERVICES,
)

# --- people and staff in post ---------------------------------------------------------------


def _draw(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    """n labels drawn from a probability table (normalised, so rounding in tables is harmless)."""
    labels = np.array(list(mix), dtype=object)
    p = np.fromiter(mix.values(), dtype=float)
    return labels[rng.choice(len(labels), size=n, p=p / p.sum())]


def make_people(rng: np.random.Generator, size: int) -> pd.DataFrame:
    """One row per person: staff group, grade, age, gender, ethnicity, WTE, service, location."""
    groups = _draw(rng, GROUP_MIX, size)
    grade = np.empty(size, dtype=object)
    age = np.empty(size, dtype=np.int64)
    band_index = np.arange(len(codes.AGE_BANDS))
    band_low = np.array([16, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65])
    band_high = np.array([19, 24, 29, 34, 39, 44, 49, 54, 59, 64, 68])
    age_p = np.fromiter(AGE_MIX.values(), dtype=float)
    for group in GROUP_MIX:
        idx = np.flatnonzero(groups == group)
        grade[idx] = _draw(rng, GRADE_MIX[group], idx.size)
        if group == DOCTORS:
            for g, (lo, hi) in MEDICAL_AGES.items():
                sel = idx[grade[idx] == g]
                age[sel] = rng.integers(lo, hi + 1, size=sel.size)
        else:
            bands = rng.choice(band_index, size=idx.size, p=age_p / age_p.sum())
            age[idx] = rng.integers(band_low[bands], band_high[bands] + 1)
    female_p = np.vectorize(FEMALE_SHARE.get, otypes=[float])(groups)
    female = rng.random(size) < female_p
    ethnic = _draw(rng, ETHNIC_MIX, size)
    doctors = groups == DOCTORS
    ethnic[doctors] = _draw(rng, ETHNIC_MIX_DOCTORS, int(doctors.sum()))
    # Part-time: far more common among women and staff over 55, rare among doctors in training.
    pt_p = np.where(female, 0.36, 0.11) + np.where(age >= 55, 0.14, 0.0)
    pt_p -= np.where(age < 30, 0.12, 0.0)
    pt_p = np.where(doctors, pt_p * 0.5, pt_p)
    part_time = rng.random(size) < np.clip(pt_p, 0.02, 0.9)
    pt_wte = rng.choice(
        np.array([0.4, 0.5, 0.6, 0.64, 0.75, 0.8, 0.9]), size=size,
        p=[0.08, 0.18, 0.20, 0.10, 0.20, 0.16, 0.08],
    )
    wte = np.where(part_time, pt_wte, 1.0)
    service = np.empty(size, dtype=object)
    for group in GROUP_MIX:
        idx = np.flatnonzero(groups == group)
        service[idx] = _draw(rng, SERVICE_MIX[group], idx.size)
    location = np.empty(size, dtype=object)
    for name, (_, locations) in SERVICES.items():
        idx = np.flatnonzero(service == name)
        location[idx] = _draw(rng, locations, idx.size)
    return pd.DataFrame({
        "staff_group": groups, "grade": grade, "age": age,
        "age_band": np.asarray(codes.AGE_BANDS, dtype=object)[age_band_index(age)],
        "gender": np.where(female, "Female", "Male").astype(object),
        "ethnic_category": ethnic, "wte": wte, "service": service, "location": location,
    })


def age_band_index(age: np.ndarray) -> np.ndarray:
    """Index into codes.AGE_BANDS for integer ages (<20, 20-24, … 60-64, 65+)."""
    return np.clip((age - 15) // 5, 0, len(codes.AGE_BANDS) - 1)


def make_staff_in_post(
    rng: np.random.Generator, people: pd.DataFrame, org_code: str, as_at: dt.date
) -> pd.DataFrame:
    """ESR-style extract: one row per assignment, ~4% of people holding a second post."""
    n = len(people)
    person_ids = np.array([f"P{i:07d}" for i in range(1, n + 1)], dtype=object)
    second = np.flatnonzero(rng.random(n) < 0.04)
    rows = np.concatenate([np.arange(n), second])
    frame = people.iloc[rows].reset_index(drop=True)
    is_second = np.arange(len(rows)) >= n
    # A second post is a small sessional contract, sometimes in another service of the group.
    second_wte = rng.choice(np.array([0.1, 0.2, 0.27, 0.4]), size=second.size)
    wte = frame["wte"].to_numpy(copy=True)
    wte[is_second] = second_wte
    first_of_second = np.isin(np.arange(len(rows)), second)
    wte[first_of_second] = np.minimum(wte[first_of_second], 0.8)
    moved = is_second & (rng.random(len(rows)) < 0.5)
    service = frame["service"].to_numpy(copy=True)
    location = frame["location"].to_numpy(copy=True)
    for group in GROUP_MIX:
        idx = np.flatnonzero(moved & (frame["staff_group"].to_numpy() == group))
        service[idx] = _draw(rng, SERVICE_MIX[group], idx.size)
        for name, (_, locations) in SERVICES.items():
            sel = idx[service[idx] == name]
            location[sel] = _draw(rng, locations, sel.size)
    groups = frame["staff_group"].to_numpy()
    grades = frame["grade"].to_numpy()
    hours_per_wte = np.where(groups == DOCTORS, 40.0, 37.5)
    years = np.clip(rng.exponential(8.0, size=len(rows)), 0.1,
                    np.maximum(frame["age"].to_numpy() - 17.5, 0.1))
    start = pd.Timestamp(as_at) - pd.to_timedelta(np.round(years * 365.25), unit="D")
    order = np.argsort(rows, kind="stable")
    out = pd.DataFrame({
        "assignment_id": None,
        "person_id": person_ids[rows],
        "org_code": org_code,
        "staff_group": groups,
        "job_role": _job_roles(groups, grades),
        "grade": grades,
        "wte": np.round(wte, 2),
        "contracted_hours": np.round(wte * hours_per_wte, 2),
        "age_band": frame["age_band"].to_numpy(),
        "gender": frame["gender"].to_numpy(),
        "ethnic_category": [f"{c} {codes.ETHNIC_CATEGORIES[c]}" for c in
                            frame["ethnic_category"]],
        "start_date": start.strftime("%Y-%m-%d"),
        "cost_centre": _cost_centres(groups, service),
        "service": service,
        "location": location,
    }).iloc[order].reset_index(drop=True)
    out["assignment_id"] = [f"A{i:08d}" for i in range(1, len(out) + 1)]
    return out


def _job_roles(groups: np.ndarray, grades: np.ndarray) -> np.ndarray:
    """Job role from group and grade; doctors' role is their grade."""
    roles = np.empty(len(groups), dtype=object)
    for group, (default, by_grade) in JOB_ROLES.items():
        idx = np.flatnonzero(groups == group)
        roles[idx] = default
        for grade, role in by_grade.items():
            roles[idx[grades[idx] == grade]] = role
    doctors = groups == DOCTORS
    roles[doctors] = grades[doctors]
    return roles


def _cost_centres(groups: np.ndarray, services: np.ndarray) -> np.ndarray:
    """``<service code><group number>`` such as ``MED02`` (finance's cost-centre coding)."""
    group_no = {g: i + 1 for i, g in enumerate(codes.STAFF_GROUPS)}
    prefixes = {s: code for s, (code, _) in SERVICES.items()}
    return np.array([f"{prefixes[s]}{group_no[g]:02d}" for g, s in zip(groups, services,
                                                                        strict=True)],
                    dtype=object)


