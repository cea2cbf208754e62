"""Cross-reference and calendar checks that pydantic's per-field validation cannot see.

Each check returns problems with the YAML path of the offending value, so the loader can
point at the line and every mistake in a file is reported in one go.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from plancycle.calendar import WorkingCalendar, financial_year_bounds
from plancycle.config.model import CycleConfig, TaskKind
from plancycle.config.problems import ConfigProblem
from plancycle.returns.codes import RETURN_KINDS
from plancycle.schedule import Schedule, resolve_schedule


def check_config(
    config: CycleConfig, calendar: WorkingCalendar | None = None
) -> list[ConfigProblem]:
    calendar = calendar or WorkingCalendar()
    problems = [
        *_duplicates(config),
        *_people(config),
        *_roles(config),
        *_tasks(config),
        *_dependency_cycles(config),
    ]
    schedule, schedule_problems = resolve_schedule(config, calendar)
    problems += schedule_problems
    problems += _dates(config, schedule, calendar)
    if config.ics is not None:  # a system cycle: its members' submission tasks and sponsors
        from plancycle.config.ics import check_ics

        problems += check_ics(config)
    return problems


def config_warnings(
    config: CycleConfig, calendar: WorkingCalendar | None = None
) -> list[ConfigProblem]:
    """What is allowed but probably a mistake: a fixed stage start on a weekend, bank holiday
    or closure day (the stage's requests would go out when nobody is at work). Each names the
    next working day as the fix. (A due date on such a day is an error: see ``_dates``.)"""
    calendar = calendar or WorkingCalendar()
    warnings: list[ConfigProblem] = []
    for i, stage in enumerate(config.stages):
        day = stage.starts
        if isinstance(day, date) and (why := calendar.closure(day)) is not None:
            nxt = calendar.next_working_day(day)
            warnings.append(ConfigProblem(
                ("stages", i, "starts"), f"stage '{stage.id}' starts on {day:%a %d %b %Y}, {why}",
                f"use the next working day, {nxt:%a %d %b %Y} ({nxt.isoformat()}), or a date "
                "relative to another stage", severity="warning"))
    return warnings


def _listing(ids: list[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (", …" if len(ids) > limit else "")


def _duplicates(config: CycleConfig) -> list[ConfigProblem]:
    problems = []
    groups = {
        "people": [(("people", i, "id"), p.id) for i, p in enumerate(config.people)],
        "roles": [(("roles", i, "id"), r.id) for i, r in enumerate(config.roles)],
        "stages": [(("stages", i, "id"), s.id) for i, s in enumerate(config.stages)],
        "tasks": [
            (("stages", i, "tasks", j, "id"), t.id)
            for i, s in enumerate(config.stages) for j, t in enumerate(s.tasks)
        ],
    }
    for what, entries in groups.items():
        counts = Counter(ident for _, ident in entries)
        seen: set[str] = set()
        for path, ident in entries:
            if counts[ident] > 1 and ident in seen:
                problems.append(ConfigProblem(
                    path, f"duplicate id '{ident}' among {what} (ids must be unique in a cycle)",
                    f"rename one of the {counts[ident]} entries called '{ident}'"))
            seen.add(ident)
    return problems


def _people(config: CycleConfig) -> list[ConfigProblem]:
    problems = []
    known = [p.id for p in config.people]
    for i, person in enumerate(config.people):
        if not person.email and not person.chat:
            problems.append(ConfigProblem(
                ("people", i), f"person '{person.id}' has no channel, so cannot be chased",
                "give them an 'email:' address or a 'chat:' handle (or both)"))
        for field in ("deputy", "line_manager"):
            ref = getattr(person, field)
            if ref is not None and ref not in known:
                problems.append(ConfigProblem(
                    ("people", i, field), f"{field} '{ref}' of '{person.id}' is not a person",
                    f"use a person id from 'people:' ({_listing(known)}) or add them"))
            elif ref == person.id:
                problems.append(ConfigProblem(
                    ("people", i, field), f"'{person.id}' cannot be their own {field}",
                    f"name someone else as {field}, or remove the field"))
    return problems


def _roles(config: CycleConfig) -> list[ConfigProblem]:
    problems = []
    known = [p.id for p in config.people]
    for i, role in enumerate(config.roles):
        for j, holder in enumerate(role.holders):
            if holder not in known:
                problems.append(ConfigProblem(
                    ("roles", i, "holders", j),
                    f"role '{role.id}' is held by unknown person '{holder}'",
                    f"use a person id from 'people:' ({_listing(known)}) or add them"))
    roles = [r.id for r in config.roles]
    for k, step in enumerate(config.chasing.escalation):
        if step.to.startswith("role:") and step.to[5:] not in roles:
            problems.append(ConfigProblem(
                ("chasing", "escalation", k, "to"),
                f"escalation goes to unknown role '{step.to[5:]}'",
                f"use role:<id> with one of: {_listing(roles)}"))
    fallback = config.chasing.escalation_fallback
    if fallback and fallback[5:] not in roles:
        problems.append(ConfigProblem(
            ("chasing", "escalation_fallback"),
            f"escalation fallback goes to unknown role '{fallback[5:]}'",
            f"use role:<id> with one of: {_listing(roles)}"))
    return problems


def _tasks(config: CycleConfig) -> list[ConfigProblem]:
    problems = []
    roles = [r.id for r in config.roles]
    stages = [s.id for s in config.stages]
    task_ids = [t.id for _, t in config.tasks()]
    for i, stage in enumerate(config.stages):
        for j, task in enumerate(stage.tasks):
            path = ("stages", i, "tasks", j)
            if task.role not in roles:
                problems.append(ConfigProblem(
                    (*path, "role"), f"task '{task.id}' is assigned to unknown role '{task.role}'",
                    f"use one of the roles under 'roles:' ({_listing(roles)}) or add it there"))
            for k, dep in enumerate(task.depends_on):
                if dep not in task_ids:
                    problems.append(ConfigProblem(
                        (*path, "depends_on", k),
                        f"task '{task.id}' depends on unknown task '{dep}'",
                        "use the id of a task defined in any stage of this cycle"))
            if task.kind == TaskKind.DATA_REQUEST and not task.return_kind:
                problems.append(ConfigProblem(
                    path, f"data request '{task.id}' does not say which return it expects",
                    f"add 'return:' with one of: {', '.join(RETURN_KINDS)}"))
            if task.return_kind and task.return_kind not in RETURN_KINDS:
                problems.append(ConfigProblem(
                    (*path, "return"), f"unknown return kind '{task.return_kind}'",
                    f"use one of: {', '.join(RETURN_KINDS)}"))
            if task.kind == TaskKind.GATE and task.gate is None:
                problems.append(ConfigProblem(
                    path, f"gate '{task.id}' has no 'gate:' section",
                    "add 'gate: {approvers: [chief_executive, ...], quorum: all}'"))
            if task.gate is not None:
                problems += _gate(task.gate, path, task.id, roles, stages, task.kind)
            if task.chasing and task.chasing.escalation:
                for k, step in enumerate(task.chasing.escalation):
                    if step.to.startswith("role:") and step.to[5:] not in roles:
                        problems.append(ConfigProblem(
                            (*path, "chasing", "escalation", k, "to"),
                            f"escalation goes to unknown role '{step.to[5:]}'",
                            f"use role:<id> with one of: {_listing(roles)}"))
    return problems


def _gate(gate, path, task_id, roles, stages, kind) -> list[ConfigProblem]:  # type: ignore[no-untyped-def]
    problems = []
    if kind != TaskKind.GATE:
        problems.append(ConfigProblem(
            (*path, "gate"), f"task '{task_id}' has a 'gate:' section but kind '{kind}'",
            "set 'kind: gate' or remove the 'gate:' section"))
    for k, role in enumerate(gate.approvers):
        if role not in roles:
            problems.append(ConfigProblem(
                (*path, "gate", "approvers", k), f"gate approver role '{role}' does not exist",
                f"use one of the roles under 'roles:' ({_listing(roles)})"))
    if isinstance(gate.quorum, int) and gate.quorum > len(gate.approvers):
        problems.append(ConfigProblem(
            (*path, "gate", "quorum"),
            f"quorum {gate.quorum} is more than the {len(gate.approvers)} approver roles",
            f"use a number from 1 to {len(gate.approvers)}, 'all' or 'any'"))
    if gate.on_reject_reopen and gate.on_reject_reopen not in stages:
        problems.append(ConfigProblem(
            (*path, "gate", "on_reject_reopen"), f"unknown stage '{gate.on_reject_reopen}'",
            f"use one of the stage ids: {_listing(stages)}"))
    return problems


def _dependency_cycles(config: CycleConfig) -> list[ConfigProblem]:
    graph = {t.id: list(t.depends_on) for _, t in config.tasks()}
    where = {t.id: ("stages", i, "tasks", j, "depends_on")
             for i, s in enumerate(config.stages) for j, t in enumerate(s.tasks)}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    problems: list[ConfigProblem] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                loop = stack[stack.index(dep):] + [dep]
                problems.append(ConfigProblem(
                    where[node], "dependency cycle: " + " → ".join(loop),
                    "remove one of these depends_on entries so the tasks can be done in order"))
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for task_id in graph:
        if task_id not in state:
            visit(task_id, [task_id])
    return problems


def _dates(
    config: CycleConfig, schedule: Schedule, calendar: WorkingCalendar
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    try:
        fy_start, fy_end = financial_year_bounds(config.cycle.financial_year)
    except ValueError as exc:
        return [ConfigProblem(("cycle", "financial_year"), str(exc),
                              "write the financial year as YYYY/YY, e.g. 2026/27")]

    def outside(day: date) -> bool:
        return not fy_start <= day <= fy_end

    fy = f"{config.cycle.financial_year} ({fy_start:%d %b %Y} – {fy_end:%d %b %Y})"
    for i, stage in enumerate(config.stages):
        dates = schedule.stages.get(stage.id)
        if dates is None:
            continue
        if outside(dates.starts):
            problems.append(ConfigProblem(
                ("stages", i, "starts"),
                f"stage '{stage.id}' starts on {dates.starts:%d %b %Y}, "
                f"outside financial year {fy}",
                "move the stage into the financial year or change cycle.financial_year"))
        if dates.ends < dates.starts:
            problems.append(ConfigProblem(
                ("stages", i, "ends"),
                f"stage '{stage.id}' ends ({dates.ends:%d %b %Y}) before it starts "
                f"({dates.starts:%d %b %Y})", "make 'ends' later than 'starts'"))
        for j, task in enumerate(stage.tasks):
            due = schedule.task_due.get(task.id)
            if due is None:
                continue
            path = ("stages", i, "tasks", j, "due")
            if outside(due):
                problems.append(ConfigProblem(
                    path, f"task '{task.id}' is due {due:%d %b %Y}, outside financial year {fy}",
                    "bring the due date into the financial year"))
            if due < dates.starts:
                problems.append(ConfigProblem(
                    path, f"task '{task.id}' is due {due:%d %b %Y}, before its stage "
                    f"'{stage.id}' starts ({dates.starts:%d %b %Y})",
                    "make the due date on or after the stage start, or move the task"))
            elif not calendar.is_working_day(due):
                problems.append(ConfigProblem(
                    path, f"task '{task.id}' is due {due:%a %d %b %Y}, not a working day",
                    f"use {calendar.next_working_day(due):%Y-%m-%d}, the next working day"))
            for dep in task.depends_on:
                dep_due = schedule.task_due.get(dep)
                if dep_due is not None and dep_due > due:
                    problems.append(ConfigProblem(
                        path, f"task '{task.id}' is due {due:%d %b %Y}, before the task it "
                        f"depends on, '{dep}', is due ({dep_due:%d %b %Y})",
                        f"make '{task.id}' due on or after {dep_due:%Y-%m-%d}"))
    return problems
