"""Email over SMTP: one connection for a whole delivery pass, our own MIME, stable Message-IDs.

Why not Apprise's email plugin for the sending: it opens a new SMTP connection, TLS context
and login for every message (25–60 ms each here), converts our HTML into the plain-text part
itself, and gives every message a random Message-ID. A chaser pass sends thousands of
emails; a resend after a crash must be recognisable as the same message. So the connection
is opened once per pass (:class:`SmtpConnection`, reconnecting once if the server drops it),
each email is multipart/alternative with *our* rendered text template and HTML, and its
Message-ID is derived from the notification's idempotency key (:func:`message_id`).

The settings still come from the Apprise URL people already configure
(``PLANCYCLE_EMAIL_URL=mailtos://user:pass@smtp.example.nhs.uk:587?from=…``): Apprise
parses it (host, port, SSL/STARTTLS, login, sender, certificate checking, the well-known
providers' servers), so every URL that worked before works now.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from typing import Any

from plancycle.notify.port import Delivery, Outgoing

#: URL schemes sent through :class:`SmtpConnection`; any other Apprise email service
#: (``ses://``, ``sendgrid://`` …) goes through Apprise message by message.
SMTP_SCHEMES = ("mailto", "mailtos")
#: What a failure while connecting or sending is: the server, the network or TLS.
SMTP_ERRORS = (OSError, smtplib.SMTPException, ssl.SSLError)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "ssl", "starttls" or "insecure"
    user: str | None
    password: str | None = field(repr=False)
    sender: str
    sender_name: str | None
    verify_certificate: bool = True
    timeout: float = 15.0
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings | None:
        """Settings from an Apprise ``mailto://`` / ``mailtos://`` URL; None if it is not one
        (or not valid: the caller reports that as a failed delivery)."""
        if url.split("://", 1)[0].lower() not in SMTP_SCHEMES:
            return None
        import apprise

        plugin: Any = apprise.Apprise.instantiate(url)
        if plugin is None or not getattr(plugin, "smtp_host", None):
            return None
        name, address = plugin.from_addr
        return cls(host=plugin.smtp_host, port=int(plugin.port or (465 if plugin.secure_mode
                                                                    == "ssl" else 25)),
                   security=str(plugin.secure_mode or "insecure"), user=plugin.user or None,
                   password=plugin.password or None, sender=address,
                   sender_name=name or None,
                   verify_certificate=bool(plugin.verify_certificate),
                   timeout=float(plugin.socket_connect_timeout or 15),
                   headers=tuple((str(k), str(v)) for k, v in (plugin.headers or {}).items()))

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "plancycle.invalid"


def message_id(key: str, domain: str) -> str:
    """The same Message-ID every time this notification is sent (a resend after a crash is
    recognisable as a duplicate by mail clients and by people)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<plancycle.{digest}@{domain}>"


def compose(message: Outgoing, settings: SmtpSettings, now: datetime | None = None) -> bytes:
    """One email as it goes on the wire: our text part and our HTML part as alternatives,
    the calendar entry attached, a stable Message-ID.

    Written directly rather than through ``email.message.EmailMessage`` (its header
    registry and generator cost milliseconds a message, more than sending it); headers are
    encoded with the standard library's RFC 2047 helpers, bodies as 7-bit text when they
    are short-lined ASCII and base64 otherwise.
    """
    boundary = f"plancycle-{secrets.token_hex(12)}"
    headers = [
        ("From", formataddr((settings.sender_name or "", settings.sender), charset="utf-8")),
        ("To", formataddr((message.recipient.name, message.recipient.email or ""),
                          charset="utf-8")),
        ("Subject", _header(message.subject)),
        ("Date", format_datetime(now or datetime.now(UTC))),
    ]
    if message.key:
        headers += [("Message-ID", message_id(message.key, settings.domain)),
                    ("X-Plancycle-Key", _header(message.key))]
    headers += [(name, _header(value)) for name, value in settings.headers]
    headers.append(("MIME-Version", "1.0"))
    alternatives = [_part("text/plain", message.body)]
    if message.html is not None:
        alternatives.append(_part("text/html", message.html))
    body = _multipart("alternative", alternatives, f"{boundary}-a")
    if message.ics:
        method = "CANCEL" if "METHOD:CANCEL" in message.ics else "REQUEST"
        attachment = _part(f"text/calendar; method={method}", message.ics,
                           disposition='attachment; filename="task.ics"')
        body = _multipart("mixed", [body, attachment], f"{boundary}-m")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("ascii") + body


