"""Read a delimited text upload (CSV, semicolons, tabs) into a grid of cells.

People export returns from Excel by hand, so the text may be UTF-8 (with or without a BOM),
UTF-16 ("Unicode text") or Windows-1252 ("CSV (Comma delimited)"), separated by commas,
semicolons, tabs or bars. The encoding and the delimiter are worked out from the head of the
file only; then Arrow's CSV reader parses the whole file in native code, in parallel and
straight into Arrow buffers — no Python string per cell, the file decoded once.

A file whose rows do not all have the same number of values (rows shorter than the widest of
the first lines, or a value that split on an unquoted separator) is read again by pandas'
tolerant parser, which pads short rows and names the line of a split one: the same grid, and
the same message, as before the fast path existed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from plancycle.returns import cells
from plancycle.returns.layout import HEADER_SEARCH_ROWS
from plancycle.returns.table import UploadError

#: Lines of the head used to find the delimiter and the width of the grid.
WIDTH_LINES = 200
_HEAD_BYTES = 1 << 20
_DELIMITERS = ",;\t|"
_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass
class Source:
    """The upload's bytes, in memory (portal) or in a file (CLI, stored uploads)."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    def head(self, size: int = _HEAD_BYTES) -> bytes:
        if self.data is not None:
            return self.data[:size]
        assert self.path is not None
        with self.path.open("rb") as fh:
            return fh.read(size)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def arrow_input(self) -> pa.NativeFile | str:
        if self.data is not None:
            return pa.BufferReader(self.data)
        return str(self.path)


def _binary(name: str) -> UploadError:
    return UploadError(name, "The file is not text (it contains binary data) and is not an "
                       "Excel workbook.",
                       "Upload the return as .xlsx or as 'CSV UTF-8' exported from Excel.",
                       code="file.format")


def _unknown_encoding(name: str) -> UploadError:
    return UploadError(name, "The file's text encoding could not be recognised (tried UTF-8 "
                       "and Windows-1252).",
                       "In Excel use Save As > 'CSV UTF-8 (Comma delimited)', then re-upload.",
                       code="file.encoding")


_CP1252_NOTE = ("{name} is not UTF-8; it was read as Windows-1252 (Excel's 'CSV (Comma "
                "delimited)'). Prefer 'CSV UTF-8' next time.")


def decode(data: bytes, name: str, notes: list[str]) -> str:
    """Decode text as UTF-8 (with or without BOM), UTF-16 (Excel 'Unicode text') or
    Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notes.append(f"{name} was saved as UTF-16 ('Unicode text') and read as such.")
        return data.decode("utf-16")
    if b"\x00" in data[:65536]:
        raise _binary(name)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "cp1252":
            notes.append(_CP1252_NOTE.format(name=name))
        return text
    raise _unknown_encoding(name)


def sniff_delimiter(lines: list[str]) -> str:
    """Delimiter from the first lines: csv.Sniffer, checked by counting, comma when unsure."""
    lines = [ln for ln in lines[:HEADER_SEARCH_ROWS + 5] if ln.strip()]
    sample = "\n".join(lines)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    counts = {d: max((ln.count(d) for ln in lines), default=0) for d in _DELIMITERS}
    if delimiter not in counts or counts[delimiter] == 0:
        delimiter = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    if counts.get(",", 0) and counts[delimiter] <= counts[","]:
        delimiter = ","
    return delimiter or ","


def _layout(head_lines: list[str], name: str) -> tuple[str, int]:
    """(delimiter, width): the widest of the first lines sets how many columns are read."""
    delimiter = sniff_delimiter(head_lines)
    rows = csv.reader(io.StringIO("\n".join(head_lines[:WIDTH_LINES])), delimiter=delimiter)
    try:
        width = max((len(r) for r in rows), default=1)
    except csv.Error:   # a value longer than the csv module's field limit (128 KiB)
        raise UploadError(
            name, f"One of the first {WIDTH_LINES} rows holds a value over "
            f"{csv.field_size_limit() // 1024} KB long, which no return column needs (a "
            "quote that is never closed, or a cell pasted with a whole document).",
            "Find the row with the very long cell (or the unmatched double quote), correct "
            "it, save as 'CSV UTF-8' and re-upload.", code="file.long_value") from None
    return delimiter, max(width, 1)


def _note_delimiter(delimiter: str, name: str, notes: list[str]) -> None:
    if delimiter != ",":
        notes.append(f"{name} separates values with {_DELIMITER_NAMES[delimiter]}, "
                     "not commas; it was read that way.")


def _head_lines(head: bytes, complete: bool, encoding: str) -> list[str]:
    """The head's lines as the whole text's ``splitlines()`` would give them."""
    text = head.decode(encoding, errors="replace")
    lines = text.splitlines()
    if not complete and lines:
        lines.pop()          # cut mid-line: the whole file has more of it
    return lines


def first_lines(text: str, count: int = WIDTH_LINES) -> list[str]:
    """``text.splitlines()[:count]`` without splitting the whole of a large text."""
    window = 1 << 16
    while True:
        lines = text[:window].splitlines()
        if window >= len(text):
            return lines[:count]
        if len(lines) > count:   # the last line may be cut by the window; it is not returned
            return lines[:count]
        window *= 4


class _Irregular(Exception):
    """Rows of different widths: pandas' tolerant parser reads the file instead."""


