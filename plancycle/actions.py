"""In-year monitoring of the Annex G action plan: tracked actions, quarterly check-ins, RAG.

Why: a plan the board signs in the autumn is only worth its actions. Each Annex G action
(:class:`plancycle.analysis.actions.ActionItem`) becomes an :class:`Action` in the register
with an owner role, a due date and its measure of success. Every quarter each owner role gets
a check-in task (kind "review", in the in-year refresh stage) asking for a RAG status and a
short update on each of its open actions; the engine assigns it to the role's holders and
the chaser chases it like any task. An action still open at the annual roll-forward is
carried into next year's cycle as a new row pointing back at this one, so its RAG history
(the :class:`ActionUpdate` rows) stays attached without being copied.

The quarterly summary for the board is rendered with the plan's own templates and CSS
(``templates/actions/`` next to ``templates/plan/``) through :mod:`plancycle.documents`.
"""

from __future__ import annotations

import calendar as months
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.analysis.actions import ActionItem
from plancycle.assignments import AssignmentError, find_person
from plancycle.calendar import WorkingCalendar, financial_year_bounds
from plancycle.config.loader import parse_config
from plancycle.config.model import CycleConfig, TaskKind
from plancycle.register.models import (
    Action,
    ActionUpdate,
    AssignmentState,
    Cycle,
    Document,
    RoleHolder,
    Stage,
    StageState,
    Task,
    TaskState,
)

OPEN, COMPLETE, DROPPED = "open", "complete", "dropped"
STATUSES = (OPEN, COMPLETE, DROPPED)
RAGS = ("red", "amber", "green")
#: The stage check-ins go into, unless the planner names another.
IN_YEAR_STAGE = "in_year_refresh"
CHECKIN_PREFIX = "actions_checkin"
SUMMARY_KIND = "action_summary"
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "actions"


class ActionError(Exception):
    """A request about an action that cannot be honoured (the message says what to do)."""


# --- quarters of the financial year ----------------------------------------------------------

