"""Who signed in: the identity an OpenID Connect provider vouched for in a validated ID token.

Kept on its own so the FastAPI dependencies (:mod:`plancycle.portal.deps`) and the session
cookie (:mod:`plancycle.portal.security`) know the identity without the OpenID Connect
client (:mod:`plancycle.portal.oidc`) that produces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in (from a validated ID token)."""

    issuer: str
    subject: str
    object_id: str | None     # Entra ID ``oid``: the same person across applications
    email: str | None
    name: str | None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Identity:
        email = claims.get("email") or claims.get("preferred_username") or claims.get("upn")
        return cls(issuer=str(claims["iss"]), subject=str(claims["sub"]),
                   object_id=claims.get("oid"),
                   email=str(email).strip().lower() if email else None,
                   name=claims.get("name"))

    def audit(self) -> dict[str, Any]:
        return {"iss": self.issuer, "sub": self.subject, "oid": self.object_id,
                "email": self.email, "name": self.name}

    @property
    def label(self) -> str:
        return self.email or self.object_id or self.subject
