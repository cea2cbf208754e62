"""Pages for role holders, reached through their task link: my tasks, task, upload, DQ report.

The link decides what a visitor may do (:func:`plancycle.links.bind_link`). The person an
assignment belongs to can complete it, hand it to their deputy, or upload its return; their
deputy standing in or a recorded delegate can do the same (the task passes to them first,
audited); someone sent an escalation about it (a line manager, an executive) sees who holds
it and how late it is, read-only; anyone else is refused and told whom to ask.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from plancycle import engine
from plancycle.assignments import (
    AssignmentError,
    complete_assignment,
    holders,
    people_by_key,
    reassign,
)
from plancycle.config.model import TaskKind
from plancycle.links import LinkNotBound, acting_for, bind_link
from plancycle.notify.messages import MessageBuilder
from plancycle.portal.deps import PortalDep, VisitDep
from plancycle.portal.problems import PortalProblem
from plancycle.portal.render import embed_report, timing
from plancycle.portal.security import DOCUMENT_CSP, BodyTooLarge, sniff, unsafe_name
from plancycle.portal.services import Portal, Visit
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Cycle,
    DQResult,
    Person,
    RoleHolder,
    Stage,
    Task,
    TaskState,
    Upload,
)
from plancycle.returns import DQReport
from plancycle.returns.storage import sanitise_name

LIVE = (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED)
#: multipart framing around the file (boundaries, the CSRF field, part headers)
FORM_OVERHEAD = 64 * 1024

NOT_YOURS = ("This link lets you see this task, not act on it",
             "It was sent to you so that you know the task is late. Only the person it is "
             "assigned to can complete it or upload its return; please ask them, or contact the "
             "workforce planner.")


def _forbid_unless_acts(visit: Visit) -> None:
    if not visit.acts:
        raise PortalProblem(403, *NOT_YOURS)


def _forbid_unless_own(visit: Visit) -> None:
    _forbid_unless_acts(visit)
    if not visit.own:
        raise PortalProblem(403, "Only the person the task is assigned to can hand it over",
                            f"You can act on this task for {visit.holder_name}, but handing "
                            f"it to someone else is for {visit.holder_name} or the workforce "
                            "planner to do.")


def _role_names(session: Session, cycle_id: str) -> dict[str, str]:
    return {r.role_key: r.role_name for r in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}


def _uploads_of(session: Session, task: Task, person_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Upload, DQResult).outerjoin(DQResult, DQResult.upload_id == Upload.id)
        .where(Upload.task_id == task.id, Upload.person_id == person_id)
        .order_by(Upload.id.desc())).all()
    return [{"id": u.id, "version": u.version, "name": sanitise_name(u.original_name),
             "at": u.uploaded_at, "state": u.state, "verdict": r.verdict if r else None,
             "size": u.size_bytes} for u, r in rows]


def task_view(portal: Portal, session: Session, visit: Visit) -> dict[str, Any]:
    """Everything the task page shows, read inside one unit of work."""
    rt = portal.runtime
    assignment = session.get(Assignment, visit.assignment_id)
    task = session.get(Task, assignment.task_id)
    stage = session.get(Stage, task.stage_id)
    cycle = session.get(Cycle, task.cycle_id)
    viewer = session.get(Person, visit.person_id)
    assignee = session.get(Person, assignment.person_id)
    people = people_by_key(session, task.cycle_id)
    roles = _role_names(session, task.cycle_id)
    today = rt.clock.today()
    waiting = []
    for dependant in engine.waiting_on(session, task):
        names = [p.name for p in holders(session, task.cycle_id, dependant.role_key)]
        waiting.append({"task": dependant.name, "people": names,
                        "role": roles.get(dependant.role_key, dependant.role_key)})
    open_now = [a for a in task.assignments if a.state == AssignmentState.OPEN]
    holders_now = [session.get(Person, a.person_id).name for a in open_now]
    deputy = people.get(viewer.deputy_key or "")
    actionable = visit.acts and assignment.state == AssignmentState.OPEN and task.state in LIVE
    behalf = session.get(Person, assignment.on_behalf_of_id) if assignment.on_behalf_of_id \
        else None
    return {
        "visit": visit, "cycle": cycle, "task": task, "stage": stage, "assignment": assignment,
        "viewer": viewer, "assignee": assignee, "on_behalf_of": behalf,
        "role_name": roles.get(task.role_key, task.role_key),
        "timing": timing(rt.calendar, today, assignment.due_on),
        "waiting": waiting, "holders_now": holders_now, "actionable": actionable,
        "deputy": deputy if visit.own and deputy and not deputy.absent
        and deputy.id != viewer.id else None,
        "uploads": _uploads_of(session, task, assignment.person_id)
        if task.kind == TaskKind.DATA_REQUEST else [],
        "is_gate": task.kind == TaskKind.GATE,
        "is_return": task.kind == TaskKind.DATA_REQUEST,
        "can_complete": actionable and task.kind not in (
            TaskKind.GATE, TaskKind.DATA_REQUEST, TaskKind.SUBMISSION),
    }


def my_tasks_view(portal: Portal, session: Session, visit: Visit) -> dict[str, Any]:
    """The person's open tasks, and those they may act on today as a deputy or delegate."""
    rt = portal.runtime
    today = rt.clock.today()
    viewer = session.get(Person, visit.person_id)
    others = acting_for(session, viewer, today)
    rows = session.execute(
        select(Assignment, Task, Stage).join(Task, Assignment.task_id == Task.id)
        .join(Stage, Task.stage_id == Stage.id)
        .where(Assignment.person_id.in_({visit.person_id} | others),
               Assignment.state == AssignmentState.OPEN, Task.state.in_(LIVE))
        .order_by(Assignment.due_on, Task.sequence)).all()
    items = []
    for a, task, stage in rows:
        behalf = None
        if a.person_id != visit.person_id:
            try:
                binding = bind_link(session, viewer, a, today)
            except LinkNotBound:
                continue
            behalf = f"for {binding.holder.name} ({binding.how})"
        items.append({"task": task, "stage": stage, "due_on": a.due_on, "behalf": behalf,
                      "timing": timing(rt.calendar, today, a.due_on),
                      "href": portal.fresh_link(visit, a.id)})
    return {"visit": visit, "cycle": session.get(Cycle, visit.cycle_id), "viewer": viewer,
            "items": items, "overdue": sum(i["timing"]["overdue"] > 0 for i in items)}


