"""Portal settings: limits, secrets and deployment from the environment (never the cycle YAML).

Every variable is listed in the README (Environment, and the portal's security section);
a value that cannot be used is a ``ValueError`` naming the variable and the fix, which the
CLI prints without a traceback.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from plancycle.returns import limits

MB = 1024 * 1024
ENTRA_DISCOVERY = "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def prefect_ui_url() -> str | None:
    """``PREFECT_UI_URL``, or the UI beside ``PREFECT_API_URL`` (same host, without ``/api``)."""
    ui = os.environ.get("PREFECT_UI_URL", "").strip()
    if ui:
        return ui.rstrip("/")
    api = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    if api:
        return api.removesuffix("/api")
    return None


def trusted_proxies(value: str | None) -> tuple[str, ...]:
    """``PLANCYCLE_TRUSTED_PROXIES``: addresses or networks (comma-separated) of the proxy."""
    items = tuple(item.strip() for item in (value or "").split(",") if item.strip())
    for item in items:
        if item == "*":
            raise ValueError("PLANCYCLE_TRUSTED_PROXIES=* would let any client claim any "
                             "address; name the proxy's address or network, e.g. 10.0.0.5 "
                             "or 10.0.0.0/24")
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"PLANCYCLE_TRUSTED_PROXIES: {item!r} is not an IP address or "
                             "network (e.g. 127.0.0.1, 10.0.0.0/24)") from None
    return items


@dataclass(frozen=True)
class OidcSettings:
    """Organisational sign-in with an OpenID Connect provider (Microsoft Entra ID or other)."""

    discovery_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    scopes: str = "openid profile email"
    #: How long a sign-in lasts in the portal before the provider is asked again.
    session_hours: int = 8

    @classmethod
    def from_env(cls) -> OidcSettings | None:
        """``PLANCYCLE_OIDC_*``; None when sign-in is not configured at all."""
        tenant = _env("PLANCYCLE_OIDC_TENANT")
        discovery = _env("PLANCYCLE_OIDC_DISCOVERY_URL")
        client_id = _env("PLANCYCLE_OIDC_CLIENT_ID")
        secret = _env("PLANCYCLE_OIDC_CLIENT_SECRET")
        if not (tenant or discovery or client_id or secret):
            return None
        if tenant and discovery:
            raise ValueError("set PLANCYCLE_OIDC_TENANT (Microsoft Entra ID) or "
                             "PLANCYCLE_OIDC_DISCOVERY_URL (another provider), not both")
        if not (tenant or discovery):
            raise ValueError("PLANCYCLE_OIDC_CLIENT_ID is set but not the provider: set "
                             "PLANCYCLE_OIDC_TENANT to your Entra ID tenant id, or "
                             "PLANCYCLE_OIDC_DISCOVERY_URL to the provider's "
                             "/.well-known/openid-configuration")
        if not client_id:
            raise ValueError("set PLANCYCLE_OIDC_CLIENT_ID to the application (client) id "
                             "registered for the portal")
        url = ENTRA_DISCOVERY.format(tenant=tenant) if tenant else discovery
        if not url.startswith("https://") and not _loopback(url):
            raise ValueError(f"the OpenID Connect discovery URL {url!r} must use https")
        return cls(discovery_url=url, client_id=client_id, client_secret=secret,
                   scopes=_env("PLANCYCLE_OIDC_SCOPES") or cls.scopes,
                   session_hours=_int_env("PLANCYCLE_OIDC_SESSION_HOURS", cls.session_hours))


def _loopback(url: str) -> bool:
    return url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))


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
    #: The shared planner's token (``PLANCYCLE_PLANNER_TOKEN``), for local use and the demo
    #: only; refused when organisational sign-in (``oidc``) is configured.
    planner_token: str | None = None
    planner_session_hours: int = 12
    prefect_ui_url: str | None = None
    #: Notification log rows per dashboard page.
    log_page_size: int = 50
    #: Where people reach the portal (``PLANCYCLE_PORTAL_URL``); https means cookies are
    #: ``Secure`` and HSTS is sent. Sign-in redirects come back here.
    public_url: str | None = None
    #: Proxies whose X-Forwarded-For/-Proto are believed (``PLANCYCLE_TRUSTED_PROXIES``).
    trusted_proxies: tuple[str, ...] = ()
    #: Organisational sign-in (``PLANCYCLE_OIDC_*``); None: task links and the token only.
    oidc: OidcSettings | None = None

    @property
    def https(self) -> bool:
        return (self.public_url or "").lower().startswith("https://")

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS when the portal is served on https."""
        return self.https

    @property
    def token_allowed(self) -> bool:
        """The shared planner token works only when nobody can sign in by name."""
        return bool(self.planner_token) and self.oidc is None

    @classmethod
    def from_env(cls) -> PortalSettings:
        return cls(
            max_upload_bytes=limits.max_upload_bytes(),
            bad_link_limit=_int_env("PLANCYCLE_PORTAL_BAD_LINKS_PER_MINUTE", 10),
            planner_token=os.environ.get("PLANCYCLE_PLANNER_TOKEN") or None,
            prefect_ui_url=prefect_ui_url(),
            public_url=(_env("PLANCYCLE_PORTAL_URL") or "").rstrip("/") or None,
            trusted_proxies=trusted_proxies(os.environ.get("PLANCYCLE_TRUSTED_PROXIES")),
            oidc=OidcSettings.from_env(),
        )

    def warnings(self) -> list[str]:
        """What a deployer should hear at start-up (printed by ``plancycle portal``)."""
        out = []
        if self.planner_token and self.oidc is not None:
            out.append("PLANCYCLE_PLANNER_TOKEN is ignored: organisational sign-in is "
                       "configured, so planners sign in by name.")
        elif self.planner_token:
            out.append("The planner's dashboard opens with the shared PLANCYCLE_PLANNER_TOKEN: "
                       "for local use and the demo only. In production configure "
                       "organisational sign-in (PLANCYCLE_OIDC_*; see the README).")
        if self.https and not self.trusted_proxies:
            out.append("PLANCYCLE_PORTAL_URL is https but PLANCYCLE_TRUSTED_PROXIES is not set: "
                       "forwarded headers are ignored, so every client looks like the proxy "
                       "(one shared rate limit). Set it to the proxy's address.")
        if self.oidc is not None and not self.public_url:
            out.append("Sign-in redirects use the address of each request: set "
                       "PLANCYCLE_PORTAL_URL to the address registered with the provider.")
        return out
