"""Portal settings: limits and secrets from the environment (never from the cycle YAML)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from plancycle.returns import limits

MB = 1024 * 1024


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def prefect_ui_url() -> str | None:
    """``PREFECT_UI_URL``, or the UI beside ``PREFECT_API_URL`` (same host, without ``/api``)."""
    ui = os.environ.get("PREFECT_UI_URL", "").strip()
    if ui:
        return ui.rstrip("/")
    api = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    if api:
        return api.removesuffix("/api")
    return None


@dataclass
class PortalSettings:
    #: Largest upload accepted: the one upload-size setting the CLI and the flows honour too
    #: (``PLANCYCLE_MAX_UPLOAD_MB``, default 512 MB; see ``plancycle.returns.limits``).
    max_upload_bytes: int = limits.DEFAULT_MAX_BYTES
    #: Largest ordinary form (approval, reassign…): anything bigger is not a person typing.
    max_form_bytes: int = 256 * 1024
    #: Bad links (or planner passwords) per client address per minute before answering 429.
    bad_link_limit: int = 10
    bad_link_window_seconds: int = 60
    #: The planner's token (``PLANCYCLE_PLANNER_TOKEN``); no token, no dashboard.
    planner_token: str | None = None
    planner_session_hours: int = 12
    #: Cookies only over HTTPS (``PLANCYCLE_PORTAL_URL`` starting https://).
    secure_cookies: bool = False
    prefect_ui_url: str | None = None
    #: Notification log rows per dashboard page.
    log_page_size: int = 50

    @classmethod
    def from_env(cls) -> PortalSettings:
        portal_url = os.environ.get("PLANCYCLE_PORTAL_URL", "")
        return cls(
            max_upload_bytes=limits.max_upload_bytes(),
            bad_link_limit=_int_env("PLANCYCLE_PORTAL_BAD_LINKS_PER_MINUTE", 10),
            planner_token=os.environ.get("PLANCYCLE_PLANNER_TOKEN") or None,
            secure_cookies=portal_url.lower().startswith("https://"),
            prefect_ui_url=prefect_ui_url(),
        )
