"""The web portal: task links, uploads and DQ reports, approvals, the planner's dashboard.

``create_app(runtime)`` builds the FastAPI application; ``plancycle portal`` serves it with
uvicorn. Pages are server-rendered (Jinja2, ``templates/portal``) and work without
JavaScript; a small script adds drag-and-drop and upload progress.
"""

from plancycle.portal.app import create_app
from plancycle.portal.settings import PortalSettings

__all__ = ["PortalSettings", "create_app"]
