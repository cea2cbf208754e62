"""The register side of the roll-up: following organisations' cycles from a system cycle.

The system cycle and the organisations' cycles live in the same register (one cycle per
organisation, matched to the ICS's members by ORG_CODE). This module, with no Prefect in it:

- tells whether an organisation has submitted (a delivered submission package, or — for an
  organisation that sends its plan some other way — every submission task of its cycle
  complete) and completes that organisation's task in the system cycle (:func:`sync`);
  until then the task is an ordinary open assignment, chased by the chaser and escalated to
  the organisation's exec sponsor like any other;
- gathers every member's accepted returns (the ones its plan was built from), last year's
  returns and its plan and submission, and rolls them up with the consistency flags
  (:func:`roll_up_cycles`);
- renders and registers the system plan and the system tables as documents of the system
  cycle (:func:`build_system_plan`), and submits the signed system plan to the region
  (:func:`submit_system_plan`) through :mod:`plancycle.submission`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.config import parse_config
from plancycle.config.model import CycleConfig, IcsMember
from plancycle.ics.flags import (
    Flag,
    LastYear,
    Tolerances,
    last_year_flags,
    org_code_flags,
    published_fte_flags,
    published_sickness_flags,
)
from plancycle.ics.rollup import COLUMNS as ROLLED_COLUMNS
from plancycle.ics.rollup import Organisation, OrganisationReturns, SystemTables, roll_up
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Cycle,
    DQResult,
    Person,
    SubmissionRecord,
    Task,
    TaskState,
)
from plancycle.returns.kinds import KINDS

if TYPE_CHECKING:
    from plancycle.analysis import WorkforceAnalysis
    from plancycle.context import CycleContext
    from plancycle.planning import PlanBuild
    from plancycle.submission import SubmissionResult

ACTOR = "ics-rollup"


class IcsError(Exception):
    """The roll-up cannot go ahead for a reason the system planner can fix."""


# --- the system cycle and its members' cycles ------------------------------------------------

def system_config(session: Session, ics_cycle_id: str) -> CycleConfig:
    cycle = session.get(Cycle, ics_cycle_id)
    if cycle is None:
        raise IcsError(f"no cycle '{ics_cycle_id}' in the register; start the system cycle "
                       "with `plancycle cycle start cycle_config/ics_annual_cycle.yaml`")
    config = parse_config(cycle.config_text, file=cycle.config_path)
    if config.ics is None:
        raise IcsError(f"cycle '{ics_cycle_id}' is an organisation's cycle, not a system cycle "
                       "(its configuration has no 'ics:' block of member organisations)")
    return config


@dataclass(frozen=True)
class MemberCycle:
    """A member organisation and its own cycle in the register (None: not started)."""

    member: IcsMember
    cycle_id: str | None

    @property
    def organisation(self) -> Organisation:
        m = self.member
        return Organisation(m.org_code, m.name, m.type, m.place)


def member_cycles(session: Session, config: CycleConfig,
                  organisation_cycle_ids: Sequence[str]) -> list[MemberCycle]:
    """Match the organisations' cycles to the ICS's members by ORG_CODE (member order)."""
    assert config.ics is not None
    members = {m.org_code: m for m in config.ics.organisations}
    found: dict[str, str] = {}
    for cycle_id in organisation_cycle_ids:
        if cycle_id == config.cycle.id:
            raise IcsError(f"'{cycle_id}' is the system cycle itself; list the member "
                           "organisations' own cycles")
        cycle = session.get(Cycle, cycle_id)
        if cycle is None:
            raise IcsError(f"no organisation cycle '{cycle_id}' in the register; start it with "
                           "`plancycle cycle start <its cycle file>` or leave it out")
        if cycle.org_code not in members:
            raise IcsError(
                f"cycle '{cycle_id}' is for {cycle.org_code}, which is not a member of "
                f"{config.ics.code} ({', '.join(members)}); add it under ics.organisations or "
                "leave the cycle out")
        if cycle.org_code in found:
            raise IcsError(f"two cycles for {cycle.org_code}: '{found[cycle.org_code]}' and "
                           f"'{cycle_id}'; give the roll-up one cycle per organisation")
        if cycle.financial_year != config.cycle.financial_year:
            raise IcsError(
                f"cycle '{cycle_id}' is for {cycle.financial_year}, the system cycle for "
                f"{config.cycle.financial_year}; use the organisation's "
                f"{config.cycle.financial_year} cycle")
        found[cycle.org_code] = cycle_id
    return [MemberCycle(m, found.get(m.org_code)) for m in config.ics.organisations]


def organisation_cycles(session: Session, config: CycleConfig) -> list[str]:
    """The register's cycles of the ICS's members for the system cycle's financial year."""
    assert config.ics is not None
    codes = [m.org_code for m in config.ics.organisations]
    rows = session.execute(select(Cycle.id, Cycle.org_code).where(
        Cycle.org_code.in_(codes), Cycle.financial_year == config.cycle.financial_year,
        Cycle.id != config.cycle.id).order_by(Cycle.started_at)).all()
    latest = {code: cycle_id for cycle_id, code in rows}  # one per organisation: the latest
    return [latest[c] for c in codes if c in latest]


