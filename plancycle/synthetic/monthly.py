"""The returns drawn from the staff in post: monthly vacancies, leavers, sickness and bank/agency
use over the year before the plan, the pay budget, the activity plan for the plan year, service
changes and the education and training pipeline."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from plancycle.returns import codes
from plancycle.synthetic.people import age_band_index
from plancycle.synthetic.shape import (
    ACTIVITY_PER_6000,
    ACTIVITY_SERVICES,
    AGENCY_COVER,
    AGENCY_PREMIUM,
    COLUMNS,
    COST_PER_WTE,
    DEFAULT_AGENCY_PREMIUM,
    DOCTORS,
    EDUCATION,
    LEAVING_AGE_FACTOR,
    LEAVING_RATE,
    RETIREMENT_RATE,
    SERVICE_CHANGES,
    SICKNESS_RATE,
    SICKNESS_SEASON,
    UNPLANNED_SEASON,
    VACANCY_HOT_SPOTS,
    VACANCY_RATE,
)

# --- monthly returns ------------------------------------------------------------------------


def make_vacancies(
    rng: np.random.Generator, staff: pd.DataFrame, org_code: str, months: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Vacancies per group × grade × service cell and month, plus monthly staff-in-post WTE.

    Staff in post grows ~1% over the year to the extract; vacancy rates carry the group base,
    hot-spot multipliers, a winter rise and cell-level noise.
    """
    cells = staff.groupby(["staff_group", "grade", "service"], sort=True, observed=True)[
        "wte"].sum().reset_index()
    n_cells, n_months = len(cells), len(months)
    base = cells["staff_group"].map(VACANCY_RATE).to_numpy()
    hot = np.array([VACANCY_HOT_SPOTS.get((g, s), 1.0) for g, s in
                    zip(cells["staff_group"], cells["service"], strict=True)])
    cell_noise = rng.lognormal(0.0, 0.25, size=n_cells)
    season = 1.0 + 0.08 * np.cos((np.arange(n_months) - 9) * 2 * np.pi / 12)
    month_noise = rng.lognormal(0.0, 0.08, size=(n_months, n_cells))
    rate = np.clip(base * hot * cell_noise * season[:, None] * month_noise / 100, 0, 0.6)
    growth = 1.0 - 0.01 * (n_months - 1 - np.arange(n_months)) / 12
    in_post = cells["wte"].to_numpy()[None, :] * growth[:, None]
    vacancy = np.round(in_post * rate / (1 - rate), 2)
    establishment = np.round(in_post + vacancy, 2)
    frame = pd.DataFrame({
        "month": np.repeat(months, n_cells),
        "org_code": org_code,
        "staff_group": np.tile(cells["staff_group"].to_numpy(), n_months),
        "grade": np.tile(cells["grade"].to_numpy(), n_months),
        "service": np.tile(cells["service"].to_numpy(), n_months),
        "vacancy_wte": vacancy.ravel(),
        "establishment_wte": establishment.ravel(),
    })
    by_month = frame.assign(in_post=in_post.ravel()).groupby(
        ["month", "staff_group"], sort=True)[["in_post", "vacancy_wte"]].sum().reset_index()
    return frame, by_month