def fy_of(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def quarter_of(day: date) -> str:
    """``date(2026, 11, 3)`` → ``"2026/27 Q3"`` (Q1 April–June … Q4 January–March)."""
    return f"{fy_of(day)} Q{((day.month - 4) % 12) // 3 + 1}"


def parse_quarter(label: str, today: date) -> str:
    """"Q3" (this financial year) or "2026/27 Q3" → the full label; ActionError if neither."""
    text = label.strip().upper().replace("-", "/")
    match = re.fullmatch(r"(?:(\d{4}/\d{2})\s*)?Q([1-4])", text)
    if not match:
        raise ActionError(f"quarter {label!r} should look like Q3 or '2026/27 Q3'")
    year = match.group(1) or fy_of(today)
    try:
        financial_year_bounds(year)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return f"{year} Q{match.group(2)}"


def quarter_bounds(label: str) -> tuple[date, date]:
    year, q = label.split(" Q")
    start, _ = financial_year_bounds(year)
    first_month = start.month + 3 * (int(q) - 1)
    y, m = start.year + (first_month - 1) // 12, (first_month - 1) % 12 + 1
    last_y, last_m = y + (m + 1) // 12, (m + 1) % 12 + 1
    return date(y, m, 1), date(last_y, last_m, months.monthrange(last_y, last_m)[1])


def previous_quarter(label: str) -> str:
    start, _ = quarter_bounds(label)
    return quarter_of(date.fromordinal(start.toordinal() - 1))


# --- from Annex G items to tracked actions -----------------------------------------------------

def fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


def owner_role_for(responsible: str, roles: dict[str, str], fallback: str) -> str:
    """The role named first in Annex G's free-text "responsible" (role id → role name).

    "Finance Lead with the Executive Team" → ``finance_lead``; "Service Lead — Surgery" →
    ``service_lead``. Nothing recognised: ``fallback`` (the planner's role).
    """
    text = responsible.lower()
    found = []
    for role_id, name in roles.items():
        for label in {name.lower(), role_id.replace("_", " ").lower(),
                      re.sub(r"\s*\(.*?\)", "", name).lower()}:
            at = text.find(label) if label else -1
            if at >= 0:
                found.append((at, -len(label), role_id))
    return min(found)[2] if found else fallback


def _month_end(year: int, month: int) -> date:
    return date(year, month, months.monthrange(year, month)[1])


def due_from_timescale(timescale: str, financial_year: str, calendar: WorkingCalendar,
                       before_signoff: date | None = None) -> date:
    """A due date from Annex G's timescale text, on a working day (the FY's end if unclear).

    "Q1–Q2 2026/27" → end of September 2026; "By March 2027"; "Winter 2026/27" → end of
    February; "2026/27 to 2028/29" → March 2029; "From plan year 2 (2027/28)" → March 2028;
    "Before sign-off …" → ``before_signoff`` (the board gate's due date).
    """
    _, fy_end = financial_year_bounds(financial_year)
    text = timescale.replace("–", "-").replace("—", "-")
    day: date | None = None
    if (m := re.search(r"Q([1-4])\s*-\s*Q([1-4])\s+(\d{4}/\d{2})", text)) or (
            m := re.search(r"Q([1-4])()\s+(\d{4}/\d{2})", text)):
        day = quarter_bounds(f"{m.group(3)} Q{m.group(2) or m.group(1)}")[1]
    elif m := re.search(r"\bby\s+([A-Z][a-z]+)\s+(\d{4})", text, re.IGNORECASE):
        names = [n.lower() for n in months.month_name]
        if m.group(1).lower() in names:
            day = _month_end(int(m.group(2)), names.index(m.group(1).lower()))
    elif m := re.search(r"winter\s+(\d{4})/\d{2}", text, re.IGNORECASE):
        day = _month_end(int(m.group(1)) + 1, 2)
    elif m := re.search(r"(\d{4}/\d{2})\s+to\s+(\d{4}/\d{2})", text):
        day = financial_year_bounds(m.group(2))[1]
    elif m := re.search(r"plan year \d+ \((\d{4}/\d{2})\)", text, re.IGNORECASE):
        day = financial_year_bounds(m.group(1))[1]
    elif re.search(r"before sign-?off", text, re.IGNORECASE) and before_signoff:
        day = before_signoff
    return calendar.previous_working_day(day or fy_end)


@dataclass
class TrackResult:
    created: list[Action] = field(default_factory=list)
    already: int = 0
    carried: list[Action] = field(default_factory=list)


def cycle_config(session: Session, cycle_id: str) -> CycleConfig:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ActionError(f"no cycle '{cycle_id}' in the register")
    return parse_config(cycle.config_text, file=cycle.config_path)


def _planner_role(config: CycleConfig) -> str:
    return next((t.role for _, t in config.tasks() if t.kind == TaskKind.ANALYSIS),
                config.roles[0].id)


def _next_number(session: Session, cycle_id: str) -> int:
    numbers = [int(k[1:]) for k in session.scalars(select(Action.key).where(
        Action.cycle_id == cycle_id)) if re.fullmatch(r"G\d+", k)]
    return max(numbers, default=0) + 1


def track_actions(session: Session, cycle_id: str, items: Sequence[ActionItem], now: datetime,
                  calendar: WorkingCalendar | None = None) -> TrackResult:
    """Record Annex G items as tracked actions (idempotent: an item already tracked — same
    text — is left alone). Actions carried from last year are brought in first."""
    calendar = calendar or WorkingCalendar()
    config = cycle_config(session, cycle_id)
    result = TrackResult(carried=carry_over(session, cycle_id, now))
    roles = {r.id: r.name for r in config.roles}
    fallback = _planner_role(config)
    signoff = session.scalar(select(func.max(Task.due_on)).where(
        Task.cycle_id == cycle_id, Task.kind == TaskKind.GATE))
    known = set(session.scalars(select(Action.fingerprint).where(Action.cycle_id == cycle_id)))
    number = _next_number(session, cycle_id)
    for item in items:
        print_ = fingerprint(item.action)
        if print_ in known:
            result.already += 1
            continue
        action = Action(
            cycle_id=cycle_id, key=f"G{number}", fingerprint=print_, text=item.action,
            priority=item.priority, timescale=item.timescale, responsible=item.responsible,
            owner_role=owner_role_for(item.responsible, roles, fallback),
            support_needed=item.support_needed, resources=item.resources,
            measure_of_success=item.measures_of_success, source=item.source,
            due_on=due_from_timescale(item.timescale, config.cycle.financial_year, calendar,
                                      signoff),
            status=OPEN, created_at=now)
        session.add(action)
        known.add(print_)
        result.created.append(action)
        number += 1
    session.flush()
    return result


def carry_over(session: Session, cycle_id: str, now: datetime) -> list[Action]:
    """Bring in the actions the cycle's ``baseline:`` lists as still open last year.

    Each becomes a new action here linked to last year's (``carried_from_id``) when last
    year's cycle is in this register, so :func:`history` still shows its updates; otherwise
    it is recreated from the YAML. Idempotent.
    """
    config = cycle_config(session, cycle_id)
    if config.baseline is None or not config.baseline.actions:
        return []
    roles = {r.id for r in config.roles}
    planner = _planner_role(config)
    existing = {a.key: a for a in session.scalars(select(Action).where(
        Action.cycle_id == cycle_id))}
    carried_ids = {a.carried_from_id for a in existing.values() if a.carried_from_id}
    created = []
    for item in config.baseline.actions:
        previous = session.scalars(select(Action).where(
            Action.cycle_id == config.baseline.cycle, Action.key == item.key)).first()
        if previous is not None and previous.id in carried_ids:
            continue
        if previous is None and item.key in existing:
            continue
        key = item.key if item.key not in existing else f"G{_next_number(session, cycle_id)}"
        owner = item.owner if item.owner in roles else (
            previous.owner_role if previous is not None and previous.owner_role in roles
            else planner)
        action = Action(
            cycle_id=cycle_id, key=key, fingerprint=fingerprint(item.action), text=item.action,
            priority=previous.priority if previous else "Medium",
            timescale=previous.timescale if previous else "Carried over",
            responsible=previous.responsible if previous else owner,
            owner_role=owner,
            support_needed=previous.support_needed if previous else None,
            resources=previous.resources if previous else None,
            measure_of_success=item.measure_of_success or (
                previous.measure_of_success if previous else ""),
            source=f"Carried from {config.baseline.cycle}",
            due_on=item.due or (previous.due_on if previous else now.date()),
            status=OPEN, rag=item.rag or (previous.rag if previous else None),
            carried_from_id=previous.id if previous else None, created_at=now)
        session.add(action)
        session.flush()
        existing[key] = action
        created.append(action)
    return created


# --- reading the action plan --------------------------------------------------------------------

def find_action(session: Session, cycle_id: str, key: str) -> Action:
    action = session.scalars(select(Action).where(
        Action.cycle_id == cycle_id, Action.key == key.strip().upper())).first()
    if action is None:
        keys = ", ".join(session.scalars(select(Action.key).where(
            Action.cycle_id == cycle_id).order_by(Action.id))) or "none yet"
        raise ActionError(f"no action '{key}' in cycle '{cycle_id}' (actions: {keys}); see "
                          "`plancycle actions list`")
    return action


def lineage(session: Session, action: Action) -> list[Action]:
    """The action and the actions it was carried from, oldest first."""
    chain = [action]
    seen = {action.id}
    while chain[0].carried_from_id and chain[0].carried_from_id not in seen:
        previous = session.get(Action, chain[0].carried_from_id)
        if previous is None:
            break
        seen.add(previous.id)
        chain.insert(0, previous)
    return chain


def history(session: Session, action: Action) -> list[ActionUpdate]:
    """Every RAG update of the action, including those from years it was carried from."""
    ids = [a.id for a in lineage(session, action)]
    return list(session.scalars(select(ActionUpdate).where(ActionUpdate.action_id.in_(ids))
                                .order_by(ActionUpdate.recorded_at, ActionUpdate.id)))


@dataclass(frozen=True)
class ActionView:
    """One action with everything the CLI, the dashboard and the board summary show."""

    action: Action
    owner_name: str
    updates: list[ActionUpdate]
    carried_from: str | None  # the cycle id it was first raised in, if carried

    @property
    def latest(self) -> ActionUpdate | None:
        return self.updates[-1] if self.updates else None

    def rag_in(self, quarter: str) -> str | None:
        """The last RAG reported for ``quarter`` (None: no update that quarter)."""
        found = [u.rag for u in self.updates if u.quarter == quarter]
        return found[-1] if found else None

    def trail(self) -> list[tuple[str, str]]:
        """(quarter, RAG) in order, the last report of each quarter."""
        out: dict[str, str] = {}
        for update in self.updates:
            out[update.quarter] = update.rag
        return list(out.items())


def action_plan(session: Session, cycle_id: str, include_closed: bool = True
                ) -> list[ActionView]:
    """The cycle's action plan with RAG history, in key order (G1, G2 …)."""
    names = {h.role_key: h.role_name for h in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}
    actions = list(session.scalars(select(Action).where(Action.cycle_id == cycle_id)))
    if not include_closed:
        actions = [a for a in actions if a.status == OPEN]
    views = []
    for action in sorted(actions, key=lambda a: _key_order(a.key)):
        chain = lineage(session, action)
        views.append(ActionView(action, names.get(action.owner_role, action.owner_role),
                                history(session, action),
                                chain[0].cycle_id if len(chain) > 1 else None))
    return views


def _key_order(key: str) -> tuple[int, str]:
    match = re.fullmatch(r"G(\d+)", key)
    return (int(match.group(1)), "") if match else (10**9, key)


# --- updates ------------------------------------------------------------------------------------

def _checkin_key(quarter: str, role: str) -> str:
    year, q = quarter.split(" ")
    return f"{CHECKIN_PREFIX}_{year.replace('/', '-')}_{q.lower()}_{role}"


def record_update(session: Session, cycle_id: str, key: str, now: datetime, *,
                  rag: str | None = None, note: str | None = None,
                  person_key: str | None = None, author: str | None = None,
                  status: str | None = None, due: date | None = None,
                  quarter: str | None = None) -> ActionUpdate:
    """Record a RAG status and update on an action (audited), from a check-in or the planner.

    When this completes the reporting of every open action of the owner role for the quarter,
    the role's check-in task is done: its open assignments are completed.
    """
    action = find_action(session, cycle_id, key)
    if status is not None and status not in STATUSES:
        raise ActionError(f"status {status!r} should be one of: {', '.join(STATUSES)}")
    if rag is None and status == COMPLETE:
        rag = "green"
    if rag is None:
        rag = action.rag
    if rag is None:
        raise ActionError(f"give a RAG status for {action.key} (--rag red, amber or green)")
    rag = rag.strip().lower()
    if rag not in RAGS:
        raise ActionError(f"RAG {rag!r} should be red, amber or green")
    if action.status != OPEN and status is None:
        raise ActionError(f"action {action.key} is {action.status}; reopen it with "
                          "--status open to report on it again")
    person = None
    if person_key is not None:
        try:
            person = find_person(session, cycle_id, person_key)
        except AssignmentError as exc:
            raise ActionError(str(exc)) from None
    if quarter:
        label = parse_quarter(quarter, now.date())
    else:  # answering an open check-in (Q3's is asked in January): its quarter
        asking = _open_checkin(session, cycle_id, action.owner_role)
        label = asking.settings["checkin"]["quarter"] if asking else quarter_of(now.date())
    task = session.scalars(select(Task).where(
        Task.cycle_id == cycle_id, Task.key == _checkin_key(label, action.owner_role))).first()
    update = ActionUpdate(cycle_id=cycle_id, action_id=action.id, quarter=label, rag=rag,
                          note=note.strip() if note else None, status=status,
                          person_id=person.id if person else None,
                          author=person.name if person else (author or "workforce planner"),
                          task_id=task.id if task else None, recorded_at=now)
    session.add(update)
    action.rag = rag
    if due is not None:
        action.due_on = due
    if status is not None and status != action.status:
        action.status = status
        action.closed_at = now if status != OPEN else None
    session.flush()
    if task is not None:
        _complete_checkin_if_reported(session, task, label, action.owner_role, now)
    return update


def _open_checkin(session: Session, cycle_id: str, role: str) -> Task | None:
    return session.scalars(select(Task).where(
        Task.cycle_id == cycle_id, Task.role_key == role,
        Task.key.startswith(f"{CHECKIN_PREFIX}_"),
        Task.state.in_([TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED]))
        .order_by(Task.id.desc())).first()


def _complete_checkin_if_reported(session: Session, task: Task, quarter: str, role: str,
                                  now: datetime) -> None:
    keys = task.settings.get("checkin", {}).get("actions", [])
    asked = [a for a in session.scalars(select(Action).where(
        Action.cycle_id == task.cycle_id, Action.key.in_(keys)))]
    reported = set(session.scalars(select(ActionUpdate.action_id).where(
        ActionUpdate.quarter == quarter, ActionUpdate.action_id.in_([a.id for a in asked]))))
    if task.state not in (TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED):
        return
    if all(a.id in reported or a.status != OPEN for a in asked):
        for assignment in task.assignments:
            if assignment.state == AssignmentState.OPEN:
                assignment.state = AssignmentState.COMPLETE
                assignment.completed_at = now
                assignment.reason = f"every {role} action reported for {quarter}"
        session.flush()


# --- quarterly check-ins ------------------------------------------------------------------------

@dataclass
class CheckinResult:
    quarter: str
    stage: Stage
    created: list[Task] = field(default_factory=list)
    existing: list[Task] = field(default_factory=list)
    reopened_stage: bool = False

    @property
    def waits_for_stage(self) -> bool:
        return self.stage.state == StageState.PENDING


def monitoring_stage(session: Session, cycle_id: str, stage_key: str | None = None) -> Stage:
    stages = list(session.scalars(select(Stage).where(Stage.cycle_id == cycle_id)
                                  .order_by(Stage.starts_on, Stage.sequence)))
    if not stages:
        raise ActionError(f"cycle '{cycle_id}' has no stages")
    if stage_key:
        found = next((s for s in stages if s.key == stage_key), None)
        if found is None:
            raise ActionError(f"no stage '{stage_key}' in cycle '{cycle_id}' (stages: "
                              f"{', '.join(s.key for s in stages)})")
        return found
    return next((s for s in stages if s.key == IN_YEAR_STAGE), None) or next(
        (s for s in stages if "in_year" in s.key or "monitor" in s.key), stages[-1])


def _instructions(quarter: str, actions: Iterable[Action]) -> str:
    lines = [f"For each action below, give a RAG status (Red = will not be met, Amber = at "
             f"risk, Green = on track or done) and a short update on progress in {quarter}:"]
    for action in actions:
        lines.append(f"  {action.key}: {action.text} (due {action.due_on:%d %b %Y}; measure "
                     f"of success: {action.measure_of_success})")
    lines.append("Reply through the task link, or the planner records it with "
                 "`plancycle actions update <key> --rag amber --note \"...\" --person <you>`.")
    return "\n".join(lines)


def open_checkins(session: Session, cycle_id: str, now: datetime, calendar: WorkingCalendar,
                  *, quarter: str | None = None, due: date | None = None,
                  stage_key: str | None = None, working_days: int = 10) -> CheckinResult:
    """Create this quarter's check-in task for every owner role with open actions.

    Idempotent per (quarter, role). The tasks are pending until the engine opens them (next
    reconcile: the stage is open) and assigns the role's holders; a completed in-year stage
    is reopened for them. Due ``working_days`` after today unless ``due`` is given.
    """
    carry_over(session, cycle_id, now)
    label = parse_quarter(quarter, now.date()) if quarter else quarter_of(now.date())
    stage = monitoring_stage(session, cycle_id, stage_key)
    config = cycle_config(session, cycle_id)
    chasing = config.chasing.model_dump(mode="json")
    due_on = due or calendar.add_working_days(now.date(), working_days)
    if not calendar.is_working_day(due_on):
        raise ActionError(f"{due_on:%a %d %b %Y} is not a working day; use "
                          f"{calendar.next_working_day(due_on):%Y-%m-%d}")
    result = CheckinResult(label, stage)
    owners: dict[str, list[Action]] = {}
    for action in session.scalars(select(Action).where(
            Action.cycle_id == cycle_id, Action.status == OPEN)):
        owners.setdefault(action.owner_role, []).append(action)
    sequence = max((t.sequence for t in stage.tasks), default=0)
    for role, actions in sorted(owners.items()):
        actions.sort(key=lambda a: _key_order(a.key))
        key = _checkin_key(label, role)
        existing = session.scalars(select(Task).where(Task.cycle_id == cycle_id,
                                                      Task.key == key)).first()
        if existing is not None:
            result.existing.append(existing)
            continue
        sequence += 1
        task = Task(cycle_id=cycle_id, stage_id=stage.id, key=key,
                    name=f"Action plan check-in {label}: RAG and update on your actions",
                    kind=TaskKind.REVIEW.value, role_key=role, sequence=sequence, due_on=due_on,
                    depends_on=[], return_kind=None, instructions=_instructions(label, actions),
                    settings={"chasing": chasing,
                              "checkin": {"quarter": label,
                                          "actions": [a.key for a in actions]}},
                    state=TaskState.PENDING)
        session.add(task)
        stage.tasks.append(task)
        result.created.append(task)
    if result.created and stage.state == StageState.COMPLETE:
        stage.state = StageState.OPEN  # every other task of it is done: only these reopen
        result.reopened_stage = True
    session.flush()
    return result


# --- the quarterly summary for the board ---------------------------------------------------------

@dataclass(frozen=True)
class BoardSummary:
    html: str
    pdf: bytes
    sha256: str
    quarter: str
    html_path: Path | None = None
    pdf_path: Path | None = None


def _environment() -> jinja2.Environment:
    """The plan's Jinja2 environment, looking in templates/actions first, then templates/plan
    (so the summary shares the plan's CSS and macros)."""
    from plancycle.documents.plan import TEMPLATE_DIR as PLAN_TEMPLATES
    from plancycle.documents.plan import environment

    env = environment(TEMPLATE_DIR)
    env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                                      jinja2.FileSystemLoader(str(PLAN_TEMPLATES))])
    return env


