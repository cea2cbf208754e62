"""A small but real OpenID Connect provider for the sign-in tests, served on loopback.

It speaks the parts of the protocol the portal uses, as Entra ID does: discovery
(``/.well-known/openid-configuration``), a JWKS with an RSA key generated per run, the
authorisation endpoint with a sign-in form (authorisation code + PKCE S256 required), the
token endpoint (``client_secret_post``; one-time codes bound to the redirect URI and the
PKCE challenge) issuing RS256 ID tokens with ``oid``, ``email`` and the request's nonce, and
an end-session endpoint. Knobs let a test make it misbehave (``audience``, ``lifetime``) to
show the portal refuses the answer. Time comes from the test's clock.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from .live import LiveServer, free_port

CLIENT_ID = "6f1c2a9e-plancycle-portal"
CLIENT_SECRET = "provider-secret-for-tests-0123456789"


@dataclass
class Directory:
    """The organisation's accounts: e-mail → (object id, display name)."""

    users: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, email: str, name: str) -> str:
        oid = str(uuid.uuid5(uuid.NAMESPACE_URL, email))
        self.users[email] = (oid, name)
        return oid


class Provider:
    def __init__(self, now: Callable[[], float], directory: Directory) -> None:
        self.now = now
        self.directory = directory
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/tenant-rxx/v2.0"
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(4),
                                                         "use": "sig", "alg": "RS256"},
                                       private=True)
        #: What a test can make go wrong.
        self.audience: str | None = None   # issue ID tokens for another application
        self.lifetime = 3600               # seconds; negative: already expired
        self.signing_key: RSAKey | None = None  # sign with a key that is not in the JWKS
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.logouts: list[dict[str, str]] = []
        self.discovery_reads = 0
        self._lock = threading.Lock()
        self.server = LiveServer(self._app(), self.port)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> Provider:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    # --- the protocol -----------------------------------------------------------------------
    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        base = "/tenant-rxx/v2.0"

        @app.get(base + "/.well-known/openid-configuration")
        def discovery() -> JSONResponse:
            self.discovery_reads += 1
            return JSONResponse({
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/keys",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "scopes_supported": ["openid", "profile", "email"],
            })

        @app.get(base + "/keys")
        def keys() -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        @app.get(base + "/authorize", response_class=HTMLResponse)
        def authorize(request: Request) -> HTMLResponse:
            q = dict(request.query_params)
            self.authorize_requests.append(q)
            if q.get("client_id") != CLIENT_ID:
                raise HTTPException(400, "unknown client_id")
            if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
                raise HTTPException(400, "response_type=code and scope openid are required")
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                raise HTTPException(400, "PKCE (S256) is required")
            if not q.get("redirect_uri") or not q.get("state") or not q.get("nonce"):
                raise HTTPException(400, "redirect_uri, state and nonce are required")
            hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                             for k, v in q.items() if k in ("redirect_uri", "state", "nonce",
                                                            "code_challenge"))
            return HTMLResponse(
                "<!DOCTYPE html><html lang='en'><head><title>Sign in to your account</title>"
                "</head><body><h1>Sign in to your account</h1><form method='post'>"
                f"{hidden}<label for='email'>Email address</label>"
                "<input id='email' name='email' type='email'>"
                "<button type='submit'>Sign in</button></form></body></html>")

        @app.post(base + "/authorize")
        def sign_in(email: str = Form(...), redirect_uri: str = Form(...),
                    state: str = Form(...), nonce: str = Form(...),
                    code_challenge: str = Form(...)) -> RedirectResponse:
            email = email.strip().lower()
            if email not in self.directory.users:
                raise HTTPException(400, "no such account")
            code = secrets.token_urlsafe(24)
            with self._lock:
                self.codes[code] = {"email": email, "redirect_uri": redirect_uri,
                                    "nonce": nonce, "challenge": code_challenge}
            return RedirectResponse(redirect_uri + "?" + urlencode({"code": code,
                                                                    "state": state}),
                                    status_code=302)

        @app.post(base + "/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.token_requests.append(form)

            def error(what: str, status: int = 400) -> JSONResponse:
                return JSONResponse({"error": what}, status_code=status)

            if form.get("client_id") != CLIENT_ID \
                    or form.get("client_secret") != CLIENT_SECRET:
                return error("invalid_client", 401)
            if form.get("grant_type") != "authorization_code":
                return error("unsupported_grant_type")
            with self._lock:
                grant = self.codes.pop(form.get("code", ""), None)  # one use only
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return error("invalid_grant")
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not verifier or challenge != grant["challenge"]:
                return error("invalid_grant")
            return JSONResponse({"access_token": secrets.token_urlsafe(24),
                                 "token_type": "Bearer", "expires_in": 3600,
                                 "id_token": self.id_token(grant["email"], grant["nonce"])})

        @app.get(base + "/logout")
        def logout(request: Request) -> RedirectResponse:
            q = dict(request.query_params)
            self.logouts.append(q)
            return RedirectResponse(q.get("post_logout_redirect_uri") or "/", status_code=302)

        return app

    def id_token(self, email: str, nonce: str) -> str:
        oid, name = self.directory.users[email]
        now = int(self.now())
        claims = {"iss": self.issuer, "aud": self.audience or CLIENT_ID, "sub": oid[::-1],
                  "oid": oid, "email": email, "preferred_username": email, "name": name,
                  "nonce": nonce, "iat": now - max(0, -self.lifetime) - 60,
                  "nbf": now - max(0, -self.lifetime) - 60, "exp": now + self.lifetime}
        key = self.signing_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
