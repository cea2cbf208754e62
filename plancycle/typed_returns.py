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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

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


def _read_copy(path: Path, sha256: str, kind: str, columns: Sequence[str] | None = None
               ) -> pd.DataFrame | None:
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
            table = copy.read(columns=[c for c in columns if c in present],
                              use_pandas_metadata=True)
        frame = table.to_pandas()
        # Arrow has no "Python object" type: columns that were object (categories, text
        # with gaps) come back as strings; give them back the dtype readers were given.
        for name in json.loads(metadata.get(_OBJECT_COLUMNS, b"[]")):
            if name in frame.columns:
                frame[name] = frame[name].astype(object)
        return frame
    except Exception as exc:  # noqa: BLE001 - a damaged copy is rebuilt from the raw file
        logger.warning("typed copy %s unreadable (%s); reading the raw file", path, exc)
        return None


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
