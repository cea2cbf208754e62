"""OpenID Connect client: the portal as a relying party of the organisation's identity provider.

Microsoft Entra ID (NHSmail) or any OpenID Connect provider: the provider's
``/.well-known/openid-configuration`` is read once (and again when it is an hour old), the
browser is sent to its authorisation endpoint with the authorisation-code flow and PKCE
(S256), the code is exchanged at its token endpoint (authlib's OAuth 2 session), and the ID
token is validated with joserfc against the provider's JWKS: RS256/ES256 signature, issuer,
audience (and ``azp`` when there are several), expiry and issue time on the injected clock,
and the nonce sent with the request. Any failure is a :class:`SignInRefused` naming why.

Nothing here knows FastAPI or the register: :mod:`plancycle.portal.signin` does the routes,
cookies and audit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from plancycle.portal.identity import Identity
from plancycle.portal.settings import OidcSettings

ALGORITHMS = ("RS256", "ES256")
#: Clock skew tolerated between the provider and the portal.
LEEWAY_SECONDS = 120
DISCOVERY_TTL_SECONDS = 3600
HTTP_TIMEOUT = 10


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; ``reason`` is a short code for the audit."""

    def __init__(self, reason: str, message: str, claims: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.claims = claims or {}


@dataclass(frozen=True)
class Authorisation:
    """Where to send the browser, and what to remember until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class OidcClient:
    """One provider: discovery, the authorisation request, the code exchange, the ID token."""

    def __init__(self, settings: OidcSettings, now: Callable[[], float]) -> None:
        self.settings = settings
        self.now = now
        self._metadata: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._keys: KeySet | None = None
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        """One connection pool to the provider (its TLS context built once)."""
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)
            return self._http

    # --- discovery --------------------------------------------------------------------------
    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._client().get(url)
            response.raise_for_status()
            data = response.json()
        except Exception as exc:
            raise SignInRefused("provider_unreachable",
                                f"The sign-in service's {what} could not be read from {url} "
                                f"({type(exc).__name__}). Try again in a minute; if it goes "
                                "on, tell the workforce planner.") from None
        if not isinstance(data, dict):
            raise SignInRefused("provider_unreachable", f"The sign-in service's {what} at "
                                f"{url} is not a JSON object.")
        return data

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            fresh = time.monotonic() - self._fetched_at < DISCOVERY_TTL_SECONDS
            if self._metadata is not None and fresh:
                return self._metadata
        data = self._get_json(self.settings.discovery_url, "configuration")
        missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint",
                               "jwks_uri") if not data.get(k)]
        if missing:
            raise SignInRefused("provider_misconfigured", "The sign-in service's "
                                f"configuration has no {', '.join(missing)}.")
        with self._lock:
            self._metadata, self._fetched_at, self._keys = data, time.monotonic(), None
        return data

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            keys = None if refresh else self._keys
        if keys is None:
            keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"], "keys"))
            with self._lock:
                self._keys = keys
        return keys

    @property
    def end_session_endpoint(self) -> str | None:
        return self.metadata().get("end_session_endpoint")

    def _session(self, redirect_uri: str) -> OAuth2Session:
        s = self.settings
        return OAuth2Session(
            client_id=s.client_id, client_secret=s.client_secret, scope=s.scopes,
            redirect_uri=redirect_uri, code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post" if s.client_secret else "none")

    # --- the flow ---------------------------------------------------------------------------
    def authorisation(self, redirect_uri: str) -> Authorisation:
        """The provider's sign-in URL for a new attempt (fresh state, nonce and PKCE verifier)."""
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        with self._session(redirect_uri) as session:
            url, _ = session.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, code_verifier=verifier,
                nonce=nonce)
        return Authorisation(url, state, nonce, verifier)

    def exchange(self, code: str, redirect_uri: str, code_verifier: str, nonce: str
                 ) -> tuple[Identity, str]:
        """Exchange the code for tokens and validate the ID token: (identity, raw ID token)."""
        with self._session(redirect_uri) as session:
            try:
                token = session.fetch_token(self.metadata()["token_endpoint"], code=code,
                                            code_verifier=code_verifier,
                                            timeout=HTTP_TIMEOUT)
            except Exception as exc:
                raise SignInRefused("code_refused", "The sign-in service did not accept the "
                                    f"sign-in ({getattr(exc, 'error', type(exc).__name__)}). "
                                    "Sign in again.") from None
        raw = token.get("id_token")
        if not raw:
            raise SignInRefused("no_id_token", "The sign-in service sent no ID token: check "
                                "that the 'openid' scope is granted to the portal.")
        return self.validate(raw, nonce), raw

    def validate(self, raw: str, nonce: str) -> Identity:
        """Check the ID token's signature and claims (OpenID Connect Core §3.1.3.7)."""
        try:
            try:
                token = jwt.decode(raw, self._key_set(), algorithms=list(ALGORITHMS))
            except JoseError:  # a rotated key: read the JWKS again, once
                token = jwt.decode(raw, self._key_set(refresh=True),
                                   algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise SignInRefused("bad_signature", "The sign-in answer's signature could not "
                                f"be verified ({type(exc).__name__}). Sign in again.") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(self.now()), leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.metadata()["issuer"]},
            aud={"essential": True, "value": self.settings.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise SignInRefused("expired", "The sign-in answer had expired. Check that this "
                                "computer's clock is right and sign in again.", claims) from None
        except (InvalidClaimError, MissingClaimError) as exc:
            claim = getattr(exc, "claim", "")
            reason = {"aud": "wrong_audience", "iss": "wrong_issuer",
                      "nonce": "wrong_nonce"}.get(claim, "bad_claims")
            raise SignInRefused(reason, "The sign-in answer was not issued for this portal "
                                f"({claim or exc}). Sign in again from the portal.",
                                claims) from None
        except JoseError as exc:
            raise SignInRefused("bad_claims", f"The sign-in answer is not valid ({exc}).",
                                claims) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise SignInRefused("wrong_audience", "The sign-in answer was issued for another "
                                "application (azp).", claims)
        if int(claims["iat"]) > self.now() + LEEWAY_SECONDS:
            raise SignInRefused("bad_claims", "The sign-in answer was issued in the future: "
                                "check the server's clock.", claims)
        return Identity.from_claims(claims)
