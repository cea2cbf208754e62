"""From a grid of cells to a return table: find the header, map it to the contract, keep data.

Published and hand-made files put a title above the header, end with a Total row, add
columns the return does not ask for or name one twice. Each is either coped with and
reported as a finding for the DQ report, or refused with an :class:`UploadError` that says
what to change. The work is on whole columns (Arrow kernels, numpy); only the few rows a
message quotes are turned into Python values.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from plancycle.returns import cells
from plancycle.returns.checks import CheckResult, OffendingRow, status_for
from plancycle.returns.kinds import ReturnKind, get_kind, normalise_header
from plancycle.returns.table import ReturnTable, UploadError, column_letter, row_ranges

#: How many leading rows may hold a title before we give up looking for the header.
HEADER_SEARCH_ROWS = 10
#: A totals row: ``Total``, ``Totals:``, ``Sub total``, ``Grand total`` in any case.
_SPACE_CLASS = "".join(f"\\x{{{ord(c):x}}}" for c in cells.SPACE_CHARS)
_TOTAL_RE = f"^(?i)(grand[{_SPACE_CLASS}]+)?(sub[{_SPACE_CLASS}]*)?totals?:?$"
#: The longest text that can match ``_TOTAL_RE`` with a little spacing, in bytes.
_TOTAL_MAX_BYTES = 64
_TOTAL_FIRST_BYTES = np.zeros(256, dtype=bool)
_TOTAL_FIRST_BYTES[list(b"gGsStT")] = True
_TOTAL_FIRST_BYTES[0xC5] = True   # "ſ" (long s) folds to "s" in a case-blind match


def _find_header(rows: list[list[str | None]], kind: ReturnKind) -> tuple[int, int]:
    """(index, matches) of the row with most contract column names among the first rows."""
    known = set(kind.header_map()) | {normalise_header(c) for c in kind.ignored_columns}
    best, best_matches = 0, -1
    for pos, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        labels = {normalise_header(v) for v in row if v}
        matches = len(labels & known)
        if matches > best_matches:
            best, best_matches = pos, matches
    return best, best_matches


def _text(row: list[str | None]) -> list[str]:
    return [v or "" for v in row]


def table_from_grid(
    grid: pa.Table,
    kind: ReturnKind,
    name: str,
    *,
    findings: list[CheckResult] | None = None,
    notes: list[str] | None = None,
    delimited: bool = False,
) -> ReturnTable:
    """Find the header in a grid of cells (``cells.clean``), map it to the contract and return
    the data rows.

    ``delimited`` marks text files, where values beyond the header mean a row was split by an
    unquoted separator (in a workbook they are just an unlabelled column).
    """
    findings = [] if findings is None else findings
    notes = [] if notes is None else notes
    kept = cells.non_blank_positions(grid)
    if not len(kept):
        raise UploadError(name, "The file has no header and no data.",
                          "Export the return again with its header row and data.",
                          code="file.empty")
    first_rows = cells.rows_at(grid, kept[:HEADER_SEARCH_ROWS])
    header_at, matches = _find_header(first_rows, kind)
    header = _text(first_rows[header_at])
    header_row = int(kept[header_at]) + 1
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
        found = ", ".join(f"'{v}'" for v in first_rows[0] if v)[:300]
        raise UploadError(
            name,
            f"No expected column names were found in the first rows (row {int(kept[0]) + 1} "
            f"has {found}). Is this the right file for {kind.title}?",
            f"Put a header row on row 1 with these columns: {kind.expected_columns_text()}.",
            code="columns.no_header",
        )
    if header_at > 0:
        _title_rows(first_rows[:header_at], kept[:header_at], header_row, kind, findings)
    data_positions = kept[header_at + 1:]
    if not len(data_positions):
        raise UploadError(name, f"The file has a header (row {header_row}) but no data rows.",
                          "Add the data below the header, or check you exported the right "
                          "sheet, then re-upload.", code="file.header_only")
    if delimited:
        _check_ragged(grid, header, data_positions, name)
    data_positions = _drop_total_rows(grid, data_positions, kind, findings)
    columns, headers = _map_columns(grid, header, data_positions, kind, findings)
    index: pd.Index
    if data_positions[-1] - data_positions[0] + 1 == len(data_positions):
        index = pd.RangeIndex(int(data_positions[0]) + 1, int(data_positions[-1]) + 2,
                              name="row")
    else:
        index = pd.Index(data_positions + 1, name="row")
    frame = pd.DataFrame(
        {target: cells.to_series(cells.select_rows(grid.column(pos), data_positions), index)
         for pos, target in columns.items()}, index=index, copy=False)
    return ReturnTable(kind=kind, file_name=name, frame=frame, headers=headers,
                       header_row=header_row, findings=findings, notes=notes)


def _title_rows(rows: list[list[str | None]], positions: np.ndarray, header_row: int,
                kind: ReturnKind, findings: list[CheckResult]) -> None:
    """Rows above the header are a title or a second header row: ignored, with a warning."""
    title = " / ".join(v for row in rows for v in row if v)[:120]
    above = [int(p) + 1 for p in positions]
    multi = len(rows) == 1 and sum(1 for v in rows[0] if v) > 1
    what = "a second header row (merged or grouped headings)" if multi else "a title"
    findings.append(CheckResult(
        id="header.title_rows", description="Header is on row 1",
        severity=kind.severity("header.title_rows"), status="warn",
        evaluated=header_row, offending=len(above),
        rows=[OffendingRow(r, {"text": " ".join(v for v in row if v)[:80]})
              for r, row in zip(above, rows, strict=True)],
        message=f"Row(s) {row_ranges(above)} above the header look like {what} ('{title}') "
                f"and were ignored; the header was read from row {header_row}.",
        fix="Delete the rows above the column names so the header is on row 1, with one "
            "header row only.",
    ))


def _filled_at(grid: pa.Table, column: int, positions: np.ndarray) -> np.ndarray:
    return cells.filled(grid, column)[positions]


def _check_ragged(grid: pa.Table, header: list[str], data: np.ndarray, name: str) -> None:
    """In a CSV, values to the right of the last header mean an unquoted separator."""
    named = [p for p, v in enumerate(header) if v]
    width = max(named) + 1 if named else 0
    if width >= grid.num_columns:
        return
    extra = np.zeros(len(data), dtype=bool)
    for col in range(width, grid.num_columns):
        extra |= _filled_at(grid, col, data)
    if not extra.any():
        return
    rows = [int(p) + 1 for p in data[extra]]
    first = _text(cells.rows_at(grid, [rows[0] - 1])[0])
    saw = max(p for p, v in enumerate(first) if v) + 1
    more = f" (also row(s) {row_ranges(rows[1:])})" if len(rows) > 1 else ""
    raise UploadError(
        name,
        f"Row {rows[0]} has {saw} values but the header has {width} columns{more}.",
        "A value probably contains the separator (e.g. 'Scientific, therapeutic & technical "
        "staff' needs double quotes around it); export the file again from Excel as "
        "'CSV UTF-8' so values are quoted.",
        code="file.ragged_rows",
    )


def _total_values(values: pa.Array) -> np.ndarray:
    """Which of these texts read ``Total`` (or a variant): byte tests first, regex on few."""
    n = len(values)
    if not n or values.null_count == n:
        return np.zeros(n, dtype=bool)
    offsets, data = cells.offsets_and_data(values)
    begins, lengths = offsets[:-1], np.diff(offsets)
    short = (lengths > 0) & (lengths <= _TOTAL_MAX_BYTES)
    candidates = np.zeros(n, dtype=bool)
    candidates[short] = _TOTAL_FIRST_BYTES[data[begins[short]]]
    if not candidates.any():
        return candidates
    where = np.flatnonzero(candidates)
    matched = pc.match_substring_regex(values.take(pa.array(where)), _TOTAL_RE)
    candidates[where] = pc.fill_null(matched, False).to_numpy(zero_copy_only=False)
    return candidates


def _drop_total_rows(grid: pa.Table, data: np.ndarray, kind: ReturnKind,
                     findings: list[CheckResult]) -> np.ndarray:
    """Published files end with a national Total row; totals must not be counted as data."""
    is_total = np.zeros(len(data), dtype=bool)
    for col in range(min(4, grid.num_columns)):
        is_total |= cells.text_mask(grid.column(col), _total_values)[data]
    if not is_total.any():
        return data
    totals = data[is_total]
    shown = cells.rows_at(grid.select(list(range(min(4, grid.num_columns)))), totals[:20])
    rows = [int(p) + 1 for p in totals]
    findings.append(CheckResult(
        id="rows.total", description="No totals rows",
        severity=kind.severity("rows.total"), status="warn",
        evaluated=len(data), offending=len(rows),
        rows=[OffendingRow(r, {"text": " ".join(v for v in cells_ if v)[:80]})
              for r, cells_ in zip(rows, shown, strict=False)],
        message=f"Row(s) {row_ranges(rows)} look like totals and were left out of the return; "
                "plancycle calculates totals itself.",
        fix="Delete totals and subtotals rows before uploading.",
    ))
    return data[~is_total]


def _map_columns(grid: pa.Table, header: list[str], data: np.ndarray, kind: ReturnKind,
                 findings: list[CheckResult]) -> tuple[dict[int, str], dict[str, str]]:
    mapping = kind.header_map()
    ignored = {normalise_header(c) for c in kind.ignored_columns}
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    first_pos: dict[str, int] = {}
    duplicates: list[OffendingRow] = []
    unknown: list[tuple[int, str]] = []
    unnamed: list[int] = []
    for pos, label in enumerate(header):
        norm = normalise_header(label)
        if not norm:
            if _filled_at(grid, pos, data).any():
                unnamed.append(pos)
            continue
        if norm in ignored:
            continue
        target = mapping.get(norm)
        if target is None:
            unknown.append((pos, label))
        elif target in headers:
            duplicates.append(OffendingRow(None, {
                "column": target,
                "first": f"{column_letter(first_pos[target])} '{headers[target]}'",
                "duplicate": f"{column_letter(pos)} '{label}'"}))
        else:
            columns[pos] = target
            headers[target] = label
            first_pos[target] = pos
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


def _as_cells(values: pd.Series) -> pa.ChunkedArray:
    cells_ = pa.array(values.astype(cells.TEXT))
    cells_ = cells_ if isinstance(cells_, pa.ChunkedArray) else pa.chunked_array([cells_])
    return cells_.cast(cells.CELL)


def table_from_frame(frame: pd.DataFrame, kind: ReturnKind | str, *,
                     file_name: str = "extract") -> ReturnTable:
    """A ReturnTable from an in-memory frame whose columns are headers (tests, bench, generator)."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    header = [str(c) for c in frame.columns]
    columns = [pa.chunked_array([pa.array([label], cells.CELL),
                                 *_as_cells(frame.iloc[:, i]).chunks])
               for i, label in enumerate(header)]
    grid = cells.clean(pa.table(columns, names=cells.column_names(len(columns))))
    return table_from_grid(grid, kind, file_name)
