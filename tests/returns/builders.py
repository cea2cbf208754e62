"""Valid returns built in memory, and small ways to break them, for the bad-input tests.

Each scenario starts from a return that passes and changes one thing, so a test shows that
exactly that thing is caught, with the row and column the uploader would look for.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

SIP_HEADER = [
    "assignment_id", "person_id", "org_code", "staff_group", "job_role", "grade", "wte",
    "contracted_hours", "age_band", "gender", "ethnic_category", "start_date", "cost_centre",
    "service", "location",
]

_GROUPS = ["Nurses & health visitors", "HCHS doctors", "Support to doctors, nurses & midwives",
           "Central functions"]
_GRADES = ["Band 5", "Consultant", "Band 3", "Band 4"]


def sip_rows(n: int = 6) -> list[dict[str, str]]:
    """``n`` valid staff-in-post assignments (rows 2..n+1 in the file)."""
    rows = []
    for i in range(n):
        wte = ["1", "0.8", "0.6", "1.0"][i % 4]
        rows.append({
            "assignment_id": f"A{1000 + i}", "person_id": f"P{500 + i // 2}",
            "org_code": "RJE", "staff_group": _GROUPS[i % 4], "job_role": "Staff Nurse",
            "grade": _GRADES[i % 4], "wte": wte, "contracted_hours": f"{float(wte) * 37.5:g}",
            "age_band": ["25-29", "40-44", "55-59", "60-64"][i % 4], "gender": "Female",
            "ethnic_category": ["A", "H", "N", "Z"][i % 4], "start_date": "2019-04-01",
            "cost_centre": "CC100", "service": "Medicine", "location": "Royal Stoke",
        })
    return rows


def vacancy_rows() -> list[dict[str, str]]:
    return [
        {"month": "2025-03", "org_code": "RJE", "staff_group": "Nurses & health visitors",
         "grade": "Band 5", "service": "Medicine", "vacancy_wte": "12.5",
         "establishment_wte": "140"},
        {"month": "2025-03", "org_code": "RJE", "staff_group": "HCHS doctors",
         "grade": "Consultant", "service": "Medicine", "vacancy_wte": "2",
         "establishment_wte": "30"},
    ]


def pay_budget_rows() -> list[dict[str, str]]:
    return [
        {"org_code": "RJE", "staff_group": g, "service": "Medicine", "budgeted_wte": w,
         "pay_budget_gbp": str(float(w) * 50000), "average_cost_per_wte_gbp": "50000"}
        for g, w in [("Nurses & health visitors", "2.1"), ("HCHS doctors", "1.6"),
                     ("Support to doctors, nurses & midwives", "0.65"),
                     ("Central functions", "1.0")]
    ]


def to_csv(rows: list[dict[str, Any]], *, delimiter: str = ",", header: list[str] | None = None,
           encoding: str = "utf-8") -> bytes:
    """CSV bytes as Excel would export them (quoted where needed)."""
    header = header or list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buf.getvalue().encode(encoding)


def to_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """An .xlsx workbook with the given sheets (lists of rows); written by openpyxl."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def grid(rows: list[dict[str, str]]) -> list[list[Any]]:
    """Rows as a header + values grid for ``to_xlsx``."""
    header = list(rows[0])
    return [header] + [[r[h] for h in header] for r in rows]
