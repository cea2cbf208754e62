"""Hostile uploads: formula-looking text and archives that inflate.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel and LibreOffice when the data is re-opened from a CSV (OWASP "CSV
injection": ``=HYPERLINK(...)`` phishing, ``=cmd|...`` DDE). Uploads holding such cells get a
DQ warning naming them, and every export we write passes its cells through :func:`neutralise`
(a leading ``'`` makes the spreadsheet show the text as text). Numbers such as ``-3`` or
``+44`` are not formulas and are left alone.

An xlsx is a zip: its entries are checked (count, uncompressed size, compression ratio) from
the archive's directory before anything is inflated, so a small file that inflates to
gigabytes is refused in milliseconds.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from typing import Any

import pandas as pd

from plancycle.returns.checks import CheckResult, OffendingRow
from plancycle.returns.table import UploadError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")

#: Limits for an xlsx archive, read from its directory before inflating anything.
MAX_XLSX_ENTRIES = 10_000
MAX_XLSX_UNCOMPRESSED = 2 * 1024 ** 3  # well above a 1.5M-row workbook (about 600 MB inside)
MAX_XLSX_RATIO = 100  # a real sheet compresses 5-20x; a bomb 1000x


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would run as a formula (``-3`` is a number, not one)."""
    if not isinstance(value, str) or not value or value[0] not in FORMULA_PREFIXES:
        return False
    return value[0] in "\t\r" or not _NUMBER.match(value.strip())


def neutralise(value: Any) -> Any:
    """The value made safe to open in a spreadsheet: formula-looking text gets a leading ``'``.

    The one function every export (CSV, xlsx, the submission package) passes cells through.
    """
    return "'" + value if looks_like_formula(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every formula-looking text cell (and header) neutralised."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    return out


def neutralise_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows (as ``csv.DictWriter`` takes them) with every value neutralised."""
    return [{k: neutralise(v) for k, v in row.items()} for row in rows]


def formula_check(frame: pd.DataFrame, headers: dict[str, str]) -> CheckResult | None:
    """DQ warning ``file.formula_text`` naming the cells that a spreadsheet would run."""
    found: list[OffendingRow] = []
    count = 0
    columns: list[str] = []
    for column in frame.columns:
        text = frame[column]
        if not (text.dtype == object or isinstance(text.dtype, pd.StringDtype)):
            continue
        first = text.str[:1]
        candidates = first.isin(FORMULA_PREFIXES).fillna(False).astype(bool)
        if not candidates.any():
            continue
        mask = text[candidates].map(looks_like_formula).astype(bool)
        hits = mask[mask].index
        if not len(hits):
            continue
        count += len(hits)
        columns.append(headers.get(column, column))
        for row in hits[: max(0, 20 - len(found))]:
            found.append(OffendingRow(int(row), {headers.get(column, column): str(text[row])}))
    if not count:
        return None
    rows = ", ".join(str(r.row) for r in found[:10])
    return CheckResult(
        id="file.formula_text", description="No text cells that a spreadsheet runs as formulas",
        severity="warn", status="warn", evaluated=int(frame.size), offending=count, rows=found,
        message=f"{count} text cell(s) start with =, +, -, @, a tab or a carriage return and "
                f"would run as formulas when opened in a spreadsheet (column(s) "
                f"{', '.join(columns)}; row(s) {rows}). They are kept as text and exported "
                f"with a leading '.",
        fix="Remove the leading character (or the formula) from those cells, or paste them as "
            "values, then re-upload.",
    )


def check_archive(archive: zipfile.ZipFile, name: str) -> None:
    """UploadError ``file.archive_limits`` for an xlsx that would inflate beyond the limits."""
    infos = archive.infolist()
    fix = ("Open the workbook in Excel, keep only the return's sheet and its data, save it "
           "again as .xlsx (or export CSV UTF-8) and re-upload.")
    if len(infos) > MAX_XLSX_ENTRIES:
        raise UploadError(name, f"The workbook archive holds {len(infos):,} parts, over the "
                          f"{MAX_XLSX_ENTRIES:,} a workbook needs.", fix,
                          code="file.archive_limits")
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise UploadError(name, f"The workbook inflates to {total / 1024 ** 2:,.0f} MB, over "
                          f"the {MAX_XLSX_UNCOMPRESSED // 1024 ** 2:,} MB limit.", fix,
                          code="file.archive_limits")
    for info in infos:
        if info.file_size > 1024 ** 2 and info.file_size > MAX_XLSX_RATIO * max(
                info.compress_size, 1):
            raise UploadError(
                name, f"Part '{info.filename}' of the workbook inflates from "
                f"{info.compress_size / 1024:,.0f} KB to {info.file_size / 1024 ** 2:,.0f} MB "
                f"(ratio {info.file_size // max(info.compress_size, 1):,}:1, limit "
                f"{MAX_XLSX_RATIO}:1): it is padded or crafted, not a return.", fix,
                code="file.archive_limits")
