"""Code lists shared by returns, synthetic data and analysis (see docs/data-returns.md).

They follow NHS Digital's published staff groups, Agenda for Change bands, the NHS Data
Dictionary ethnic categories (16+1) and Appendix I's five-year age bands, so that every
organisation's returns can be compared and rolled up without remapping.
"""

from __future__ import annotations

REGISTERED = (
    "HCHS doctors",
    "Nurses & health visitors",
    "Midwives",
    "Ambulance staff",
    "Scientific, therapeutic & technical staff",
)
UNREGISTERED = (
    "Support to doctors, nurses & midwives",
    "Support to ambulance staff",
    "Support to ST&T staff",
)
SUPPORT = (
    "Central functions",
    "Hotel, property & estates",
    "Senior managers",
    "Managers",
)
STAFF_GROUPS: tuple[str, ...] = REGISTERED + UNREGISTERED + SUPPORT

#: Skill-mix category of every staff group (registered / unregistered / support).
SKILL_MIX: dict[str, str] = {
    **{g: "registered" for g in REGISTERED},
    **{g: "unregistered" for g in UNREGISTERED},
    **{g: "support" for g in SUPPORT},
}

AFC_BANDS: tuple[str, ...] = (
    "Band 1", "Band 2", "Band 3", "Band 4", "Band 5", "Band 6", "Band 7",
    "Band 8a", "Band 8b", "Band 8c", "Band 8d", "Band 9",
)
MEDICAL_GRADES: tuple[str, ...] = (
    "Consultant", "Specialty Doctor", "Specialist", "Speciality Registrar",
    "Core Training", "Foundation Doctor Year 1", "Foundation Doctor Year 2",
)
OTHER_GRADES: tuple[str, ...] = ("Non AfC Grade", "Very Senior Manager")
GRADES: tuple[str, ...] = AFC_BANDS + MEDICAL_GRADES + OTHER_GRADES

AGE_BANDS: tuple[str, ...] = (
    "<20", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
    "50-54", "55-59", "60-64", "65+",
)

GENDERS: tuple[str, ...] = ("Female", "Male")

#: NHS Data Dictionary ethnic category codes: 16 categories plus Z "Not stated".
ETHNIC_CATEGORIES: dict[str, str] = {
    "A": "White British",
    "B": "White Irish",
    "C": "Any other White background",
    "D": "White and Black Caribbean",
    "E": "White and Black African",
    "F": "White and Asian",
    "G": "Any other mixed background",
    "H": "Indian",
    "J": "Pakistani",
    "K": "Bangladeshi",
    "L": "Any other Asian background",
    "M": "Caribbean",
    "N": "African",
    "P": "Any other Black background",
    "R": "Chinese",
    "S": "Any other ethnic group",
    "Z": "Not stated",
}
#: Codes counted as Black and minority ethnic (BME): all but the White groups and Not stated.
BME_CODES: frozenset[str] = frozenset(ETHNIC_CATEGORIES) - {"A", "B", "C", "Z"}

LEAVING_REASONS: tuple[str, ...] = (
    "Retirement", "Voluntary resignation", "End of fixed term", "Dismissal", "Other",
)

POINTS_OF_DELIVERY: tuple[str, ...] = (
    "Elective admissions", "Non-elective admissions", "Day cases", "Outpatient first",
    "Outpatient follow-up", "A&E attendances", "Procedures", "Waiting list",
)


#: Every data return kind a data request may ask for (docs/data-returns.md).
RETURN_KINDS: tuple[str, ...] = (
    "staff_in_post", "vacancies", "leavers", "sickness_absence", "bank_agency", "pay_budget",
    "activity_plan", "service_changes", "education_training", "staff_in_post_published",
)


def ethnic_code(value: str) -> str | None:
    """Return the one-letter code for ``"A"`` or ``"A White British"``; None if unknown."""
    text = str(value).strip()
    if not text:
        return None
    code = text[0].upper()
    if code in ETHNIC_CATEGORIES and (len(text) == 1 or text[1] == " "):
        return code
    return None


def strip_published_prefix(label: str) -> str:
    """``"002_Nurses & health visitors"`` → ``"Nurses & health visitors"`` (published files)."""
    head, sep, tail = str(label).partition("_")
    return tail if sep and head.isdigit() else str(label)

#: Staff group 1 labels as they appear (after the numeric prefix) in the published NHS
#: Workforce Statistics files, which add an "Unknown classification" bucket to the twelve.
UNKNOWN_CLASSIFICATION = "Unknown classification"
PUBLISHED_STAFF_GROUPS: tuple[str, ...] = STAFF_GROUPS + (UNKNOWN_CLASSIFICATION,)

#: Spellings accepted for ethnic category: the code letter or ``"code label"`` (any case).
ETHNIC_SPELLINGS: dict[str, str] = {
    **{code.lower(): code for code in ETHNIC_CATEGORIES},
    **{f"{code} {label}".lower(): code for code, label in ETHNIC_CATEGORIES.items()},
}
