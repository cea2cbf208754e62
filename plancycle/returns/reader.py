"""Read an uploaded CSV or XLSX return into a table of strings with the user's row numbers.

Uploads come from people exporting spreadsheets by hand, so the reader expects the usual
accidents (wrong encoding, semicolons, a title above the header, a Total row, several sheets)
and either copes with them, recording a finding for the DQ report, or raises an
:class:`UploadError` that names the file, the problem and what to do. It never lets a parser
traceback reach the person who uploaded.

Row numbers are the ones the user sees in Excel: the header is row 1 and the first data row is
row 2 (or later when title rows sit above the header).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from plancycle.returns.checks import CheckResult, OffendingRow, status_for
from plancycle.returns.kinds import ReturnKind, get_kind, normalise_header

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
#: How many leading rows may hold a title before we give up looking for the header.
HEADER_SEARCH_ROWS = 10
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, .doc
_TOTAL_RE = r"(?i)(grand\s+)?(sub\s*)?totals?:?"


class UploadError(Exception):
    """The upload cannot be read as a return; ``str()`` is a message for the uploader."""

    def __init__(self, file_name: str, problem: str, fix: str, *, code: str) -> None:
        self.file_name = file_name
        self.problem = problem
        self.fix = fix
        #: Stable identifier for tests and the register (``"file.empty"``, ``"file.too_large"``).
        self.code = code
        super().__init__(f"{file_name}: {problem} {fix}")


@dataclass
class ReturnTable:
    """An upload read as text: contract columns only, blank cells as NA, index = row number."""

    kind: ReturnKind
    file_name: str
    frame: pd.DataFrame
    #: Contract column → header text as uploaded (for messages that quote the user's file).
    headers: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    #: Reader-level checks (totals row, title rows, unknown columns …) for the DQ report.
    findings: list[CheckResult] = field(default_factory=list)
    #: Informational notes (delimiter, encoding, sheet used) that need no action.
    notes: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.frame)


def column_letter(index: int) -> str:
    """0 → ``A``, 27 → ``AB``: how spreadsheet users name columns."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def read_return(
    source: bytes | str | Path,
    kind: ReturnKind | str,
    *,
    file_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ReturnTable:
    """Read ``source`` (bytes or a path) as a return of ``kind``; raise UploadError if unreadable.

    The size limit is checked before any byte is read, so a huge upload is refused cheaply.
    """
    kind = get_kind(kind) if isinstance(kind, str) else kind
    if isinstance(source, bytes):
        name = file_name or "upload"
        _check_size(name, len(source), max_bytes)
        data = source
    else:
        path = Path(source)
        name = file_name or path.name
        _check_size(name, path.stat().st_size, max_bytes)
        data = path.read_bytes()
    if not data.strip():
        raise UploadError(name, "The file is empty.",
                          "Export the return again with its header row and data, then re-upload.",
                          code="file.empty")
    findings: list[CheckResult] = []
    notes: list[str] = []
    if data.startswith(_ZIP_MAGIC):
        grid, row_numbers = _read_xlsx(data, name, kind, findings, notes)
        if not name.lower().endswith((".xlsx", ".xlsm")):
            notes.append(f"{name} is an Excel workbook (whatever its name says) and was read "
                         "as one.")
    elif data.startswith(_OLE_MAGIC):
        raise UploadError(name, "This is an old-style Excel (.xls) or other Office file, "
                          "which cannot be read.",
                          "Open it in Excel and use Save As > 'Excel Workbook (.xlsx)' or "
                          "'CSV UTF-8', then re-upload.", code="file.format")
    else:
        if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
            notes.append(f"{name} is named like an Excel file but holds plain text; it was "
                         "read as CSV.")
        grid, row_numbers = _read_csv(data, name, findings, notes)
        return table_from_grid(grid, row_numbers, kind, name, findings=findings, notes=notes,
                               delimited=True)
    return table_from_grid(grid, row_numbers, kind, name, findings=findings, notes=notes)


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise UploadError(
            name,
            f"The file is {size / 1_048_576:.1f} MB, over the {max_bytes / 1_048_576:.0f} MB "
            "limit for one return.",
            "Remove columns the return does not ask for, or split it by month or organisation "
            "and upload each part.",
            code="file.too_large",
        )