def make_leavers(
    rng: np.random.Generator, people: pd.DataFrame, org_code: str, months: list[str]
) -> pd.DataFrame:
    """Leavers over the year, aggregated as the turnover return asks (month × group × grade ×
    age band × reason); retirements come almost entirely from the 55+ bands."""
    band = age_band_index(people["age"].to_numpy())
    groups = people["staff_group"].to_numpy()
    other_p = np.vectorize(LEAVING_RATE.get, otypes=[float])(groups) * LEAVING_AGE_FACTOR[band]
    retire_p = RETIREMENT_RATE[band]
    draw = rng.random(len(people))
    retires = draw < retire_p
    leaves = retires | (draw < retire_p + other_p)
    idx = np.flatnonzero(leaves)
    doctors = groups[idx] == DOCTORS
    # Trainee doctors rotate in August; everyone else leaves evenly through the year.
    month_p = np.full(12, 1 / 12)
    rotation_p = np.full(12, 0.04)
    rotation_p[4] = 1 - 0.04 * 11
    month_idx = np.where(doctors, rng.choice(12, size=idx.size, p=rotation_p),
                         rng.choice(12, size=idx.size, p=month_p))
    other_reasons = np.array(["Voluntary resignation", "End of fixed term", "Dismissal",
                              "Other"], dtype=object)
    reason = other_reasons[rng.choice(4, size=idx.size, p=[0.78, 0.10, 0.03, 0.09])]
    trainee = doctors & (people["grade"].to_numpy()[idx] != "Consultant")
    reason[trainee & (rng.random(idx.size) < 0.6)] = "End of fixed term"
    reason[retires[idx]] = "Retirement"
    events = pd.DataFrame({
        "month": np.asarray(months, dtype=object)[month_idx],
        "org_code": org_code,
        "staff_group": groups[idx],
        "grade": people["grade"].to_numpy()[idx],
        "age_band": people["age_band"].to_numpy()[idx],
        "reason": reason,
        "wte": people["wte"].to_numpy()[idx],
    })
    keys = ["month", "org_code", "staff_group", "grade", "age_band", "reason"]
    out = events.groupby(keys, sort=True).agg(
        leavers_headcount=("wte", "size"), leavers_wte=("wte", "sum")).reset_index()
    out["leavers_wte"] = out["leavers_wte"].round(2)
    return out[list(COLUMNS["leavers"])]


def make_sickness(
    rng: np.random.Generator, in_post: pd.DataFrame, org_code: str, months: list[str]
) -> pd.DataFrame:
    """FTE days lost/available by month and staff group; rate published to 2 dp (half up)."""
    frame = in_post.copy()
    month_no = frame["month"].map({m: i for i, m in enumerate(months)}).to_numpy()
    days = frame["month"].map(lambda m: calendar.monthrange(int(m[:4]), int(m[5:]))[1])
    available = np.round(frame["in_post"].to_numpy() * days.to_numpy(), 2)
    rate = (frame["staff_group"].map(SICKNESS_RATE).to_numpy() * SICKNESS_SEASON[month_no]
            * rng.lognormal(0.0, 0.06, size=len(frame)))
    lost = np.round(available * rate / 100, 2)
    out = pd.DataFrame({
        "month": frame["month"], "org_code": org_code, "staff_group": frame["staff_group"],
        "fte_days_lost": lost, "fte_days_available": available,
    })
    out["sickness_absence_rate"] = [
        float(rate_2dp(a, b)) for a, b in zip(out["fte_days_lost"], out["fte_days_available"],
                                             strict=True)
    ]
    return out


def rate_2dp(lost: object, available: object) -> Decimal:
    """lost / available × 100 rounded half-up to 2 dp on the decimal values (published rule)."""
    value = Decimal(str(lost)) / Decimal(str(available)) * 100
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def make_bank_agency(
    rng: np.random.Generator, vacancies: pd.DataFrame, in_post: pd.DataFrame, org_code: str
) -> pd.DataFrame:
    """Bank and agency WTE cover part of each group's vacancies; agency costs a premium."""
    del vacancies  # cover is driven by the monthly totals already in ``in_post``
    group = in_post["staff_group"]
    vac = in_post["vacancy_wte"].to_numpy()
    sip = in_post["in_post"].to_numpy()
    noise = rng.lognormal(0.0, 0.12, size=(2, len(in_post)))
    bank = np.round((0.45 * vac + 0.01 * sip) * noise[0], 2)
    agency = np.round(vac * group.map(AGENCY_COVER).to_numpy() * noise[1], 2)
    monthly_cost = group.map(COST_PER_WTE).to_numpy() / 12
    premium = group.map(lambda g: AGENCY_PREMIUM.get(g, DEFAULT_AGENCY_PREMIUM)).to_numpy()
    return pd.DataFrame({
        "month": in_post["month"], "org_code": org_code, "staff_group": group,
        "bank_wte": bank, "agency_wte": agency,
        "bank_spend_gbp": np.round(bank * monthly_cost * 0.92, 2),
        "agency_spend_gbp": np.round(agency * monthly_cost * premium, 2),
    })


