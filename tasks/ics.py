"""Prefect tasks of the ICS roll-up: thin wrappers over :mod:`plancycle.ics.service`.

The roll-up passes in memory between tasks (it holds every organisation's returns), so no
task caches by its inputs; idempotency comes from the register (same inputs, same document
hashes, nothing new registered; a delivered submission is never sent again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from plancycle import runtime
from plancycle.ics import service
from plancycle.register.cycles import cycle_status
from plancycle.register.models import Task

_OPEN = ("open", "resubmission_required")


def _key(what: str, cycle_id: str) -> str:
    return f"{what}-{cycle_id}".lower().replace("_", "-")


@task(name="follow organisations", task_run_name="follow organisations of {ics_cycle_id}")
def follow_organisations(ics_cycle_id: str, organisation_cycle_ids: Sequence[str]
                         ) -> dict[str, Any]:
    """Record submissions in the system cycle, reconcile it, deliver its messages."""
    rt = runtime.current()
    now = rt.clock.now()
    with rt.register.session(actor=service.ACTOR) as session:
        config = service.system_config(session, ics_cycle_id)
        members = service.member_cycles(session, config, organisation_cycle_ids)
        synced = service.sync(session, ics_cycle_id, members, now)
        states = [service.submission_state(session, m, now) for m in members]
    progress = rt.advance(ics_cycle_id, actor=service.ACTOR)
    delivery = rt.deliver(ics_cycle_id)
    logger = get_run_logger()
    for state in synced:
        logger.info("%s submitted its plan (%s, %s)", state.org_code, state.cycle_id, state.how)
    return {
        "synced": [s.org_code for s in synced],
        "submitted": [s.org_code for s in states if s.submitted],
        "waiting": [s.org_code for s in states if not s.submitted],
        "opened_stages": progress.opened_stages, "completed_stages": progress.completed_stages,
        "opened_tasks": progress.opened_tasks, "completed_tasks": progress.completed_tasks,
        "cycle_complete": progress.cycle_complete, "sent": delivery.sent,
    }


@task(name="roll up", task_run_name="roll up {ics_cycle_id}", cache_policy=NO_CACHE)
def roll_up_system(ics_cycle_id: str, organisation_cycle_ids: Sequence[str],
                   published_data: str | None = None) -> service.SystemRollup:
    rollup = service.roll_up_cycles(runtime.current(), ics_cycle_id, organisation_cycle_ids,
                                    published=published_data)
    logger = get_run_logger()
    logger.info("rolled up %d organisations: %.1f WTE, %d consistency flags",
                len(rollup.members), rollup.tables.system["wte"], len(rollup.flags))
    for note in rollup.notes:
        logger.warning(note)
    return rollup


@task(name="system plan", task_run_name="system plan of {rollup.ics_cycle_id}",
      cache_policy=NO_CACHE)
def build_system_documents(rollup: service.SystemRollup) -> dict[str, Any]:
    """Render and register the system plan, its summary and the system tables."""
    build = service.build_system_plan(runtime.current(), rollup)
    create_markdown_artifact(rollup_markdown(rollup, build), key=_key("ics-rollup",
                                                                       rollup.ics_cycle_id),
                             description=f"System roll-up of {rollup.ics_cycle_id}")
    return {"plan_version": build.plan.version, "plan_sha256": build.plan.sha256,
            "new_version": build.plan.new_version, "pdf_path": str(build.plan.pdf_path),
            "tables_sha256": build.tables_sha256, "tables_html": str(build.tables_html)}


@task(name="submit to region", task_run_name="submit {rollup.ics_cycle_id} to the region",
      cache_policy=NO_CACHE)
def submit_to_region(rollup: service.SystemRollup) -> dict[str, Any]:
    result = service.submit_system_plan(runtime.current(), rollup)
    return {"package": result.package.sha256, "delivered": result.delivered,
            "records": result.records}


@task(name="system status", task_run_name="status of {ics_cycle_id}")
def publish_system_status(ics_cycle_id: str, followed: dict[str, Any],
                          runs: dict[str, dict[str, Any]]) -> str:
    """Who has submitted, whose task is overdue, and each organisation's flow run."""
    rt = runtime.current()
    with rt.register.session() as session:
        config = service.system_config(session, ics_cycle_id)
        rows = {r.task_key: r for r in cycle_status(session, ics_cycle_id, rt.clock.today(),
                                                      rt.calendar)}
    lines = [f"# {config.ics.name if config.ics else ics_cycle_id}: organisations' plans on "
             f"{rt.clock.today():%d %b %Y}", "",
             "| organisation | place | cycle | flow run | system task | due | overdue |",
             "|---|---|---|---|---|---|---:|"]
    by_org = {r.get("org_code"): (cid, r) for cid, r in runs.items()}
    for member in config.ics.organisations if config.ics else []:
        row = rows.get(member.task_key)
        cycle_id, run = by_org.get(member.org_code, (None, {}))
        state, due, late = ((row.state, f"{row.due_on:%d %b}", row.working_days_overdue)
                            if row else ("no task", "–", 0))
        lines.append(f"| {member.org_code} {member.name} | {member.place} | {cycle_id or '–'} | "
                     f"{run.get('mode', '–')} {run.get('flow_run_id') or ''} | {state} | "
                     f"{due} | {late} |")
    lines += ["", f"Submitted: {', '.join(followed['submitted']) or 'none yet'}; waiting on: "
              f"{', '.join(followed['waiting']) or 'nobody'}."]
    markdown = "\n".join(lines) + "\n"
    create_markdown_artifact(markdown, key=_key("ics", ics_cycle_id),
                             description=f"Organisations' submissions to {ics_cycle_id}")
    return markdown


