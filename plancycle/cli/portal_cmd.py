"""``plancycle portal`` (serve the web portal) and ``plancycle link`` (withdraw task links)."""

from __future__ import annotations

from typing import Annotated

import typer

from plancycle.cli.common import UserError, console, resolve_cycle_id

link_app = typer.Typer(help="Task links: withdraw the links sent to someone.",
                       no_args_is_help=True)


def serve_portal(host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on")] = 8000) -> None:
    """Serve the web portal (task links, uploads, approvals, the planner's dashboard)."""
    import uvicorn

    from plancycle.portal import PortalSettings, create_app
    from plancycle.runtime import Runtime

    try:
        settings = PortalSettings.from_env()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    app = create_app(Runtime.build(), settings)
    console.print(f"Portal on http://{host}:{port}/ (task links use PLANCYCLE_PORTAL_URL)",
                  highlight=False)
    if not settings.planner_token:
        console.print("The planner's dashboard is off: set PLANCYCLE_PLANNER_TOKEN to use it.",
                      highlight=False)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, access_log=False)


@link_app.command("revoke")
def revoke(person: Annotated[str, typer.Option("--person", help="Person id")],
           reason: Annotated[str | None, typer.Option("--reason")] = None,
           cycle: Annotated[str | None, typer.Option("--cycle",
                                                     help="Cycle id (default: the only one)")]
           = None) -> None:
    """Withdraw every task link sent so far to PERSON; their next reminder brings a new one."""
    from sqlalchemy import select

    from plancycle.links import revoke_links
    from plancycle.register.models import Person
    from plancycle.runtime import Runtime

    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with rt.register.session(actor="cli", note="links revoked") as session:
        known = session.scalars(select(Person).where(Person.cycle_id == cycle_id,
                                                     Person.key == person)).first()
        if known is None:
            raise UserError(f"no person '{person}' in cycle '{cycle_id}'; person ids are the "
                            "'id:' values under people: in the cycle file")
        revoke_links(session, cycle_id, person, rt.clock.now(), reason)
    console.print(f"Links sent to {person} before now no longer work; their next reminder "
                  "brings a new one.", highlight=False)
