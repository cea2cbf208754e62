"""Write a template as a formatted xlsx and as tidy CSV, and read either back.

Why both: people open the workbook (frozen headers, number formats, a guidance sheet); the
ICS's pipeline and anyone without a spreadsheet engine read the CSV. Every cell holds a
value, never only a formula, so pandas or openpyxl see the numbers; computed sheets (bridge,
validation) are protected against accidental edits (no password: this is a guard, not
security). Each sheet's CSV has the same header and rows as the sheet, and
``wte_forecast_long.csv`` is the forecast in long form (one row per group × type × month).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pandas as pd

from plancycle.template.model import (
    ASSUMPTIONS,
    BRIDGE,
    COVER,
    FORECAST,
    GUIDANCE,
    KEY_VALUE_COLUMNS,
    KPI,
    MONTHS,
    OPENING,
    PERIODS,
    SHEETS,
    TRIANGULATION,
    VALIDATION,
    YEAR,
    WorkforceTemplate,
    month_labels,
    text,
)

LONG_CSV = "wte_forecast_long.csv"
WTE_FORMAT = "#,##0.00###"
NUMBER_FORMAT = "#,##0.00"
PROTECTED = (BRIDGE, VALIDATION)

GUIDANCE_ROWS: tuple[tuple[str, str], ...] = (
    ("Purpose", "The workforce plan template the organisation submits to its ICS: a WTE "
     "staffing forecast for each month-end of the financial year, the bridge from the opening "
     "to the closing WTE, workforce KPIs, triangulation with the finance and activity plans, "
     "and the validation of all of these."),
    ("Periods", "Opening = the actual position at 31 March (staff in post); M1 = April … "
     "M12 = March; every figure is the position at the month-end."),
    ("WTE forecast", "One row per staff group × staff type (substantive, bank, agency) and a "
     "total row; 'All staff groups' rows are the sum of the groups. WTE (FTE) adds up; "
     "headcount does not and is not in this template."),
    ("Bridge", "For each staff group and month: opening WTE + leavers (negative) + starters + "
     "newly qualified + international recruits + service changes + CIP/productivity + bank "
     "change + agency change = closing WTE, which is the WTE forecast's total."),
    ("KPIs", "Turnover, sickness absence, vacancy rate and agency spend as a share of the pay "
     "budget, in percent; the opening column is the organisation's current figure."),
    ("Triangulation", "Closing WTE against the scenario's demand growth and the pay budget."),
    ("Validation", "Every inconsistency found, naming the sheet, row and column and the fix. "
     "An empty validation sheet means the template is internally consistent."),
    ("Numbers", "Values are written as numbers (no formulas); decimals are exact: the opening "
     "position is the sum of the source's own figures."),
)


def _labels(template: WorkforceTemplate) -> dict[str, str]:
    labels = month_labels(template.financial_year)
    return {**labels, YEAR: YEAR}


def sheet_frames(template: WorkforceTemplate) -> dict[str, pd.DataFrame]:
    """Every sheet as the frame written to the workbook and to its CSV (headers as shown)."""
    labels = _labels(template)

    def shown(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(columns={c: labels[c] for c in frame.columns if c in labels})

    from plancycle.template.validation import validation_frame

    validation = template.validation
    if validation is None or not isinstance(validation, pd.DataFrame):
        validation = validation_frame([])
    return {
        GUIDANCE: pd.DataFrame(GUIDANCE_ROWS, columns=["topic", "guidance"]),
        COVER: pd.DataFrame(template.cover, columns=list(KEY_VALUE_COLUMNS)),
        ASSUMPTIONS: pd.DataFrame(template.assumptions, columns=list(KEY_VALUE_COLUMNS)),
        FORECAST: shown(template.forecast),
        BRIDGE: shown(template.bridge),
        KPI: shown(template.kpis),
        TRIANGULATION: template.triangulation,
        VALIDATION: validation,
    }


def csv_name(sheet: str) -> str:
    return sheet.lower().replace(" ", "_") + ".csv"


def _csv_bytes(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([text(v) for v in row])
    return out.getvalue().encode("utf-8")


def csv_files(template: WorkforceTemplate) -> dict[str, bytes]:
    """``{file name: bytes}``: one CSV per sheet plus the long forecast."""
    files = {csv_name(sheet): _csv_bytes(frame.columns, frame.itertuples(index=False))
             for sheet, frame in sheet_frames(template).items()}
    labels = month_labels(template.financial_year)
    long_rows = [(template.org_code, r["staff_group"], r["staff_type"], p, labels[p], r[p])
                 for r in template.forecast.to_dict("records") for p in PERIODS]
    files[LONG_CSV] = _csv_bytes(("org_code", "staff_group", "staff_type", "period",
                                  "period_label", "wte"), long_rows)
    return files


def xlsx_bytes(template: WorkforceTemplate) -> bytes:
    """The formatted workbook (deterministic: fixed document properties)."""
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    fixed = dt.datetime(2000, 1, 1)
    book.properties.created = book.properties.modified = fixed
    book.properties.creator = "plancycle"
    book.properties.title = f"{template.org_name} workforce plan template {template.financial_year}"
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="005EB8")
    for sheet, frame in sheet_frames(template).items():
        ws = book.create_sheet(sheet)
        ws.append(list(frame.columns))
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in frame.itertuples(index=False):
            ws.append([None if v is None or (isinstance(v, float) and v != v) else v
                       for v in row])
        wte_sheet = sheet in (FORECAST, BRIDGE)
        for col_index, column in enumerate(frame.columns, start=1):
            letter = get_column_letter(col_index)
            numeric = any(isinstance(v, Decimal | int | float) and not isinstance(v, bool)
                          for v in frame.iloc[:, col_index - 1])
            width = 60 if sheet == GUIDANCE and column == "guidance" else (
                14 if numeric else min(40, max(12, len(str(column)) + 2)))
            ws.column_dimensions[letter].width = width
            if numeric:
                for cell in ws[letter][1:]:
                    cell.number_format = WTE_FORMAT if wte_sheet else NUMBER_FORMAT
            if sheet == GUIDANCE:
                for cell in ws[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        first_value = 3 if sheet in (FORECAST, BRIDGE, KPI) else 2
        ws.freeze_panes = ws.cell(row=2, column=first_value if len(frame.columns) > 2 else 1)
        if sheet in PROTECTED:
            ws.protection.sheet = True
    out = io.BytesIO()
    book.save(out)
    return _stable_zip(out.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """Rewrite the xlsx zip with fixed member times (and the modified time openpyxl stamps on
    save) so the same template always has the same hash."""
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z",
                                 content)
            dst.writestr(fixed, content)
    return out.getvalue()


def write(template: WorkforceTemplate, directory: Path, stem: str = "workforce-template"
          ) -> dict[str, Path]:
    """Write ``<stem>.xlsx`` and ``<stem>-csv/*.csv`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"xlsx": directory / f"{stem}.xlsx"}
    paths["xlsx"].write_bytes(xlsx_bytes(template))
    folder = directory / f"{stem}-csv"
    folder.mkdir(exist_ok=True)
    for name, data in csv_files(template).items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    return paths


def package_files(template: WorkforceTemplate, prefix: str = "template/") -> dict[str, bytes]:
    """The files a submission package carries (paths inside the package)."""
    stem = f"{template.org_code}-workforce-template-{template.financial_year.replace('/', '-')}"
    files = {f"{prefix}{stem}.xlsx": xlsx_bytes(template)}
    files.update({f"{prefix}csv/{name}": data for name, data in csv_files(template).items()})
    return files


# --- reading back -------------------------------------------------------------------------

def column_key(header: object) -> str:
    """A column's key from its shown header ("M1 Apr-26" → "M1", "Opening (…)" → "Opening")."""
    shown = str(header or "").strip()
    first = shown.split(" ", 1)[0]
    if first in PERIODS or first == YEAR:
        return first
    if shown.startswith(OPENING):
        return OPENING
    return shown


def read_xlsx(source: bytes | str | Path) -> dict[str, pd.DataFrame]:
    """Each sheet of a workbook as a frame of the stored values (header = row 1)."""
    from openpyxl import load_workbook

    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    book = load_workbook(handle, read_only=True, data_only=True)
    out = {}
    for ws in book.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        if not rows:
            out[ws.title] = pd.DataFrame()
            continue
        header = [str(h) if h is not None else "" for h in rows[0]]
        width = len(header)
        out[ws.title] = pd.DataFrame([r[:width] + [None] * (width - len(r)) for r in rows[1:]],
                                     columns=header, dtype=object)
    book.close()
    return out


def read_csv_dir(folder: Path) -> dict[str, pd.DataFrame]:
    """The sheets from a template's CSV folder (values as text)."""
    out = {}
    for sheet in SHEETS:
        path = folder / csv_name(sheet)
        if path.exists():
            out[sheet] = pd.read_csv(path, dtype=str, keep_default_na=False)
    return out


def template_from_sheets(sheets: dict[str, pd.DataFrame]) -> WorkforceTemplate:
    """A template from read sheets; cells become Decimals where they are numbers.

    Raises KeyError naming a missing sheet; :func:`plancycle.template.check.check_template`
    checks the structure first and reports problems instead."""
    from plancycle.template.model import dec

    def frame(sheet: str, numeric: Iterable[str]) -> pd.DataFrame:
        data = sheets[sheet].rename(columns=column_key).copy()
        for column in numeric:
            if column in data.columns:
                data[column] = [_safe_dec(dec, v) for v in data[column]]
        return data

    def pairs(sheet: str) -> list[tuple[str, str]]:
        data = sheets.get(sheet, pd.DataFrame(columns=list(KEY_VALUE_COLUMNS)))
        return [(str(r[0]), text(r[1]) if r[1] is not None else "")
                for r in data.itertuples(index=False)]

    cover = pairs(COVER)
    info = dict(cover)
    tri_numeric = [c for c in sheets.get(TRIANGULATION, pd.DataFrame()).columns
                   if c != "staff_group"]
    return WorkforceTemplate(
        org_code=info.get("org_code", ""), org_name=info.get("org_name", ""),
        financial_year=info.get("financial_year", ""), cover=cover,
        assumptions=pairs(ASSUMPTIONS),
        forecast=frame(FORECAST, PERIODS), bridge=frame(BRIDGE, (*MONTHS, YEAR)),
        kpis=frame(KPI, PERIODS),
        triangulation=frame(TRIANGULATION, tri_numeric) if TRIANGULATION in sheets
        else pd.DataFrame(),
        validation=sheets.get(VALIDATION, pd.DataFrame()))


def _safe_dec(dec, value: object) -> object:  # type: ignore[no-untyped-def]
    """A Decimal, or the cell unchanged if it is not a number (the checks report it)."""
    try:
        return dec(value)
    except ValueError:
        return value