# --- who has submitted -----------------------------------------------------------------------

@dataclass(frozen=True)
class SubmissionState:
    org_code: str
    cycle_id: str | None
    submitted: bool
    at: datetime | None = None
    how: str = ""                    # "package" (delivered) or "tasks" (submission tasks done)
    package_sha256: str | None = None


def submission_state(session: Session, member: MemberCycle, now: datetime) -> SubmissionState:
    """Has the organisation submitted its plan (as of ``now``)?"""
    return submission_states(session, [member], now)[0]


def submission_states(session: Session, members: Sequence[MemberCycle], now: datetime
                      ) -> list[SubmissionState]:
    """:func:`submission_state` of each member, with two queries for them all.

    Submitted means a delivered package, or else every submission task of the cycle complete.
    """
    ids = [m.cycle_id for m in members if m.cycle_id is not None]
    records: dict[str, list[SubmissionRecord]] = {}
    for record in session.scalars(select(SubmissionRecord).where(
            SubmissionRecord.cycle_id.in_(ids), SubmissionRecord.status == "delivered",
            SubmissionRecord.delivered_at.is_not(None)).order_by(SubmissionRecord.delivered_at)):
        if record.delivered_at <= now:
            records.setdefault(record.cycle_id, []).append(record)
    tasks: dict[str, list[Task]] = {}
    for task in session.scalars(select(Task).where(Task.cycle_id.in_(ids),
                                                   Task.kind == "submission")):
        tasks.setdefault(task.cycle_id, []).append(task)
    states = []
    for member in members:
        code, cycle_id = member.member.org_code, member.cycle_id
        if cycle_id is None:
            states.append(SubmissionState(code, None, False))
            continue
        if delivered := records.get(cycle_id):
            first = delivered[0]
            states.append(SubmissionState(code, cycle_id, True, first.delivered_at, "package",
                                          first.package_sha256))
            continue
        theirs = tasks.get(cycle_id, [])
        done = [t for t in theirs if t.state == TaskState.COMPLETE
                and t.completed_at is not None and t.completed_at <= now]
        states.append(SubmissionState(code, cycle_id, True, max(t.completed_at for t in done),
                                      "tasks") if theirs and len(done) == len(theirs)
                      else SubmissionState(code, cycle_id, False))
    return states


def sync(session: Session, ics_cycle_id: str, members: Sequence[MemberCycle], now: datetime
         ) -> list[SubmissionState]:
    """Complete each submitted organisation's task in the system cycle; the newly synced.

    An open task's assignments are completed (the engine then completes the task on the next
    reconcile) with the submission recorded as the reason; a task whose stage has not opened
    yet is completed directly, so nobody is asked for a plan already received.
    """
    synced = []
    for member, state in zip(members, submission_states(session, members, now), strict=True):
        if not state.submitted:
            continue
        task = session.scalars(select(Task).where(
            Task.cycle_id == ics_cycle_id, Task.key == member.member.task_key)).one_or_none()
        if task is None or task.state in (TaskState.COMPLETE, TaskState.CANCELLED):
            continue
        reason = (f"{state.org_code}'s cycle {state.cycle_id} submitted its plan on "
                  f"{state.at:%d %b %Y}" + (f" (package {state.package_sha256[:12]}…)"
                                            if state.package_sha256 else ""))
        changed = False
        for assignment in task.assignments:
            if assignment.state == AssignmentState.OPEN:
                assignment.state = AssignmentState.COMPLETE
                assignment.completed_at = now
                assignment.reason = reason
                changed = True
        if task.state == TaskState.PENDING:
            task.state, task.completed_at = TaskState.COMPLETE, now
            changed = True
        if changed:
            synced.append(state)
    session.flush()
    return synced


