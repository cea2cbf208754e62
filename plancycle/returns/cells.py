"""A sheet of cells as read from an upload: text trimmed, blank cells null, one row per record.

Every reader (CSV, XLSX) produces the same *grid*: an Arrow table of text columns ``c0 … cN``
whose row at position ``p`` is row ``p + 1`` of the file as the user sees it in Excel. Cells
are trimmed of surrounding whitespace exactly as Python's ``str.strip()`` would, and a cell
that is empty after trimming is null. Keeping the cells in Arrow buffers (rather than one
Python string per cell) is what lets a 1.5-million-row extract be read in a few hundred
megabytes; the work on whole columns happens in Arrow's compute kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: The Arrow type of every cell: pandas' ``str`` dtype stores large_string, so no cast later.
CELL = pa.large_string()
#: pandas' default string dtype (``str``) backed by the same Arrow buffers.
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)

# Bytes that can start or end a whitespace character (Python's str.isspace(), which Arrow's
# utf8_trim_whitespace matches): ASCII spaces and controls, and the lead or last byte of the
# UTF-8 encodings of U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F
# and U+3000. A cell whose first and last bytes are not among them needs no trimming.
#: Every character for which ``str.isspace()`` is true (a test keeps this list exact).
SPACE_CHARS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
               "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_FIRST = np.zeros(256, dtype=bool)
_LAST = np.zeros(256, dtype=bool)
for _char in SPACE_CHARS:
    _encoded = _char.encode("utf-8")
    _FIRST[_encoded[0]] = True
    _LAST[_encoded[-1]] = True


def column_names(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def _offsets_and_data(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The value offsets (len + 1) and the UTF-8 bytes of a (large_)string chunk, no copies."""
    _validity, offsets_buf, data_buf = chunk.buffers()
    dtype = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
            else np.zeros(0, dtype=np.uint8))
    return offsets, data


def _may_need_trim(chunk: pa.Array) -> bool:
    """Whether any cell of the chunk might start or end with whitespace (a cheap byte test)."""
    if len(chunk) == 0 or chunk.null_count == len(chunk):
        return False
    offsets, data = _offsets_and_data(chunk)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if not filled.any():
        return False
    starts, ends = starts[filled], ends[filled]
    return bool(_FIRST[data[starts]].any() or _LAST[data[ends - 1]].any())


def _clean_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim every cell (as ``str.strip``) and make empty cells null; untouched if clean."""
    if column.type != CELL:
        column = column.cast(CELL)
    if not any(_may_need_trim(chunk) for chunk in column.chunks):
        # Empty strings can only come from trimming or from a reader that kept them.
        if pc.any(pc.equal(pc.binary_length(column), 0)).as_py():
            return pc.if_else(pc.equal(pc.binary_length(column), 0),
                              pa.scalar(None, CELL), column)
        return column
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(pc.binary_length(trimmed), 0), pa.scalar(None, CELL), trimmed)


def clean(table: pa.Table) -> pa.Table:
    """The grid with every cell trimmed and blanks null, columns renamed ``c0 … cN``."""
    columns = [_clean_column(table.column(i)) for i in range(table.num_columns)]
    return pa.table(columns, names=column_names(len(columns)))


def grid_from_rows(rows: Sequence[Sequence[str | None]]) -> pa.Table:
    """A grid from rows of cell text (a workbook's sheet, the header of a frame)."""
    width = max((len(r) for r in rows), default=0)
    columns = [pa.array([r[i] if i < len(r) else None for r in rows], CELL)
               for i in range(width)]
    return clean(pa.table(columns, names=column_names(width)))


def filled(table: pa.Table, column: int) -> np.ndarray:
    """Positions' fill of one column as a numpy bool array (True where the cell has text)."""
    return pc.is_valid(table.column(column)).to_numpy(zero_copy_only=False)


def non_blank_positions(table: pa.Table) -> np.ndarray:
    """Positions of the rows with at least one filled cell."""
    if table.num_columns == 0 or table.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    any_filled = pc.is_valid(table.column(0))
    for i in range(1, table.num_columns):
        any_filled = pc.or_(any_filled, pc.is_valid(table.column(i)))
    return np.flatnonzero(any_filled.to_numpy(zero_copy_only=False))


def rows_at(table: pa.Table, positions: Sequence[int] | np.ndarray) -> list[list[str | None]]:
    """The cells of a few rows as Python lists (headers, titles, message samples)."""
    part = table.take(pa.array(np.asarray(positions, dtype=np.int64)))
    columns = [part.column(i).to_pylist() for i in range(part.num_columns)]
    return [list(row) for row in zip(*columns, strict=True)] if columns else \
        [[] for _ in range(part.num_rows)]


def select_rows(column: pa.ChunkedArray, positions: np.ndarray) -> pa.ChunkedArray:
    """The cells at ``positions`` (ascending): a zero-copy slice when they are contiguous."""
    if len(positions) and positions[-1] - positions[0] + 1 == len(positions):
        return column.slice(int(positions[0]), len(positions))
    return column.take(pa.array(positions, dtype=pa.int64()))


def to_series(column: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A pandas ``str`` Series over the same Arrow buffers."""
    return pd.Series(pd.array(column, dtype=TEXT), index=index, copy=False)
