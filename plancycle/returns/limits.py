"""The one upload-size setting, read by the CLI, the portal and the flows alike.

``PLANCYCLE_MAX_UPLOAD_MB`` (whole megabytes, 1 MB = 1,048,576 bytes). The default takes a
large trust's full ESR staff-in-post extract (1.5 million assignment rows are about 250 MB as
CSV). A file over the limit is refused before anything is stored — it is a mistake the
uploader can fix (split the return, or ask for the limit to be raised), never a failed DQ check.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

MB = 1024 * 1024
MAX_UPLOAD_SETTING = "PLANCYCLE_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 512
DEFAULT_MAX_BYTES = DEFAULT_MAX_UPLOAD_MB * MB


class UploadLimitSettingError(ValueError):
    """``PLANCYCLE_MAX_UPLOAD_MB`` is set to something that is not a positive whole number."""


def max_upload_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The largest upload taken, in bytes, from ``PLANCYCLE_MAX_UPLOAD_MB`` (default 512 MB)."""
    env = os.environ if environ is None else environ
    value = env.get(MAX_UPLOAD_SETTING, "").strip()
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = int(value)
    except ValueError:
        raise UploadLimitSettingError(
            f"{MAX_UPLOAD_SETTING}={value!r} is not a whole number of megabytes; set it to e.g. "
            f"{DEFAULT_MAX_UPLOAD_MB} or unset it for the default") from None
    if megabytes <= 0:
        raise UploadLimitSettingError(
            f"{MAX_UPLOAD_SETTING}={value!r} must be a positive number of megabytes")
    return megabytes * MB


def megabytes(size: int) -> str:
    """``256901120`` → ``"245.0 MB"``: sizes as the limit's messages show them."""
    return f"{size / MB:.1f} MB"


def limit_text(limit: int) -> str:
    """``536870912`` → ``"512 MB"``; a limit that is not whole megabytes in bytes."""
    return f"{limit // MB} MB" if limit % MB == 0 else f"{limit:,} bytes"


def too_large_problem(size: int, limit: int) -> str:
    """The sentence every refusal of an over-size upload uses: size, limit and the setting."""
    return (f"The file is {megabytes(size)}, over the {limit_text(limit)} upload limit "
            f"(setting {MAX_UPLOAD_SETTING}).")


TOO_LARGE_FIX = ("Remove columns the return does not ask for, or split it by month or "
                 "organisation and upload each part; or ask the administrator to raise "
                 f"{MAX_UPLOAD_SETTING}.")
