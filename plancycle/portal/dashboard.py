"""The planner's dashboard: the cycle as a Gantt chart with RAG, the overdue list, the action
plan (:mod:`plancycle.portal.action_plan`), the notification log, returns received, and links
into Prefect's UI.

**RAG rule** (per stage, on the portal's clock, in working days):

- *red* — some open assignment in the stage is overdue by at least its first escalation
  step (``chasing.escalation[0].after_working_days_overdue``; 3 working days when the task
  has no escalation), or an escalation has already been sent for it;
- *amber* — some open assignment is overdue, but less than that; or the stage's end date has
  passed with tasks still open;
- *green* — open and on track, or complete;
- *grey* — not started yet.

Behind organisational sign-in (:mod:`plancycle.portal.signin`): the signed-in person must
hold the ``workforce_planner`` role of the cycle. For local use and the demo only, without
sign-in configured, the shared planner's token (``PLANCYCLE_PLANNER_TOKEN``) opens it
through a login form that sets a signed, expiring session cookie.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.links import revoke_links
from plancycle.notify.fallbacks import escalation_gaps
from plancycle.portal.action_plan import action_rows, overdue_checkins
from plancycle.portal.deps import IdentityDep, PortalDep, signed_in
from plancycle.portal.problems import PortalProblem
from plancycle.portal.security import PLANNER_COOKIE, token_matches
from plancycle.portal.services import Portal, client_of
from plancycle.portal.signin import (
    audit_identity,
    is_planner,
    people_of,
    sign_in_url,
)
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Cycle,
    Notification,
    Person,
    RoleHolder,
    Stage,
    StageState,
    Task,
    TaskState,
    Upload,
)

DEFAULT_ESCALATION_DAYS = 3
LIVE = (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED)
RAG_COLOURS = {"green": "#007f3b", "amber": "#ffb81c", "red": "#d5281b", "grey": "#aeb7bd"}
RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red", "grey": "Not started"}


def escalation_steps(task: Task) -> list[dict[str, Any]]:
    return list((task.settings or {}).get("chasing", {}).get("escalation") or [])


def escalation_threshold(task: Task) -> int:
    steps = escalation_steps(task)
    return min((int(s["after_working_days_overdue"]) for s in steps),
               default=DEFAULT_ESCALATION_DAYS)


@dataclass(frozen=True)
class OverdueItem:
    assignment_id: int
    task: str
    task_key: str
    stage: str
    person: str
    due_on: date
    days: int
    level: int              # escalation steps reached by now (0 = not yet)
    targets: list[str]      # who those steps go to
    escalations_sent: int
    threshold: int

    @property
    def escalated(self) -> bool:
        return self.days >= self.threshold or self.escalations_sent > 0


@dataclass(frozen=True)
class StageRow:
    key: str
    name: str
    starts_on: date
    ends_on: date
    state: str
    rag: str
    why: str
    done: int
    open: int
    overdue: int


def stage_rag(state: str, ends_on: date, today: date, open_tasks: int,
              overdue: list[OverdueItem]) -> tuple[str, str]:
    """The RAG of one stage and why (see the module docstring for the rule)."""
    if state == StageState.PENDING:
        return "grey", "not started"
    if state == StageState.COMPLETE:
        return "green", "complete"
    escalated = [o for o in overdue if o.escalated]
    if escalated:
        worst = max(o.days for o in escalated)
        return "red", (f"{len(escalated)} escalated (up to {worst} working days overdue)")
    if overdue:
        return "amber", f"{len(overdue)} overdue, not yet escalated"
    if today > ends_on and open_tasks:
        return "amber", "past its end date with tasks open"
    return "green", "on track"


def _target_label(to: str, assignee: Person, people: dict[str, Person],
                  role_names: dict[str, str]) -> str:
    if to == "line_manager":
        manager = people.get(assignee.line_manager_key or "")
        return f"line manager ({manager.name})" if manager else "line manager (none recorded)"
    if to == "deputy":
        deputy = people.get(assignee.deputy_key or "")
        return f"deputy ({deputy.name})" if deputy else "deputy (none recorded)"
    role = to.removeprefix("role:")
    return role_names.get(role, role)


def overdue_items(session: Session, cycle_id: str, today: date,
                  calendar: WorkingCalendar) -> list[OverdueItem]:
    people = {p.key: p for p in session.scalars(select(Person).where(Person.cycle_id == cycle_id))}
    by_id = {p.id: p for p in people.values()}
    role_names = {r.role_key: r.role_name for r in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}
    sent = Counter(session.scalars(
        select(Notification.assignment_id).where(
            Notification.cycle_id == cycle_id, Notification.kind == "escalation",
            Notification.status == "sent")))
    rows = session.execute(
        select(Assignment, Task, Stage).join(Task, Assignment.task_id == Task.id)
        .join(Stage, Task.stage_id == Stage.id)
        .where(Assignment.cycle_id == cycle_id, Assignment.state == AssignmentState.OPEN,
               Task.state.in_(LIVE), Assignment.due_on < today)).all()
    items = []
    for assignment, task, stage in rows:
        days = calendar.working_days_between(assignment.due_on, today)
        if days <= 0:
            continue
        assignee = by_id[assignment.person_id]
        reached = [s for s in escalation_steps(task)
                   if int(s["after_working_days_overdue"]) <= days]
        items.append(OverdueItem(
            assignment.id, task.name, task.key, stage.name, assignee.name, assignment.due_on,
            days, len(reached), [_target_label(s["to"], assignee, people, role_names)
                                 for s in reached],
            sent.get(assignment.id, 0), escalation_threshold(task)))
    return sorted(items, key=lambda o: (-o.days, o.due_on, o.task))


def stage_rows(session: Session, cycle_id: str, today: date,
               overdue: list[OverdueItem]) -> list[StageRow]:
    stages = session.scalars(select(Stage).where(Stage.cycle_id == cycle_id)
                             .order_by(Stage.starts_on, Stage.sequence)).all()
    tasks = session.scalars(select(Task).where(Task.cycle_id == cycle_id)).all()
    stage_of_task = {t.key: t.stage_id for t in tasks}
    rows = []
    for stage in stages:
        mine = [t for t in tasks if t.stage_id == stage.id]
        late = [o for o in overdue if stage_of_task.get(o.task_key) == stage.id]
        open_tasks = sum(t.state in LIVE for t in mine)
        rag, why = stage_rag(stage.state, stage.ends_on, today, open_tasks, late)
        rows.append(StageRow(stage.key, stage.name, stage.starts_on, stage.ends_on, stage.state,
                             rag, why, sum(t.state == TaskState.COMPLETE for t in mine),
                             open_tasks, len({o.task_key for o in late})))
    return rows


def gantt_svg(stages: list[StageRow], today: date) -> Markup:
    """The stages as a Gantt chart in plain SVG (no script, no inline style: CSP-safe)."""
    if not stages:
        return Markup("")
    label_w, chart_w, row_h, top = 300, 620, 30, 34
    start = min(s.starts_on for s in stages).replace(day=1)
    end = max(max(s.ends_on for s in stages), today) + timedelta(days=7)
    span = max(1, (end - start).days)
    height = top + row_h * len(stages) + 10

    def x(day: date) -> float:
        return round(label_w + (day - start).days / span * chart_w, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" viewBox="0 0 '
        f'{label_w + chart_w + 10} {height}" role="img" aria-labelledby="gantt-title gantt-desc">',
        '<title id="gantt-title">Cycle timeline: stages by date, coloured by RAG status</title>',
        f'<desc id="gantt-desc">{len(stages)} stages from {start:%d %B %Y}; the dashed line is '
        f'today, {today:%d %B %Y}. The table below gives the same information.</desc>',
    ]
    month = start
    while month <= end:
        mx = x(month)
        parts.append(f'<line x1="{mx}" y1="{top - 6}" x2="{mx}" y2="{height - 10}" '
                     'stroke="#d8dde0" stroke-width="1"/>')
        parts.append(f'<text x="{mx + 3}" y="{top - 12}" font-size="11" fill="#4c6272">'
                     f'{month:%b %y}</text>')
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    for i, stage in enumerate(stages):
        y = top + i * row_h
        name = stage.name if len(stage.name) <= 42 else stage.name[:41] + "…"
        x0, x1 = x(stage.starts_on), x(stage.ends_on + timedelta(days=1))
        opacity = "0.55" if stage.state == StageState.COMPLETE else "1"
        parts.append(
            f'<g class="stage rag-{stage.rag}" data-stage="{escape(stage.key)}" '
            f'data-rag="{stage.rag}">'
            f'<title>{escape(stage.name)}: {stage.starts_on:%d %b} to {stage.ends_on:%d %b}, '
            f'{escape(stage.state)}, {RAG_WORDS[stage.rag]} ({escape(stage.why)})</title>'
            f'<text x="4" y="{y + 19}" font-size="12" fill="#212b32">{escape(name)}</text>'
            f'<rect x="{x0}" y="{y + 6}" width="{max(3.0, round(x1 - x0, 1))}" height="18" '
            f'rx="3" fill="{RAG_COLOURS[stage.rag]}" fill-opacity="{opacity}" '
            f'stroke="#212b32" stroke-width="0.5"/></g>')
    tx = x(today)
    parts.append(f'<line x1="{tx}" y1="{top - 6}" x2="{tx}" y2="{height - 6}" stroke="#212b32" '
                 'stroke-width="2" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{tx + 3}" y="{height - 1}" font-size="11" fill="#212b32">today</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or numeric


def dashboard_view(session: Session, cycle_id: str, today: date, calendar: WorkingCalendar,
                   page: int, page_size: int) -> dict[str, Any]:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise PortalProblem(404, "No such cycle", f"There is no cycle '{cycle_id}' in the "
                            "register. Go back to the dashboard's list of cycles.")
    overdue = overdue_items(session, cycle_id, today, calendar)
    stages = stage_rows(session, cycle_id, today, overdue)
    returns = Counter(dict(session.execute(
        select(Upload.state, func.count()).where(Upload.cycle_id == cycle_id)
        .group_by(Upload.state)).all()))
    total = session.scalar(select(func.count()).select_from(Notification)
                           .where(Notification.cycle_id == cycle_id)) or 0
    log = session.execute(
        select(Notification, Person).join(Person, Notification.person_id == Person.id)
        .where(Notification.cycle_id == cycle_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * page_size).limit(page_size)).all()
    statuses = Counter(dict(session.execute(
        select(Notification.status, func.count()).where(Notification.cycle_id == cycle_id)
        .group_by(Notification.status)).all()))
    people = session.scalars(select(Person).where(Person.cycle_id == cycle_id)
                             .order_by(Person.name)).all()
    return {
        "cycle": cycle, "stages": stages, "gantt": gantt_svg(stages, today),
        "overdue": overdue, "returns": returns, "log": log, "log_total": total,
        "log_statuses": statuses, "page": page, "pages": max(1, -(-total // page_size)),
        "people": people, "rag_words": RAG_WORDS,
        "actions": action_rows(session, cycle_id, today),
        "late_checkins": overdue_checkins(session, cycle_id, [
            (o.task_key, o.person, o.due_on, o.days) for o in overdue]),
        "escalation_gaps": escalation_gaps(session, cycle_id),
    }


router = APIRouter()


def _enabled(portal: Portal) -> None:
    if portal.oidc is None and not portal.settings.planner_token:
        raise PortalProblem(503, "The planner's dashboard is switched off",
                            "Configure organisational sign-in (PLANCYCLE_OIDC_*, see the "
                            "README) and restart the portal. For local use and the demo only, "
                            "PLANCYCLE_PLANNER_TOKEN opens it with a shared token.")


def _planner(request: Request, portal: Portal, cycle_id: str | None = None) -> str | None:
    """Who is using the dashboard (the audit's actor), or None when they must sign in first.

    With organisational sign-in, the signed-in person must hold the planner role in the
    cycle (in some cycle, for the list); anyone else is refused, and the refusal audited.
    Otherwise (local use, the demo) the shared token's session.
    """
    _enabled(portal)
    if portal.oidc is None:
        return "portal:planner" if portal.planner_sessions.valid(
            request.cookies.get(PLANNER_COOKIE)) else None
    identity = signed_in(request, portal)
    if identity is None:
        return None
    with portal.runtime.register.session(actor=f"signin:{identity.label}") as session:
        if any(is_planner(session, p) for p in people_of(session, identity, cycle_id)):
            return f"signin:{identity.label}"
    audit_identity(portal, "planner_refused", identity,
                   {"client": client_of(request), "cycle": cycle_id}, cycle_id=cycle_id)
    raise PortalProblem(403, "The dashboard is for the workforce planner",
                        f"You are signed in as {identity.label}, who does not hold the "
                        "workforce planner role in this cycle. Ask the workforce planner to "
                        "add you to the role in the cycle YAML if you need the dashboard.")


def _to_login(request: Request, portal: Portal) -> Response:
    if portal.oidc is not None:
        return RedirectResponse(sign_in_url(request.url.path), status_code=303)
    return RedirectResponse("/planner/login", status_code=303)


@router.get("/planner/login", response_class=HTMLResponse)
def login_page(request: Request, portal: PortalDep) -> Response:
    _enabled(portal)
    if portal.oidc is not None:  # planners sign in by name: the shared token is off
        return RedirectResponse(sign_in_url("/planner"), status_code=303)
    return portal.page(request, "planner_login.html.j2", scope="planner-login", error=None)


@router.post("/planner/login")
async def login(request: Request, portal: PortalDep) -> Response:
    _enabled(portal)
    if not portal.settings.token_allowed:
        raise PortalProblem(403, "Sign in with your organisation's account",
                            "The shared planner's token is switched off because "
                            "organisational sign-in is configured.")
    settings = portal.settings
    client = client_of(request)
    portal.too_many_attempts(request, "wrong tokens")
    form = await portal.form(request)
    portal.check_csrf(request, form, "planner-login")
    given = form.get("token")
    if not token_matches(given if isinstance(given, str) else None, settings.planner_token):
        portal.limiter.failure(client)
        return portal.page(request, "planner_login.html.j2", status=401,
                           scope="planner-login",
                           error="That is not the planner's token. Check it and try again.")

    def audit_login() -> None:
        with portal.runtime.register.session(actor="portal:planner") as session:
            portal.audit(session, "portal:planner", "login", "portal", "planner",
                         {"client": client})

    await run_in_threadpool(audit_login)
    response = RedirectResponse("/planner", status_code=303)
    response.set_cookie(PLANNER_COOKIE, portal.planner_sessions.issue(), httponly=True,
                        samesite="lax", secure=settings.secure_cookies, path="/planner",
                        max_age=settings.planner_session_hours * 3600)
    return response


@router.post("/planner/logout")
async def logout(request: Request, portal: PortalDep) -> Response:
    form = await portal.form(request)
    portal.check_csrf(request, form, "planner")
    response = RedirectResponse("/planner/login", status_code=303)
    response.delete_cookie(PLANNER_COOKIE, path="/planner")
    return response


@router.get("/planner", response_class=HTMLResponse)
def cycles(request: Request, portal: PortalDep, identity: IdentityDep) -> Response:
    actor = _planner(request, portal)
    if actor is None:
        return _to_login(request, portal)
    with portal.runtime.register.session(actor=actor) as session:
        rows = session.scalars(select(Cycle).order_by(Cycle.started_at.desc())).all()
        if identity is not None:  # only the cycles they plan
            mine = {p.cycle_id for p in people_of(session, identity) if is_planner(session, p)}
            rows = [c for c in rows if c.id in mine]
    if len(rows) == 1:
        return RedirectResponse(f"/planner/cycles/{rows[0].id}", status_code=303)
    return portal.page(request, "planner_cycles.html.j2", scope="planner", cycles=rows)


@router.get("/planner/cycles/{cycle_id}", response_class=HTMLResponse)
def dashboard(request: Request, portal: PortalDep, cycle_id: str, page: int = 1,
              revoked: str | None = None) -> Response:
    actor = _planner(request, portal, cycle_id)
    if actor is None:
        return _to_login(request, portal)
    rt = portal.runtime
    with rt.register.session(actor=actor) as session:
        view = dashboard_view(session, cycle_id, rt.clock.today(), rt.calendar,
                              max(1, page), portal.settings.log_page_size)
    return portal.page(request, "dashboard.html.j2", scope="planner",
                       prefect_ui=portal.settings.prefect_ui_url, revoked=revoked, **view)


@router.post("/planner/cycles/{cycle_id}/revoke")
async def revoke(request: Request, portal: PortalDep, cycle_id: str) -> Response:
    actor = await run_in_threadpool(_planner, request, portal, cycle_id)
    if actor is None:
        raise PortalProblem(403, "Sign in first", "Sign in to the planner's dashboard to "
                            "withdraw links.")
    form = await portal.form(request)
    portal.check_csrf(request, form, "planner")
    person_key = str(form.get("person") or "")
    reason = str(form.get("reason") or "").strip()[:500] or None
    rt = portal.runtime

    def do_revoke() -> None:
        with rt.register.session(actor=actor, note="links revoked") as session:
            if session.scalars(select(Person).where(Person.cycle_id == cycle_id,
                                                    Person.key == person_key)).first() is None:
                raise PortalProblem(404, "No such person",
                                    f"There is no person '{person_key}' in this cycle.")
            generation = revoke_links(session, cycle_id, person_key, rt.clock.now(), reason)
            portal.audit(session, actor, "revoke_links", "link_generations",
                         person_key, {"generation": generation, "reason": reason},
                         cycle_id=cycle_id)

    await run_in_threadpool(do_revoke)
    return RedirectResponse(f"/planner/cycles/{cycle_id}?revoked={person_key}",
                            status_code=303)
