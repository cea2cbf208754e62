"""The portal's defences: headers, CSRF, rate limiting, the planner's session, upload checks.

- **Security headers** on every response: a strict Content-Security-Policy (own scripts and
  styles only, ``frame-ancestors 'none'``), ``nosniff``, and ``Referrer-Policy: no-referrer``
  because task links carry their token in the path; on an https deployment also
  ``Strict-Transport-Security`` (HSTS), and ``Secure`` on every cookie.
- **CSRF**: a random cookie plus a form field that is an HMAC of that cookie *and* the scope
  of the page (the link's person and assignment, or the planner). A forged form from another
  site has neither; a form copied from another link has the wrong scope.
- **Sessions**: the planner's token session and the organisational sign-in (the identity
  the OpenID Connect provider vouched for) are signed, expiring cookies on the injected clock.
- **Rate limiting** of bad links and bad planner passwords per client address and minute,
  measured on the injected clock.
- **Uploads**: size refused by Content-Length and again while streaming; type decided by
  the content (CSV text or an XLSX zip), never the extension; names with directories refused.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import threading
import zipfile
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from plancycle.clock import Clock
from plancycle.portal.identity import Identity

CSRF_COOKIE = "pc_csrf"
CSRF_FIELD = "csrf_token"
PLANNER_COOKIE = "pc_planner"
#: The signed-in identity (organisational sign-in) and the sign-in attempt in flight.
SESSION_COOKIE = "pc_session"
PENDING_COOKIE = "pc_signin"
PENDING_SECONDS = 600

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
#: One year, subdomains included: what the NCSC and the HSTS preload list expect.
HSTS = "max-age=31536000; includeSubDomains"
#: Generated documents carry their own inline styles and data: images; they are shown as a
#: sandboxed page that can run nothing.
DOCUMENT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                "frame-ancestors 'none'; sandbox")

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """ASGI middleware adding the headers (a route may set its own CSP, e.g. documents).

    ``hsts``: the portal is served over https (``PLANCYCLE_PORTAL_URL``). ``form_targets``:
    origins a form may lead to besides the portal (the sign-in provider, whose sign-out page
    a sign-out form redirects to: browsers apply ``form-action`` to redirects too).
    """

    def __init__(self, app: Any, hsts: bool = False, form_targets: tuple[str, ...] = ()
                 ) -> None:
        self.app = app
        self.csp = CSP.replace("form-action 'self'",
                               " ".join(("form-action 'self'", *form_targets)))
        self.hsts = hsts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                wanted = {**HEADERS, "Content-Security-Policy": self.csp}
                if self.hsts:
                    wanted["Strict-Transport-Security"] = HSTS
                if not path.startswith("/static/"):
                    # Pages hold personal task data and tokens: never cache them.
                    wanted["Cache-Control"] = "no-store"
                for name, value in wanted.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- CSRF -----------------------------------------------------------------------------------

class Csrf:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(f"plancycle.csrf:{secret}".encode()).digest()

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def field_for(self, cookie: str, scope: str) -> str:
        return hmac.new(self._key, f"{cookie}|{scope}".encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, field: str | None, scope: str) -> bool:
        if not cookie or not field:
            return False
        return hmac.compare_digest(self.field_for(cookie, scope), field)


# --- rate limiting --------------------------------------------------------------------------

class RateLimiter:
    """At most ``limit`` failures per ``window`` seconds per client; counted on the clock."""

    def __init__(self, clock: Clock, limit: int, window_seconds: int) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, client: str) -> deque[float]:
        now = self.clock.now().timestamp()
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._prune(client)) >= self.limit

    def failure(self, client: str) -> None:
        with self._lock:
            self._prune(client).append(self.clock.now().timestamp())


# --- the planner's session ----------------------------------------------------------------

def _signer(clock: Clock) -> type[TimestampSigner]:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockSigner


class PlannerSessions:
    """A signed, expiring cookie saying "this browser logged in with the planner token"."""

    def __init__(self, secret: str, clock: Clock, hours: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="plancycle.planner-session",
                                                  signer=_signer(clock))
        self.max_age = hours * 3600

    def issue(self) -> str:
        return self._serializer.dumps({"role": "planner", "n": secrets.token_hex(8)})

    def valid(self, cookie: str | None) -> bool:
        if not cookie:
            return False
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return False
        return isinstance(data, dict) and data.get("role") == "planner"


class SignIns:
    """The signed cookies of sign-in: the attempt in flight, and the signed-in identity."""

    def __init__(self, secret: str, clock: Clock, hours: int) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="plancycle.sign-in.session",
                                               signer=_signer(clock))
        self._pending = URLSafeTimedSerializer(secret, salt="plancycle.sign-in.pending",
                                               signer=_signer(clock))
        self.max_age = hours * 3600

    def issue(self, identity: Identity) -> str:
        """The identity only (not the provider's tokens): the cookie stays small."""
        return self._session.dumps({**identity.audit(), "n": secrets.token_hex(8)})

    def identity(self, cookie: str | None) -> Identity | None:
        if not cookie:
            return None
        try:
            data = self._session.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        return Identity(issuer=data["iss"], subject=data["sub"], object_id=data["oid"],
                        email=data["email"], name=data["name"])

    def pending(self, data: dict[str, str]) -> str:
        return self._pending.dumps(data)

    def read_pending(self, cookie: str | None) -> dict[str, str] | None:
        if not cookie:
            return None
        try:
            return self._pending.loads(cookie, max_age=PENDING_SECONDS)
        except BadSignature:
            return None


def token_matches(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


# --- request bodies -------------------------------------------------------------------------

class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def limited_receive(receive: Callable[[], Awaitable[dict]], limit: int
                    ) -> Callable[[], Awaitable[dict]]:
    """Wrap an ASGI ``receive`` so reading more than ``limit`` body bytes raises BodyTooLarge."""
    seen = 0

    async def wrapped() -> dict:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


# --- uploads: names and content -----------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_name(name: str) -> str | None:
    """Why a file name cannot be accepted (directories, traversal, control characters)."""
    if _CONTROL.search(name):
        return "the file name contains control characters"
    parts = re.split(r"[\\/]", name)
    if len(parts) > 1 or name.strip() in (".", ".."):
        return "the file name contains a folder path"
    if re.match(r"^[A-Za-z]:", name):
        return "the file name contains a drive letter"
    return None


@dataclass(frozen=True)
class Sniffed:
    ok: bool
    kind: str          # csv / xlsx / what it looked like
    message: str = ""


_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an old-style Excel (.xls) or Word file",
    b"\x1f\x8b": "a gzip archive",
    b"MZ": "a program",
    b"\x7fELF": "a program",
}

_FIX = "Upload the return as an Excel workbook (.xlsx) or as 'CSV UTF-8' saved from Excel."


def sniff(data: bytes) -> Sniffed:
    """What the bytes are, from their content: CSV text, an XLSX workbook, or something else."""
    if not data:
        return Sniffed(False, "empty", "The file is empty. " + _FIX)
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return Sniffed(False, "zip", "The file looks like a damaged zip or Excel file. " + _FIX)
        if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
            return Sniffed(True, "xlsx")
        return Sniffed(False, "zip", "The file is a zip archive, not an Excel workbook. " + _FIX)
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            return Sniffed(False, what, f"The file is {what}, not a spreadsheet. " + _FIX)
    head = data[:65536]
    if b"\x00" in head:
        return Sniffed(False, "binary", "The file is not text, so it cannot be a CSV. " + _FIX)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.start > len(head) - 4:
                text = head[:exc.start].decode(encoding)  # a character cut at the sample's end
                break
            continue
    else:
        return Sniffed(False, "binary", "The file is not readable text. " + _FIX)
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if text and printable / len(text) < 0.95:
        return Sniffed(False, "binary", "The file is not readable text. " + _FIX)
    if text.lstrip().lower().startswith(("<!doctype", "<html", "<?xml", "<svg", "{", "[")):
        return Sniffed(False, "markup", "The file is a web page or data file, not a CSV. " + _FIX)
    return Sniffed(True, "csv")
