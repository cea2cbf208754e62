"""``plancycle ics``: the integrated care system view — published figures, organisations'
submissions, the roll-up."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer

from plancycle.cli.common import UserError, console, parse_day
from plancycle.clock import clock_at

app = typer.Typer(help="Integrated care system: published figures, organisations' plans, "
                       "the system roll-up.", no_args_is_help=True)

IcsCycleArg = Annotated[str, typer.Argument(help="The system cycle id (its file has 'ics:')")]
OrgCycleOpt = Annotated[list[str] | None, typer.Option(
    "--org-cycle", help="An organisation's cycle id (repeat; default: every member's cycle "
                        "in the register for the same financial year)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="As of this date (YYYY-MM-DD)")]
DataOpt = Annotated[str | None, typer.Option(
    "--data", help="Directory of the published CSV files (default: the in-repo copies in "
                   "tests/fixtures/nhs, or $PLANCYCLE_PUBLISHED_DATA)")]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


@app.command("published")
def published(ics: Annotated[str, typer.Option("--ics", help="ICS code, e.g. QOC")],
              data: DataOpt = None,
              fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table"
              ) -> None:
    """An ICS's staff in post (Core 5 FTE) and sickness absence exactly as published.

    FTE is summed exactly from the published decimals (per organisation, staff group and the
    ICS); each organisation's sickness rate is recomputed as days lost ÷ available × 100 to
    2 dp and shown beside the published rate.
    """
    from plancycle.ics.published import PublishedDataError, published_view

    if fmt not in ("table", "json"):
        raise UserError(f"--format {fmt!r}: use 'table' or 'json'")
    try:
        view = published_view(ics, data)
    except PublishedDataError as exc:
        raise UserError(str(exc)) from None
    if fmt == "json":
        console.print_json(json.dumps({
            "ics_code": view.ics_code, "ics_name": view.ics_name, "data_month": view.data_month,
            "fte_total": str(view.fte_total),
            "organisations": _records(view.organisations),
            "staff_groups": _records(view.staff_groups),
            "sickness": _records(view.sickness),
            "system_sickness": _records(view.system_sickness),
            "sickness_reproduced": view.sickness_reproduced,
            "sources": view.sources, "notes": view.notes}))
        return

    def out(text: str = "") -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    out(f"{view.ics_code} {view.ics_name} — NHS Workforce Statistics (Core 5, staff groups "
        f"excluding medical), {view.data_month}")
    out(f"{'org':<6}{'organisation':<52}{'FTE':>14}{'headcount cells':>17}")
    for r in view.organisations.itertuples(index=False):
        out(f"{r.org_code:<6}{r.org_name[:50]:<52}{str(r.fte):>14}{r.headcount_cells:>17,}")
    out(f"{'':<6}{'ICS total (sum of its organisations)':<52}{str(view.fte_total):>14}")
    out("")
    out(f"{'staff group':<48}{'FTE':>14}")
    for r in view.staff_groups.itertuples(index=False):
        out(f"{r.staff_group:<48}{str(r.fte):>14}")
    out("")
    out("Sickness absence: FTE days lost ÷ available × 100 (2 dp) against the published rate")
    out(f"{'month':<9}{'org':<6}{'days lost':>14}{'days available':>20}{'computed':>10}"
        f"{'published':>11}  match")
    for r in view.sickness.itertuples(index=False):
        out(f"{r.month:<9}{r.org_code:<6}{r.fte_days_lost:>14}{r.fte_days_available:>20}"
            f"{str(r.computed_rate):>10}{str(r.published_rate):>11}  "
            f"{'yes' if r.matches else 'NO'}")
    for r in view.system_sickness.itertuples(index=False):
        out(f"{r.month:<9}{'ICS':<6}{str(r.fte_days_lost):>14}{str(r.fte_days_available):>20}"
            f"{str(r.computed_rate):>10}{'(computed)':>11}")
    out(f"every organisation's published sickness rate reproduced: "
        f"{'yes' if view.sickness_reproduced else 'NO'}")
    for note in view.notes:
        out(f"note: {note}")


def _org_cycles(rt, ics_cycle: str, given: list[str] | None) -> list[str]:  # type: ignore[no-untyped-def]
    from plancycle.ics import service

    with rt.register.session() as session:
        config = service.system_config(session, ics_cycle)
        cycles = list(given) if given else service.organisation_cycles(session, config)
        service.member_cycles(session, config, cycles)  # checks them
    return cycles


@app.command("status")
def status(ics_cycle: IcsCycleArg, org_cycle: OrgCycleOpt = None, as_of: AsOfOpt = None
           ) -> None:
    """Each member organisation: its cycle, whether it has submitted, its system task."""
    from plancycle.ics import service
    from plancycle.register.cycles import cycle_status
    from plancycle.runtime import Runtime

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    try:
        cycles = _org_cycles(rt, ics_cycle, org_cycle)
        with rt.register.session() as session:
            config = service.system_config(session, ics_cycle)
            members = service.member_cycles(session, config, cycles)
            rows = {r.task_key: r for r in cycle_status(session, ics_cycle, rt.clock.today(),
                                                          rt.calendar)}
            states = service.submission_states(session, members, rt.clock.now())
    except service.IcsError as exc:
        raise UserError(str(exc)) from None
    console.print(f"{ics_cycle}: {len(members)} organisations on {rt.clock.today():%d %b %Y}",
                  highlight=False)
    for member, state in zip(members, states, strict=True):
        row = rows.get(member.member.task_key)
        task = (f"{row.state}, due {row.due_on:%d %b}"
                + (f", {row.working_days_overdue} working days overdue"
                   if row.working_days_overdue else "")) if row else "no task"
        sent = (f"submitted {state.at:%d %b %Y} ({state.how})" if state.submitted
                else "not submitted")
        if state.submitted and row is not None and row.state != "complete":
            task += " (recorded at the next `plancycle ics run`)"
        console.print(f"  {member.member.org_code:<6} {member.member.place:<20} "
                      f"{member.cycle_id or '(no cycle)':<18} {sent:<32} {task}",
                      highlight=False)


@app.command("rollup")
def rollup(ics_cycle: IcsCycleArg, org_cycle: OrgCycleOpt = None, as_of: AsOfOpt = None,
           data: DataOpt = None,
           documents: Annotated[bool, typer.Option(
               "--documents/--no-documents",
               help="Also render and register the system plan and tables")] = True) -> None:
    """Roll the organisations' accepted returns up into the system tables (and plan)."""
    from plancycle.ics import service
    from plancycle.runtime import Runtime

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    try:
        result = service.roll_up_cycles(rt, ics_cycle, org_cycle or None, published=data,
                                        tables_only=not documents)
    except service.IcsError as exc:
        raise UserError(str(exc)) from None
    s = result.tables.system
    console.print(f"{ics_cycle}: {s['organisations']} organisations, {s['wte']:,.1f} WTE; "
                  f"vacancy {s['vacancy_rate_pct']:.1f}%, turnover {s['turnover_pct']:.1f}%, "
                  f"sickness {s['sickness_pct']:.2f}%, agency {s['agency_share_pct']:.1f}% of "
                  "pay")
    for r in result.tables.organisations.itertuples(index=False):
        console.print(f"  {r.org_code:<6} {r.place:<20} {r.wte:>10,.1f} WTE {r.headcount:>7,} "
                      f"people (this organisation)")
    console.print(f"  {s['headcount_note']}", highlight=False, soft_wrap=True)
    console.print(f"consistency flags: {len(result.flags)}")
    for flag in result.flags:
        console.print(f"  [{flag.check}] {flag.message}", highlight=False, markup=False,
                      soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if documents:
        build = service.build_system_plan(rt, result, actor="cli:ics-rollup")
        console.print(f"system plan v{build.plan.version} ({build.plan.sha256}): "
                      f"{build.plan.pdf_path}", highlight=False, soft_wrap=True)
        console.print(f"system tables: {build.tables_html}", highlight=False, soft_wrap=True)


@app.command("run")
def run(ics_cycle: IcsCycleArg, org_cycle: OrgCycleOpt = None, as_of: AsOfOpt = None,
        deployment: Annotated[str | None, typer.Option(
            help="annual-cycle deployment to start organisations' runs with")] = None) -> None:
    """One pass of the ics-rollup flow (starts or follows each organisation's run).

    It starts or follows a Prefect flow run per organisation, so it needs a Prefect server
    (PREFECT_API_URL); `plancycle ics rollup` rolls up without one.
    """
    from plancycle.cli import flowrun

    flowrun.require_api("plancycle ics run", "starts or follows each organisation's "
                        "annual-cycle flow run (`plancycle ics rollup` rolls the accepted "
                        "returns up without a server)")
    from flows.ics_rollup import DEPLOYMENT, ics_rollup
    from plancycle import runtime as runtime_mod
    from plancycle.ics import service
    from plancycle.runtime import Runtime

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    try:
        cycles = _org_cycles(rt, ics_cycle, org_cycle)
    except service.IcsError as exc:
        raise UserError(str(exc)) from None
    with runtime_mod.use(rt):
        result = ics_rollup(ics_cycle, cycles, deployment=deployment or DEPLOYMENT)
    followed = result["followed"]
    console.print(f"{ics_cycle}: submitted {', '.join(followed['submitted']) or 'none'}; "
                  f"waiting on {', '.join(followed['waiting']) or 'nobody'}"
                  + (" — system cycle complete" if result.get("complete") else ""),
                  highlight=False)