def _header(value: str) -> str:
    """A header value: one line (no injected headers), RFC 2047-encoded when not ASCII."""
    value = " ".join(value.split())
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(linesep="\r\n")  # encoded words of ≤ 75 chars


def _part(content_type: str, text: str, disposition: str | None = None) -> bytes:
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    if data.isascii() and max(map(len, data.split(b"\r\n"))) <= 900:
        encoding, payload = "7bit", data
    else:
        encoding, payload = "base64", base64.encodebytes(data).replace(b"\n", b"\r\n")
    charset = "" if "charset=" in content_type else '; charset="utf-8"'
    head = f"Content-Type: {content_type}{charset}\r\nContent-Transfer-Encoding: {encoding}\r\n"
    if disposition:
        head += f"Content-Disposition: {disposition}\r\n"
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    return head.encode("ascii") + b"\r\n" + payload


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    for part in parts:
        out += [f"--{boundary}\r\n".encode(), part]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


class SmtpConnection:
    """One SMTP session reused for every message of a delivery pass.

    Connects on the first message; if the server drops the connection between messages it
    reconnects once and retries that message. If connecting fails, the rest of the pass
    fails fast with the same error (each recorded, retried with backoff on a later pass)
    instead of waiting on a dead server once per message.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._context: ssl.SSLContext | None = None
        self._down: str | None = None

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            context = ssl.create_default_context()
            if not self.settings.verify_certificate:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._context = context
        return self._context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                smtp.starttls(context=self._tls())
        if s.user and s.password:
            smtp.login(s.user, s.password)
        return smtp

    def send(self, message: Outgoing) -> Delivery:
        if not message.recipient.email:
            return Delivery(False, f"{message.recipient.name} has no email address")
        if self._down is not None:
            return Delivery(False, self._down)
        email = compose(message, self.settings)
        for attempt in (1, 2):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                refused = self._smtp.sendmail(self.settings.sender, [message.recipient.email],
                                              email)
                if refused:
                    return Delivery(False, f"the SMTP server refused {message.recipient.email}:"
                                           f" {refused}")
                return Delivery(True)
            except smtplib.SMTPRecipientsRefused as exc:
                return Delivery(False, f"the SMTP server refused {message.recipient.email}: "
                                       f"{_reason(exc)}")
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    return self._unreachable(exc)
            except smtplib.SMTPResponseException as exc:
                if 400 <= exc.smtp_code < 500 and attempt == 1:
                    self._drop()  # a temporary refusal: try once more on a fresh session
                    continue
                return Delivery(False, f"the SMTP server answered {exc.smtp_code}: "
                                       f"{_reason(exc)}")
            except SMTP_ERRORS as exc:
                self._drop()
                return self._unreachable(exc)
        return Delivery(False, "the SMTP server could not be reached")

    def _unreachable(self, exc: BaseException) -> Delivery:
        s = self.settings
        self._down = (f"email could not be sent through {s.host}:{s.port} "
                      f"({type(exc).__name__}: {_reason(exc)})")
        return Delivery(False, self._down)

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(SMTP_ERRORS):
                self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(SMTP_ERRORS):
                self._smtp.quit()
            self._smtp = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        return error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {text.decode(errors='replace')}"
                         for code, text in exc.recipients.values())
    return str(exc) or type(exc).__name__