# --- gathering -------------------------------------------------------------------------------

#: What the system tables and their flags read of each return (the rest stays in the
#: organisation's own plan): the rolled-up columns, and ``org_code`` for the ORG_CODE check.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: (*ROLLED_COLUMNS.get(kind, ()), "org_code") for kind in KINDS}


def gather_members(session: Session, members: Sequence[MemberCycle], *,
                   tables_only: bool = False) -> list[OrganisationReturns]:
    """Every member's accepted returns (the ones its plan was built from).

    ``tables_only``: just the columns the system tables and flags need
    (:data:`TABLE_COLUMNS`, every row) — what a roll-up without documents reads.
    """
    from plancycle.planning import gather_returns_of

    started = [m.cycle_id for m in members if m.cycle_id is not None]
    returns = gather_returns_of(session, started, TABLE_COLUMNS if tables_only else None)
    out, problems = [], []
    for member in members:
        if member.cycle_id is None:
            problems.append(f"{member.member.org_code} has no cycle in the register")
            continue
        gathered = returns[member.cycle_id]
        missing = [k for k in gathered.missing] + [
            f"{k} ({gathered.reasons.get(k, 'not accepted')})"
            for k, ok in gathered.accepted.items() if not ok]
        if missing:
            problems.append(f"{member.member.org_code}: " + "; ".join(missing))
            continue
        out.append(OrganisationReturns(member.organisation, gathered.returns, member.cycle_id))
    if problems:
        raise IcsError("the roll-up needs every organisation's accepted returns: "
                       + " | ".join(problems))
    return out


def last_year(session: Session, member: MemberCycle, financial_year: str) -> LastYear | None:
    """The organisation's previous cycle's accepted returns: rows per kind, staff WTE."""
    from plancycle.typed_returns import read_accepted
    from plancycle.uploads import accepted_returns

    code = member.member.org_code
    previous = session.scalars(select(Cycle).where(
        Cycle.org_code == code, Cycle.financial_year < financial_year)
        .order_by(Cycle.financial_year.desc())).first()
    if previous is None:
        return None
    rows: dict[str, int] = {}
    wte = None
    for kind, upload in accepted_returns(session, previous.id).items():
        result = session.scalars(select(DQResult).where(DQResult.upload_id == upload.id)).first()
        count = (result.report or {}).get("row_count") if result else None
        frame = None
        if count is None or kind == "staff_in_post":
            try:
                frame = read_accepted(upload, kind, ("wte",))
            except Exception:  # noqa: BLE001 - last year's file unreadable: skip the check
                continue
            count = len(frame) if count is None else count
        rows[kind] = int(count)
        if kind == "staff_in_post" and frame is not None and "wte" in frame.columns:
            wte = float(pd.to_numeric(frame["wte"], errors="coerce").sum())
    return LastYear(previous.id, rows, wte)


def organisation_plans(session: Session, members: Sequence[MemberCycle], now: datetime
                       ) -> pd.DataFrame:
    """Each organisation's plan version, its sign-off and its submission."""
    from plancycle.signoff import current_documents, gate_status
    from plancycle.submission import final_gates

    ids = [m.cycle_id for m in members if m.cycle_id is not None]
    plans, gates = current_documents(session, ids, "plan"), final_gates(session, ids)
    rows = []
    for member, state in zip(members, submission_states(session, members, now), strict=True):
        row: dict[str, Any] = {"org_code": member.member.org_code, "cycle_id": member.cycle_id}
        if member.cycle_id is not None:
            plan, gate = plans.get(member.cycle_id), gates.get(member.cycle_id)
            row.update({
                "plan_version": plan.version if plan else None,
                "plan_sha256": plan.sha256 if plan else None,
                "sign_off": (f"{gate.key}: {gate_status(session, gate).outcome}"
                             if gate is not None else None),
                "submitted_on": state.at.date().isoformat() if state.at else None,
                "submitted_by": state.how or None,
                "package_sha256": state.package_sha256})
        rows.append(row)
    return pd.DataFrame(rows, columns=["org_code", "cycle_id", "plan_version", "plan_sha256",
                                       "sign_off", "submitted_on", "submitted_by",
                                       "package_sha256"])


