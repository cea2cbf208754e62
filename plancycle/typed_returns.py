"""Accepted returns read back typed, through a Parquet copy kept beside the raw file.

An accepted return is read back many times — as context for validating the next return, to
build the organisation's plan, by the ICS roll-up of 40 organisations, as last year's
figures. Parsing the uploaded CSV or workbook again each time (cell trimming, type parsing,
layout detection) costs ~10× a plain ``read_csv``. The first read parses the raw file as
before (:func:`plancycle.returns.load_typed`) and writes the typed frame next to it as
Parquet; later reads load that copy, which is as fast as reading the file with pandas.

The raw file stays the record: the copy carries the raw file's SHA-256 and a format
version, and a copy that does not match, cannot be read or is missing is ignored and
rewritten from the raw file. Copies are written to a temporary name and renamed, so
concurrent readers never see half a file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from plancycle.register.models import Upload

logger = logging.getLogger(__name__)

#: Bump when what :func:`plancycle.returns.load_typed` returns changes shape or types.
FORMAT = "1"
_KEY = b"plancycle.typed_return"
_OBJECT_COLUMNS = b"plancycle.object_columns"


def copy_path(upload: Upload) -> Path:
    raw = Path(upload.stored_path)
    return raw.with_name(f"{raw.name}.typed.parquet")


def read_accepted(upload: Upload, kind: str, columns: Sequence[str] | None = None
                  ) -> pd.DataFrame:
    """The typed values of an accepted upload: from its Parquet copy, else from the raw file.

    ``columns``: only these (those the return has; the rows are all there even when it has
    none of them) — a reader that needs a few columns of many returns (the ICS roll-up)
    reads only those from the copy.

    Raises what :func:`plancycle.returns.load_typed` raises when the raw file itself cannot
    be read (``OSError``, ``UploadError``).
    """
    path = copy_path(upload)
    frame = _read_copy(path, upload.sha256, kind, columns)
    if frame is not None:
        return frame
    from plancycle.returns import load_typed

    frame = load_typed(Path(upload.stored_path), kind, file_name=upload.original_name)
    _write_copy(path, frame, upload.sha256, kind)
    return frame if columns is None else frame[[c for c in columns if c in frame.columns]]


def _stamp(sha256: str, kind: str) -> bytes:
    return f"{FORMAT}:{kind}:{sha256}".encode()


def _open_copy(path: Path, sha256: str, kind: str, columns: Sequence[str] | None = None,
               *, index: bool = True) -> tuple[pa.Table, list[str]] | None:
    """The copy's table (these columns) and its object columns; None when it is not usable."""
    if not path.exists():
        return None
    try:
        import pyarrow.parquet as pq

        copy = pq.ParquetFile(path)
        metadata = copy.schema_arrow.metadata or {}
        if metadata.get(_KEY) != _stamp(sha256, kind):
            return None
        if columns is None:
            table = copy.read()
        else:
            present = set(copy.schema_arrow.names)
            # Without the index, the caller reads many copies at once (one thread each).
            table = copy.read(columns=[c for c in columns if c in present],
                              use_pandas_metadata=index, use_threads=index)
        return table, json.loads(metadata.get(_OBJECT_COLUMNS, b"[]"))
    except Exception as exc:  # noqa: BLE001 - a damaged copy is rebuilt from the raw file
        logger.warning("typed copy %s unreadable (%s); reading the raw file", path, exc)
        return None


def _to_frame(table: pa.Table, objects: Sequence[str]) -> pd.DataFrame:
    frame = table.to_pandas()
    # Arrow has no "Python object" type: columns that were object (categories, text with
    # gaps) come back as strings; give them back the dtype readers were given.
    for name in objects:
        if name in frame.columns:
            frame[name] = frame[name].astype(object)
    return frame


def _read_copy(path: Path, sha256: str, kind: str, columns: Sequence[str] | None = None
               ) -> pd.DataFrame | None:
    opened = _open_copy(path, sha256, kind, columns)
    if opened is None:
        return None
    try:
        return _to_frame(*opened)
    except Exception as exc:  # noqa: BLE001 - a damaged copy is rebuilt from the raw file
        logger.warning("typed copy %s unreadable (%s); reading the raw file", path, exc)
        return None


def read_columns(reads: Sequence[tuple[Upload, str]], columns: Mapping[str, Sequence[str]]
                 ) -> list[pd.DataFrame | None]:
    """Some columns of many accepted uploads' typed copies, in the order of ``reads``.

    Why: the ICS roll-up reads seven returns of each of 40 organisations, and a file at a
    time the per-frame cost (Arrow to pandas, dtype fixes) is most of the reading. Copies
    of a kind with the same columns and types are read as one Arrow table, converted to
    pandas once, and cut back into one frame per upload (each with a fresh 0..n-1 index).
    An upload whose copy is missing, stale or unreadable gives None: read it with
    :func:`read_accepted`, which parses the raw file and writes the copy.
    """
    import pyarrow as pa

    out: list[pd.DataFrame | None] = [None] * len(reads)
    groups: dict[tuple[str, ...], list[tuple[int, pa.Table]]] = {}
    objects: dict[tuple[str, ...], list[str]] = {}
    def open_one(read: tuple[Upload, str]) -> tuple[pa.Table, list[str]] | None:
        upload, kind = read
        return _open_copy(copy_path(upload), upload.sha256, kind, columns.get(kind, ()),
                          index=False)

    # Arrow reads files without holding the GIL: a few at once use the machine's cores.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        opens = list(pool.map(open_one, reads))
    for i, ((_, kind), opened) in enumerate(zip(reads, opens, strict=True)):
        if opened is None:
            continue
        table, object_columns = opened
        if table.num_columns == 0:  # none of the columns: the rows are still there
            import pandas as pd

            out[i] = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
            continue
        table = table.replace_schema_metadata(None)  # dtypes come from the Arrow types
        key = (kind, table.schema.to_string(), *sorted(set(object_columns) & set(
            table.column_names)))
        groups.setdefault(key, []).append((i, table))
        objects[key] = object_columns
    for key, tables in groups.items():
        try:
            frame = _to_frame(pa.concat_tables([t for _, t in tables]), objects[key])
        except Exception as exc:  # noqa: BLE001 - each is then read on its own
            logger.warning("typed copies of %s unreadable together (%s)", key[0], exc)
            continue
        start = 0
        for i, table in tables:
            out[i] = frame.iloc[start:start + table.num_rows].reset_index(drop=True)
            start += table.num_rows
    return out


def _write_copy(path: Path, frame: pd.DataFrame, sha256: str, kind: str) -> None:
    """Best effort: a store we cannot write to only costs the next reader a parse."""
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=True)
        objects = [str(c) for c in frame.columns if frame[c].dtype == object]
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               _KEY: _stamp(sha256, kind),
                                               _OBJECT_COLUMNS: json.dumps(objects).encode()})
        pq.write_table(table, scratch, compression="zstd")
        os.replace(scratch, path)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not keep a typed copy of %s (%s)", path, exc)
        with contextlib.suppress(OSError):
            scratch.unlink(missing_ok=True)
