"""Reproduce published NHS workforce statistics exactly (sickness rates, Core 5 FTE totals).

Why: if the analysis cannot reproduce the publisher's own figures from the publisher's own
files, its numbers for a trust cannot be trusted either. Values are read as the exact decimal
strings in the files (never through binary floats) and summed or divided with ``Decimal``.

Sickness absence: rate = FTE days lost ÷ FTE days available × 100, rounded to 2 dp. Over the
2,554 organisation rows of April–December 2024, Decimal half-up, Decimal half-even and
float ``round`` all reproduce every published value; the row closest to a rounding tie is
RLY in April 2024 (5.39500034…%), so no row tells half-up from half-even. We use Decimal
ROUND_HALF_UP on the file's strings: exact, and the usual convention in official statistics.
Note that some published values carry binary-float artefacts (``45625.478970000004``); the
decimal string is used as written.

Core 5 staff in post: FTE is additive, so sums by staff group, organisation and ICS are
exact totals. HEADCOUNT is per cell; one person can appear in several cells (e.g. two posts
in different care settings), so a sum of HEADCOUNT is a sum of cell counts, not a count of
distinct people — it is reported as ``headcount_cells`` to keep that visible.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from plancycle.returns import codes

SICKNESS_COLUMNS = ("DATE", "ORG_CODE", "FTE_DAYS_LOST", "FTE_DAYS_AVAILABLE",
                    "SICKNESS_ABSENCE_RATE_PERCENT")
CORE5_COLUMNS = ("ICS_CODE", "ORG_CODE", "STAFF_GROUP_1", "GRADE", "FTE", "HEADCOUNT")
TWO_DP = Decimal("0.01")


def _read(path: str | Path, required: tuple[str, ...]) -> pd.DataFrame:
    """All columns as text exactly as written (no float parsing), checking the header."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ValueError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"{path}: not the published layout, missing column(s) "
                         f"{', '.join(missing)}")
    width = len(header)
    body = [r[:width] + [""] * (width - len(r)) for r in rows[1:] if any(c.strip() for c in r)]
    return pd.DataFrame(body, columns=header, dtype=object)


def load_sickness(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Published monthly sickness files, one row per organisation and month, as text."""
    frames = []
    for path in sorted(Path(p) for p in paths):
        frame = _read(path, SICKNESS_COLUMNS)
        frame.insert(0, "source_file", path.name)
        frames.append(frame)
    if not frames:
        raise ValueError("no sickness absence files given")
    return pd.concat(frames, ignore_index=True)


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def sickness_rate(lost: object, available: object) -> Decimal | None:
    """lost ÷ available × 100 rounded half-up to 2 dp; None if either is not a number or
    nothing was available."""
    num, den = _decimal(lost), _decimal(available)
    if num is None or den is None or den == 0:
        return None
    return (num / den * 100).quantize(TWO_DP, rounding=ROUND_HALF_UP)


def sickness_rates(published: pd.DataFrame) -> pd.DataFrame:
    """Each row's computed rate beside the published one, and whether they are equal."""
    out = pd.DataFrame({
        "month": pd.to_datetime(published["DATE"], format="%d/%m/%Y").dt.strftime("%Y-%m"),
        "org_code": published["ORG_CODE"].str.strip(),
        "fte_days_lost": published["FTE_DAYS_LOST"],
        "fte_days_available": published["FTE_DAYS_AVAILABLE"],
    })
    out["computed_rate"] = [sickness_rate(a, b) for a, b in
                            zip(published["FTE_DAYS_LOST"], published["FTE_DAYS_AVAILABLE"],
                                strict=True)]
    out["published_rate"] = published["SICKNESS_ABSENCE_RATE_PERCENT"].map(_decimal)
    out["matches"] = [c is not None and p is not None and c == p
                      for c, p in zip(out["computed_rate"], out["published_rate"], strict=True)]
    return out


def load_core5(path: str | Path) -> pd.DataFrame:
    """The published Core 5 organisation file as text, plus the staff group without prefix."""
    frame = _read(path, CORE5_COLUMNS)
    frame["staff_group"] = frame["STAFF_GROUP_1"].map(codes.strip_published_prefix)
    return frame


def _totals(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    fte = frame["FTE"].map(Decimal)
    headcount = frame["HEADCOUNT"].map(int)
    grouped = frame.assign(_fte=fte, _hc=headcount).groupby(keys, sort=False)
    table = grouped.agg(fte=("_fte", lambda s: sum(s, Decimal(0))),
                        headcount_cells=("_hc", "sum"), rows=("_fte", "size")).reset_index()
    return table


def fte_by_staff_group(core5: pd.DataFrame, level: str = "organisation") -> pd.DataFrame:
    """Exact FTE (Decimal) and summed cell headcount per staff group for each organisation
    (``level="organisation"``) or ICS (``level="ics"``), in file order."""
    key = {"organisation": "ORG_CODE", "ics": "ICS_CODE"}.get(level)
    if key is None:
        raise ValueError("level must be 'organisation' or 'ics'")
    return _totals(core5, [key, "staff_group"])


def fte_totals(core5: pd.DataFrame, level: str = "ics") -> pd.DataFrame:
    """Exact FTE (Decimal) and summed cell headcount per ICS or organisation."""
    key = {"organisation": "ORG_CODE", "ics": "ICS_CODE"}.get(level)
    if key is None:
        raise ValueError("level must be 'organisation' or 'ics'")
    return _totals(core5, [key])


def round_half_up(value: Decimal, places: int = 1) -> Decimal:
    """Round a Decimal half-up to ``places`` decimal places (as published totals are)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