# --- the roll-up -----------------------------------------------------------------------------

@dataclass
class SystemRollup:
    """The roll-up of a system cycle: tables, flags, the organisations' plans, the inputs."""

    ics_cycle_id: str
    config: CycleConfig
    members: list[OrganisationReturns]
    tables: SystemTables
    flags: list[Flag]
    plans: pd.DataFrame
    basis: str                                     # hash of what it was built from
    analysis: WorkforceAnalysis | None = None      # the system analysis, once built
    notes: list[str] = field(default_factory=list)
    tables_only: bool = False                      # members hold only the tables' columns

    @property
    def gap(self) -> pd.DataFrame | None:
        """Supply, demand and gap by scenario and year (the system projection)."""
        return None if self.analysis is None else self.analysis.gap.totals

    @property
    def gap_by_staff_group(self) -> pd.DataFrame | None:
        return None if self.analysis is None else self.analysis.gap.by_group


def flag_all(members: Sequence[OrganisationReturns], tables: SystemTables,
             core5: pd.DataFrame | None, sickness: pd.DataFrame | None,
             previous: dict[str, LastYear], tolerances: Tolerances | None = None
             ) -> list[Flag]:
    flags = org_code_flags(members)
    if core5 is not None:
        flags += published_fte_flags(tables.organisation_staff_group, core5, tolerances)
    if sickness is not None:
        flags += published_sickness_flags(tables.organisations, sickness, tolerances)
    flags += last_year_flags(members, tables.organisations, previous, tolerances)
    return flags


def rollup_basis(session: Session, ics_cycle_id: str, members: Sequence[MemberCycle]) -> str:
    """What a roll-up is of: the system config and every member's accepted uploads."""
    from plancycle.uploads import accepted_returns_of

    cycle = session.get(Cycle, ics_cycle_id)
    accepted = accepted_returns_of(session, [m.cycle_id for m in members if m.cycle_id])
    data = {"config": cycle.config_sha256 if cycle else None, "members": {
        m.member.org_code: sorted(u.sha256 for u in accepted[m.cycle_id].values())
        if m.cycle_id else None for m in members}}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def roll_up_cycles(runtime: CycleContext, ics_cycle_id: str,
                   organisation_cycle_ids: Sequence[str] | None,
                   *, published: str | Path | None = None, tolerances: Tolerances | None = None,
                   use_published: bool = True, tables_only: bool = False) -> SystemRollup:
    """Gather, roll up and flag every member organisation of a system cycle.

    ``organisation_cycle_ids``: None for every member's latest cycle of the financial year.
    ``tables_only``: read just the columns the tables and flags need (a roll-up that builds
    no documents); :func:`build_system_plan` reads the rest when it needs it.
    """
    from plancycle.ics.published import PublishedDataError, load_published

    with runtime.register.session(actor=ACTOR) as session:
        config = system_config(session, ics_cycle_id)
        if organisation_cycle_ids is None:
            organisation_cycle_ids = organisation_cycles(session, config)
        members = member_cycles(session, config, organisation_cycle_ids)
        gathered = gather_members(session, members, tables_only=tables_only)
        previous = {m.member.org_code: ly for m in members
                    if (ly := last_year(session, m, config.cycle.financial_year)) is not None}
        plans = organisation_plans(session, members, runtime.clock.now())
        basis = rollup_basis(session, ics_cycle_id, members)
    tables = roll_up(gathered)
    notes: list[str] = []
    core5 = sickness = None
    if use_published:
        try:
            core5, sickness = load_published(published)
        except PublishedDataError as exc:
            notes.append(f"not compared with published statistics: {exc}")
    flags = flag_all(gathered, tables, core5, sickness, previous, tolerances)
    return SystemRollup(ics_cycle_id, config, gathered, tables, flags, plans, basis,
                        notes=notes, tables_only=tables_only)


# --- the system plan and tables as documents ---------------------------------------------------

@dataclass(frozen=True)
class SystemPlanBuild:
    plan: PlanBuild
    tables_document_id: int
    tables_sha256: str
    tables_html: Path
    tables_csv: dict[str, Path]


