"""Organisational sign-in: who is at the keyboard, from the OpenID Connect provider.

``/signin?next=…`` starts the authorisation-code flow with PKCE (:mod:`plancycle.portal.oidc`),
``/signin/callback`` validates the answer and sets a signed, expiring session cookie holding the
identity, ``/signout`` ends it here and at the provider. Every sign-in, refusal and sign-out is
audited with the identity.

The identity maps to people in the cycle YAML by object id (``object_id``: Entra ID's ``oid``)
or, failing that, by e-mail (``email`` / ``preferred_username`` / ``upn``, case ignored). The
planner's dashboard needs a signed-in holder of the cycle's planner role; a gate with
``sign_in: true`` needs the signed-in person to be the person its link is for (the approver,
or their deputy or delegate, as :func:`plancycle.links.bind_link` decided).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.config import ConfigError, parse_config
from plancycle.portal.deps import PortalDep
from plancycle.portal.identity import Identity
from plancycle.portal.oidc import OidcClient, SignInRefused
from plancycle.portal.problems import PortalProblem
from plancycle.portal.security import CSRF_COOKIE, PENDING_COOKIE, PENDING_SECONDS, SESSION_COOKIE
from plancycle.portal.services import Portal, client_of
from plancycle.register.models import Cycle, Person, RoleHolder

PLANNER_ROLE = "workforce_planner"


# --- who is this person in the register ----------------------------------------------------

@lru_cache(maxsize=32)
def _object_ids(config_sha256: str, text: str, path: str) -> dict[str, str]:
    """person key → object id, from a cycle's YAML (cached by its hash: pages ask often)."""
    try:
        config = parse_config(text, file=path)
    except ConfigError:
        return {}
    return {p.id: p.object_id.lower() for p in config.people if p.object_id}


def people_of(session: Session, identity: Identity, cycle_id: str | None = None
              ) -> list[Person]:
    """The people (one per cycle) the identity is: by object id from the cycle YAML, else
    by e-mail — but never by e-mail someone whose YAML names another object id."""
    cycles = session.scalars(select(Cycle) if cycle_id is None
                             else select(Cycle).where(Cycle.id == cycle_id)).all()
    oid = (identity.object_id or "").lower()
    found: list[Person] = []
    for cycle in cycles:
        ids = _object_ids(cycle.config_sha256, cycle.config_text, cycle.config_path)
        keys = {key for key, value in ids.items() if oid and value == oid}
        query = select(Person).where(Person.cycle_id == cycle.id)
        person = None
        if keys:
            person = session.scalars(query.where(Person.key.in_(keys))).first()
        elif identity.email:
            person = session.scalars(query.where(
                func.lower(Person.email) == identity.email)).first()
            if person is not None and person.key in ids:
                person = None   # pinned to another account
        if person is not None:
            found.append(person)
    return found


def is_planner(session: Session, person: Person) -> bool:
    return session.scalars(select(RoleHolder).where(
        RoleHolder.person_id == person.id, RoleHolder.role_key == PLANNER_ROLE)).first() is not None


# --- the request's identity ----------------------------------------------------------------

def sign_in_url(next_path: str) -> str:
    return "/signin?" + urlencode({"next": next_path})


