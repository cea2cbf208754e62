"""Read an uploaded CSV or XLSX return into a table of text with the user's row numbers.

Uploads come from people exporting spreadsheets by hand, so reading expects the usual
accidents (wrong encoding, semicolons, a title above the header, a Total row, several sheets)
and either copes with them, recording a finding for the DQ report, or raises an
:class:`UploadError` that names the file, the problem and what to do. It never lets a parser
traceback reach the person who uploaded.

The parts, one concept each: ``csvfile`` (encoding, delimiter, parsing text), ``workbook``
(Excel), ``cells`` (the grid of trimmed cells both produce), ``layout`` (header, totals and
the contract's columns) and ``table`` (what comes out). This module picks the reader by the
file's content, whatever its name says.
"""

from __future__ import annotations

from pathlib import Path

from plancycle.returns.checks import CheckResult
from plancycle.returns.csvfile import Source, read_csv
from plancycle.returns.kinds import ReturnKind, get_kind
from plancycle.returns.layout import HEADER_SEARCH_ROWS, table_from_frame, table_from_grid
from plancycle.returns.limits import (
    DEFAULT_MAX_BYTES,
    TOO_LARGE_FIX,
    max_upload_bytes,
    too_large_problem,
)
from plancycle.returns.table import ReturnTable, UploadError, column_letter
from plancycle.returns.workbook import ZIP_MAGIC, read_xlsx

__all__ = ["DEFAULT_MAX_BYTES", "HEADER_SEARCH_ROWS", "ReturnTable", "UploadError",
           "check_size", "column_letter", "read_return", "table_from_frame", "table_from_grid"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, .doc


def check_size(name: str, size: int, max_bytes: int | None = None) -> None:
    """UploadError ``file.too_large`` when ``size`` is over the limit (default: the setting)."""
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if size > limit:
        raise UploadError(name, too_large_problem(size, limit), TOO_LARGE_FIX,
                          code="file.too_large")


def read_return(
    source: bytes | str | Path,
    kind: ReturnKind | str,
    *,
    file_name: str | None = None,
    max_bytes: int | None = None,
) -> ReturnTable:
    """Read ``source`` (bytes or a path) as a return of ``kind``; raise UploadError if unreadable.

    The size limit (``PLANCYCLE_MAX_UPLOAD_MB`` unless ``max_bytes`` is given) is checked
    before any byte is read, so a huge file is refused cheaply.
    """
    kind = get_kind(kind) if isinstance(kind, str) else kind
    if isinstance(source, bytes):
        upload = Source(file_name or "upload", data=source)
        size = len(source)
    else:
        path = Path(source)
        upload = Source(file_name or path.name, path=path)
        size = path.stat().st_size
    name = upload.name
    check_size(name, size, max_bytes)
    head = upload.head(1 << 16)
    if not head.strip() and (size <= len(head) or not upload.read().strip()):
        raise UploadError(name, "The file is empty.",
                          "Export the return again with its header row and data, then re-upload.",
                          code="file.empty")
    findings: list[CheckResult] = []
    notes: list[str] = []
    if head.startswith(ZIP_MAGIC):
        grid = read_xlsx(upload.read(), name, kind, findings, notes)
        if not name.lower().endswith((".xlsx", ".xlsm")):
            notes.append(f"{name} is an Excel workbook (whatever its name says) and was read "
                         "as one.")
        return table_from_grid(grid, kind, name, findings=findings, notes=notes)
    if head.startswith(_OLE_MAGIC):
        raise UploadError(name, "This is an old-style Excel (.xls) or other Office file, "
                          "which cannot be read.",
                          "Open it in Excel and use Save As > 'Excel Workbook (.xlsx)' or "
                          "'CSV UTF-8', then re-upload.", code="file.format")
    if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        notes.append(f"{name} is named like an Excel file but holds plain text; it was "
                     "read as CSV.")
    if size > len(head) and head.count(b"\n") + head.count(b"\r") < 2:
        raise UploadError(name, f"The first lines of the file are over {len(head) // 1024} KB "
                          "long, which no return needs (a missing line break, an unclosed "
                          "quote or a pasted blob).",
                          "Open the file in Excel, check the first rows and that each record is "
                          "on its own line, save it again as 'CSV UTF-8' and re-upload.",
                          code="file.long_line")
    grid = read_csv(upload, notes)
    return table_from_grid(grid, kind, name, findings=findings, notes=notes, delimited=True)