router = APIRouter()


def read(portal: Portal, visit: Visit, build: Any) -> dict[str, Any]:
    with portal.runtime.register.session(actor=visit.actor) as session:
        return build(portal, session, visit)


@router.get("/t/{token}", response_class=HTMLResponse)
def task_page(request: Request, portal: PortalDep, visit: VisitDep,
              done: str | None = None) -> Response:
    view = read(portal, visit, task_view)
    return portal.page(request, "task.html.j2", scope=visit.scope, done=done, **view)


@router.get("/t/{token}/tasks", response_class=HTMLResponse)
def my_tasks(request: Request, portal: PortalDep, visit: VisitDep) -> Response:
    return portal.page(request, "my_tasks.html.j2", **read(portal, visit, my_tasks_view))


# --- complete -----------------------------------------------------------------------------
def do_complete(portal: Portal, visit: Visit, note: str | None) -> None:
    rt = portal.runtime
    with rt.register.session(actor=visit.actor, note="completed in the portal") as session:
        assignment = session.get(Assignment, visit.assignment_id)
        task = session.get(Task, assignment.task_id)
        if task.kind == TaskKind.GATE:
            raise PortalProblem(409, "Gates are decided, not completed",
                                "Open the approval page of this gate to record a decision.")
        if task.kind in (TaskKind.DATA_REQUEST, TaskKind.SUBMISSION):
            raise PortalProblem(409, "This task completes itself",
                                "A data request completes when its return is accepted; "
                                "upload the return instead.")
        try:
            done = complete_assignment(session, task, session.get(Person, visit.person_id),
                                       rt.clock.now(), note or None)
        except AssignmentError as exc:
            raise PortalProblem(409, "This task cannot be completed", str(exc)) from None
        portal.audit(session, visit.actor, "complete", "assignments", done.id,
                     {"task": task.key, "note": note or None}, cycle_id=visit.cycle_id)
    rt.advance(visit.cycle_id, actor=visit.actor)