def _safe_next(value: str | None) -> str:
    """Only a path on this portal (no scheme, no //host): never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _base(request: Request, portal: Portal) -> str:
    return portal.settings.public_url or str(request.base_url).rstrip("/")


def audit_identity(portal: Portal, action: str, identity: Identity | None,
                   details: dict[str, Any], cycle_id: str | None = None) -> None:
    actor = f"signin:{identity.label}" if identity else "signin:unknown"
    with portal.runtime.register.session(actor=actor) as session:
        portal.audit(session, actor, action, "portal", "sign-in",
                     {"identity": identity.audit() if identity else None, **details},
                     cycle_id=cycle_id)


router = APIRouter()


def _client(portal: Portal) -> OidcClient:
    if portal.oidc is None:
        raise PortalProblem(404, "Sign-in is not configured",
                            "This portal has no organisational sign-in. Use the link in your "
                            "email.")
    return portal.oidc


@router.get("/signin")
def start(request: Request, portal: PortalDep, next: str | None = None) -> Response:
    client = _client(portal)
    redirect_uri = _base(request, portal) + "/signin/callback"
    try:
        attempt = client.authorisation(redirect_uri)
    except SignInRefused as exc:
        raise PortalProblem(503, "Sign-in is unavailable", str(exc)) from None
    response = RedirectResponse(attempt.url, status_code=303)
    response.set_cookie(PENDING_COOKIE, portal.sign_ins.pending({
        "state": attempt.state, "nonce": attempt.nonce, "verifier": attempt.code_verifier,
        "next": _safe_next(next)}), httponly=True, samesite="lax",
        secure=portal.settings.secure_cookies, path="/signin", max_age=PENDING_SECONDS)
    return response


@router.get("/signin/callback")
async def callback(request: Request, portal: PortalDep, code: str | None = None,
                   state: str | None = None, error: str | None = None,
                   error_description: str | None = None) -> Response:
    client = _client(portal)
    where = {"client": client_of(request)}
    portal.too_many_attempts(request, "sign-ins that did not work")
    pending = portal.sign_ins.read_pending(request.cookies.get(PENDING_COOKIE))

    async def refuse(reason: str, message: str, identity: Identity | None = None,
                     claims: dict[str, Any] | None = None) -> Response:
        portal.limiter.failure(where["client"])
        await run_in_threadpool(audit_identity, portal, "sign_in_refused", identity,
                                {**where, "reason": reason, "claims": _safe(claims)})
        raise PortalProblem(403, "You could not be signed in", message)

    if error:
        return await refuse(f"provider:{error[:80]}", "The sign-in service said: "
                            f"{(error_description or error)[:300]}. Sign in again, or ask "
                            "the workforce planner if it goes on.")
    if pending is None or not code or not state \
            or not secrets.compare_digest(state, pending["state"]):
        return await refuse("state", "The sign-in had expired or did not start here. Start "
                            "again from the portal.")
    try:
        identity, _ = await run_in_threadpool(
            client.exchange, code, _base(request, portal) + "/signin/callback",
            pending["verifier"], pending["nonce"])
    except SignInRefused as exc:
        return await refuse(exc.reason, str(exc), claims=exc.claims)

    def who() -> list[str]:
        with portal.runtime.register.session(actor="signin") as session:
            return [f"{p.cycle_id}:{p.key}" for p in people_of(session, identity)]

    people = await run_in_threadpool(who)
    if not people:
        return await refuse("unknown_person", f"You signed in as {identity.label}, but nobody "
                            "with that identity is in the planning cycle. Ask the workforce "
                            "planner to add your NHS e-mail address to the cycle.", identity)
    await run_in_threadpool(audit_identity, portal, "sign_in", identity,
                            {**where, "people": people})
    response = RedirectResponse(pending["next"], status_code=303)
    response.set_cookie(SESSION_COOKIE, portal.sign_ins.issue(identity), httponly=True,
                        samesite="lax", secure=portal.settings.secure_cookies, path="/",
                        max_age=portal.sign_ins.max_age)
    response.delete_cookie(PENDING_COOKIE, path="/signin")
    return response


def _safe(claims: dict[str, Any] | None) -> dict[str, Any] | None:
    """The claims worth keeping in the audit of a refusal (no tokens)."""
    if not claims:
        return None
    keep = ("iss", "aud", "azp", "sub", "oid", "email", "preferred_username", "exp", "iat")
    return {k: claims[k] for k in keep if k in claims}


@router.post("/signout")
async def sign_out(request: Request, portal: PortalDep) -> Response:
    client = _client(portal)
    form = await portal.form(request)
    # Its own field: the sign-out form in the header sits beside the page's own forms.
    token = form.get("signout_token")
    if not portal.csrf.valid(request.cookies.get(CSRF_COOKIE),
                             token if isinstance(token, str) else None, "session"):
        raise PortalProblem(403, "This form could not be accepted",
                            "The sign-out form had expired. Reload the page and try again.")
    identity = portal.sign_ins.identity(request.cookies.get(SESSION_COOKIE))
    target = "/signed-out"
    if identity is not None:
        await run_in_threadpool(audit_identity, portal, "sign_out", identity,
                                {"client": client_of(request)})
        try:
            end = await run_in_threadpool(lambda: client.end_session_endpoint)
        except SignInRefused:
            end = None
        if end:
            target = end + ("&" if "?" in end else "?") + urlencode({
                "client_id": client.settings.client_id,
                "post_logout_redirect_uri": _base(request, portal) + "/signed-out"})
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request, portal: PortalDep) -> Response:
    return portal.page(request, "problem.html.j2", title="Signed out",
                       message="You have signed out of the workforce planning portal. Close "
                               "the browser window if you are on a shared computer.")
