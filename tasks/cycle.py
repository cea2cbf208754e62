"""Prefect tasks of the cycle engine: reconcile, stage transitions, the status artifact."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from plancycle import runtime
from plancycle.passes import reconcile_summary
from plancycle.register.cycles import cycle_status
from plancycle.status import status_markdown


@task(name="reconcile", task_run_name="reconcile {cycle_id}")
def reconcile_cycle(cycle_id: str) -> dict[str, Any]:
    """Open what the calendar and dependencies allow, complete what is done."""
    return reconcile_summary(runtime.current().advance(cycle_id))


@task(name="stage", task_run_name="stage: {stage_name} {transition}")
def stage_transition(cycle_id: str, stage_key: str, stage_name: str, transition: str) -> str:
    """A visible marker in Prefect for each stage opening or completing."""
    get_run_logger().info("%s: stage '%s' %s", cycle_id, stage_name, transition)
    return f"{stage_key}:{transition}"


@task(name="publish status", task_run_name="status of {cycle_id}")
def publish_status(cycle_id: str) -> str:
    """The cycle's status table as a Prefect markdown artifact (one key, new version)."""
    rt = runtime.current()
    with rt.register.session() as session:
        rows = cycle_status(session, cycle_id, rt.clock.today(), rt.calendar)
        markdown = status_markdown(session, cycle_id, rows, rt.clock.today())
    create_markdown_artifact(markdown, key=f"cycle-{cycle_id}".lower().replace("_", "-"),
                             description=f"Status of planning cycle {cycle_id}")
    return markdown