# --- CSV --------------------------------------------------------------------------------------

def _decode(data: bytes, name: str, notes: list[str]) -> str:
    """Decode text as UTF-8 (with or without BOM), UTF-16 (Excel 'Unicode text') or Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notes.append(f"{name} was saved as UTF-16 ('Unicode text') and read as such.")
        return data.decode("utf-16")
    if b"\x00" in data[:65536]:
        raise UploadError(name, "The file is not text (it contains binary data) and is not an "
                          "Excel workbook.",
                          "Upload the return as .xlsx or as 'CSV UTF-8' exported from Excel.",
                          code="file.format")
    for encoding in ("utf-8-sig", "utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "cp1252":
            notes.append(f"{name} is not UTF-8; it was read as Windows-1252 (Excel's "
                         "'CSV (Comma delimited)'). Prefer 'CSV UTF-8' next time.")
        return text
    raise UploadError(name, "The file's text encoding could not be recognised (tried UTF-8 and "
                      "Windows-1252).",
                      "In Excel use Save As > 'CSV UTF-8 (Comma delimited)', then re-upload.",
                      code="file.encoding")


def _sniff_delimiter(text: str) -> str:
    """Delimiter from the first lines: csv.Sniffer, checked by counting, comma when unsure."""
    lines = [ln for ln in text.splitlines()[:HEADER_SEARCH_ROWS + 5] if ln.strip()]
    sample = "\n".join(lines)
    candidates = ",;\t|"
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=candidates).delimiter
    except csv.Error:
        delimiter = ""
    counts = {d: max((ln.count(d) for ln in lines), default=0) for d in candidates}
    if delimiter not in counts or counts[delimiter] == 0:
        delimiter = max(candidates, key=lambda d: (counts[d], d == ","))
    if counts.get(",", 0) and counts[delimiter] <= counts[","]:
        delimiter = ","
    return delimiter or ","


_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _read_csv(data: bytes, name: str, findings: list[CheckResult],
              notes: list[str]) -> tuple[pd.DataFrame, pd.Index]:
    text = _decode(data, name, notes)
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"{name} separates values with {_DELIMITER_NAMES[delimiter]}, "
                     "not commas; it was read that way.")
    head = list(csv.reader(io.StringIO("\n".join(text.splitlines()[:200])),
                           delimiter=delimiter))
    width = max((len(r) for r in head), default=1)
    try:
        grid = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, names=range(width), dtype=str,
            keep_default_na=False, na_filter=False, skip_blank_lines=False,
            engine="c", quotechar='"',
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            raise UploadError(
                name,
                f"Row {line} has {saw} values but the header has {expected} columns.",
                "A value probably contains the separator (e.g. 'Scientific, therapeutic & "
                "technical staff' needs double quotes around it); export the file again from "
                "Excel as 'CSV UTF-8' so values are quoted.",
                code="file.ragged_rows",
            ) from None
        raise UploadError(name, f"The file could not be read as CSV ({exc}).",
                          "Export it again from Excel as 'CSV UTF-8' and re-upload.",
                          code="file.format") from None
    grid = grid.fillna("")
    return grid, pd.RangeIndex(1, len(grid) + 1)


# --- XLSX -------------------------------------------------------------------------------------

def _cell_text(value: Any) -> str | None:
    """A cell value as the text a CSV export would hold (dates ISO, 1.0 → ``1``)."""
    import datetime as dt

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


def _pick_sheet(sheetnames: list[str], non_empty: list[str], kind: ReturnKind,
                name: str) -> str:
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


def _read_xlsx(data: bytes, name: str, kind: ReturnKind, findings: list[CheckResult],
               notes: list[str]) -> tuple[pd.DataFrame, pd.Index]:
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = set(archive.namelist())
    except zipfile.BadZipFile:
        raise UploadError(name, "The file looks like an Excel workbook but is damaged or "
                          "incomplete.", "Open it in Excel, save it again as .xlsx and "
                          "re-upload.", code="file.format") from None
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
    sheet = _pick_sheet(workbook.sheetnames, non_empty, kind, name)
    if len(workbook.sheetnames) > 1:
        notes.append(f"Read sheet '{sheet}' of {len(workbook.sheetnames)} in the workbook.")
    rows = [[_cell_text(v) for v in row] for row in workbook[sheet].iter_rows(values_only=True)]
    workbook.close()
    if any(m.startswith("xl/worksheets/") and b"<f" in archive.read(m) for m in members):
        _check_formulas(data, sheet, rows, name, findings, notes)
    width = max((len(r) for r in rows), default=0)
    if not width:
        raise UploadError(name, f"Sheet '{sheet}' is empty.",
                          "Put the header on row 1 and the data below it, then re-upload.",
                          code="file.empty")
    grid = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    grid = grid.fillna("").astype(str)
    return grid, pd.RangeIndex(1, len(grid) + 1)


def _sheet_has_values(sheet: Any) -> bool:
    for row in sheet.iter_rows(values_only=True, max_row=HEADER_SEARCH_ROWS + 2):
        if any(v is not None and str(v).strip() for v in row):
            return True
    return False


def _check_formulas(data: bytes, sheet: str, rows: list[list[str | None]], name: str,
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


# --- header, totals and the contract columns -------------------------------------------------

def _find_header(grid: pd.DataFrame, kind: ReturnKind) -> tuple[int, int]:
    """(position, matches) of the row with most contract column names among the first rows."""
    known = set(kind.header_map()) | {normalise_header(c) for c in kind.ignored_columns}
    best, best_matches = 0, -1
    for pos in range(min(HEADER_SEARCH_ROWS, len(grid))):
        labels = {normalise_header(v) for v in grid.iloc[pos] if v}
        matches = len(labels & known)
        if matches > best_matches:
            best, best_matches = pos, matches
    return best, best_matches


def table_from_grid(
    grid: pd.DataFrame,
    row_numbers: pd.Index,
    kind: ReturnKind,
    name: str,
    *,
    findings: list[CheckResult] | None = None,
    notes: list[str] | None = None,
    delimited: bool = False,
) -> ReturnTable:
    """Find the header in a grid of cells, map it to the contract and return the data rows.

    ``delimited`` marks text files, where values beyond the header mean a row was split by an
    unquoted separator (in a workbook they are just an unlabelled column).
    """
    findings = [] if findings is None else findings
    notes = [] if notes is None else notes
    grid = grid.copy()
    grid.index = row_numbers
    grid.columns = range(grid.shape[1])
    for col in grid.columns:
        grid[col] = grid[col].astype("str").str.strip()
    blank = grid.eq("")
    grid = grid[~blank.all(axis=1)]
    if grid.empty:
        raise UploadError(name, "The file has no header and no data.",
                          "Export the return again with its header row and data.",
                          code="file.empty")
    header_pos, matches = _find_header(grid, kind)
    header = grid.iloc[header_pos]
    header_row = int(grid.index[header_pos])
    mapping = kind.header_map()
    found_required = sorted({mapping[n] for n in map(normalise_header, header) if n in mapping}
                            & set(kind.required_columns))
    if matches > 0 and len(found_required) * 2 < len(kind.required_columns):
        raise UploadError(
            name,
            f"This does not look like a {kind.title} return: its header (row {header_row}) has "
            f"only {len(found_required)} of the {len(kind.required_columns)} required columns "
            f"({', '.join(found_required) or 'none'}).",
            f"Check you uploaded the right file for this request. Expected columns: "
            f"{kind.expected_columns_text()}.",
            code="columns.no_header",
        )
    if matches <= 0:
        found = ", ".join(f"'{v}'" for v in grid.iloc[0] if v)[:300]
        raise UploadError(
            name,
            f"No expected column names were found in the first rows (row {grid.index[0]} has "
            f"{found}). Is this the right file for {kind.title}?",
            f"Put a header row on row 1 with these columns: {kind.expected_columns_text()}.",
            code="columns.no_header",
        )
    if header_pos > 0:
        title = " / ".join(v for v in grid.iloc[:header_pos].to_numpy().ravel() if v)[:120]
        above = [int(r) for r in grid.index[:header_pos]]
        multi = header_pos == 1 and (grid.iloc[0] != "").sum() > 1
        what = "a second header row (merged or grouped headings)" if multi else "a title"
        findings.append(CheckResult(
            id="header.title_rows", description="Header is on row 1",
            severity=kind.severity("header.title_rows"), status="warn",
            evaluated=header_row, offending=len(above),
            rows=[OffendingRow(r, {"text": " ".join(v for v in grid.loc[r] if v)[:80]})
                  for r in above],
            message=f"Row(s) {_ranges(above)} above the header look like {what} ('{title}') "
                    f"and were ignored; the header was read from row {header_row}.",
            fix="Delete the rows above the column names so the header is on row 1, with one "
                "header row only.",
        ))
    data = grid.iloc[header_pos + 1:]
    if data.empty:
        raise UploadError(name, f"The file has a header (row {header_row}) but no data rows.",
                          "Add the data below the header, or check you exported the right "
                          "sheet, then re-upload.", code="file.header_only")
    if delimited:
        _check_ragged(header, data, name)
    data = _drop_total_rows(data, kind, findings)
    columns, headers = _map_columns(header, data, kind, findings)
    frame = data[list(columns)].copy()
    frame.columns = list(columns.values())
    frame = _blank_to_na(frame)
    frame.index.name = "row"
    return ReturnTable(kind=kind, file_name=name, frame=frame, headers=headers,
                       header_row=header_row, findings=findings, notes=notes)


def _check_ragged(header: pd.Series, data: pd.DataFrame, name: str) -> None:
    """In a CSV, values to the right of the last header mean an unquoted separator."""
    named = [int(p) for p, v in header.items() if v]
    width = max(named) + 1 if named else 0
    beyond = data.iloc[:, width:]
    if beyond.empty:
        return
    extra = beyond.ne("").any(axis=1)
    if not extra.any():
        return
    rows = [int(r) for r in data.index[extra]]
    first = data.loc[rows[0]]
    saw = max(int(p) for p, v in first.items() if v) + 1
    more = f" (also row(s) {_ranges(rows[1:])})" if len(rows) > 1 else ""
    raise UploadError(
        name,
        f"Row {rows[0]} has {saw} values but the header has {width} columns{more}.",
        "A value probably contains the separator (e.g. 'Scientific, therapeutic & technical "
        "staff' needs double quotes around it); export the file again from Excel as "
        "'CSV UTF-8' so values are quoted.",
        code="file.ragged_rows",
    )


def _blank_to_na(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        frame[col] = frame[col].mask(frame[col].eq(""))
    return frame


def table_from_frame(frame: pd.DataFrame, kind: ReturnKind | str, *,
                     file_name: str = "extract") -> ReturnTable:
    """A ReturnTable from an in-memory frame whose columns are headers (tests, bench, generator)."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    header = pd.DataFrame([list(map(str, frame.columns))], columns=range(frame.shape[1]))
    body = pd.DataFrame(frame.to_numpy(dtype=object), columns=range(frame.shape[1]))
    grid = pd.concat([header, body.fillna("")], ignore_index=True)
    return table_from_grid(grid, pd.RangeIndex(1, len(grid) + 1), kind, file_name)


