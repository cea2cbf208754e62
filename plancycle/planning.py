"""From a cycle's accepted returns to a registered plan document (no Prefect here).

Why: the plan the board signs must be built only from returns that passed validation, and
every build must be traceable to the exact version the approvers saw. This service gathers
the latest accepted upload of each return kind from the register, runs the analysis (which
refuses anything not accepted, naming it), renders the plan and its one-page executive
summary, writes them content-addressed under ``<PLANCYCLE_HOME>/documents/<cycle>/`` and
registers them with :func:`plancycle.signoff.register_document`.

Rendering is deterministic for the same inputs (no time is printed unless passed in), so
building again from unchanged returns registers nothing new and keeps every approval; a
changed return gives a new version, which invalidates approvals of the old one.

The planner's CLI (``plancycle plan build``) and the Prefect flow (``flows/analysis.py``)
both run these same steps: :func:`gather_returns`, :func:`analyse_returns`,
:func:`plan_context`, :func:`render_documents`, :func:`register_documents`; :func:`build_plan`
composes them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.analysis import AnalysisRefused, WorkforceAnalysis, analyse
from plancycle.analysis.frames import ANALYSED_KINDS
from plancycle.clock import LONDON
from plancycle.config import parse_config
from plancycle.config.model import CycleConfig
from plancycle.register.db import home
from plancycle.register.models import (
    Assignment,
    Cycle,
    Document,
    DQResult,
    Person,
    RoleHolder,
    Stage,
    Task,
    Upload,
)
from plancycle.signoff import TEMPLATE_KIND, SignoffError, current_document, register_document
from plancycle.template.model import TemplateAssumptions

if TYPE_CHECKING:
    from plancycle.context import CycleContext
    from plancycle.documents import PlanContext, Signature

__all__ = [
    "PLAN",
    "SIGNED_PLAN",
    "SUMMARY",
    "AnalysisRefused",
    "GatheredReturns",
    "PlanBuild",
    "PlanRefused",
    "PlanningError",
    "RenderedDocument",
    "analyse_returns",
    "build_plan",
    "document_files",
    "documents_dir",
    "gather_returns",
    "gather_returns_of",
    "key_measures",
    "plan_context",
    "register_documents",
    "render_documents",
]

#: Document kinds in the register. The signed plan is a kind of its own: registering it as
#: "plan" would be a new version and so invalidate the very approvals it records.
PLAN, SUMMARY, SIGNED_PLAN = "plan", "exec_summary", "signed_plan"

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class PlanningError(Exception):
    """A plan cannot be built for a reason the planner can fix (message says how)."""


# --- gathering the returns ------------------------------------------------------------------


@dataclass(frozen=True)
class GatheredReturns:
    """The cycle's returns as the analysis needs them, and why any cannot be used.

    ``returns`` holds a typed frame for every kind with an accepted upload (and an empty
    placeholder for a kind whose uploads were all sent back, so the refusal says "not
    accepted" rather than "not received"); ``accepted`` says which may be analysed;
    ``missing`` lists kinds nobody has uploaded; ``reasons`` explains each kind that is not
    accepted; ``uploads`` lists the upload ids used per kind (for traceability); ``notes`` tells
    the planner about older accepted versions used while a newer upload is not accepted.
    Unpacks as ``returns, accepted, missing``.
    """

    returns: dict[str, pd.DataFrame]
    accepted: dict[str, bool]
    missing: list[str]
    reasons: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[object]:
        return iter((self.returns, self.accepted, self.missing))


def _label(upload: Upload) -> str:
    day = upload.uploaded_at.astimezone(LONDON)
    return f"v{upload.version}, {day.day} {_MONTHS[day.month - 1]}"


def _why_not(session: Session, upload: Upload, latest: str = "the latest") -> str:
    """Why an upload cannot be used, in the planner's words."""
    if upload.state == "failed":
        result = session.scalars(select(DQResult).where(DQResult.upload_id == upload.id)).first()
        failed = sum(1 for c in (result.report.get("checks", []) if result else [])
                     if c.get("status") == "fail")
        detail = f": {failed} check{'s' if failed != 1 else ''} failed" if failed else ""
        return f"{latest} upload ({_label(upload)}) failed validation{detail}"
    if upload.state == "received":
        return f"{latest} upload ({_label(upload)}) has not been validated yet"
    return f"{latest} upload ({_label(upload)}) is {upload.state}"


@dataclass(frozen=True)
class _Part:
    """One contributor's share of a return: all of it, or one service lead's part."""

    holder: Person | None
    uploads: list[Upload]


@dataclass
class _Registered:
    """What the register holds for gathering some cycles' returns: a few queries in all.

    Why: the ICS roll-up gathers 40 organisations' returns, and asking the register per
    organisation, kind and part (the task, its role's holders, who stood in for whom) cost
    more than reading the returns themselves.
    """

    uploads: dict[str, dict[str, list[Upload]]]       # cycle → kind → uploads, oldest first
    kinds: dict[str, list[str]]                       # cycle → requested kinds, calendar order
    holders: dict[tuple[str, str], list[RoleHolder]]  # (cycle, role) → holders, config order
    standing_in: dict[tuple[int, int], int | None]    # (task, person) → on behalf of
    tasks: dict[int, Task]                            # held: the identity map keeps none
    people: dict[int, Person]                         # holders of shared roles

    @classmethod
    def load(cls, session: Session, cycle_ids: Sequence[str]) -> _Registered:
        ids = list(dict.fromkeys(cycle_ids))
        uploads: dict[str, dict[str, list[Upload]]] = {c: {} for c in ids}
        tasks: dict[int, Task] = {}
        for task, upload in session.execute(
                select(Task, Upload).join(Task, Upload.task_id == Task.id)
                .where(Upload.cycle_id.in_(ids), Task.return_kind.is_not(None))
                .order_by(Upload.id)).all():
            tasks[task.id] = task
            uploads[upload.cycle_id].setdefault(task.return_kind, []).append(upload)
        kinds: dict[str, list[str]] = {c: [] for c in ids}
        for cycle_id, kind in session.execute(
                select(Task.cycle_id, Task.return_kind).join(Stage, Task.stage_id == Stage.id)
                .where(Task.cycle_id.in_(ids), Task.return_kind.is_not(None))
                .order_by(Stage.starts_on, Stage.sequence, Task.sequence)).all():
            kinds[cycle_id].append(kind)
        holders: dict[tuple[str, str], list[RoleHolder]] = {}
        for holder in session.scalars(select(RoleHolder).where(RoleHolder.cycle_id.in_(ids))
                                      .order_by(RoleHolder.id)):
            holders.setdefault((holder.cycle_id, holder.role_key), []).append(holder)
        # Tasks of roles held by several people are returned in parts, one per holder.
        shared = {t.id for t in tasks.values()
                  if len(holders.get((t.cycle_id, t.role_key), ())) > 1}
        standing_in: dict[tuple[int, int], int | None] = {}
        people: dict[int, Person] = {}
        if shared:
            standing_in = {(a.task_id, a.person_id): a.on_behalf_of_id for a in session.scalars(
                select(Assignment).where(Assignment.task_id.in_(shared)))}
            named = {h.person_id for t in shared
                     for h in holders[(tasks[t].cycle_id, tasks[t].role_key)]}
            named |= {u.person_id for by_kind in uploads.values() for us in by_kind.values()
                      for u in us if u.task_id in shared}
            named |= {v for v in standing_in.values() if v is not None}
            people = {p.id: p for p in session.scalars(
                select(Person).where(Person.id.in_(named)))}
        return cls(uploads, kinds, holders, standing_in, tasks, people)

    def requested_kinds(self, cycle_id: str) -> list[str]:
        """Return kinds the cycle asks for (calendar order), then others the analysis needs."""
        return list(dict.fromkeys([*self.kinds[cycle_id], *ANALYSED_KINDS]))

    def parts(self, session: Session, uploads: list[Upload]) -> tuple[list[_Part], list[str]]:
        """Split a kind's uploads by contributor when its role has several holders.

        A role held by several people (e.g. six service leads) returns one part each; a
        deputy's upload counts for the holder they stand in for. A single-holder return is
        one part, so a deputy's upload replaces the holder's. Parts come in the
        configuration's holder order, so the same uploads always give the same combined
        return (and the same plan hash). Also returns the names of holders who have sent no
        part yet.
        """
        task = self.tasks[uploads[-1].task_id]
        holders = self.holders.get((task.cycle_id, task.role_key), [])
        if len(holders) <= 1:
            return [_Part(None, uploads)], []
        by_holder: dict[int | None, list[Upload]] = {}
        for upload in uploads:
            holder_id = self.standing_in.get((upload.task_id, upload.person_id)) \
                or upload.person_id
            by_holder.setdefault(holder_id, []).append(upload)
        order = {h.person_id: i for i, h in enumerate(holders)}
        keys = sorted(by_holder, key=lambda k: (order.get(k, len(order)), k or 0))
        person = self.people.get
        silent = [(person(h.person_id) or session.get(Person, h.person_id)).name
                  for h in holders if h.person_id not in by_holder]
        return [_Part((person(k) or session.get(Person, k)) if k else None, by_holder[k])
                for k in keys], silent


@dataclass
class _Pick:
    """The upload chosen for one part of one kind, and what reading it gave."""

    kind: str
    whose: str
    upload: Upload
    latest: Upload
    frame: pd.DataFrame | None = None
    problem: str | None = None


def gather_returns(session: Session, cycle_id: str,
                   columns: Mapping[str, Sequence[str]] | None = None) -> GatheredReturns:
    """Load each kind's latest accepted upload(s) from the raw store; explain the rest.

    ``columns``: read only these columns of each kind (every row; a kind not named keeps
    none) — for a reader such as the ICS roll-up that needs a few columns of many returns.
    """
    return gather_returns_of(session, [cycle_id], columns)[cycle_id]


def gather_returns_of(session: Session, cycle_ids: Sequence[str],
                      columns: Mapping[str, Sequence[str]] | None = None
                      ) -> dict[str, GatheredReturns]:
    """:func:`gather_returns` for several cycles at once (the ICS roll-up's members).

    The register is asked a handful of questions for all the cycles together, and with
    ``columns`` the typed copies are read together too (:func:`read_columns`), so gathering
    40 organisations costs about what one read of their files costs.
    """
    from plancycle.typed_returns import read_columns

    known = set(session.scalars(select(Cycle.id).where(Cycle.id.in_(list(cycle_ids)))))
    for cycle_id in cycle_ids:
        if cycle_id not in known:
            raise PlanningError(f"no cycle '{cycle_id}' in the register")
    registered = _Registered.load(session, cycle_ids)
    gathered: dict[str, GatheredReturns] = {}
    # Per cycle and kind, per part in order: the upload to read, or why there is none.
    chosen: dict[str, list[tuple[str, list[_Pick | str], list[_Part], list[str]]]] = {}
    for cycle_id in cycle_ids:
        gathered[cycle_id], chosen[cycle_id] = GatheredReturns({}, {}, []), []
        by_kind = registered.uploads[cycle_id]
        for kind in registered.requested_kinds(cycle_id):
            uploads = by_kind.get(kind, [])
            if not uploads:
                gathered[cycle_id].missing.append(kind)
                continue
            entries: list[_Pick | str] = []
            parts, silent = registered.parts(session, uploads)
            for part in parts:
                whose = f"the part from {part.holder.name}: " if part.holder else ""
                good = [u for u in part.uploads if u.state == "accepted"]
                entries.append(_Pick(kind, whose, good[-1], part.uploads[-1]) if good
                               else whose + _why_not(session, part.uploads[-1]))
            chosen[cycle_id].append((kind, entries, parts, silent))

    picks = [e for c in chosen.values() for _, entries, _, _ in c for e in entries
             if isinstance(e, _Pick)]
    copies = (read_columns([(p.upload, p.kind) for p in picks], columns)
              if columns is not None else [None] * len(picks))
    for pick, frame in zip(picks, copies, strict=True):
        pick.frame = frame if frame is not None else _read(pick, columns)

    for cycle_id, kinds in chosen.items():
        out = gathered[cycle_id]
        for kind, entries, parts, silent in kinds:
            frames: list[pd.DataFrame] = []
            problems: list[str] = []
            used: list[int] = []
            for entry in entries:
                if isinstance(entry, str) or entry.problem is not None:
                    problems.append(entry if isinstance(entry, str) else str(entry.problem))
                    continue
                assert entry.frame is not None
                frames.append(entry.frame)
                used.append(entry.upload.id)
                if entry.latest is not entry.upload:
                    out.notes.append(f"{kind}: {entry.whose}using {_label(entry.upload)}; "
                                     + _why_not(session, entry.latest, "a later"))
            if problems:
                out.returns[kind], out.accepted[kind] = pd.DataFrame(), False
                out.reasons[kind] = "; ".join(problems)
                continue
            out.returns[kind] = frames[0] if len(frames) == 1 else pd.concat(
                frames, ignore_index=True)
            out.accepted[kind] = True
            out.uploads[kind] = used
            if parts[0].holder is not None:
                out.notes.append(
                    f"{kind}: combined {len(parts)} part{'s' if len(parts) != 1 else ''} "
                    f"({', '.join(p.holder.name for p in parts if p.holder)})"
                    + (f"; nothing yet from {', '.join(silent)}" if silent else ""))
    return gathered


def _read(pick: _Pick, columns: Mapping[str, Sequence[str]] | None) -> pd.DataFrame | None:
    """One accepted upload read back (parsing the raw file when it has no typed copy)."""
    from plancycle.returns import UploadError
    from plancycle.typed_returns import read_accepted

    try:
        return read_accepted(pick.upload, pick.kind,
                             None if columns is None else columns.get(pick.kind, ()))
    except (OSError, UploadError) as exc:
        pick.problem = (f"{pick.whose}the accepted upload ({_label(pick.upload)}) could not "
                        f"be read back from the store ({exc}); upload it again")
        return None


class PlanRefused(AnalysisRefused):
    """AnalysisRefused that survives pickling (Prefect may persist a failed task's exception,
    and a process or Dask task runner ships it between processes)."""

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:
        return type(self), (self.problems,)


def analyse_returns(gathered: GatheredReturns, financial_year: str) -> WorkforceAnalysis:
    """The analysis of the gathered returns; raises AnalysisRefused naming unusable kinds."""
    try:
        return analyse(gathered.returns, gathered.accepted, reasons=gathered.reasons,
                       financial_year=financial_year)
    except AnalysisRefused as refused:
        raise PlanRefused(refused.problems) from None


# --- the document's context from the cycle -------------------------------------------------


def plan_context(session: Session, cycle_id: str,
                 signatures: Sequence[Signature] | None = None) -> PlanContext:
    """Names and signatories from the cycle and its configuration.

    Signatories are the names of the roles that approve the plan at its gates (in the order
    of the configuration), so a ``Signature`` fills its slot when its ``role`` is one of those
    role names (e.g. "Chief Executive").
    """
    from plancycle.documents import PlanContext
    from plancycle.documents.plan import DEFAULT_SIGNATORIES

    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise PlanningError(f"no cycle '{cycle_id}' in the register")
    config = parse_config(cycle.config_text, file=cycle.config_path)
    role_names = {r.id: r.name for r in config.roles}
    signatories = list(dict.fromkeys(
        role_names.get(role, role)
        for stage in config.stages for task in stage.tasks
        if task.gate is not None and task.gate.document == PLAN
        for role in task.gate.approvers))
    people = {p.id: p.name for p in config.people}
    prepared_by = "Workforce Planner (Trust)"
    # Whoever holds the cycle's analysis tasks prepares the plan (the workforce planner).
    planner_role = next((t.role for s in config.stages for t in s.tasks
                         if str(t.kind) == "analysis"), None)
    role = next((r for r in config.roles if r.id == planner_role), None)
    if role is not None:
        who = ", ".join(people[h] for h in role.holders if h in people)
        prepared_by = f"{who}, {role.name}" if who else role.name
    return PlanContext(
        organisation_name=cycle.org_name,
        ics_name=config.organisation.ics_name,
        version="Approved (signed)" if signatures else "Draft for board approval",
        prepared_by=prepared_by,
        signatures=tuple(signatures or ()),
        signatories=tuple(signatories) if signatories else DEFAULT_SIGNATORIES,
    )


# --- the workforce plan template -----------------------------------------------------------

TEMPLATE = TEMPLATE_KIND  # the template is registered as a document of this kind


def template_assumptions(config: CycleConfig) -> TemplateAssumptions:
    """The planner's choices in the cycle YAML (``template:``) as the builder takes them."""
    t = config.template
    return TemplateAssumptions(
        scenario=t.scenario, activity_growth_pct=t.activity_growth_pct,
        productivity_pct=t.productivity_pct, agency_cap_pct=t.agency_cap_pct,
        agency_reduction_pct=t.agency_reduction_pct,
        recruitment_pipeline=dict(t.recruitment_pipeline),
        international_recruits=dict(t.international_recruits), tolerance_pct=t.tolerance_pct)


def attach_template(session: Session, cycle_id: str, context: PlanContext,
                    analysis: WorkforceAnalysis, gathered: GatheredReturns) -> PlanContext:
    """The plan context with the cycle's workforce plan template (Annex D shows it, and the
    plan's hash therefore covers the template's)."""
    from plancycle.template import from_analysis
    from plancycle.template.workbook import xlsx_bytes

    cycle = session.get(Cycle, cycle_id)
    config = parse_config(cycle.config_text, file=cycle.config_path)
    staff = gathered.returns.get("staff_in_post")
    if staff is None or staff.empty:
        return context
    template = from_analysis(
        analysis, staff, org_name=cycle.org_name, assumptions=template_assumptions(config),
        cover=[("built_from_uploads", ", ".join(
            f"{kind} {'+'.join(str(u) for u in ids)}" for kind, ids in
            sorted(gathered.uploads.items())))])
    sha = hashlib.sha256(xlsx_bytes(template)).hexdigest()
    return dataclasses.replace(context, template=template, template_sha256=sha)


def store_template(context: PlanContext, directory: Path) -> RenderedDocument:
    """``workforce_template-<sha>.xlsx`` and its CSV folder, written once."""
    from plancycle.template.workbook import csv_files, xlsx_bytes

    xlsx = directory / f"{TEMPLATE}-{context.template_sha256}.xlsx"
    _write_once(xlsx, xlsx_bytes(context.template))
    folder = xlsx.with_suffix("")
    for name, data in csv_files(context.template).items():
        _write_once(folder / name, data)
    return RenderedDocument(TEMPLATE, context.template_sha256, xlsx, xlsx)


# --- rendering and writing the files -------------------------------------------------------


@dataclass(frozen=True)
class RenderedDocument:
    """One rendered document on disk: ``<kind>-<sha256>.html`` and the PDF made from it."""

    kind: str
    sha256: str  # of the HTML: the hash approvers decide on
    html_path: Path
    pdf_path: Path


def documents_dir(cycle_id: str) -> Path:
    """Where a cycle's generated documents live: ``<PLANCYCLE_HOME>/documents/<cycle>``."""
    return home() / "documents" / cycle_id


def document_files(document: Document) -> tuple[Path, Path]:
    """The HTML (whose SHA-256 is registered) and the PDF rendered from it."""
    html = Path(document.path)
    return html, html.with_suffix(".pdf")


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically, once: the name carries the content hash, so an existing file is it."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _store(kind: str, html: str, sha256: str, directory: Path) -> RenderedDocument:
    from plancycle.documents.plan import write_pdf

    html_path = directory / f"{kind}-{sha256}.html"
    pdf_path = html_path.with_suffix(".pdf")
    _write_once(html_path, html.encode("utf-8"))
    if not pdf_path.exists():  # the slow step: only for content not rendered before
        _write_once(pdf_path, write_pdf(html))
    return RenderedDocument(kind, sha256, html_path, pdf_path)


def render_documents(analysis: WorkforceAnalysis, context: PlanContext, cycle_id: str,
                     *, summary: bool = True) -> list[RenderedDocument]:
    """Render the plan (and the executive summary) and write both content-addressed.

    A plan with signatures is the signed version (kind ``signed_plan``, no new summary).
    """
    from plancycle.documents import render_exec_summary, render_plan

    directory = documents_dir(cycle_id)
    signed = bool(context.signatures)
    plan = render_plan(analysis, context, pdf=False)
    out = [_store(SIGNED_PLAN if signed else PLAN, plan.html, plan.sha256, directory)]
    if summary and not signed:
        brief = render_exec_summary(analysis, context, pdf=False)
        out.append(_store(SUMMARY, brief.html, brief.sha256, directory))
    if context.template is not None and context.template_sha256:
        out.append(store_template(context, directory))
    return out


# --- registering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanBuild:
    """The registered plan version (and summary) a build produced or found unchanged."""

    cycle_id: str
    kind: str
    document_id: int
    version: int
    sha256: str
    html_path: Path
    pdf_path: Path
    new_version: bool
    summary_document_id: int | None = None
    summary_version: int | None = None
    summary_sha256: str | None = None
    summary_html_path: Path | None = None
    summary_pdf_path: Path | None = None
    measures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    uploads: dict[str, list[int]] = field(default_factory=dict)
    template_version: int | None = None
    template_sha256: str | None = None
    template_path: Path | None = None
    template_new_version: bool = False
    template_previous_path: Path | None = None


def register_documents(session: Session, cycle_id: str, rendered: Sequence[RenderedDocument],
                       now: datetime, *, measures: dict[str, str] | None = None,
                       notes: Sequence[str] = (), uploads: dict[str, list[int]] | None = None
                       ) -> PlanBuild:
    """Register each rendered document; the same content again is a no-op.

    A locked cycle (submitted) keeps its plan: a changed plan is refused rather than
    silently becoming a version nobody approved.
    """
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise PlanningError(f"no cycle '{cycle_id}' in the register")
    rows: dict[str, tuple[Document, bool]] = {}
    previous_template = None
    for doc in rendered:
        latest = current_document(session, cycle_id, doc.kind)
        if doc.kind == TEMPLATE and latest is not None and latest.sha256 != doc.sha256:
            previous_template = Path(latest.path)
        if latest is not None and latest.sha256 == doc.sha256:
            rows[doc.kind] = (latest, False)
            continue
        if cycle.locked:
            raise PlanningError(
                f"cycle '{cycle_id}' is locked since its submission, so its {doc.kind} cannot "
                "change; unlock it first (`plancycle cycle unlock`) if the plan must be revised")
        try:
            row = register_document(session, cycle_id, doc.kind, doc.sha256,
                                    str(doc.html_path), now)
        except SignoffError as exc:
            raise PlanningError(str(exc)) from None
        rows[doc.kind] = (row, True)
    main = next(d for d in rendered if d.kind in (PLAN, SIGNED_PLAN))
    plan_row, created = rows[main.kind]
    brief = next((d for d in rendered if d.kind == SUMMARY), None)
    brief_row = rows[SUMMARY][0] if brief else None
    sheet = next((d for d in rendered if d.kind == TEMPLATE), None)
    sheet_row, sheet_new = rows[TEMPLATE] if sheet else (None, False)
    return PlanBuild(
        cycle_id=cycle_id, kind=main.kind, document_id=plan_row.id, version=plan_row.version,
        sha256=plan_row.sha256, html_path=main.html_path, pdf_path=main.pdf_path,
        new_version=created,
        summary_document_id=brief_row.id if brief_row else None,
        summary_version=brief_row.version if brief_row else None,
        summary_sha256=brief_row.sha256 if brief_row else None,
        summary_html_path=brief.html_path if brief else None,
        summary_pdf_path=brief.pdf_path if brief else None,
        measures=dict(measures or {}), notes=list(notes), uploads=dict(uploads or {}),
        template_version=sheet_row.version if sheet_row else None,
        template_sha256=sheet_row.sha256 if sheet_row else None,
        template_path=sheet.html_path if sheet else None, template_new_version=sheet_new,
        template_previous_path=previous_template)


def key_measures(analysis: WorkforceAnalysis) -> dict[str, str]:
    """The headline figures and trust RAG ratings, formatted for a summary or artifact."""
    from plancycle.documents import tables as fmt

    a = analysis
    out = {
        "Headcount": fmt.count(a.current.headcount),
        "WTE": fmt.wte(a.current.wte),
        "Data period": f"{a.data_period[0]} to {a.data_period[1]}",
    }
    for r in a.trust_ratings():
        digits = 2 if r.measure == "sickness_pct" else 1
        out[r.label] = f"{fmt.pct(r.value, digits)} ({r.status})"
    return out


# --- the whole build ------------------------------------------------------------------------


def build_plan(runtime: CycleContext, cycle_id: str,
               signatures: Sequence[Signature] | None = None, *,
               actor: str = "planner") -> PlanBuild:
    """Gather, analyse, render and register the cycle's plan (and executive summary).

    Raises AnalysisRefused (naming each unusable return and why) or PlanningError.
    With ``signatures`` (the board's recorded decisions) it builds the signed version.
    """
    with runtime.register.session(actor=actor) as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle is None:
            raise PlanningError(f"no cycle '{cycle_id}' in the register")
        financial_year = cycle.financial_year
        gathered = gather_returns(session, cycle_id)
        context = plan_context(session, cycle_id, signatures)
    analysis = analyse_returns(gathered, financial_year)
    with runtime.register.session(actor=actor) as session:
        context = attach_template(session, cycle_id, context, analysis, gathered)
    rendered = render_documents(analysis, context, cycle_id)
    with runtime.register.session(actor=actor) as session:
        return register_documents(session, cycle_id, rendered, runtime.clock.now(),
                                  measures=key_measures(analysis), notes=gathered.notes,
                                  uploads=gathered.uploads)
