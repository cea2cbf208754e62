"""``plancycle portal`` (serve the web portal) and ``plancycle link`` (withdraw task links,
record who may act through them for someone else)."""

from __future__ import annotations

from typing import Annotated

import typer

from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id

link_app = typer.Typer(help="Task links: withdraw the links sent to someone; record delegates "
                            "who may act through them.", no_args_is_help=True)

CycleOption = Annotated[str | None, typer.Option("--cycle",
                                                 help="Cycle id (default: the only one)")]


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
    console.print(f"Portal on http://{host}:{port}/ (people reach it at "
                  f"{settings.public_url or 'PLANCYCLE_PORTAL_URL, not set'})", highlight=False)
    if settings.oidc is not None:
        console.print(f"Organisational sign-in: {settings.oidc.discovery_url}", highlight=False)
    elif not settings.planner_token:
        console.print("The planner's dashboard is off: configure organisational sign-in "
                      "(PLANCYCLE_OIDC_*) or, locally, PLANCYCLE_PLANNER_TOKEN.",
                      highlight=False)
    for warning in settings.warnings():
        console.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    # Forwarded headers are handled inside the app, trusted only from
    # PLANCYCLE_TRUSTED_PROXIES (see plancycle.portal.app), so uvicorn's own handling is off.
    uvicorn.run(app, host=host, port=port, proxy_headers=False, access_log=False,
                server_header=False)


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


@link_app.command("delegate")
def delegate(person: Annotated[str, typer.Option("--person", help="Who delegates (person id)")],
             to: Annotated[str, typer.Option("--to", help="Who may act for them (person id)")],
             reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit)")],
             task: Annotated[str | None, typer.Option(
                 "--task", help="Only this task (default: every task of PERSON)")] = None,
             starts: Annotated[str | None, typer.Option(
                 "--from", help="First day, YYYY-MM-DD (default: today)")] = None,
             until: Annotated[str | None, typer.Option(
                 "--until", help="Last day, YYYY-MM-DD (default: until withdrawn)")] = None,
             cycle: CycleOption = None) -> None:
    """Record TO as PERSON's delegate: their task links then let TO act for PERSON."""
    from sqlalchemy import select as sql_select

    from plancycle.delegates import DelegationError, record_delegation
    from plancycle.links import LinkNotBound, bind_link
    from plancycle.register.models import Assignment, AssignmentState, Person, Task, TaskState
    from plancycle.runtime import Runtime

    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with rt.register.session(actor="cli", note="delegate recorded") as session:
        try:
            row = record_delegation(session, cycle_id, person, to, rt.clock.now(),
                                    reason=reason, recorded_by="cli", task_key=task,
                                    starts_on=parse_day(starts, "--from"),
                                    ends_on=parse_day(until, "--until"))
        except DelegationError as exc:
            raise UserError(str(exc)) from None
        delegate_person = session.scalars(sql_select(Person).where(
            Person.cycle_id == cycle_id, Person.key == to)).one()
        holder = session.scalars(sql_select(Person).where(
            Person.cycle_id == cycle_id, Person.key == person)).one()
        covered = []
        for assignment in session.scalars(
                sql_select(Assignment).join(Task, Assignment.task_id == Task.id).where(
                    Assignment.person_id == holder.id,
                    Assignment.state == AssignmentState.OPEN,
                    Task.state.in_([TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED]))):
            try:
                bind_link(session, delegate_person, assignment, rt.clock.today())
            except LinkNotBound:
                continue
            covered.append((session.get(Task, assignment.task_id).name,
                            rt.links.url(to, assignment.id, cycle_id)))
        span = f"from {row.starts_on:%d %b %Y}" + (f" to {row.ends_on:%d %b %Y}"
                                                    if row.ends_on else " until withdrawn")
    console.print(f"{to} may act for {person} on {f'task {task}' if task else 'every task'} "
                  f"{span}.", highlight=False)
    for name, url in covered:
        console.print(f"  {name}: {url}", highlight=False, soft_wrap=True)
    if covered:
        console.print(f"Send {to} these links (they are personal to {to}); their own task links "
                      "also list these tasks under 'All my tasks'.", highlight=False)


@link_app.command("undelegate")
def undelegate(person: Annotated[str, typer.Option("--person", help="Who delegated")],
               to: Annotated[str, typer.Option("--to", help="The delegate")],
               reason: Annotated[str | None, typer.Option("--reason")] = None,
               cycle: CycleOption = None) -> None:
    """Withdraw TO's delegations from PERSON: links stop letting TO act for PERSON at once."""
    from plancycle.delegates import withdraw_delegations
    from plancycle.runtime import Runtime

    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with rt.register.session(actor="cli", note="delegate withdrawn") as session:
        count = withdraw_delegations(session, cycle_id, person, to, rt.clock.now(), reason)
    if not count:
        raise UserError(f"{to} is not recorded as {person}'s delegate in cycle '{cycle_id}'; "
                        "see `plancycle link delegates`")
    console.print(f"{to} can no longer act for {person}.", highlight=False)


@link_app.command("delegates")
def delegates(cycle: CycleOption = None) -> None:
    """List the delegations in force or to come."""
    from rich.table import Table

    from plancycle.delegates import active_delegations
    from plancycle.runtime import Runtime

    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with rt.register.session() as session:
        rows = active_delegations(session, cycle_id)
    if not rows:
        console.print("No delegations recorded.", highlight=False)
        return
    table = Table("person", "delegate", "task", "from", "until", "reason", "recorded")
    for row in rows:
        table.add_row(row.person_key, row.delegate_key, row.task_key or "every task",
                      f"{row.starts_on:%Y-%m-%d}",
                      f"{row.ends_on:%Y-%m-%d}" if row.ends_on else "until withdrawn",
                      row.reason, f"{row.recorded_at:%Y-%m-%d} by {row.recorded_by}")
    console.print(table)
