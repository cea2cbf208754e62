"""Quarters of the financial year ("2026/27 Q2"): what check-ins and RAG history are keyed by."""

from __future__ import annotations

import calendar as months
import re
from datetime import date

from plancycle.actions.terms import ActionError
from plancycle.calendar import financial_year_bounds

# --- quarters of the financial year ----------------------------------------------------------

def fy_of(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def quarter_of(day: date) -> str:
    """``date(2026, 11, 3)`` → ``"2026/27 Q3"`` (Q1 April–June … Q4 January–March)."""
    return f"{fy_of(day)} Q{((day.month - 4) % 12) // 3 + 1}"


def parse_quarter(label: str, today: date) -> str:
    """"Q3" (this financial year) or "2026/27 Q3" → the full label; ActionError if neither."""
    text = label.strip().upper().replace("-", "/")
    match = re.fullmatch(r"(?:(\d{4}/\d{2})\s*)?Q([1-4])", text)
    if not match:
        raise ActionError(f"quarter {label!r} should look like Q3 or '2026/27 Q3'")
    year = match.group(1) or fy_of(today)
    try:
        financial_year_bounds(year)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return f"{year} Q{match.group(2)}"


def quarter_bounds(label: str) -> tuple[date, date]:
    year, q = label.split(" Q")
    start, _ = financial_year_bounds(year)
    first_month = start.month + 3 * (int(q) - 1)
    y, m = start.year + (first_month - 1) // 12, (first_month - 1) % 12 + 1
    last_y, last_m = y + (m + 1) // 12, (m + 1) % 12 + 1
    return date(y, m, 1), date(last_y, last_m, months.monthrange(last_y, last_m)[1])


def previous_quarter(label: str) -> str:
    start, _ = quarter_bounds(label)
    return quarter_of(date.fromordinal(start.toordinal() - 1))


