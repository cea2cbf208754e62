"""A sheet of cells as read from an upload: text trimmed, blank cells null, one row per record.

Every reader (CSV, XLSX) produces the same *grid*: an Arrow table of text columns ``c0 … cN``
whose row at position ``p`` is row ``p + 1`` of the file as the user sees it in Excel. Cells
are trimmed of surrounding whitespace exactly as Python's ``str.strip()`` would, and a cell
that is empty after trimming is null.

Cells stay in Arrow buffers (not one Python string per cell), and a column that repeats a
few values — codes, grades, WTEs, dates, services: most of an ESR extract — is kept
*dictionary-encoded*: one small integer per row and each distinct text once. That is what
lets a 1.5-million-row extract be read in a few hundred megabytes, trimmed by trimming its
distinct values, and handed to pandas as Categoricals that the checks and Great
Expectations work on directly. Identifiers (assignment and person numbers) are plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: The Arrow type of every plain cell: pandas' ``str`` dtype stores large_string, so no cast.
CELL = pa.large_string()
#: How a CSV column is parsed; repetitive columns stay so, the others are decoded to ``CELL``.
CODED = pa.dictionary(pa.int32(), CELL)
#: pandas' default string dtype (``str``) backed by Arrow buffers.
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
#: A column keeps its dictionary while it has at most this share of distinct values.
CODED_MAX_SHARE = 0.5

#: Every character for which ``str.isspace()`` is true (a test keeps this list exact).
SPACE_CHARS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
               "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

# Bytes that can start or end a whitespace character (Python's str.isspace(), which Arrow's
# utf8_trim_whitespace matches): ASCII spaces and controls, and the lead or last byte of the
# UTF-8 encodings of U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F
# and U+3000. A cell whose first and last bytes are not among them needs no trimming.
_FIRST = np.zeros(256, dtype=bool)
_LAST = np.zeros(256, dtype=bool)
for _char in SPACE_CHARS:
    _encoded = _char.encode("utf-8")
    _FIRST[_encoded[0]] = True
    _LAST[_encoded[-1]] = True


def column_names(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def is_coded(column: pa.ChunkedArray | pa.Array) -> bool:
    return pa.types.is_dictionary(column.type)


def offsets_and_data(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The value offsets (len + 1) and the UTF-8 bytes of a (large_)string array, no copies."""
    _validity, offsets_buf, data_buf = chunk.buffers()
    dtype = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
            else np.zeros(0, dtype=np.uint8))
    return offsets, data


def _may_need_trim(chunk: pa.Array) -> bool:
    """Whether any cell might start or end with whitespace or be empty (a cheap byte test)."""
    if len(chunk) == 0 or chunk.null_count == len(chunk):
        return False
    offsets, data = offsets_and_data(chunk)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if not filled.all() and chunk.null_count < int((~filled).sum()):
        return True                        # an empty string that is not null
    starts, ends = starts[filled], ends[filled]
    return bool(_FIRST[data[starts]].any() or _LAST[data[ends - 1]].any())


def _clean_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Trim every cell (as ``str.strip``) and make empty cells null; untouched if clean."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if not any(_may_need_trim(chunk) for chunk in chunks):
        return column
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(pc.binary_length(trimmed), 0), pa.scalar(None, CELL), trimmed)


def _clean_coded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim a dictionary column by its distinct values; trimmed duplicates merge, blanks null."""
    column = pa.table([column], names=["c"]).unify_dictionaries().column(0)
    if not column.num_chunks:
        return column
    dictionary = column.chunk(0).dictionary
    cleaned = _clean_text(dictionary)
    if cleaned is dictionary:
        return column
    encoded = pc.dictionary_encode(cleaned)
    remap = encoded.indices            # old dictionary position -> new position (null: blank)
    chunks = [pa.DictionaryArray.from_arrays(pc.take(remap, chunk.indices), encoded.dictionary)
              for chunk in column.chunks]
    return pa.chunked_array(chunks, type=CODED)


def _clean_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if is_coded(column):
        chunks = [c for c in column.chunks if len(c)]
        distinct = max((len(c.dictionary) for c in chunks), default=0)
        longest = max((len(c) for c in chunks), default=0)
        if longest and distinct <= longest * CODED_MAX_SHARE:
            return _clean_coded(column)
        column = column.cast(CELL)     # identifiers: as plain text, chunk by chunk
    elif column.type != CELL:
        column = column.cast(CELL)
    return _clean_text(column)


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


def text_mask(column: pa.ChunkedArray, test: object) -> np.ndarray:
    """``test(values) -> bool array`` applied to every cell (to each distinct value if coded)."""
    if is_coded(column):
        if not column.num_chunks:
            return np.zeros(0, dtype=bool)
        hits = np.asarray(test(column.chunk(0).dictionary), dtype=bool)  # type: ignore[operator]
        out = np.zeros(len(column), dtype=bool)
        start = 0
        for chunk in column.chunks:
            codes_ = pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)
            out[start:start + len(chunk)] = np.where(codes_ >= 0, hits[np.maximum(codes_, 0)],
                                                     False)
            start += len(chunk)
        return out
    return np.concatenate([np.asarray(test(chunk), dtype=bool)  # type: ignore[operator]
                           for chunk in column.chunks]) if column.num_chunks else \
        np.zeros(0, dtype=bool)


def select_rows(column: pa.ChunkedArray, positions: np.ndarray) -> pa.ChunkedArray:
    """The cells at ``positions`` (ascending): a zero-copy slice when they are contiguous."""
    if len(positions) and positions[-1] - positions[0] + 1 == len(positions):
        return column.slice(int(positions[0]), len(positions))
    return column.take(pa.array(positions, dtype=pa.int64()))


def to_series(column: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A pandas Series over the cells: Categorical for coded columns, ``str`` for the others.

    Categories are the distinct values of these rows only (the header's label is not one).
    """
    if is_coded(column):
        if column.num_chunks == 0:
            return pd.Series(pd.Categorical([], categories=pd.Index([], dtype=TEXT)),
                             index=index)
        indices = pa.chunked_array([c.indices for c in column.chunks], type=pa.int32())
        codes_ = pc.fill_null(indices, -1).to_numpy()
        dictionary = column.chunk(0).dictionary
        # Drop the distinct values these rows do not use (bincount: one pass, no sort).
        used = np.bincount(codes_ + 1, minlength=len(dictionary) + 1)[1:] > 0
        if not used.all():
            lookup = np.append(np.where(used, np.cumsum(used) - 1, -1), -1).astype(np.int32)
            codes_ = lookup[codes_]
            dictionary = dictionary.filter(pa.array(used))
        categories = pd.Index(pd.array(dictionary, dtype=TEXT))
        values = pd.Categorical.from_codes(codes_, categories=categories, validate=False)
        return pd.Series(values, index=index, copy=False)
    return pd.Series(pd.array(column, dtype=TEXT), index=index, copy=False)