def rollup_markdown(rollup: service.SystemRollup, build: service.SystemPlanBuild) -> str:
    s = rollup.tables.system
    lines = [f"# System roll-up of {rollup.ics_cycle_id}", "",
             f"- Organisations: {s['organisations']} in {s['places']} places",
             f"- Staff in post: {s['wte']:,.1f} WTE (headcount is not added up across "
             "organisations)",
             f"- Vacancy rate {s['vacancy_rate_pct']:.1f}%, turnover {s['turnover_pct']:.1f}%, "
             f"sickness {s['sickness_pct']:.2f}%, agency {s['agency_share_pct']:.1f}% of pay",
             f"- Pay budget £{s['pay_budget_gbp']:,.0f}, current spend "
             f"£{s['current_spend_gbp']:,.0f} ({s['over_budget_pct']:+.1f}%)",
             f"- System plan v{build.plan.version} `{build.plan.sha256}`; tables "
             f"`{build.tables_sha256[:12]}…`", "",
             "| organisation | place | WTE | headcount | vacancy | turnover | sickness | agency |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rollup.tables.organisations.itertuples(index=False):
        lines.append(f"| {r.org_code} | {r.place} | {r.wte:,.1f} | {r.headcount:,} | "
                     f"{r.vacancy_rate_pct:.1f}% | {r.turnover_pct:.1f}% | "
                     f"{r.sickness_pct:.2f}% | {r.agency_share_pct:.1f}% |")
    lines += ["", f"## Consistency flags ({len(rollup.flags)})", ""]
    lines += [f"- {f.message}" for f in rollup.flags] or ["- none"]
    return "\n".join(lines) + "\n"


def gate_key(ics_cycle_id: str) -> str | None:
    """The system cycle's sign-off gate (the People Board)."""
    from plancycle.submission import final_gate

    with runtime.current().register.session() as session:
        gate = final_gate(session, ics_cycle_id)
        return gate.key if gate is not None else None


def task_states(ics_cycle_id: str, kinds: Sequence[str]) -> dict[str, str]:
    with runtime.current().register.session() as session:
        return dict(session.execute(select(Task.key, Task.state).where(
            Task.cycle_id == ics_cycle_id, Task.kind.in_(list(kinds)))).all())