def summary_view(session: Session, cycle_id: str, quarter: str, today: date) -> dict:
    """What the board summary prints, already formatted."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ActionError(f"no cycle '{cycle_id}' in the register")
    views = action_plan(session, cycle_id)
    prior = previous_quarter(quarter)
    rows = []
    counts = {"Red": 0, "Amber": 0, "Green": 0, "Not reported": 0, "Complete": 0,
              "Dropped": 0}
    for view in views:
        a = view.action
        now_rag = view.rag_in(quarter)
        if a.status == COMPLETE:
            counts["Complete"] += 1
        elif a.status == DROPPED:
            counts["Dropped"] += 1
        else:
            counts[now_rag.capitalize() if now_rag else "Not reported"] += 1
        notes = [u for u in view.updates if u.quarter == quarter and u.note]
        rows.append({
            "key": a.key, "action": a.text, "owner": view.owner_name, "priority": a.priority,
            "due": f"{a.due_on:%d %b %Y}",
            "overdue": a.status == OPEN and a.due_on < today,
            "status": a.status.capitalize(),
            "rag": now_rag.capitalize() if now_rag else None,
            "previous": (view.rag_in(prior) or "").capitalize() or None,
            "trail": [(q, r.capitalize()) for q, r in view.trail()],
            "note": notes[-1].note if notes else None,
            "by": notes[-1].author if notes else None,
            "measure": a.measure_of_success,
            "carried_from": view.carried_from,
        })
    return {"organisation": cycle.org_name, "cycle_name": cycle.name, "quarter": quarter,
            "previous_quarter": prior, "as_of": f"{today:%d %B %Y}", "rows": rows,
            "counts": counts, "total": len(rows),
            "attention": [r for r in rows if r["rag"] == "Red" or r["overdue"]]}


def render_board_summary(session: Session, cycle_id: str, quarter: str, today: date, *,
                         pdf: bool = True) -> BoardSummary:
    """The quarterly action-plan summary for the board: HTML (and PDF via WeasyPrint)."""
    from plancycle.documents.plan import write_pdf

    html = _environment().get_template("board_summary.html.j2").render(
        **summary_view(session, cycle_id, quarter, today))
    return BoardSummary(html=html, pdf=write_pdf(html) if pdf else b"",
                        sha256=hashlib.sha256(html.encode()).hexdigest(), quarter=quarter)


def store_board_summary(session: Session, cycle_id: str, summary: BoardSummary,
                        directory: Path, now: datetime) -> BoardSummary:
    """Write the summary beside the plan's documents and record it (once per content)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{SUMMARY_KIND}-{summary.quarter.replace('/', '-').replace(' ', '-')}-" \
           f"{summary.sha256[:12]}"
    html_path = directory / f"{stem}.html"
    html_path.write_text(summary.html, encoding="utf-8")
    pdf_path = None
    if summary.pdf:
        pdf_path = directory / f"{stem}.pdf"
        pdf_path.write_bytes(summary.pdf)
    known = session.scalars(select(Document).where(
        Document.cycle_id == cycle_id, Document.kind == SUMMARY_KIND,
        Document.sha256 == summary.sha256)).first()
    if known is None:
        latest = session.scalar(select(func.max(Document.version)).where(
            Document.cycle_id == cycle_id, Document.kind == SUMMARY_KIND))
        session.add(Document(cycle_id=cycle_id, kind=SUMMARY_KIND, version=(latest or 0) + 1,
                             sha256=summary.sha256, path=str(pdf_path or html_path),
                             created_at=now))
        session.flush()
    return BoardSummary(summary.html, summary.pdf, summary.sha256, summary.quarter,
                        html_path, pdf_path)


# --- the analysis' actions ---------------------------------------------------------------------

def analysed_actions(session: Session, cycle_id: str) -> list[ActionItem]:
    """Annex G as the plan prints it: the analysis of the cycle's accepted returns.

    Raises :class:`plancycle.analysis.AnalysisRefused` or
    :class:`plancycle.planning.PlanningError` when the returns cannot be analysed.
    """
    from plancycle.planning import analyse_returns, gather_returns

    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ActionError(f"no cycle '{cycle_id}' in the register")
    return list(analyse_returns(gather_returns(session, cycle_id), cycle.financial_year).actions)
