"""The ``ics:`` block of a system cycle and the checks that tie it to the rest of the file.

Why: the system cycle waits on one task per member organisation ("Submit <org>'s workforce
plan"), held by that organisation's workforce planner and escalating to its exec sponsor.
Those tasks are ordinary tasks (the engine opens them, the chaser chases them); this module
makes sure each member's task exists and really reaches the right two people, so a typo
cannot leave an organisation unchased.
"""

from __future__ import annotations

from collections import Counter

from plancycle.config.model import CycleConfig, Ics, IcsMember, TaskKind
from plancycle.config.problems import ConfigProblem

__all__ = ["Ics", "IcsMember", "check_ics", "member_for_task", "members"]


def members(config: CycleConfig) -> list[IcsMember]:
    """The member organisations of a system cycle (empty for an organisation's own cycle)."""
    return list(config.ics.organisations) if config.ics else []


def member_for_task(config: CycleConfig, task_key: str) -> IcsMember | None:
    return next((m for m in members(config) if m.task_key == task_key), None)


def _holders(config: CycleConfig, role_id: str) -> list[str]:
    role = next((r for r in config.roles if r.id == role_id), None)
    return list(role.holders) if role else []


def check_ics(config: CycleConfig) -> list[ConfigProblem]:
    """Every problem with the ``ics:`` block, each with its YAML path and a fix."""
    if config.ics is None:
        return []
    problems: list[ConfigProblem] = []
    people = {p.id: p for p in config.people}
    tasks = {t.id: (stage, t) for stage, t in config.tasks()}
    codes = Counter(m.org_code for m in config.ics.organisations)
    for i, member in enumerate(config.ics.organisations):
        path = ("ics", "organisations", i)
        if codes[member.org_code] > 1:
            problems.append(ConfigProblem(
                (*path, "org_code"), f"organisation {member.org_code} is listed "
                f"{codes[member.org_code]} times", "list each member organisation once"))
        for field in ("workforce_planner", "exec_sponsor"):
            ref = getattr(member, field)
            if ref not in people:
                problems.append(ConfigProblem(
                    (*path, field), f"{field} '{ref}' of {member.org_code} is not a person",
                    "add them under 'people:' (with an email or chat handle) or use an "
                    "existing person id"))
        found = tasks.get(member.task_key)
        if found is None:
            problems.append(ConfigProblem(
                path, f"no task '{member.task_key}' waits on {member.org_code}'s plan",
                f"add a task 'id: {member.task_key}' (kind: submission, role held by "
                f"{member.workforce_planner}) to the stage that collects organisations' plans, "
                "or set 'submission_task:' to its id"))
            continue
        _, task = found
        if task.kind != TaskKind.SUBMISSION:
            problems.append(ConfigProblem(
                path, f"task '{task.id}' for {member.org_code} is a {task.kind} task",
                f"make '{task.id}' kind: submission (it is done when the organisation submits)"))
        if member.workforce_planner not in _holders(config, task.role):
            problems.append(ConfigProblem(
                path, f"task '{task.id}' goes to role '{task.role}', which "
                f"{member.org_code}'s workforce planner '{member.workforce_planner}' "
                "does not hold", f"give '{task.id}' a role held by {member.workforce_planner}"))
        steps = config.chasing_for(task).escalation
        reaches = any(
            (s.to.startswith("role:") and member.exec_sponsor in _holders(config, s.to[5:]))
            or (s.to == "line_manager" and member.workforce_planner in people
                and people[member.workforce_planner].line_manager == member.exec_sponsor)
            for s in steps)
        if not reaches:
            problems.append(ConfigProblem(
                path, f"an overdue '{task.id}' is never escalated to {member.org_code}'s exec "
                f"sponsor '{member.exec_sponsor}'",
                f"add to '{task.id}': chasing: {{escalation: [{{after_working_days_overdue: 3, "
                f"to: 'role:<a role held by {member.exec_sponsor}>'}}]}}"))
    return problems