def build_system_plan(runtime: CycleContext, rollup: SystemRollup,
                      signatures: Sequence[Any] | None = None, *, actor: str = ACTOR
                      ) -> SystemPlanBuild:
    """Analyse the system, render the plan (and summary) and the tables, register them.

    The same inputs give the same documents (same hashes), so building again registers
    nothing new and keeps the People Board's approvals; with ``signatures`` it builds the
    signed version for the submission to the region.
    """
    from plancycle.ics.system_plan import (
        SYSTEM_TABLES,
        system_analysis,
        system_context,
        tables_html,
        write_tables,
    )
    from plancycle.planning import (
        documents_dir,
        key_measures,
        plan_context,
        register_documents,
        render_documents,
    )
    from plancycle.signoff import register_document

    config, ics_id = rollup.config, rollup.ics_cycle_id
    if rollup.tables_only:  # the plan analyses every column of every return
        with runtime.register.session(actor=actor) as session:
            rollup.members = gather_members(session, member_cycles(
                session, config, [m.cycle_id for m in rollup.members if m.cycle_id]))
        rollup.tables_only = False
    if rollup.analysis is None:
        rollup.analysis = system_analysis(rollup.members, config.ics.code if config.ics else "",
                                          config.cycle.financial_year)
    with runtime.register.session(actor=actor) as session:
        base = plan_context(session, ics_id, signatures)
    context = system_context(base, config, rollup.members, rollup.flags, signatures)
    with runtime.register.session(actor=actor) as session:
        context, extra = system_template_context(session, runtime, rollup, context)
    rendered = render_documents(rollup.analysis, context, ics_id)
    page = tables_html(context.organisation_name, config.cycle.financial_year, rollup.tables,
                       rollup.flags, rollup.gap, rollup.plans, rollup.gap_by_staff_group,
                       extra)
    sha = hashlib.sha256(page.encode()).hexdigest()
    directory = documents_dir(ics_id)
    html_path = directory / f"{SYSTEM_TABLES}-{sha}.html"
    if not html_path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        html_path.write_text(page, encoding="utf-8")
    csv = write_tables(directory / f"{SYSTEM_TABLES}-{sha}", rollup.tables, rollup.flags,
                       rollup.gap, rollup.plans, rollup.gap_by_staff_group, extra)
    with runtime.register.session(actor=actor) as session:
        plan = register_documents(session, ics_id, rendered, runtime.clock.now(),
                                  measures=key_measures(rollup.analysis))
        tables_doc = register_document(session, ics_id, SYSTEM_TABLES, sha, str(html_path),
                                       runtime.clock.now())
        tables_id = tables_doc.id
    return SystemPlanBuild(plan, tables_id, sha, html_path, csv)


def system_template_context(session: Session, runtime: CycleContext, rollup: SystemRollup,
                            context: Any) -> tuple[Any, dict[str, pd.DataFrame]]:
    """Check the organisations' templates, roll the accepted ones up into the system
    template, and give the system plan its organisation pages and system tables.

    A template that fails the ICS's checks is left out and its DQ report (naming sheet, row
    and fix) is written for the organisation under ``documents/<ics cycle>/template-dq/``."""
    import dataclasses

    from plancycle.documents.template_view import SystemView, system_view
    from plancycle.ics.published import PublishedDataError, published_view
    from plancycle.ics.templates import receive_templates, roll_up_templates
    from plancycle.planning import documents_dir
    from plancycle.template.workbook import xlsx_bytes

    config = rollup.config
    settings = config.template
    received = receive_templates(session, rollup.plans, agency_cap_pct=settings.agency_cap_pct,
                                 tolerance_pct=settings.tolerance_pct, now=runtime.clock.now())
    notes = []
    folder = documents_dir(rollup.ics_cycle_id) / "template-dq"
    for code, checked in sorted(received.checks.items()):
        if checked.accepted:  # type: ignore[attr-defined]
            continue
        report = checked.report  # type: ignore[attr-defined]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{code}-{report.sha256[:12]}.html"
        path.write_text(report.to_html(), encoding="utf-8")
        told = queue_template_sent_back(session, runtime, rollup, code, report, path.name)
        notes.append(f"{code}'s workforce plan template was sent back ({report.verdict_text}); "
                     f"its DQ report names each sheet, row and fix: {path.name}"
                     + ("" if told else "; nobody in the system cycle to send it to (name the "
                        "organisation's workforce_planner under ics.organisations)"))
    if received.missing:
        notes.append("No workforce plan template yet from " + ", ".join(received.missing) + ".")
    extra: dict[str, pd.DataFrame] = {}
    if not received.templates:
        return dataclasses.replace(context, system=SystemView(notes=notes)), extra
    ics = config.ics
    try:
        baseline = published_view(ics.code) if ics else None
    except PublishedDataError as exc:
        baseline = None
        notes.append(f"Outliers not checked against the published baseline: {exc}")
    system = roll_up_templates(received.templates, ics_code=ics.code if ics else "",
                               ics_name=context.organisation_name,
                               financial_year=config.cycle.financial_year, baseline=baseline,
                               tolerance_pct=settings.tolerance_pct)
    view = system_view(received.templates, system)
    view.notes = [*view.notes, *notes]
    extra = {"system_template_organisations": system.organisations,
             "system_template_outliers": system.outliers,
             "system_wte_trajectory": system.template.forecast,
             "system_bridge": system.template.bridge,
             "system_kpis": system.template.kpis}
    sha = hashlib.sha256(xlsx_bytes(system.template)).hexdigest()
    return dataclasses.replace(context, system=view, template=system.template,
                               template_sha256=sha), extra


