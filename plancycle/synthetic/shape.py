"""The shape of a synthetic acute trust: return kinds and their columns, staff-group and band mix,
services, seasonal factors and rates, taken from published NHS workforce statistics."""

from __future__ import annotations

import numpy as np

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


