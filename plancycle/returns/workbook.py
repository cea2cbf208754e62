"""Read an Excel workbook upload (.xlsx/.xlsm) into a grid of cells.

A workbook holds the return on one sheet — the only one, the one named for the return, or
the only one with values — and each cell is read as the text a CSV export would hold (dates
ISO, ``1.0`` as ``1``). Formulas are read as their saved values; a formula that was never
calculated (a workbook written by a program, not Excel) has none, which is a failed check
naming the cell.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pyarrow as pa

from plancycle.returns import cells
from plancycle.returns.checks import CheckResult, OffendingRow
from plancycle.returns.hostile import check_archive
from plancycle.returns.kinds import ReturnKind, normalise_header
from plancycle.returns.layout import HEADER_SEARCH_ROWS
from plancycle.returns.table import UploadError, column_letter

ZIP_MAGIC = b"PK\x03\x04"


def cell_text(value: Any) -> str | None:
    """A cell value as the text a CSV export would hold (dates ISO, 1.0 → ``1``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def pick_sheet(sheetnames: list[str], non_empty: list[str], kind: ReturnKind,
               name: str) -> str:
    """The sheet holding the return, or an UploadError saying which sheet to keep."""
    if len(sheetnames) == 1:
        return sheetnames[0]
    wanted = {kind.key, normalise_header(kind.title), *kind.sheet_names}
    matching = [s for s in sheetnames if normalise_header(s) in wanted]
    if len(matching) == 1:
        return matching[0]
    if len(non_empty) == 1:
        return non_empty[0]
    listed = ", ".join(f"'{s}'" for s in sheetnames)
    raise UploadError(
        name,
        f"The workbook has {len(sheetnames)} sheets ({listed}) and none is named for this "
        f"return ({kind.title}).",
        f"Delete the other sheets and keep only the one with the return, or rename that sheet "
        f"to '{kind.key}', then re-upload.",
        code="xlsx.several_sheets",
    )


def read_xlsx(data: bytes, name: str, kind: ReturnKind, findings: list[CheckResult],
              notes: list[str]) -> pa.Table:
    """The grid of the workbook's return sheet; UploadError when it cannot be read."""
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadError(name, "The file looks like an Excel workbook but is damaged or "
                          "incomplete.", "Open it in Excel, save it again as .xlsx and "
                          "re-upload.", code="file.format") from None
    check_archive(archive, name)
    if "xl/workbook.xml" not in members:
        raise UploadError(name, "The file is a zip archive but not an Excel workbook "
                          "(it may be a Word document or a zip of files).",
                          "Upload the return itself as .xlsx or CSV.", code="file.format")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged parts
        raise UploadError(name, f"The Excel workbook could not be opened ({exc}).",
                          "Open it in Excel, save it again as .xlsx and re-upload.",
                          code="file.format") from None
    non_empty = [s for s in workbook.sheetnames if _sheet_has_values(workbook[s])]
    sheet = pick_sheet(workbook.sheetnames, non_empty, kind, name)
    if len(workbook.sheetnames) > 1:
        notes.append(f"Read sheet '{sheet}' of {len(workbook.sheetnames)} in the workbook.")
    rows = [[cell_text(v) for v in row] for row in workbook[sheet].iter_rows(values_only=True)]
    workbook.close()
    if any(m.startswith("xl/worksheets/") and b"<f" in archive.read(m) for m in members):
        _check_formulas(data, sheet, rows, findings, notes)
    if not max((len(r) for r in rows), default=0):
        raise UploadError(name, f"Sheet '{sheet}' is empty.",
                          "Put the header on row 1 and the data below it, then re-upload.",
                          code="file.empty")
    return cells.grid_from_rows(rows)


def _sheet_has_values(sheet: Any) -> bool:
    for row in sheet.iter_rows(values_only=True, max_row=HEADER_SEARCH_ROWS + 2):
        if any(v is not None and str(v).strip() for v in row):
            return True
    return False


def _check_formulas(data: bytes, sheet: str, rows: list[list[str | None]],
                    findings: list[CheckResult], notes: list[str]) -> None:
    """Formulas are read as their saved values; a formula never calculated has none."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    missing: list[OffendingRow] = []
    n_missing = formulas = 0
    for r, row in enumerate(workbook[sheet].iter_rows(values_only=True)):
        for c, value in enumerate(row):
            if isinstance(value, str) and value.startswith("="):
                formulas += 1
                cached = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
                if cached is None:
                    n_missing += 1
                    if len(missing) < 20:
                        missing.append(OffendingRow(r + 1, {"cell": f"{column_letter(c)}{r + 1}",
                                                            "formula": value}))
    workbook.close()
    if formulas and not n_missing:
        notes.append(f"{formulas} formula cells were read as their saved values.")
    if n_missing:
        findings.append(CheckResult(
            id="file.formula_without_value",
            description="Formulas have a saved value",
            severity="fail", status="fail", evaluated=formulas, offending=n_missing,
            rows=missing,
            message=f"{n_missing} formula cell(s) have no saved value (the workbook was "
                    f"written by a program that does not calculate), e.g. cell "
                    f"{missing[0].values['cell']}.",
            fix="Open the workbook in Excel and save it (so the formulas are calculated), or "
                "copy the cells and Paste Special > Values, then re-upload.",
        ))
