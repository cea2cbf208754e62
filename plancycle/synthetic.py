"""Synthetic NHS trust: every data return of docs/data-returns.md, realistic and deterministic.

Why: demos, tests and benchmarks need a whole trust's returns without touching personal data.
The shapes follow published NHS workforce statistics (staff-group mix, Agenda for Change bands,
~77% female, ~25% BME, ~20% aged 55+, ~30% part-time, 10-12% turnover, ~5% sickness with a
winter peak, 7-9% vacancies with hot spots). Everything is drawn from one seeded numpy
generator, so the same arguments always give identical frames; ``defects`` injects named
data-quality faults so validation can be tested against known-bad returns.

Time frame: for financial year ``2026/27`` the monthly returns cover the twelve months before
it (``2025-04`` … ``2026-03``), staff in post is the extract at 31 March 2026, and the activity
plan covers the plan year itself (``2026-04`` … ``2027-03``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from plancycle.returns import codes

RETURN_KINDS: tuple[str, ...] = (
    "staff_in_post",
    "vacancies",
    "leavers",
    "sickness_absence",
    "bank_agency",
    "pay_budget",
    "activity_plan",
    "service_changes",
    "education_training",
)

#: Column order of every return kind (the contract in docs/data-returns.md).
COLUMNS: dict[str, tuple[str, ...]] = {
    "staff_in_post": (
        "assignment_id", "person_id", "org_code", "staff_group", "job_role", "grade", "wte",
        "contracted_hours", "age_band", "gender", "ethnic_category", "start_date",
        "cost_centre", "service", "location",
    ),
    "vacancies": (
        "month", "org_code", "staff_group", "grade", "service", "vacancy_wte",
        "establishment_wte",
    ),
    "leavers": (
        "month", "org_code", "staff_group", "grade", "age_band", "leavers_headcount",
        "leavers_wte", "reason",
    ),
    "sickness_absence": (
        "month", "org_code", "staff_group", "fte_days_lost", "fte_days_available",
        "sickness_absence_rate",
    ),
    "bank_agency": (
        "month", "org_code", "staff_group", "bank_wte", "agency_wte", "bank_spend_gbp",
        "agency_spend_gbp",
    ),
    "pay_budget": (
        "org_code", "staff_group", "service", "budgeted_wte", "pay_budget_gbp",
        "average_cost_per_wte_gbp",
    ),
    "activity_plan": (
        "month", "org_code", "service", "point_of_delivery", "planned_activity",
        "baseline_activity",
    ),
    "service_changes": (
        "service", "change", "staff_group", "wte_change", "start_year", "narrative",
    ),
    "education_training": (
        "programme", "staff_group", "provider", "places", "expected_completers",
        "completion_year", "apprenticeship",
    ),
}

# --- the shape of an acute trust ------------------------------------------------------------

NURSES, MIDWIVES, DOCTORS = "Nurses & health visitors", "Midwives", "HCHS doctors"
STT, SUP_CLIN, SUP_STT = (
    "Scientific, therapeutic & technical staff",
    "Support to doctors, nurses & midwives",
    "Support to ST&T staff",
)
CENTRAL, ESTATES, MANAGERS, SENIOR = (
    "Central functions", "Hotel, property & estates", "Managers", "Senior managers",
)

#: Staff-group share of people (an acute trust has no ambulance staff).
GROUP_MIX: dict[str, float] = {
    NURSES: 0.235, MIDWIVES: 0.015, DOCTORS: 0.12, STT: 0.15, SUP_CLIN: 0.20, SUP_STT: 0.03,
    CENTRAL: 0.15, ESTATES: 0.06, MANAGERS: 0.032, SENIOR: 0.008,
}

#: Grade distribution per staff group (AfC bands; medical grades for doctors).
GRADE_MIX: dict[str, dict[str, float]] = {
    NURSES: {"Band 5": 0.45, "Band 6": 0.32, "Band 7": 0.16, "Band 8a": 0.05,
             "Band 8b": 0.015, "Band 8c": 0.005},
    MIDWIVES: {"Band 5": 0.20, "Band 6": 0.55, "Band 7": 0.20, "Band 8a": 0.05},
    DOCTORS: {"Consultant": 0.38, "Specialty Doctor": 0.09, "Specialist": 0.03,
              "Speciality Registrar": 0.28, "Core Training": 0.10,
              "Foundation Doctor Year 1": 0.06, "Foundation Doctor Year 2": 0.06},
    STT: {"Band 3": 0.03, "Band 4": 0.05, "Band 5": 0.20, "Band 6": 0.30, "Band 7": 0.28,
          "Band 8a": 0.10, "Band 8b": 0.03, "Band 8c": 0.01},
    SUP_CLIN: {"Band 2": 0.35, "Band 3": 0.45, "Band 4": 0.20},
    SUP_STT: {"Band 2": 0.25, "Band 3": 0.45, "Band 4": 0.30},
    CENTRAL: {"Band 2": 0.15, "Band 3": 0.25, "Band 4": 0.22, "Band 5": 0.14, "Band 6": 0.10,
              "Band 7": 0.07, "Band 8a": 0.04, "Band 8b": 0.02, "Band 8c": 0.01},
    ESTATES: {"Band 1": 0.10, "Band 2": 0.55, "Band 3": 0.18, "Band 4": 0.08, "Band 5": 0.05,
              "Band 6": 0.03, "Band 7": 0.01},
    MANAGERS: {"Band 7": 0.10, "Band 8a": 0.35, "Band 8b": 0.30, "Band 8c": 0.15,
               "Band 8d": 0.10},
    SENIOR: {"Band 8c": 0.20, "Band 8d": 0.35, "Band 9": 0.25, "Very Senior Manager": 0.20},
}

#: Probability of being female by staff group (≈77% overall, as NHS-wide).
FEMALE_SHARE: dict[str, float] = {
    NURSES: 0.89, MIDWIVES: 0.99, DOCTORS: 0.49, STT: 0.79, SUP_CLIN: 0.83, SUP_STT: 0.78,
    CENTRAL: 0.78, ESTATES: 0.50, MANAGERS: 0.67, SENIOR: 0.55,
}

#: Age-band distribution for non-medical staff (≈21% aged 55+).
AGE_MIX: dict[str, float] = {
    "<20": 0.005, "20-24": 0.06, "25-29": 0.115, "30-34": 0.135, "35-39": 0.12,
    "40-44": 0.115, "45-49": 0.11, "50-54": 0.13, "55-59": 0.12, "60-64": 0.065, "65+": 0.025,
}
#: Age range (inclusive) by medical grade: doctors' ages follow their training stage.
MEDICAL_AGES: dict[str, tuple[int, int]] = {
    "Consultant": (34, 66), "Specialty Doctor": (29, 64), "Specialist": (38, 64),
    "Speciality Registrar": (27, 40), "Core Training": (25, 33),
    "Foundation Doctor Year 1": (23, 27), "Foundation Doctor Year 2": (24, 29),
}

#: Ethnic category mix (NHS Data Dictionary codes); doctors are drawn from their own mix.
ETHNIC_MIX: dict[str, float] = {
    "A": 0.655, "B": 0.01, "C": 0.075, "D": 0.005, "E": 0.005, "F": 0.005, "G": 0.01,
    "H": 0.045, "J": 0.015, "K": 0.006, "L": 0.035, "M": 0.013, "N": 0.055, "P": 0.008,
    "R": 0.004, "S": 0.019, "Z": 0.035,
}
ETHNIC_MIX_DOCTORS: dict[str, float] = {
    "A": 0.42, "B": 0.01, "C": 0.07, "D": 0.005, "E": 0.005, "F": 0.01, "G": 0.01,
    "H": 0.17, "J": 0.07, "K": 0.015, "L": 0.07, "M": 0.005, "N": 0.06, "P": 0.005,
    "R": 0.02, "S": 0.045, "Z": 0.03,
}

#: Services (directorates) with a cost-centre prefix and the locations they run from.
SERVICES: dict[str, tuple[str, dict[str, float]]] = {
    "Emergency Department": ("ED", {"Main Hospital": 1.0}),
    "Acute Medicine": ("MED", {"Main Hospital": 0.8, "Community Hospital": 0.2}),
    "Surgery": ("SUR", {"Main Hospital": 0.7, "Treatment Centre": 0.3}),
    "Women & Children": ("WAC", {"Main Hospital": 1.0}),
    "Critical Care": ("CRC", {"Main Hospital": 1.0}),
    "Theatres & Anaesthetics": ("THR", {"Main Hospital": 0.75, "Treatment Centre": 0.25}),
    "Outpatients": ("OPD", {"Main Hospital": 0.6, "Treatment Centre": 0.4}),
    "Diagnostics": ("DIA", {"Main Hospital": 0.8, "Community Hospital": 0.2}),
    "Therapies & Pharmacy": ("THP", {"Main Hospital": 0.7, "Community Hospital": 0.3}),
    "Community Services": ("COM", {"Community Hubs": 0.8, "Community Hospital": 0.2}),
    "Estates & Facilities": ("EST", {"Main Hospital": 0.7, "Community Hospital": 0.15,
                                     "Treatment Centre": 0.15}),
    "Corporate Services": ("COR", {"Trust Headquarters": 1.0}),
}
SERVICE_NAMES = tuple(SERVICES)

#: Where each staff group works (share of the group by service).
SERVICE_MIX: dict[str, dict[str, float]] = {
    NURSES: {"Emergency Department": 0.12, "Acute Medicine": 0.30, "Surgery": 0.18,
             "Women & Children": 0.10, "Critical Care": 0.08, "Theatres & Anaesthetics": 0.07,
             "Outpatients": 0.05, "Community Services": 0.10},
    MIDWIVES: {"Women & Children": 1.0},
    DOCTORS: {"Emergency Department": 0.14, "Acute Medicine": 0.30, "Surgery": 0.20,
              "Women & Children": 0.12, "Critical Care": 0.06, "Theatres & Anaesthetics": 0.12,
              "Diagnostics": 0.06},
    STT: {"Diagnostics": 0.40, "Therapies & Pharmacy": 0.40, "Community Services": 0.10,
          "Theatres & Anaesthetics": 0.05, "Critical Care": 0.05},
    SUP_CLIN: {"Emergency Department": 0.10, "Acute Medicine": 0.35, "Surgery": 0.17,
               "Women & Children": 0.10, "Critical Care": 0.04, "Theatres & Anaesthetics": 0.08,
               "Outpatients": 0.10, "Community Services": 0.06},
    SUP_STT: {"Diagnostics": 0.55, "Therapies & Pharmacy": 0.45},
    CENTRAL: {"Corporate Services": 0.70, "Outpatients": 0.15, "Acute Medicine": 0.05,
              "Surgery": 0.05, "Diagnostics": 0.05},
    ESTATES: {"Estates & Facilities": 1.0},
    MANAGERS: {"Corporate Services": 0.50, "Acute Medicine": 0.10, "Surgery": 0.10,
               "Emergency Department": 0.05, "Women & Children": 0.05, "Diagnostics": 0.05,
               "Community Services": 0.05, "Estates & Facilities": 0.10},
    SENIOR: {"Corporate Services": 1.0},
}

#: Job-role label by (staff group, grade); groups not listed use their default role.
JOB_ROLES: dict[str, tuple[str, dict[str, str]]] = {
    NURSES: ("Staff Nurse", {"Band 6": "Sister/Charge Nurse", "Band 7": "Ward Manager",
                             "Band 8a": "Matron", "Band 8b": "Nurse Consultant",
                             "Band 8c": "Head of Nursing"}),
    MIDWIVES: ("Midwife", {"Band 7": "Midwife - Manager", "Band 8a": "Consultant Midwife"}),
    DOCTORS: ("Doctor", {}),
    STT: ("Allied Health Professional", {"Band 3": "Assistant Practitioner",
                                         "Band 4": "Associate Practitioner",
                                         "Band 8a": "Advanced Practitioner",
                                         "Band 8b": "Consultant Practitioner",
                                         "Band 8c": "Head of Service"}),
    SUP_CLIN: ("Healthcare Assistant", {"Band 3": "Senior Healthcare Assistant",
                                        "Band 4": "Nursing Associate"}),
    SUP_STT: ("Healthcare Science Assistant", {"Band 4": "Associate Practitioner"}),
    CENTRAL: ("Administrator", {"Band 2": "Clerical Officer", "Band 5": "Officer",
                                "Band 6": "Specialist", "Band 7": "Senior Specialist",
                                "Band 8a": "Head of Department", "Band 8b": "Head of Department",
                                "Band 8c": "Deputy Director"}),
    ESTATES: ("Domestic", {"Band 1": "Domestic", "Band 2": "Porter", "Band 3": "Technician",
                           "Band 4": "Supervisor", "Band 5": "Engineer",
                           "Band 6": "Senior Engineer", "Band 7": "Estates Manager"}),
    MANAGERS: ("Manager", {"Band 8b": "Senior Manager", "Band 8c": "General Manager",
                           "Band 8d": "Associate Director"}),
    SENIOR: ("Director", {"Band 8c": "Deputy Director", "Very Senior Manager": "Chief Officer"}),
}

#: Annual cost of one WTE including on-costs (pay-budget basis), by staff group.
COST_PER_WTE: dict[str, float] = {
    NURSES: 49_000, MIDWIVES: 51_000, DOCTORS: 112_000, STT: 52_000, SUP_CLIN: 30_500,
    SUP_STT: 31_500, CENTRAL: 38_000, ESTATES: 28_500, MANAGERS: 72_000, SENIOR: 108_000,
}

#: Base vacancy rate (%) by staff group and the (group, service) hot spots that multiply it.
VACANCY_RATE: dict[str, float] = {
    NURSES: 7.4, MIDWIVES: 6.0, DOCTORS: 6.0, STT: 6.8, SUP_CLIN: 6.8, SUP_STT: 6.0,
    CENTRAL: 4.4, ESTATES: 5.2, MANAGERS: 3.5, SENIOR: 2.5,
}
VACANCY_HOT_SPOTS: dict[tuple[str, str], float] = {
    (NURSES, "Emergency Department"): 2.1, (NURSES, "Acute Medicine"): 1.6,
    (DOCTORS, "Emergency Department"): 2.0, (STT, "Diagnostics"): 1.7,
    (SUP_CLIN, "Acute Medicine"): 1.4, (MIDWIVES, "Women & Children"): 1.2,
}

#: Sickness absence rate (%) by staff group before the winter seasonality below.
SICKNESS_RATE: dict[str, float] = {
    NURSES: 5.4, MIDWIVES: 5.7, DOCTORS: 1.8, STT: 4.2, SUP_CLIN: 6.8, SUP_STT: 5.5,
    CENTRAL: 3.9, ESTATES: 6.4, MANAGERS: 3.1, SENIOR: 2.0,
}
#: April … March multipliers: a winter peak (December/January) and a summer trough.
SICKNESS_SEASON = np.array([0.93, 0.90, 0.88, 0.92, 0.90, 0.95, 1.03, 1.09, 1.18, 1.20, 1.04,
                            0.98])

#: Annual probability of leaving for reasons other than retirement, by staff group.
LEAVING_RATE: dict[str, float] = {
    NURSES: 0.088, MIDWIVES: 0.09, DOCTORS: 0.085, STT: 0.09, SUP_CLIN: 0.115, SUP_STT: 0.10,
    CENTRAL: 0.10, ESTATES: 0.11, MANAGERS: 0.08, SENIOR: 0.09,
}
#: Multiplier of the non-retirement leaving rate by age band (young staff move more).
LEAVING_AGE_FACTOR = np.array([1.8, 1.6, 1.35, 1.1, 0.9, 0.8, 0.75, 0.7, 0.55, 0.5, 0.5])
#: Annual probability of retiring by age band (retirement concentrates at 55+).
RETIREMENT_RATE = np.array([0, 0, 0, 0, 0, 0, 0, 0.002, 0.055, 0.17, 0.30])

#: Agency cover of vacancies and agency premium over substantive cost, by staff group.
AGENCY_COVER: dict[str, float] = {
    NURSES: 0.20, MIDWIVES: 0.12, DOCTORS: 0.35, STT: 0.15, SUP_CLIN: 0.06, SUP_STT: 0.05,
    CENTRAL: 0.03, ESTATES: 0.03, MANAGERS: 0.05, SENIOR: 0.05,
}
AGENCY_PREMIUM: dict[str, float] = {DOCTORS: 1.9, NURSES: 1.6, MIDWIVES: 1.6}
DEFAULT_AGENCY_PREMIUM = 1.4

#: Annual activity per 6,000 staff by point of delivery and its planned growth next year.
ACTIVITY_PER_6000: dict[str, tuple[float, float]] = {
    "A&E attendances": (110_000, 0.030),
    "Non-elective admissions": (45_000, 0.025),
    "Elective admissions": (8_000, 0.060),
    "Day cases": (45_000, 0.050),
    "Outpatient first": (120_000, 0.040),
    "Outpatient follow-up": (240_000, 0.010),
    "Procedures": (30_000, 0.050),
    "Waiting list": (40_000, -0.080),
}
#: Which services deliver each point of delivery, with their shares.
ACTIVITY_SERVICES: dict[str, dict[str, float]] = {
    "A&E attendances": {"Emergency Department": 1.0},
    "Non-elective admissions": {"Acute Medicine": 0.6, "Surgery": 0.2, "Women & Children": 0.15,
                                "Critical Care": 0.05},
    "Elective admissions": {"Surgery": 0.8, "Women & Children": 0.1,
                            "Theatres & Anaesthetics": 0.1},
    "Day cases": {"Surgery": 0.5, "Acute Medicine": 0.3, "Theatres & Anaesthetics": 0.2},
    "Outpatient first": {"Outpatients": 0.7, "Women & Children": 0.1,
                         "Community Services": 0.2},
    "Outpatient follow-up": {"Outpatients": 0.7, "Women & Children": 0.1,
                             "Community Services": 0.2},
    "Procedures": {"Diagnostics": 0.7, "Surgery": 0.3},
    "Waiting list": {"Surgery": 0.6, "Outpatients": 0.4},
}
#: Seasonality of unplanned care (April … March); planned care is flat.
UNPLANNED_SEASON = np.array([0.96, 0.98, 0.97, 1.00, 0.95, 0.97, 1.00, 1.02, 1.08, 1.07, 0.99,
                             1.01])

#: Service leads' intentions: (service, change, staff group, WTE per 6,000 staff, year, text).
SERVICE_CHANGES: tuple[tuple[str, str, str, float, int, str], ...] = (
    ("Emergency Department", "Same day emergency care unit", NURSES, 14.0, 1,
     "The Emergency Department will open a same day emergency care (SDEC) unit next to the "
     "assessment area so that ambulatory patients are assessed and treated without admission. "
     "The unit needs a nurse-led rota seven days a week and advanced practitioners to "
     "reduce waits in majors."),
    ("Emergency Department", "Same day emergency care unit", DOCTORS, 3.0, 1,
     "Senior decision makers will staff SDEC from 08:00 to 22:00."),
    ("Acute Medicine", "Virtual ward expansion", NURSES, 8.0, 2,
     "Acute Medicine will grow the virtual ward from 40 to 80 beds, moving monitoring of frail "
     "and respiratory patients into their homes with remote monitoring and daily reviews."),
    ("Acute Medicine", "Nursing associate roles on wards", SUP_CLIN, 10.0, 1,
     "New nursing associate posts will take on defined tasks on medical wards, releasing "
     "registered nurse time and creating a career route for healthcare assistants."),
    ("Surgery", "Elective surgical hub", NURSES, 12.0, 2,
     "Surgery will ring-fence an elective hub at the Treatment Centre with 24 beds and two "
     "theatres to protect planned operating from winter pressures and reduce the waiting list."),
    ("Theatres & Anaesthetics", "Elective surgical hub theatres", STT, 6.0, 2,
     "Two additional theatre teams (operating department practitioners and anaesthetic "
     "support) are needed for the elective hub."),
    ("Diagnostics", "Community diagnostic centre", STT, 9.0, 3,
     "A community diagnostic centre will offer CT, MRI and ultrasound closer to home; it needs "
     "radiographers and sonographers and will be supported by an apprenticeship route."),
    ("Corporate Services", "Shared back-office services", CENTRAL, -12.0, 2,
     "Payroll, recruitment and procurement will move to ICS shared services, reducing central "
     "functions posts through turnover rather than redundancy."),
)

#: Education and training commissions: (programme, staff group, provider, places per 6,000 a
#: year, completion rate, apprenticeship).
EDUCATION: tuple[tuple[str, str, str, int, float, bool], ...] = (
    ("BSc (Hons) Adult Nursing", NURSES, "University of the Midlands", 40, 0.82, False),
    ("Registered Nurse Degree Apprenticeship", NURSES, "University of the Midlands", 10, 0.85,
     True),
    ("Nursing Associate Apprenticeship", SUP_CLIN, "Trust academy", 16, 0.80, True),
    ("BSc (Hons) Midwifery", MIDWIVES, "University of the Midlands", 6, 0.85, False),
    ("Foundation Programme", DOCTORS, "Deanery (NHS England)", 24, 0.97, False),
    ("BSc Diagnostic Radiography", STT, "City University College", 8, 0.85, False),
    ("Physiotherapy / Occupational Therapy degree", STT, "City University College", 10, 0.88,
     False),
    ("Healthcare Science Practitioner Apprenticeship", STT, "Trust academy", 4, 0.80, True),
    ("Senior Healthcare Support Worker Level 3", SUP_CLIN, "Trust academy", 30, 0.78, True),
    ("Business Administration Level 3", CENTRAL, "Further education college", 8, 0.75, True),
)


# --- public API -----------------------------------------------------------------------------


def generate_trust(
    size: int = 6000,
    seed: int = 0,
    org_code: str = "RXX",
    financial_year: str = "2026/27",
    defects: set[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every return kind for one synthetic trust of ``size`` people (identical for one seed)."""
    if size < 50:
        raise ValueError(f"size must be at least 50 people, got {size}")
    start_year = _plan_start_year(financial_year)
    unknown = set(defects or ()) - set(DEFECTS)
    if unknown:
        raise ValueError(
            f"unknown defect(s) {sorted(unknown)}; choose from {sorted(DEFECTS)}"
        )
    rng = np.random.default_rng(seed)
    history = [f"{y:04d}-{m:02d}" for y, m in _months(start_year - 1)]
    plan_months = [f"{y:04d}-{m:02d}" for y, m in _months(start_year)]
    scale = size / 6000

    people = _people(rng, size)
    staff = _staff_in_post(rng, people, org_code, dt.date(start_year, 3, 31))
    vacancies, in_post_by_month = _vacancies(rng, staff, org_code, history)
    returns = {
        "staff_in_post": staff,
        "vacancies": vacancies,
        "leavers": _leavers(rng, people, org_code, history),
        "sickness_absence": _sickness(rng, in_post_by_month, org_code, history),
        "bank_agency": _bank_agency(rng, vacancies, in_post_by_month, org_code),
        "pay_budget": _pay_budget(rng, staff, org_code),
        "activity_plan": _activity_plan(rng, scale, org_code, plan_months),
        "service_changes": _service_changes(scale),
        "education_training": _education(scale),
    }
    for name in sorted(defects or ()):
        DEFECTS[name](returns, rng)
    return returns


