"""The upload path of a data return: store the raw file, validate it, accept or send it back.

Order matters and is the point of this module:

1. :func:`store_upload` refuses what cannot be accepted at all (locked cycle, not a data
   request, not the person's open task) *before* anything is written, then stores the raw
   bytes (content-addressed) and records an :class:`Upload` row — in its own unit of work, so
   a file is never lost even if validation later crashes.
2. :func:`validate_stored` runs the return kind's checks against the stored file, keeps the
   DQ report (JSON in the register, HTML beside the raw file) and accepts the return
   (completing the uploader's assignment) or sends it back (task "resubmission required";
   the assignment stays open, so the chaser keeps chasing). The submitter always gets the
   DQ report, once per upload.
3. :func:`submit_return` does both for the CLI and the portal, then reconciles the cycle (a
   completed return may unblock dependants) and delivers the messages.

No Prefect here: ``flows/validate_return.py`` wraps :func:`validate_upload_id` for the
upload-triggered deployment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plancycle import returns  # names load on first use: pandas and GX only when validating
from plancycle.assignments import AssignmentError, find_person, find_task
from plancycle.config.model import TaskKind
from plancycle.notify.messages import MessageBuilder
from plancycle.notify.service import Intent
from plancycle.register.db import home
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    AuditEntry,
    Cycle,
    CycleState,
    DQResult,
    Notification,
    Person,
    Stage,
    SubmissionRecord,
    Task,
    TaskState,
    Upload,
)
from plancycle.typed_returns import read_accepted

if TYPE_CHECKING:
    from plancycle.context import CycleContext
    from plancycle.returns import DQReport, RawStore, ValidationContext

logger = logging.getLogger(__name__)

RECEIVED, ACCEPTED, FAILED = "received", "accepted", "failed"
DQ_REPORT = "dq_report"
_OUTCOME = {"pass": "Accepted", "warn": "Accepted with notes", "fail": "Resubmission required"}


class UploadRefused(Exception):
    """An upload that cannot be taken at all; the message says what to do. Nothing was stored."""


class ValidationNotRun(Exception):
    """The file was stored and recorded, but validation could not run (a system problem).

    The upload keeps state "received"; re-run ``plancycle return validate UPLOAD_ID`` (or the
    validate-return flow) once the cause is fixed.
    """

    def __init__(self, upload_id: int, cause: BaseException) -> None:
        super().__init__(
            f"the file was stored safely as upload {upload_id}, but it could not be validated "
            f"({type(cause).__name__}: {cause}); once the cause is fixed run "
            f"`plancycle return validate {upload_id}` — the file does not need uploading again")
        self.upload_id = upload_id
        self.cause = cause


@dataclass(frozen=True)
class UploadOutcome:
    """What the uploader is told: the upload's id, the verdict and the full DQ report."""

    upload_id: int
    verdict: str
    accepted: bool
    report: DQReport


def upload_store(root: Path | None = None) -> RawStore:
    """The content-addressed store of raw returns: ``<PLANCYCLE_HOME>/uploads``."""
    return returns.RawStore(root or home() / "uploads")


# --- 1. store ---------------------------------------------------------------------------------

def _locked_at(session: Session, cycle: Cycle) -> datetime | None:
    """When the cycle's returns were locked, from the audit trail (or the submission record)."""
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == Cycle.__tablename__,
                                 AuditEntry.entity_id == cycle.id)
        .order_by(AuditEntry.id.desc()))
    for entry in entries:
        if (entry.after or {}).get("locked") is True:
            return entry.at
    return session.scalar(select(func.max(SubmissionRecord.created_at))
                          .where(SubmissionRecord.cycle_id == cycle.id))


def _locked_on(session: Session, cycle: Cycle) -> str:
    when = _locked_at(session, cycle)
    return f"{when:%d %b %Y}" if when else "an earlier date"