@router.post("/t/{token}/complete")
async def complete(request: Request, portal: PortalDep, visit: VisitDep,
                   background: BackgroundTasks) -> Response:
    form = await portal.form(request)
    portal.check_csrf(request, form, visit.scope)
    _forbid_unless_acts(visit)
    note = str(form.get("note") or "").strip()[:2000]
    visit = await run_in_threadpool(portal.take_over, visit)
    await run_in_threadpool(do_complete, portal, visit, note)
    background.add_task(portal.deliver, visit.cycle_id)
    return RedirectResponse(f"{visit.base}?done=complete", status_code=303)


# --- reassign to deputy -------------------------------------------------------------------
def do_reassign(portal: Portal, visit: Visit, reason: str) -> str:
    rt = portal.runtime
    with rt.register.session(actor=visit.actor, note="reassigned in the portal") as session:
        assignment = session.get(Assignment, visit.assignment_id)
        task = session.get(Task, assignment.task_id)
        person = session.get(Person, visit.person_id)
        people = people_by_key(session, visit.cycle_id)
        deputy = people.get(person.deputy_key or "")
        if deputy is None or deputy.id == person.id:
            raise PortalProblem(409, "No deputy on record",
                                "The cycle has no deputy recorded for you. Contact the "
                                "workforce planner to hand this task to someone else.")
        if deputy.absent:
            raise PortalProblem(409, "Your deputy is away",
                                f"{deputy.name} is recorded as absent. Contact the workforce "
                                "planner to hand this task to someone else.")
        try:
            new = reassign(session, task, person, deputy, rt.clock.now(),
                           f"reassigned to deputy by {person.name} in the portal: {reason}")
        except AssignmentError as exc:
            raise PortalProblem(409, "This task cannot be reassigned", str(exc)) from None
        session.flush()
        builder = MessageBuilder(session, visit.cycle_id, rt.links, rt.calendar,
                                 rt.clock.today())
        rt.notifier.queue(session, [builder.new_task(new)])
        portal.audit(session, visit.actor, "reassign", "assignments", assignment.id,
                     {"task": task.key, "to": deputy.key, "reason": reason},
                     cycle_id=visit.cycle_id)
        return deputy.name


@router.post("/t/{token}/reassign")
async def reassign_to_deputy(request: Request, portal: PortalDep, visit: VisitDep,
                             background: BackgroundTasks) -> Response:
    form = await portal.form(request)
    portal.check_csrf(request, form, visit.scope)
    _forbid_unless_own(visit)
    reason = str(form.get("reason") or "").strip()[:1000]
    if not reason:
        view = await run_in_threadpool(read, portal, visit, task_view)
        return portal.page(request, "task.html.j2", status=400, scope=visit.scope,
                           done=None, reassign_error="Say why you are handing the task over.",
                           **view)
    await run_in_threadpool(do_reassign, portal, visit, reason)
    background.add_task(portal.deliver, visit.cycle_id)
    return RedirectResponse(f"{visit.base}?done=reassigned", status_code=303)


# --- upload -------------------------------------------------------------------------------
def upload_view(portal: Portal, visit: Visit) -> dict[str, Any]:
    view = read(portal, visit, task_view)
    if not view["is_return"]:
        raise PortalProblem(409, "This task takes no file",
                            "Only data requests take an upload. Go back to the task page.")
    return view


def _upload_page(request: Request, portal: Portal, visit: Visit, status: int = 200,
                 error: str | None = None) -> Response:
    view = upload_view(portal, visit)
    return portal.page(request, "upload.html.j2", status=status, scope=visit.scope,
                       error=error, max_mb=portal.settings.max_upload_bytes // (1024 * 1024),
                       max_bytes=portal.settings.max_upload_bytes, **view)


@router.get("/t/{token}/upload", response_class=HTMLResponse)
def upload_page(request: Request, portal: PortalDep, visit: VisitDep) -> Response:
    return _upload_page(request, portal, visit)


def do_upload(portal: Portal, visit: Visit, data: bytes, filename: str) -> int:
    from plancycle.uploads import UploadRefused, ValidationNotRun, submit_return

    rt = portal.runtime
    with rt.register.session(actor=visit.actor) as session:
        task_key = session.get(Task, visit.task_id).key
    try:
        outcome = submit_return(rt, visit.cycle_id, task_key, visit.person_key, data,
                                filename)
    except UploadRefused as exc:
        raise PortalProblem(409, "The upload could not be taken", str(exc)) from None
    except ValidationNotRun as exc:
        raise PortalProblem(500, "Your file is safe but could not be checked yet",
                            str(exc)) from None
    with rt.register.session(actor=visit.actor, note="uploaded in the portal") as session:
        portal.audit(session, visit.actor, "upload", "uploads", outcome.upload_id,
                     {"task": task_key, "file": filename, "verdict": outcome.verdict},
                     cycle_id=visit.cycle_id)
    return outcome.upload_id


