"""Formatted tables for the plan: numbers become display strings here, not in templates.

Why: keeping formatting in Python makes it testable and keeps the Jinja2 templates about
structure. Conventions follow the domain: WTE to one decimal place, headcount as whole
people, rates as percentages, money in pounds (millions for large sums).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

Formatter = Callable[[object], str]


@dataclass(frozen=True)
class Table:
    """A captioned table of display strings; ``numeric`` right-aligns columns."""

    caption: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    footer: list[str] | None = None
    note: str | None = None
    rag_column: int | None = None


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def text(value: object) -> str:
    return "" if _missing(value) else str(value)


def wte(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):,.1f}"


def signed_wte(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):+,.1f}"


def count(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):,.0f}"


def pct(value: object, dp: int = 1) -> str:
    return "–" if _missing(value) else f"{float(value):.{dp}f}%"


def pct2(value: object) -> str:
    return pct(value, 2)


def gbp(value: object) -> str:
    """£ with thousands separators, or £m to one decimal place from a million up."""
    if _missing(value):
        return "–"
    v = float(value)
    return f"£{v / 1e6:,.1f}m" if abs(v) >= 1e6 else f"£{v:,.0f}"


def yes_no(value: object) -> str:
    return "Yes" if bool(value) else "No"


NUMERIC_FORMATTERS = {wte, signed_wte, count, pct, pct2, gbp}


def table_from(
    frame: pd.DataFrame,
    caption: str,
    columns: Sequence[tuple[str, str, Formatter]],
    footer: list[str] | None = None,
    note: str | None = None,
    rag_column: int | None = None,
) -> Table:
    """Pick ``(column, header, formatter)`` from a frame, in that order."""
    rows = [[fmt(record[key]) for key, _, fmt in columns]
            for record in frame.to_dict("records")]
    return Table(
        caption=caption,
        headers=[header for _, header, _ in columns],
        rows=rows,
        numeric=[fmt in NUMERIC_FORMATTERS for _, _, fmt in columns],
        footer=footer,
        note=note,
        rag_column=rag_column,
    )