def lock_covers(session: Session, cycle: Cycle, task: Task) -> bool:
    """Does the submission lock apply to this task's returns?

    The lock protects what was submitted: data requests of stages that had started by the
    time of the lock. In-year refresh requests in stages starting after the submission
    collect new returns for next year's baseline and stay open.
    """
    if not cycle.locked:
        return False
    when = _locked_at(session, cycle)
    stage = session.get(Stage, task.stage_id)
    return when is None or stage is None or stage.starts_on <= when.date()


def check_can_upload(session: Session, task: Task, person: Person) -> Assignment:
    """The person's open assignment on a data request that can take a return, or a refusal."""
    cycle = session.get(Cycle, task.cycle_id)
    if cycle is not None and lock_covers(session, cycle, task):
        raise UploadRefused(
            f"returns for this cycle were locked at submission on {_locked_on(session, cycle)}; "
            "ask the workforce planner to unlock it (`plancycle cycle unlock`)")
    if task.kind != TaskKind.DATA_REQUEST or not task.return_kind:
        raise UploadRefused(
            f"task '{task.key}' is a {task.kind} task, not a data request: it takes no file; "
            f"complete it with `plancycle task complete {task.key}`")
    if task.state == TaskState.PENDING:
        raise UploadRefused(
            f"task '{task.key}' is not open yet (its stage has not started or it waits on "
            "other tasks); upload when you receive the task link")
    if task.state == TaskState.COMPLETE:
        raise UploadRefused(
            f"task '{task.key}' is already complete: its return has been accepted; if it needs "
            "replacing, ask the workforce planner")
    if task.state == TaskState.CANCELLED:
        raise UploadRefused(f"task '{task.key}' was cancelled: no return is needed")
    for assignment in task.assignments:
        if assignment.person_id == person.id and assignment.state == AssignmentState.OPEN:
            return assignment
    holders = ", ".join(sorted(a.person.key for a in task.assignments
                               if a.state == AssignmentState.OPEN)) or "nobody"
    raise UploadRefused(
        f"{person.key} has no open assignment on task '{task.key}' (open for: {holders}); "
        "upload as the person the task is assigned to, or ask the workforce planner to "
        "reassign it (`plancycle task reassign`)")


def check_upload_size(data: bytes | Path, filename: str) -> None:
    """Refuse a file over the upload limit (``PLANCYCLE_MAX_UPLOAD_MB``) before storing it."""
    from plancycle.returns import limits

    size = len(data) if isinstance(data, bytes) else Path(data).stat().st_size
    try:
        limit = limits.max_upload_bytes()
    except limits.UploadLimitSettingError as exc:
        raise UploadRefused(f"the upload limit is misconfigured: {exc}") from None
    if size > limit:
        raise UploadRefused(f"{filename}: {limits.too_large_problem(size, limit)} Nothing was "
                            f"stored. {limits.TOO_LARGE_FIX}")


#: Attempts at taking the next version when concurrent uploads of a task race for it.
VERSION_ATTEMPTS = 5


def lock_task(session: Session, task_id: int) -> None:
    """Serialise writers of one task's uploads and verdicts until this unit of work ends.

    Postgres locks the task's row (``SELECT … FOR NO KEY UPDATE``: the foreign-key checks of
    rows inserted for the task pass; see :mod:`plancycle.register.locks`). SQLite has no row
    locks: a no-op write takes the database's write lock, so the reads that follow see every
    committed change and no other writer can commit until this one does.
    """
    if session.get_bind().dialect.name == "sqlite":
        tasks = Task.__table__
        session.execute(update(tasks).where(tasks.c.id == task_id).values(id=tasks.c.id))
    else:
        session.execute(select(Task.id).where(Task.id == task_id)
                        .with_for_update(key_share=True))


def _next_version(session: Session, task_id: int) -> int:
    lock_task(session, task_id)
    previous = session.scalar(select(func.max(Upload.version)).where(Upload.task_id == task_id))
    return (previous or 0) + 1