@router.post("/t/{token}/upload")
async def upload(request: Request, portal: PortalDep, visit: VisitDep) -> Response:
    limit = portal.settings.max_upload_bytes
    form = await portal.form(request, limit=limit + FORM_OVERHEAD)
    portal.check_csrf(request, form, visit.scope)
    _forbid_unless_acts(visit)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await run_in_threadpool(_upload_page, request, portal, visit, 400,
                                       "Choose the file of your return to upload.")
    problem = unsafe_name(file.filename)
    if problem:
        return await run_in_threadpool(
            _upload_page, request, portal, visit, 400,
            f"The file could not be taken: {problem}. Rename the file (letters, numbers, "
            "spaces, dots and dashes) and upload it again.")
    if file.size is not None and file.size > limit:
        raise BodyTooLarge(limit)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit)
    sniffed = sniff(data)
    if not sniffed.ok:
        return await run_in_threadpool(_upload_page, request, portal, visit, 415,
                                       sniffed.message + " Nothing was stored.")
    visit = await run_in_threadpool(portal.take_over, visit)
    upload_id = await run_in_threadpool(do_upload, portal, visit, data,
                                        sanitise_name(file.filename))
    return RedirectResponse(f"{visit.base}/uploads/{upload_id}", status_code=303)


# --- the DQ report of one upload ------------------------------------------------------------
def report_view(portal: Portal, visit: Visit, upload_id: int) -> dict[str, Any]:
    with portal.runtime.register.session(actor=visit.actor) as session:
        view = task_view(portal, session, visit)
        upload = session.get(Upload, upload_id)
        # Only the uploads of this link's task and assignee: another person's upload id
        # is "not found", not "forbidden", so ids reveal nothing.
        if upload is None or upload.task_id != visit.task_id \
                or upload.person_id != view["assignment"].person_id:
            raise PortalProblem(404, "Upload not found",
                                "There is no such upload for this task. Open the task "
                                "page from your most recent email.")
        result = session.scalar(select(DQResult).where(DQResult.upload_id == upload.id))
        report = DQReport.from_dict(result.report) if result else None
        from plancycle.uploads import data_docs_path

        docs = data_docs_path(upload)
        view.update(
            data_docs=docs if result and docs.is_file() else None,
            upload={"id": upload.id, "version": upload.version, "state": upload.state,
                    "name": sanitise_name(upload.original_name), "at": upload.uploaded_at,
                    "sha256": upload.sha256, "size": upload.size_bytes},
            report=report, report_html=embed_report(report.to_html()) if report else None,
            counts=report.counts() if report else None,
            latest=view["uploads"][0]["id"] == upload.id if view["uploads"] else True)
        return view


@router.get("/t/{token}/uploads/{upload_id}", response_class=HTMLResponse)
def upload_report(request: Request, portal: PortalDep, visit: VisitDep,
                  upload_id: int) -> Response:
    view = report_view(portal, visit, upload_id)
    return portal.page(request, "upload_result.html.j2", scope=visit.scope,
                       max_mb=portal.settings.max_upload_bytes // (1024 * 1024),
                       max_bytes=portal.settings.max_upload_bytes, **view)


@router.get("/t/{token}/uploads/{upload_id}/data-docs")
def upload_data_docs(portal: PortalDep, visit: VisitDep, upload_id: int) -> Response:
    """GX's Data Docs of the run behind the DQ report, to whoever may see that report."""
    view = report_view(portal, visit, upload_id)
    if view["data_docs"] is None:
        raise PortalProblem(404, "No Data Docs for this upload",
                            "Great Expectations did not run on this file (it could not be "
                            "read, or has not been checked yet): the DQ report says why.")
    return FileResponse(view["data_docs"], media_type="text/html", headers={
        "Content-Security-Policy": DOCUMENT_CSP, "Cache-Control": "no-store"})