def _drop_total_rows(data: pd.DataFrame, kind: ReturnKind,
                     findings: list[CheckResult]) -> pd.DataFrame:
    """Published files end with a national Total row; totals must not be counted as data."""
    first = data.iloc[:, : min(4, data.shape[1])]
    is_total = first.apply(lambda s: s.str.fullmatch(_TOTAL_RE)).any(axis=1)
    if not is_total.any():
        return data
    rows = [int(r) for r in data.index[is_total]]
    findings.append(CheckResult(
        id="rows.total", description="No totals rows",
        severity=kind.severity("rows.total"), status="warn",
        evaluated=len(data), offending=len(rows),
        rows=[OffendingRow(r, {"text": " ".join(v for v in data.loc[r][:4] if v)[:80]})
              for r in rows[:20]],
        message=f"Row(s) {_ranges(rows)} look like totals and were left out of the return; "
                "plancycle calculates totals itself.",
        fix="Delete totals and subtotals rows before uploading.",
    ))
    return data[~is_total]


def _map_columns(header: pd.Series, data: pd.DataFrame, kind: ReturnKind,
                 findings: list[CheckResult]) -> tuple[dict[int, str], dict[str, str]]:
    mapping = kind.header_map()
    ignored = {normalise_header(c) for c in kind.ignored_columns}
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    first_pos: dict[str, int] = {}
    duplicates: list[OffendingRow] = []
    unknown: list[tuple[int, str]] = []
    unnamed: list[int] = []
    for pos, label in header.items():
        norm = normalise_header(label)
        if not norm:
            if data[pos].ne("").any():
                unnamed.append(int(pos))
            continue
        if norm in ignored:
            continue
        target = mapping.get(norm)
        if target is None:
            unknown.append((int(pos), label))
        elif target in headers:
            duplicates.append(OffendingRow(None, {
                "column": target,
                "first": f"{column_letter(first_pos[target])} '{headers[target]}'",
                "duplicate": f"{column_letter(int(pos))} '{label}'"}))
        else:
            columns[int(pos)] = target
            headers[target] = label
            first_pos[target] = int(pos)
    expected = kind.expected_columns_text()
    if duplicates:
        names = ", ".join(f"{d.values['column']} (columns {d.values['first']} and "
                          f"{d.values['duplicate']})" for d in duplicates)
        findings.append(CheckResult(
            id="columns.duplicated", description="Each column appears once",
            severity=kind.severity("columns.duplicated"), status="fail",
            evaluated=len(header), offending=len(duplicates), rows=duplicates,
            message=f"These columns appear more than once: {names}. Only the first was read.",
            fix="Delete the repeated column, or rename it if it holds something else.",
        ))
    if unknown:
        missing = [c for c in kind.column_names if c not in headers]
        hints = []
        for _pos, label in unknown:
            close = difflib.get_close_matches(normalise_header(label), missing, n=1, cutoff=0.7)
            if close:
                hints.append(f"'{label}' looks like {close[0]}")
        listed = ", ".join(f"'{label}' (column {column_letter(pos)})" for pos, label in unknown)
        findings.append(CheckResult(
            id="columns.unknown", description="Only contract columns",
            severity=kind.severity("columns.unknown"),
            status=status_for(kind.severity("columns.unknown"), True),
            evaluated=len(header), offending=len(unknown),
            rows=[OffendingRow(None, {"column": column_letter(pos), "header": label})
                  for pos, label in unknown[:20]],
            message=f"Columns not in the {kind.title} contract were ignored: {listed}."
                    + (f" ({'; '.join(hints)}.)" if hints else ""),
            fix=f"Rename a column if it is an expected one under another name, or delete it. "
                f"Expected columns: {expected}.",
        ))
    if unnamed:
        findings.append(CheckResult(
            id="columns.unnamed", description="Every column with values has a header",
            severity=kind.severity("columns.unnamed"),
            status=status_for(kind.severity("columns.unnamed"), True),
            evaluated=len(header), offending=len(unnamed),
            rows=[OffendingRow(None, {"column": column_letter(p)}) for p in unnamed],
            message=f"Column(s) {', '.join(column_letter(p) for p in unnamed)} have values but "
                    "no header and were ignored.",
            fix="Give the column a header from the contract, or delete it.",
        ))
    ordered = dict(sorted(columns.items(), key=lambda kv: kind.column_names.index(kv[1])))
    return ordered, headers


def _ranges(rows: list[int]) -> str:
    """[2, 3, 4, 9] → ``"2–4, 9"`` so long row lists stay readable."""
    parts: list[str] = []
    start = prev = None
    for r in rows:
        if start is None:
            start = prev = r
        elif r == prev + 1:  # type: ignore[operator]
            prev = r
        else:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = r
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
    text = ", ".join(parts[:10])
    return text + (f" and {len(parts) - 10} more" if len(parts) > 10 else "")
