"""Data returns: contracts, reading, validation (GX + Python rules), DQ reports, raw storage.

The upload flow calls, in order::

    stored = RawStore(data_dir / "uploads").store(data, original_name)
    report = validate_upload(stored.path, kind, file_name=stored.original_name,
                             sha256=stored.sha256, context=ValidationContext(...))
    register.save(report.to_dict()); accept if report.accepted else send back

Nothing here imports Prefect or the register; Great Expectations is imported on first use.
Names are loaded on first access so ``python -m plancycle.returns.suites`` runs cleanly.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CheckResult": "checks", "OffendingRow": "checks", "ValidationContext": "checks",
    "KINDS": "kinds", "Column": "kinds", "ReturnKind": "kinds", "get_kind": "kinds",
    "DEFAULT_MAX_BYTES": "limits", "MAX_UPLOAD_SETTING": "limits",
    "max_upload_bytes": "limits",
    "ReturnTable": "table", "UploadError": "table",
    "read_return": "reader", "table_from_frame": "layout",
    "DQReport": "report",
    "RawStore": "storage", "StoredFile": "storage",
    "load_typed": "validate", "validate_table": "validate", "validate_upload": "validate",
    "warm_up": "validate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"plancycle.returns.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'plancycle.returns' has no attribute {name!r}")