def _version_taken(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_uploads_task_version" in text or "uploads.task_id, uploads.version" in text


def store_upload(session: Session, store: RawStore, task: Task, person: Person,
                 data: bytes | Path, filename: str, now: datetime) -> Upload:
    """Store the raw file, then record it as the task's next version (state "received").

    Refusals happen before anything is written. The caller should commit this unit of work
    before validating, so the file and its record survive whatever validation does. Two
    uploads of the task at the same moment get distinct versions: the version is taken under
    the task's lock and unique per task, and a clash is retried with the next one.
    """
    check_can_upload(session, task, person)
    check_upload_size(data, filename)
    stored = store.store(data, filename)   # the bytes first: the register row points at them
    task_id, cycle_id, person_id = task.id, task.cycle_id, person.id
    for attempt in range(1, VERSION_ATTEMPTS + 1):
        upload = Upload(
            cycle_id=cycle_id, task_id=task_id, person_id=person_id,
            version=_next_version(session, task_id), original_name=stored.original_name,
            sha256=stored.sha256, size_bytes=stored.size, stored_path=str(stored.path),
            uploaded_at=now, state=RECEIVED)
        session.add(upload)
        try:
            session.flush()
        except IntegrityError as exc:
            if not _version_taken(exc) or attempt == VERSION_ATTEMPTS:
                raise
            logger.info("version %s of task %s was taken by a concurrent upload; retrying",
                        upload.version, task_id)
            session.rollback()
            continue
        return upload
    raise AssertionError("unreachable")


# --- 2. validate --------------------------------------------------------------------------------

def _accepted_uploads(session: Session, cycle_id: str, kind: str, before: int | None = None
                      ) -> list[Upload]:
    query = (select(Upload).join(Task, Upload.task_id == Task.id)
             .where(Upload.cycle_id == cycle_id, Upload.state == ACCEPTED,
                    Task.return_kind == kind)
             .order_by(Upload.id.desc()))
    if before is not None:
        query = query.where(Upload.id < before)
    return list(session.scalars(query))


def accepted_returns(session: Session, cycle_id: str) -> dict[str, Upload]:
    """The latest accepted upload of each return kind in a cycle (what analysis reads)."""
    return accepted_returns_of(session, [cycle_id])[cycle_id]


def accepted_returns_of(session: Session, cycle_ids: Sequence[str]
                        ) -> dict[str, dict[str, Upload]]:
    """:func:`accepted_returns` of several cycles with one query (the ICS's members)."""
    rows = session.execute(
        select(Upload, Task.return_kind).join(Task, Upload.task_id == Task.id)
        .where(Upload.cycle_id.in_(list(cycle_ids)), Upload.state == ACCEPTED)
        .order_by(Upload.id)).all()
    latest: dict[str, dict[str, Upload]] = {c: {} for c in cycle_ids}
    for upload, kind in rows:
        latest[upload.cycle_id][kind] = upload
    return latest


def _previous_row_count(session: Session, upload: Upload, kind: str) -> int | None:
    """Rows in the previous accepted return of this kind: earlier in this cycle, else the
    organisation's most recent earlier cycle (last year's return)."""
    candidates = _accepted_uploads(session, upload.cycle_id, kind, before=upload.id)
    if not candidates:
        cycle = session.get(Cycle, upload.cycle_id)
        earlier = session.scalars(
            select(Cycle.id).where(Cycle.org_code == cycle.org_code,
                                   Cycle.financial_year < cycle.financial_year)
            .order_by(Cycle.financial_year.desc())) if cycle else []
        for cycle_id in earlier:
            candidates = _accepted_uploads(session, cycle_id, kind)
            if candidates:
                break
    for previous in candidates:
        result = session.scalar(select(DQResult).where(DQResult.upload_id == previous.id))
        if result is not None:
            return int(result.report.get("row_count", 0)) or None
    return None


def _typed_return(upload: Upload, kind: str) -> Any:
    try:
        return read_accepted(upload, kind)
    except Exception as exc:
        raise RuntimeError(
            f"the accepted {kind} return (upload {upload.id}, {upload.original_name}) needed to "
            f"check this one cannot be read from {upload.stored_path}: {exc}") from exc


def cycle_context(session: Session, upload: Upload, kind: str) -> ValidationContext:
    """What this return is checked against: the cycle's accepted staff in post and pay budget,
    and the row count of the previous accepted return of the same kind."""
    frames: dict[str, Any] = {}
    for other in ("staff_in_post", "pay_budget"):
        if other == kind:
            # Reconciling staff in post with the pay budget needs the *other* return only.
            continue
        accepted = _accepted_uploads(session, upload.cycle_id, other)
        if accepted:
            frames[other] = _typed_return(accepted[0], other)
    return returns.ValidationContext(staff_in_post=frames.get("staff_in_post"),
                             pay_budget=frames.get("pay_budget"),
                                     previous_row_count=_previous_row_count(session, upload, kind))


def _current_limit() -> int:
    from plancycle.returns import limits

    try:
        return limits.max_upload_bytes()
    except limits.UploadLimitSettingError:
        return limits.DEFAULT_MAX_BYTES


def _report_path(upload: Upload) -> Path:
    raw = Path(upload.stored_path)
    return raw.with_name(f"{raw.name}.upload-{upload.id}.dq.html")


def data_docs_path(upload: Upload) -> Path:
    """Where the Great Expectations Data Docs page of the upload's validation run is kept."""
    raw = Path(upload.stored_path)
    return raw.with_name(f"{raw.name}.upload-{upload.id}.gx-data-docs.html")


def _data_docs_page(upload: Upload, report: DQReport) -> str | None:
    """GX's Data Docs page for the run, or None when GX did not run (unreadable file)."""
    if report.gx_result is None:
        return None
    from plancycle.returns.datadocs import render

    try:
        return render(report.gx_result)
    except Exception:   # a view of the run: a rendering problem must not cost the verdict
        logger.exception("building the GX Data Docs of upload %s failed", upload.id)
        return None


def _others_failing(session: Session, task: Task, upload: Upload) -> bool:
    """Whether another holder of the task still has a failed latest upload to redo."""
    for assignment in task.assignments:
        if assignment.state != AssignmentState.OPEN or assignment.person_id == upload.person_id:
            continue
        latest = session.scalar(
            select(Upload.state).where(Upload.task_id == task.id,
                                       Upload.person_id == assignment.person_id)
            .order_by(Upload.id.desc()).limit(1))
        if latest == FAILED:
            return True
    return False


def validate_stored(session: Session, upload: Upload, now: datetime,
                    context: ValidationContext | None = None, *,
                    runtime: CycleContext | None = None) -> DQResult:
    """Validate a stored upload once, record the DQ report and accept it or send it back.

    Idempotent: an upload that already has a DQ result returns it unchanged. With a
    ``runtime`` the submitter's DQ report message is queued too (keyed per upload).
    """
    existing = session.scalar(select(DQResult).where(DQResult.upload_id == upload.id))
    if existing is not None:
        if runtime is not None:
            queue_dq_report(session, upload, existing, runtime)
        return existing
    task = session.get(Task, upload.task_id)
    kind = task.return_kind
    if not kind:
        raise ValueError(f"upload {upload.id} belongs to task '{task.key}', which takes no return")
    context = context if context is not None else cycle_context(session, upload, kind)
    # A file taken under the upload limit is judged whatever the limit is now.
    report = returns.validate_upload(Path(upload.stored_path), kind,
                                     file_name=upload.original_name, context=context,
                                     sha256=upload.sha256, generated_at=now,
                                     max_bytes=max(upload.size_bytes, _current_limit()))
    docs = _data_docs_page(upload, report)   # rendered before the task's lock is taken
    # Verdicts on one task are applied one at a time, to its state as it is now: another
    # upload of the task (or this one, by another process) may have been judged meanwhile.
    upload_id, task_id = upload.id, task.id
    lock_task(session, task_id)
    session.expire_all()
    existing = session.scalar(select(DQResult).where(DQResult.upload_id == upload_id))
    if existing is not None:
        if runtime is not None:
            queue_dq_report(session, upload, existing, runtime)
        return existing
    report_path = _report_path(upload)
    report_path.write_text(report.to_html(), encoding="utf-8")
    if docs is not None:
        data_docs_path(upload).write_text(docs, encoding="utf-8")
    result = DQResult(cycle_id=upload.cycle_id, upload_id=upload.id, verdict=report.verdict,
                      report=report.to_dict(), report_path=str(report_path), created_at=now)
    session.add(result)
    upload.state = ACCEPTED if report.accepted else FAILED
    live = task.state in (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED)
    mine = [a.state for a in task.assignments if a.person_id == upload.person_id]
    # A version judged after another version of the same person's was accepted (two uploads
    # at the same moment) keeps its verdict but does not send the completed task back.
    superseded = AssignmentState.OPEN not in mine and AssignmentState.COMPLETE in mine
    if report.accepted:
        for assignment in task.assignments:
            if assignment.person_id == upload.person_id \
                    and assignment.state == AssignmentState.OPEN:
                assignment.state = AssignmentState.COMPLETE
                assignment.completed_at = now
        if task.state == TaskState.RESUBMISSION_REQUIRED and not _others_failing(
                session, task, upload):
            task.state = TaskState.OPEN   # the engine completes it once every part is done
    elif live and not superseded:
        task.state = TaskState.RESUBMISSION_REQUIRED
    session.flush()
    if runtime is not None:
        queue_dq_report(session, upload, result, runtime)
    return result


# --- the DQ report message ----------------------------------------------------------------------

def _assignment_of(task: Task, person_id: int) -> Assignment | None:
    mine = [a for a in task.assignments if a.person_id == person_id]
    return next((a for a in mine if a.state == AssignmentState.OPEN), mine[-1] if mine else None)


def queue_dq_report(session: Session, upload: Upload, result: DQResult, runtime: CycleContext
                    ) -> list[Notification]:
    """Queue the DQ report message to the submitter (once per upload, on each channel)."""
    if upload.person_id is None:
        return []
    task = session.get(Task, upload.task_id)
    assignment = _assignment_of(task, upload.person_id)
    if assignment is None:
        return []
    builder = MessageBuilder(session, upload.cycle_id, runtime.links, runtime.calendar,
                             runtime.clock.today())
    person = builder.people[upload.person_id]
    report = returns.DQReport.from_dict(result.report)
    context = builder.task_context(task, assignment, person, person)
    context.update(
        upload_id=upload.id, version=upload.version, file_name=upload.original_name,
        verdict=report.verdict, outcome=_OUTCOME[report.verdict], accepted=report.accepted,
        verdict_text=report.verdict_text, counts=report.counts(), summary=report.to_text(),
        problems=[{"status": c.status, "id": c.id, "description": c.description,
                   "message": c.message, "fix": c.fix} for c in report.problems()],
        notes=list(report.notes))
    intent = Intent(key=f"u{upload.id}:{DQ_REPORT}", cycle_id=upload.cycle_id, person=person,
                    kind=DQ_REPORT, context=context, channels=builder.channels(task),
                    assignment_id=assignment.id)
    return runtime.notifier.queue(session, [intent])


def dq_markdown(upload: Upload, task: Task, person: Person | None, result: DQResult) -> str:
    """The DQ report as Markdown (the Prefect artifact of a validation run)."""
    report = returns.DQReport.from_dict(result.report)
    counts = report.counts()
    lines = [
        f"# DQ report: {task.name} — version {upload.version}",
        "",
        f"**{_OUTCOME[report.verdict]}** ({report.verdict}). {report.verdict_text}",
        "",
        f"- File: `{upload.original_name}` ({report.row_count} data rows, "
        f"{upload.size_bytes} bytes, sha256 `{upload.sha256[:12]}…`)",
        f"- Uploaded by: {person.name if person else 'unknown'} at "
        f"{upload.uploaded_at:%d %b %Y %H:%M} UTC",
        f"- Checks: {counts['fail']} failed, {counts['warn']} warnings, {counts['pass']} passed",
        "",
        "| Status | Check | Offending / evaluated | What was found |",
        "|---|---|---|---|",
    ]
    for check in sorted(report.checks, key=lambda c: {"fail": 0, "warn": 1}.get(c.status, 2)):
        message = (check.message or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {check.status.upper()} | `{check.id}` {check.description} | "
                     f"{check.offending} / {check.evaluated} | {message} |")
    if report.notes:
        lines += ["", "**Notes**", ""] + [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


# --- 3. the whole path ------------------------------------------------------------------------

def receive_upload(runtime: CycleContext, cycle_id: str, task_key: str, person_key: str,
                   data: bytes | Path, filename: str, store: RawStore | None = None) -> int:
    """Store and record an upload in its own unit of work; returns the upload id."""
    try:
        with runtime.register.session(actor=f"upload:{person_key}") as session:
            task = find_task(session, cycle_id, task_key)
            person = find_person(session, cycle_id, person_key)
            upload = store_upload(session, store or upload_store(), task, person, data,
                                  filename, runtime.clock.now())
            return upload.id
    except AssignmentError as exc:
        raise UploadRefused(str(exc)) from None


def validate_upload_id(runtime: CycleContext, upload_id: int) -> UploadOutcome:
    """Validate a stored upload (once), reconcile its cycle and deliver the messages."""
    with runtime.register.session(actor="validator") as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise LookupError(f"no upload {upload_id} in the register; see `plancycle return list`")
        cycle_id = upload.cycle_id
        try:
            result = validate_stored(session, upload, runtime.clock.now(), runtime=runtime)
        except Exception as exc:
            logger.exception("validating upload %s failed", upload_id)
            raise ValidationNotRun(upload_id, exc) from exc
        report = returns.DQReport.from_dict(result.report)
    runtime.advance(cycle_id, actor="validator")
    runtime.deliver(cycle_id)
    return UploadOutcome(upload_id, report.verdict, report.accepted, report)


def awaiting_validation(session: Session, stored_before: datetime) -> list[int]:
    """Uploads stored before ``stored_before`` in running cycles that still have no verdict.

    What a crash between storing and validating leaves behind (a worker killed mid-upload,
    the database gone mid-validation): the scheduled validate-return sweep picks them up.
    """
    return list(session.scalars(
        select(Upload.id).join(Cycle, Upload.cycle_id == Cycle.id)
        .outerjoin(DQResult, DQResult.upload_id == Upload.id)
        .where(Upload.state == RECEIVED, DQResult.id.is_(None), Cycle.state == CycleState.STARTED,
               Upload.uploaded_at < stored_before)
        .order_by(Upload.id)))


def submit_return(runtime: CycleContext, cycle_id: str, task_key: str, person_key: str,
                  data: bytes | Path, filename: str) -> UploadOutcome:
    """Take a return from a person: store it (committed), validate, reconcile, send messages.

    Raises :class:`UploadRefused` (nothing stored) for an upload that cannot be taken, and
    :class:`ValidationNotRun` (file kept) when validation itself breaks.
    """
    upload_id = receive_upload(runtime, cycle_id, task_key, person_key, data, filename)
    return validate_upload_id(runtime, upload_id)
