"""Prefect tasks of the chaser and the notifier."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task

from plancycle import runtime


@task(name="chase", task_run_name="chase {cycle_id} as of {as_of}")
def chase_cycle(cycle_id: str, as_of: date) -> dict[str, Any]:
    """Queue every reminder, overdue chaser and escalation due on ``as_of``."""
    result = runtime.current().chase(cycle_id, as_of)
    kinds: dict[str, int] = {}
    for planned in result.planned:
        kinds[planned.step.kind] = kinds.get(planned.step.kind, 0) + 1
    return {"planned": len(result.planned), "queued": result.queued, "by_kind": kinds,
            "non_working_day": result.skipped_non_working_day}


@task(name="deliver", task_run_name="deliver notifications")
def deliver_notifications(cycle_id: str | None = None) -> dict[str, Any]:
    """Send what is queued; failures stay in the register and are retried next pass."""
    report = runtime.current().deliver(cycle_id)
    if report.failed:
        logger = get_run_logger()
        for error in report.errors[:20]:
            logger.warning("delivery failed: %s", error)
    return {"sent": report.sent, "failed": report.failed, "cancelled": report.cancelled}