TEMPLATE_SENT_BACK = "template_sent_back"


def queue_template_sent_back(session: Session, runtime: CycleContext, rollup: SystemRollup,
                             code: str, report: Any, report_name: str) -> bool:
    """Send an organisation's template DQ report back to its workforce planner.

    Addressed through their submission task in the system cycle (so the link opens it, and
    chasing stops when they submit again); keyed on the report's hash, so building the
    system plan again never re-sends it, and a different failure is a new message.
    ``False`` when the organisation has nobody in the system cycle to tell.
    """
    from plancycle.notify.messages import MessageBuilder
    from plancycle.notify.service import Intent

    config = rollup.config
    member = next((m for m in (config.ics.organisations if config.ics else ())
                   if m.org_code == code), None)
    if member is None:
        return False
    person = session.scalars(select(Person).where(
        Person.cycle_id == rollup.ics_cycle_id, Person.key == member.workforce_planner)).first()
    if person is None:
        return False
    assignment = session.scalars(
        select(Assignment).join(Task, Assignment.task_id == Task.id)
        .where(Task.cycle_id == rollup.ics_cycle_id, Assignment.person_id == person.id)
        .order_by((Task.kind == "submission").desc(), Assignment.id.desc())).first()
    if assignment is None:
        return False
    builder = MessageBuilder(session, rollup.ics_cycle_id, runtime.links, runtime.calendar,
                             runtime.clock.today())
    task = session.get(Task, assignment.task_id)
    context = builder.task_context(task, assignment, person, person)
    context.update(
        org_code=code, file_name=report.file_name, verdict_text=report.verdict_text,
        counts=report.counts(), summary=report.to_text(), report_name=report_name,
        problems=[{"status": c.status, "id": c.id, "description": c.description,
                   "message": c.message, "fix": c.fix} for c in report.problems()])
    intent = Intent(key=f"a{assignment.id}:{TEMPLATE_SENT_BACK}:{report.sha256[:16]}",
                    cycle_id=rollup.ics_cycle_id, person=person, kind=TEMPLATE_SENT_BACK,
                    context=context, channels=builder.channels(task),
                    assignment_id=assignment.id)
    runtime.notifier.queue(session, [intent])
    return True


def submit_system_plan(runtime: CycleContext, rollup: SystemRollup) -> SubmissionResult:
    """Sign the system plan with the People Board's decisions and submit it to the region."""
    from plancycle.submission import ready_gate, signatures, submit

    with runtime.register.session(actor="submission") as session:
        ready_gate(session, rollup.ics_cycle_id)
        page = signatures(session, rollup.ics_cycle_id)
        locked = session.get(Cycle, rollup.ics_cycle_id).locked
    if locked:
        # Packaged and locked by an earlier attempt (a destination failed): the package on
        # the same basis is reused, so nothing is re-rendered and nothing is sent twice.
        return submit(runtime, rollup.ics_cycle_id, plan_pdf=None)
    signed = build_system_plan(runtime, rollup, page, actor="submission")
    return submit(runtime, rollup.ics_cycle_id, plan_pdf=Path(signed.plan.pdf_path))