def make_pay_budget(rng: np.random.Generator, staff: pd.DataFrame, org_code: str) -> pd.DataFrame:
    """Finance establishment per group × service: staff in post WTE −1.5% … +7.5% (≈ +3%)."""
    cells = staff.groupby(["staff_group", "service"], sort=True)["wte"].sum().reset_index()
    budgeted = np.round(cells["wte"].to_numpy() * rng.uniform(0.985, 1.075, size=len(cells)), 2)
    cost = np.round(cells["staff_group"].map(COST_PER_WTE).to_numpy()
                    * rng.uniform(0.97, 1.03, size=len(cells)), 0)
    return pd.DataFrame({
        "org_code": org_code, "staff_group": cells["staff_group"], "service": cells["service"],
        "budgeted_wte": budgeted, "pay_budget_gbp": np.round(budgeted * cost, 2),
        "average_cost_per_wte_gbp": cost,
    })


def make_activity_plan(
    rng: np.random.Generator, scale: float, org_code: str, months: list[str]
) -> pd.DataFrame:
    """Twelve months of baseline and planned activity by service and point of delivery."""
    rows = []
    unplanned = {"A&E attendances", "Non-elective admissions"}
    for pod in codes.POINTS_OF_DELIVERY:
        annual, growth = ACTIVITY_PER_6000[pod]
        for service, share in ACTIVITY_SERVICES[pod].items():
            season = UNPLANNED_SEASON if pod in unplanned else np.ones(12)
            if pod == "Waiting list":  # a month-end stock, not a monthly flow
                monthly = np.full(12, annual * share * scale)
                planned = monthly * (1 + growth * (np.arange(12) + 1) / 12)
            else:
                monthly = annual * share * scale / 12 * season
                planned = monthly * (1 + growth)
            noise = rng.lognormal(0.0, 0.03, size=12)
            for i, month in enumerate(months):
                rows.append((month, org_code, service, pod,
                             float(np.round(planned[i] * noise[i])),
                             float(np.round(monthly[i] * noise[i]))))
    return pd.DataFrame(rows, columns=list(COLUMNS["activity_plan"]))


def make_service_changes(scale: float) -> pd.DataFrame:
    """Service leads' intentions scaled to the trust's size, with their narrative text."""
    return pd.DataFrame(
        [(s, c, g, round(w * scale, 1), y, text) for s, c, g, w, y, text in SERVICE_CHANGES],
        columns=list(COLUMNS["service_changes"]),
    )


def make_education(scale: float) -> pd.DataFrame:
    """Commissioned places and expected completers for each of the five plan years."""
    rows = []
    for programme, group, provider, places, completion, apprentice in EDUCATION:
        n = max(1, round(places * scale))
        for year in range(1, 6):
            rows.append((programme, group, provider, n, int(n * completion), year, apprentice))
    return pd.DataFrame(rows, columns=list(COLUMNS["education_training"]))


# --- helpers --------------------------------------------------------------------------------


def plan_start_year(financial_year: str) -> int:
    """``"2026/27"`` → 2026, refusing anything that is not a consecutive-year pair."""
    match = re.fullmatch(r"(\d{4})/(\d{2})", financial_year.strip())
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValueError(f"financial_year must look like '2026/27', got {financial_year!r}")
    return int(match[1])


def months(start_year: int) -> Iterable[tuple[int, int]]:
    """April of ``start_year`` to March of the next year."""
    for i in range(12):
        yield start_year + (3 + i) // 12, (3 + i) % 12 + 1


