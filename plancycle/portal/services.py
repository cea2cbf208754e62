"""The portal's services for one application: the runtime, settings and security helpers.

One :class:`Portal` is built by :func:`plancycle.portal.app.create_app` and stored on the
application; routes receive it (and what is derived from it: the visit of a task link, the
signed-in person) through the FastAPI dependencies in :mod:`plancycle.portal.deps`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from plancycle.assignments import AssignmentError, reassign
from plancycle.links import (
    ASSIGNEE,
    ESCALATION,
    LinkClaims,
    LinkError,
    LinkNotBound,
    bind_link,
    link_secret,
)
from plancycle.portal.oidc import OidcClient
from plancycle.portal.problems import LinkProblem, PortalProblem
from plancycle.portal.render import render
from plancycle.portal.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    BodyTooLarge,
    Csrf,
    PlannerSessions,
    RateLimiter,
    SignIns,
    limited_receive,
)
from plancycle.portal.settings import PortalSettings
from plancycle.register.models import Assignment, AuditEntry, Person, Task
from plancycle.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Visit:
    """A verified link bound to its person: who is asking, about which assignment, and how
    they may use it (:func:`plancycle.links.bind_link`)."""

    token: str
    claims: LinkClaims
    person_id: int
    person_key: str
    person_name: str
    assignment_id: int
    task_id: int
    how: str            # assignee / deputy / delegate / escalation
    holder_key: str     # whose assignment it is
    holder_name: str

    @property
    def own(self) -> bool:
        """The link's person holds the assignment."""
        return self.how == ASSIGNEE

    @property
    def acts(self) -> bool:
        """May act on it (the assignee, their deputy standing in, a recorded delegate); an
        escalation's recipient only sees who holds it and how late it is."""
        return self.how != ESCALATION

    @property
    def cycle_id(self) -> str:
        return self.claims.cycle

    @property
    def scope(self) -> str:
        """What a CSRF token from this link's pages is good for."""
        return f"link:{self.person_key}:{self.assignment_id}"

    @property
    def actor(self) -> str:
        return f"portal:{self.person_key}"

    @property
    def base(self) -> str:
        return f"/t/{self.token}"


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Portal:
    """Everything the routes share: the runtime, settings, and the security helpers."""

    def __init__(self, runtime: Runtime, settings: PortalSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        secret = link_secret()
        self.csrf = Csrf(secret)
        self.limiter = RateLimiter(runtime.clock, settings.bad_link_limit,
                                   settings.bad_link_window_seconds)
        self.planner_sessions = PlannerSessions(secret, runtime.clock,
                                                settings.planner_session_hours)
        #: Organisational sign-in (None: not configured); ID tokens are judged on the clock.
        self.oidc = (OidcClient(settings.oidc, lambda: runtime.clock.now().timestamp())
                     if settings.oidc is not None else None)
        self.sign_ins = SignIns(secret, runtime.clock,
                                settings.oidc.session_hours if settings.oidc else 8)
        self._deliver_lock = threading.Lock()

    # --- pages ------------------------------------------------------------------------------
    def page(self, request: Request, template: str, *, status: int = 200,
             scope: str | None = None, headers: Mapping[str, str] | None = None,
             **context: Any) -> HTMLResponse:
        """Render a page; forms on it get a CSRF token bound to ``scope``."""
        cookie = request.cookies.get(CSRF_COOKIE)
        new_cookie = None
        if not cookie:
            cookie = new_cookie = Csrf.new_cookie()
        found = (self.sign_ins.identity(request.cookies.get(SESSION_COOKIE))
                 if self.oidc is not None else None)
        context.setdefault("signed_in_as", (found.name or found.label) if found else None)
        html = render(template, csrf_field=CSRF_FIELD,
                      csrf=self.csrf.field_for(cookie, scope) if scope else "",
                      session_csrf=self.csrf.field_for(cookie, "session"),
                      today=self.runtime.clock.today(), **context)
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        if new_cookie:
            response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="lax",
                                secure=self.settings.secure_cookies, path="/")
        return response

    def check_csrf(self, request: Request, form: FormData, scope: str) -> None:
        field = form.get(CSRF_FIELD)
        if not self.csrf.valid(request.cookies.get(CSRF_COOKIE),
                               field if isinstance(field, str) else None, scope):
            raise PortalProblem(
                403, "This form could not be accepted",
                "The form had expired or did not come from this page, so nothing was changed. "
                "Go back, reload the page and try again.")

    async def form(self, request: Request, limit: int | None = None) -> FormData:
        """The posted form, refusing bodies over ``limit`` by Content-Length and while reading."""
        limit = limit or self.settings.max_form_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        limited = Request(request.scope, limited_receive(request.receive, limit))
        try:
            return await limited.form(max_files=1, max_fields=100)
        except BodyTooLarge:
            raise
        except Exception as exc:  # malformed multipart and the like
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, BodyTooLarge):
                raise cause from None
            raise PortalProblem(400, "The form could not be read",
                                "The browser sent a form the portal could not read. Reload the "
                                "page and try again.") from None

    def too_many_attempts(self, request: Request, what: str) -> None:
        """Refuse with 429 while the client is over its budget of bad attempts."""
        if self.limiter.blocked(client_of(request)):
            raise PortalProblem(
                429, "Too many attempts",
                f"Too many {what} have been tried from your network. Wait a minute and try "
                "again.",
                headers={"Retry-After": str(self.settings.bad_link_window_seconds)})

    # --- links ------------------------------------------------------------------------------
    def visit(self, request: Request, token: str) -> Visit:
        """Verify a task link, counting failures per client for the rate limit."""
        client = client_of(request)
        if self.limiter.blocked(client):
            raise PortalProblem(
                429, "Too many attempts",
                "Too many links that do not work have been tried from your network. Wait a "
                "minute, then open the link from your most recent email.",
                headers={"Retry-After": str(self.settings.bad_link_window_seconds)})
        try:
            if len(token) > 1000:
                raise LinkError("invalid")
            claims = self.runtime.links.verify(token)
        except LinkError as exc:
            self.limiter.failure(client)
            raise LinkProblem(exc.reason) from None
        with self.runtime.register.session(actor=f"portal:{claims.person}") as session:
            assignment = session.get(Assignment, claims.assignment)
            person = session.scalars(select(Person).where(
                Person.cycle_id == claims.cycle, Person.key == claims.person)).first()
            if assignment is None or person is None or assignment.cycle_id != claims.cycle:
                self.limiter.failure(client)
                raise LinkProblem("unknown")
            try:
                binding = bind_link(session, person, assignment, self.runtime.clock.today())
            except LinkNotBound as exc:
                refusal = str(exc)
                self.audit(session, f"portal:{person.key}", "link_refused", "assignments",
                           assignment.id, {"person": person.key, "client": client,
                                           "reason": refusal}, cycle_id=claims.cycle)
            else:
                return Visit(token, claims, person.id, person.key, person.name, assignment.id,
                             assignment.task_id, binding.how, binding.holder.key,
                             binding.holder.name)
        raise PortalProblem(403, "This link is for someone else's task", refusal)

    def take_over(self, visit: Visit) -> Visit:
        """Before a deputy or delegate acts, the assignment passes to them (a reassignment,
        audited with why), so the decision or upload is recorded as theirs, on behalf of the
        holder. Returns the visit of their new assignment."""
        if visit.own or not visit.acts:
            return visit
        rt = self.runtime
        with rt.register.session(actor=visit.actor, note=f"{visit.how} acting in the portal"
                                 ) as session:
            assignment = session.get(Assignment, visit.assignment_id)
            task = session.get(Task, assignment.task_id)
            holder = session.get(Person, assignment.person_id)
            person = session.get(Person, visit.person_id)
            try:
                new = reassign(session, task, holder, person, rt.clock.now(),
                               f"{person.name} acted as {holder.name}'s {visit.how} in the "
                               "portal")
            except AssignmentError as exc:
                raise PortalProblem(409, "You cannot act on this task", str(exc)) from None
            session.flush()
            self.audit(session, visit.actor, "take_over", "assignments", new.id,
                       {"task": task.key, "from": holder.key, "as": visit.how},
                       cycle_id=visit.cycle_id)
            new_id = new.id
        token = rt.links.token(visit.person_key, new_id, visit.cycle_id)
        return Visit(token, rt.links.verify(token), visit.person_id, visit.person_key,
                     visit.person_name, new_id, visit.task_id, ASSIGNEE, visit.person_key,
                     visit.person_name)

    def fresh_link(self, visit: Visit, assignment_id: int) -> str:
        """A path to another of the same person's assignments (my tasks)."""
        return "/t/" + self.runtime.links.token(visit.person_key, assignment_id, visit.cycle_id)

    # --- side effects -----------------------------------------------------------------------
    def audit(self, session: Session, actor: str, action: str, entity: str, entity_id: Any,
              details: dict[str, Any], cycle_id: str | None = None) -> None:
        """An explicit audit entry naming the portal action (row changes are audited too)."""
        session.add(AuditEntry(cycle_id=cycle_id, at=self.runtime.clock.now(), actor=actor,
                               action=action, entity=entity, entity_id=str(entity_id),
                               before=None, after=details, note="portal"))

    def deliver(self, cycle_id: str) -> None:
        """Send what the action queued (after the response); one delivery at a time."""
        try:
            with self._deliver_lock:
                self.runtime.deliver(cycle_id)
        except Exception:  # pragma: no cover - delivery failures are retried by the chaser
            logger.exception("delivering notifications for %s failed", cycle_id)
