"""Prefect tasks of the chaser and the notifier."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task

from plancycle import passes, runtime


@task(name="chase", task_run_name="chase {cycle_id} as of {as_of}")
def chase_cycle(cycle_id: str, as_of: date) -> dict[str, Any]:
    """Queue every reminder, overdue chaser and escalation due on ``as_of``."""
    return passes.chase_summary(runtime.current().chase(cycle_id, as_of))


@task(name="deliver", task_run_name="deliver notifications")
def deliver_notifications(cycle_id: str | None = None) -> dict[str, Any]:
    """Send what is queued; failures stay in the register and are retried next pass."""
    return passes.deliver(runtime.current(), cycle_id, warn=get_run_logger().warning)
