"""Pages anyone may open: the home page, the health check and the signed calendar feeds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from plancycle.portal.deps import PortalDep
from plancycle.portal.services import client_of

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, portal: PortalDep) -> Response:
    return portal.page(request, "home.html.j2")


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/calendar/{token}")
def calendar_feed(request: Request, token: str, portal: PortalDep) -> Response:
    """A person's or the planner's iCalendar feed; the signed token is the only key."""
    from plancycle.icalendar import serve_feed

    client = client_of(request)
    if portal.limiter.blocked(client):
        return Response("Too many attempts.", status_code=429, media_type="text/plain")
    status, body = serve_feed(portal.runtime, token)
    if status != 200:
        portal.limiter.failure(client)
    return Response(body, status_code=status, media_type="text/calendar; charset=utf-8"
                    if status == 200 else "text/plain; charset=utf-8")
