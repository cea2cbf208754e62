"""The portal application: ``create_app(runtime)`` composes the routers around one runtime.

This module is the portal's composition root and nothing imports it back: it builds the
:class:`~plancycle.portal.services.Portal` (settings, CSRF, rate limits, sessions), stores it
on the application for the dependencies in :mod:`plancycle.portal.deps`, adds the security
middleware and error pages, and includes the routers — :mod:`~plancycle.portal.public`,
:mod:`~plancycle.portal.signin` (organisational sign-in), :mod:`~plancycle.portal.roleholder`
(task links), :mod:`~plancycle.portal.approvals` (gates)
and :mod:`~plancycle.portal.dashboard` (the planner). See :mod:`plancycle.portal.security`
for the defences.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from plancycle.portal import approvals, dashboard, public, roleholder, signin
from plancycle.portal.problems import LINK_PROBLEMS, LinkProblem, PortalProblem
from plancycle.portal.render import STATIC
from plancycle.portal.security import BodyTooLarge, SecurityHeaders
from plancycle.portal.services import Portal
from plancycle.portal.settings import PortalSettings
from plancycle.runtime import Runtime


def create_app(runtime: Runtime, settings: PortalSettings | None = None) -> FastAPI:
    """The portal for one runtime (register, clock, links); settings default to the env."""
    settings = settings or PortalSettings.from_env()
    portal = Portal(runtime, settings)
    app = FastAPI(title="plancycle portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    # The sign-out form is redirected to the provider's sign-out page: CSP form-action
    # applies to redirects, so the provider's origin is allowed there.
    provider = urlsplit(settings.oidc.discovery_url) if settings.oidc else None
    app.add_middleware(SecurityHeaders, hsts=settings.https,
                       form_targets=(f"{provider.scheme}://{provider.netloc}",) if provider
                       else ())
    # Outermost: the client address and scheme come from X-Forwarded-* only when the
    # connection is from a configured proxy (PLANCYCLE_TRUSTED_PROXIES; none by default).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(PortalProblem)
    async def _problem(request: Request, exc: PortalProblem) -> Response:
        return portal.page(request, "problem.html.j2", status=exc.status, headers=exc.headers,
                           title=exc.title, message=exc.message)

    @app.exception_handler(LinkProblem)
    async def _link_problem(request: Request, exc: LinkProblem) -> Response:
        status, title, message = LINK_PROBLEMS.get(exc.reason, LINK_PROBLEMS["invalid"])
        return portal.page(request, "link_problem.html.j2", status=status, title=title,
                           message=message)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        mb = max(1, round(exc.limit / (1024 * 1024)))
        message = (f"The file is larger than the portal accepts ({mb} MB). Nothing was "
                   "stored. Remove unneeded columns or rows, or ask the workforce planner "
                   "how to send a larger file."
                   if exc.limit >= settings.max_upload_bytes else
                   "The form was larger than the portal accepts. Nothing was changed.")
        return portal.page(request, "problem.html.j2", status=413, title="Too large",
                           message=message, headers={"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Page not found", 405: "Not allowed"}.get(exc.status_code, "Error")
        return portal.page(request, "problem.html.j2", status=exc.status_code, title=title,
                           message="There is nothing here. Use the link in your most recent "
                                   "email about the task.")

    for module in (public, signin, roleholder, approvals, dashboard):
        app.include_router(module.router)
    return app
