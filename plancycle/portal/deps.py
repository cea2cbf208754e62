"""FastAPI dependencies of the portal's routes: the services, and the visit of a task link.

Routers declare what they need as parameters (``portal: PortalDep``, ``visit: VisitDep``)
and FastAPI resolves them per request from the :class:`~plancycle.portal.services.Portal`
that :func:`~plancycle.portal.app.create_app` stored on the application. Routers import
this module, never the application, so imports point one way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from plancycle.portal.identity import Identity
from plancycle.portal.security import SESSION_COOKIE
from plancycle.portal.services import Portal, Visit
from plancycle.portal.settings import PortalSettings


def get_portal(request: Request) -> Portal:
    """The portal services of the application serving this request."""
    return request.app.state.portal


PortalDep = Annotated[Portal, Depends(get_portal)]


def get_settings(portal: PortalDep) -> PortalSettings:
    return portal.settings


SettingsDep = Annotated[PortalSettings, Depends(get_settings)]


def link_visit(request: Request, token: str, portal: PortalDep) -> Visit:
    """The task link in the path (``/t/{token}…``), verified: who is asking about what."""
    return portal.visit(request, token)


VisitDep = Annotated[Visit, Depends(link_visit)]


def signed_in(request: Request, portal: PortalDep) -> Identity | None:
    """Who signed in with the organisation's provider (None: nobody, or sign-in is off)."""
    if portal.oidc is None:
        return None
    return portal.sign_ins.identity(request.cookies.get(SESSION_COOKIE))


IdentityDep = Annotated[Identity | None, Depends(signed_in)]
