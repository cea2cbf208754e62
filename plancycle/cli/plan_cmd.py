"""``plancycle plan`` (build and show the workforce plan) and ``plancycle demo-data``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plancycle.cli.common import UserError, console, parse_day, resolve_cycle_id
from plancycle.clock import clock_at

app = typer.Typer(help="The workforce plan document: build it from accepted returns.",
                  no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Build as of this date (YYYY-MM-DD)")]


@app.command("build")
def build(cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Analyse the accepted returns and register the plan and executive summary.

    Safe to re-run: unchanged returns register nothing new; a changed return makes a new
    version (approvals of the old one then no longer count).
    """
    from plancycle.analysis import AnalysisRefused
    from plancycle.planning import PlanningError, build_plan
    from plancycle.runtime import Runtime

    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        result = build_plan(rt, cycle_id, actor="cli:plan-build")
    except AnalysisRefused as refused:
        raise UserError(f"no plan built for {cycle_id}.\n{refused.message()}") from None
    except PlanningError as exc:
        raise UserError(str(exc)) from None
    if result.new_version:
        console.print(f"[green]✓[/] {cycle_id}: plan version {result.version} registered "
                      f"(sha256 {result.sha256})", highlight=False)
    else:
        console.print(f"{cycle_id}: plan unchanged — still version {result.version} "
                      f"(sha256 {result.sha256}); nothing new registered", highlight=False)
    console.print(f"  PDF:  {result.pdf_path}", highlight=False, soft_wrap=True)
    console.print(f"  HTML: {result.html_path}", highlight=False, soft_wrap=True)
    if result.summary_pdf_path is not None:
        console.print(f"  Executive summary v{result.summary_version}: "
                      f"{result.summary_pdf_path}", highlight=False, soft_wrap=True)
    for name, value in result.measures.items():
        console.print(f"  {name}: {value}", highlight=False)
    if result.template_path is not None:
        from plancycle.template.compare import describe_change

        state = "new version" if result.template_new_version else "unchanged"
        console.print(f"  Workforce plan template v{result.template_version} ({state}, sha256 "
                      f"{result.template_sha256}): {result.template_path}", highlight=False,
                      soft_wrap=True)
        for line in describe_change(result.template_path, result.template_previous_path):
            console.print(f"    {line}", highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)


@app.command("show")
def show(cycle: CycleOpt = None) -> None:
    """The registered versions of the plan, executive summary and signed plan."""
    from plancycle.planning import PLAN, SIGNED_PLAN, SUMMARY, document_files
    from plancycle.runtime import Runtime
    from plancycle.signoff import current_document

    rt = Runtime.build()
    cycle_id = resolve_cycle_id(rt.register, cycle)
    with rt.register.session() as session:
        documents = [(kind, current_document(session, cycle_id, kind))
                     for kind in (PLAN, SUMMARY, SIGNED_PLAN)]
    if all(doc is None for _, doc in documents):
        raise UserError(f"no plan has been built for {cycle_id} yet; run `plancycle plan build`")
    for kind, doc in documents:
        if doc is not None:
            console.print(f"{kind}: version {doc.version}, sha256 {doc.sha256}, "
                          f"{doc.created_at:%d %b %Y %H:%M} UTC\n  {document_files(doc)[1]}",
                          highlight=False, soft_wrap=True)


def demo_data(
    size: Annotated[int, typer.Option("--size", help="People in the trust")] = 6000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder to write into")] = Path(
        "demo-output/returns"),
    defects: Annotated[str | None, typer.Option(
        "--defects", help="Data-quality faults to inject, comma-separated")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    org_code: Annotated[str, typer.Option("--org-code")] = "RXX",
    financial_year: Annotated[str, typer.Option("--financial-year")] = "2026/27",
) -> None:
    """Write a synthetic trust's data returns, one file per return kind (deterministic)."""
    from plancycle.synthetic import DEFECTS, generate_trust, write_trust

    if fmt not in ("csv", "xlsx"):
        raise UserError(f"--format must be csv or xlsx, not {fmt!r}")
    chosen = {d.strip() for d in (defects or "").split(",") if d.strip()}
    unknown = sorted(chosen - set(DEFECTS))
    if unknown:
        raise UserError(f"unknown defect(s): {', '.join(unknown)}; choose from "
                        f"{', '.join(sorted(DEFECTS))}")
    try:
        returns = generate_trust(size=size, seed=seed, org_code=org_code,
                                 financial_year=financial_year, defects=chosen)
        written = write_trust(returns, out, fmt=fmt)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}; choose another --out "
                        "folder") from None
    console.print(f"Synthetic trust {org_code} ({size:,} people, seed {seed}, {financial_year})"
                  + (f" with defects {', '.join(sorted(chosen))}" if chosen else "")
                  + f": {len(written)} returns written to {out}", highlight=False,
                  soft_wrap=True)
    for kind, path in written.items():
        console.print(f"  {kind:<20} {len(returns[kind]):>8,} rows  {path}", highlight=False,
                      soft_wrap=True)


@app.command("check-template")
def check_template_cmd(
    file: Annotated[Path, typer.Argument(help="A workforce plan template (xlsx)")],
    agency_cap: Annotated[str | None, typer.Option(
        "--agency-cap", help="Agency cap in % of pay budget (default: the template's own)")] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the DQ report (HTML) here")] = None,
) -> None:
    """Check a workforce plan template as the ICS does; exit 1 if it would be sent back."""
    from decimal import Decimal, InvalidOperation

    from plancycle.template.check import check_template

    if not file.is_file():
        raise UserError(f"{file}: no such file; give the template's xlsx")
    try:
        cap = Decimal(agency_cap) if agency_cap is not None else None
    except InvalidOperation:
        raise UserError(f"--agency-cap {agency_cap!r}: give a percentage, e.g. 3.7") from None
    result = check_template(file, agency_cap_pct=cap)
    console.print(f"{file.name}: {result.report.verdict_text}", highlight=False)
    for found in result.report.problems():
        console.print(f"  [{found.status}] {found.description}: {found.message}",
                      highlight=False, markup=False, soft_wrap=True)
        console.print(f"    fix: {found.fix}", highlight=False, markup=False, soft_wrap=True)
    if report is not None:
        report.write_text(result.report.to_html(), encoding="utf-8")
        console.print(f"  DQ report: {report}", highlight=False, soft_wrap=True)
    if not result.accepted:
        raise typer.Exit(1)