def _options(delimiter: str, types: list[pa.DataType], on_invalid_row: object
             ) -> dict[str, object]:
    names = cells.column_names(len(types))
    return {
        "read_options": pa_csv.ReadOptions(column_names=names),
        "parse_options": pa_csv.ParseOptions(delimiter=delimiter, quote_char='"',
                                             double_quote=True, newlines_in_values=True,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=on_invalid_row),
        "convert_options": pa_csv.ConvertOptions(
            column_types=dict(zip(names, types, strict=True)), null_values=[""],
            strings_can_be_null=True, quoted_strings_can_be_null=True),
    }


def _column_types(head: bytes, delimiter: str, width: int) -> list[pa.DataType]:
    """Per column, coded (dictionary) or plain text, from how much the head repeats itself.

    Identifiers (a new value on almost every row) are parsed as plain text; everything else
    as a dictionary. A wrong guess only costs memory: ``cells.clean`` decodes a dictionary
    column that turned out not to repeat.
    """
    coded = [cells.CODED] * width
    end = head.rfind(b"\n")
    if end <= 0:
        return coded
    try:
        sample = pa_csv.read_csv(pa.BufferReader(head[:end + 1]),
                                 **_options(delimiter, coded, lambda _row: "skip"))
    except pa.ArrowInvalid:
        return coded
    types = []
    for column in sample.columns:
        given = len(column) - column.null_count
        distinct = max((len(c.dictionary) for c in column.chunks), default=0)
        plain = given >= 100 and distinct > given * cells.CODED_MAX_SHARE
        types.append(cells.CELL if plain else cells.CODED)
    return types


def _arrow_read(source: pa.NativeFile | str, delimiter: str, types: list[pa.DataType]
                ) -> pa.Table:
    irregular: list[int] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        irregular.append(row.actual_columns)
        return "skip"

    table = pa_csv.read_csv(source, **_options(delimiter, types, on_invalid_row))
    if irregular:
        raise _Irregular
    return table


def _grid(table: pa.Table) -> pa.Table:
    grid = cells.clean(table)
    del table
    # Parsing leaves freed blocks in Arrow's allocator; give them back before pandas works.
    pa.default_memory_pool().release_unused()
    return grid


def read_csv(source: Source, notes: list[str]) -> pa.Table:
    """The grid of a delimited text file; UploadError when it cannot be read as one."""
    name = source.name
    head = source.head()
    complete = len(head) < _HEAD_BYTES
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _read_text(decode(source.read(), name, notes), name, notes)
    if b"\x00" in head[:65536]:
        raise _binary(name)
    try:
        head.decode("utf-8") if complete else codecs.getincrementaldecoder("utf-8")().decode(head)
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
    lines = _head_lines(head.removeprefix(codecs.BOM_UTF8), complete, encoding)
    delimiter, width = _layout(lines, name)
    if encoding == "utf-8":
        types = _column_types(head.removeprefix(codecs.BOM_UTF8), delimiter, width)
        try:
            table = _arrow_read(source.arrow_input(), delimiter, types)
        except _Irregular:
            return _read_text(decode(source.read(), name, notes), name, notes)
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc):
                return _read_text(decode(source.read(), name, notes), name, notes)
            encoding = "cp1252"
        else:
            _note_delimiter(delimiter, name, notes)
            return _grid(table)
    # Not UTF-8: Windows-1252, if every byte is one; transcoded once, then parsed the same way.
    try:
        text = source.read().decode("cp1252")
    except UnicodeDecodeError:
        raise _unknown_encoding(name) from None
    notes.append(_CP1252_NOTE.format(name=name))
    delimiter, width = _layout(first_lines(text), name)
    data = text.encode("utf-8")
    try:
        table = _arrow_read(pa.BufferReader(data), delimiter,
                            _column_types(data[:_HEAD_BYTES], delimiter, width))
    except (_Irregular, pa.ArrowInvalid):
        return _read_text(text, name, notes)
    _note_delimiter(delimiter, name, notes)
    return _grid(table)


def _read_text(text: str, name: str, notes: list[str]) -> pa.Table:
    """pandas' tolerant parser: pads short rows, and names the line of a split row."""
    import pandas as pd

    delimiter, width = _layout(first_lines(text), name)
    _note_delimiter(delimiter, name, notes)
    try:
        grid = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, names=range(width), dtype=object,
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
    columns = [pa.array(grid[c].to_numpy(dtype=object), cells.CELL, from_pandas=True)
               for c in grid.columns]
    return cells.clean(pa.table(columns, names=cells.column_names(len(columns))))