def write_trust(
    returns: dict[str, pd.DataFrame], directory: str | Path, fmt: str = "csv"
) -> dict[str, Path]:
    """Write one file per return kind (``<kind>.csv`` or ``.xlsx``) as a lead would upload it."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"fmt must be 'csv' or 'xlsx', got {fmt!r}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for kind, frame in returns.items():
        path = out / f"{kind}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, lineterminator="\n")
        else:
            frame.to_excel(path, index=False, sheet_name=kind[:31])
        written[kind] = path
    return written


# --- people and staff in post ---------------------------------------------------------------


def _draw(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    """n labels drawn from a probability table (normalised, so rounding in tables is harmless)."""
    labels = np.array(list(mix), dtype=object)
    p = np.fromiter(mix.values(), dtype=float)
    return labels[rng.choice(len(labels), size=n, p=p / p.sum())]


def _people(rng: np.random.Generator, size: int) -> pd.DataFrame:
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
        "age_band": np.asarray(codes.AGE_BANDS, dtype=object)[_age_band_index(age)],
        "gender": np.where(female, "Female", "Male").astype(object),
        "ethnic_category": ethnic, "wte": wte, "service": service, "location": location,
    })


def _age_band_index(age: np.ndarray) -> np.ndarray:
    """Index into codes.AGE_BANDS for integer ages (<20, 20-24, … 60-64, 65+)."""
    return np.clip((age - 15) // 5, 0, len(codes.AGE_BANDS) - 1)


def _staff_in_post(
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


# --- monthly returns ------------------------------------------------------------------------


def _vacancies(
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


def _leavers(
    rng: np.random.Generator, people: pd.DataFrame, org_code: str, months: list[str]
) -> pd.DataFrame:
    """Leavers over the year, aggregated as the turnover return asks (month × group × grade ×
    age band × reason); retirements come almost entirely from the 55+ bands."""
    band = _age_band_index(people["age"].to_numpy())
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


def _sickness(
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


def _bank_agency(
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


def _pay_budget(rng: np.random.Generator, staff: pd.DataFrame, org_code: str) -> pd.DataFrame:
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


def _activity_plan(
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


def _service_changes(scale: float) -> pd.DataFrame:
    """Service leads' intentions scaled to the trust's size, with their narrative text."""
    return pd.DataFrame(
        [(s, c, g, round(w * scale, 1), y, text) for s, c, g, w, y, text in SERVICE_CHANGES],
        columns=list(COLUMNS["service_changes"]),
    )


def _education(scale: float) -> pd.DataFrame:
    """Commissioned places and expected completers for each of the five plan years."""
    rows = []
    for programme, group, provider, places, completion, apprentice in EDUCATION:
        n = max(1, round(places * scale))
        for year in range(1, 6):
            rows.append((programme, group, provider, n, int(n * completion), year, apprentice))
    return pd.DataFrame(rows, columns=list(COLUMNS["education_training"]))


# --- helpers --------------------------------------------------------------------------------


def _plan_start_year(financial_year: str) -> int:
    """``"2026/27"`` → 2026, refusing anything that is not a consecutive-year pair."""
    match = re.fullmatch(r"(\d{4})/(\d{2})", financial_year.strip())
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValueError(f"financial_year must look like '2026/27', got {financial_year!r}")
    return int(match[1])


def _months(start_year: int) -> Iterable[tuple[int, int]]:
    """April of ``start_year`` to March of the next year."""
    for i in range(12):
        yield start_year + (3 + i) // 12, (3 + i) % 12 + 1


# --- data-quality defects -------------------------------------------------------------------


def _defect_wte_out_of_range(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=3, replace=False)
    staff.loc[staff.index[rows], "wte"] = [1.8, -0.2, 2.5]
    returns["staff_in_post"] = staff


def _defect_unknown_staff_group(returns: dict[str, pd.DataFrame],
                                rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=2, replace=False)
    staff.loc[staff.index[rows], "staff_group"] = "Porters & cleaners"
    returns["staff_in_post"] = staff


def _defect_duplicate_assignment_id(returns: dict[str, pd.DataFrame],
                                    rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=2, replace=False)
    staff.loc[staff.index[rows[1]], "assignment_id"] = staff.loc[staff.index[rows[0]],
                                                                 "assignment_id"]
    returns["staff_in_post"] = staff


def _defect_bad_ethnic_code(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=2, replace=False)
    staff.loc[staff.index[rows], "ethnic_category"] = ["X Unknown", "White"]
    returns["staff_in_post"] = staff


def _defect_lost_exceeds_available(returns: dict[str, pd.DataFrame],
                                   rng: np.random.Generator) -> None:
    sick = returns["sickness_absence"].copy()
    row = sick.index[int(rng.integers(len(sick)))]
    sick.loc[row, "fte_days_lost"] = sick.loc[row, "fte_days_available"] * 1.5
    sick.loc[row, "sickness_absence_rate"] = 150.0
    returns["sickness_absence"] = sick


def _defect_rate_mismatch(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    sick = returns["sickness_absence"].copy()
    row = sick.index[int(rng.integers(len(sick)))]
    sick.loc[row, "sickness_absence_rate"] = sick.loc[row, "sickness_absence_rate"] + 1.0
    returns["sickness_absence"] = sick


def _defect_vacancy_exceeds_establishment(returns: dict[str, pd.DataFrame],
                                          rng: np.random.Generator) -> None:
    vac = returns["vacancies"].copy()
    row = vac.index[int(rng.integers(len(vac)))]
    vac.loc[row, "vacancy_wte"] = vac.loc[row, "establishment_wte"] + 5.0
    returns["vacancies"] = vac


def _defect_bad_month(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    leavers = returns["leavers"].copy()
    leavers["month"] = leavers["month"].astype(object)
    leavers.loc[leavers.index[int(rng.integers(len(leavers)))], "month"] = "2025-13"
    returns["leavers"] = leavers


def _defect_missing_column(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    del rng
    returns["staff_in_post"] = returns["staff_in_post"].drop(columns=["grade"])


#: Named data-quality defects (what they break is in each function's name).
DEFECTS: dict[str, Callable[[dict[str, pd.DataFrame], np.random.Generator], None]] = {
    "wte_out_of_range": _defect_wte_out_of_range,
    "unknown_staff_group": _defect_unknown_staff_group,
    "duplicate_assignment_id": _defect_duplicate_assignment_id,
    "bad_ethnic_code": _defect_bad_ethnic_code,
    "lost_exceeds_available": _defect_lost_exceeds_available,
    "rate_mismatch": _defect_rate_mismatch,
    "vacancy_exceeds_establishment": _defect_vacancy_exceeds_establishment,
    "bad_month": _defect_bad_month,
    "missing_column": _defect_missing_column,
}
