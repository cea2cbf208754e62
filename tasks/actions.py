"""Prefect tasks of the living plan: this quarter's Annex G check-ins."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from plancycle import actions, runtime


@task(name="open check-ins", task_run_name="check-ins of {cycle_id}")
def open_quarter_checkins(cycle_id: str, quarter: str | None = None) -> dict[str, Any]:
    """Create the quarter's check-in task per owner role with open actions (idempotent)."""
    rt = runtime.current()
    try:
        with rt.register.session(actor="checkins") as session:
            result = actions.open_checkins(session, cycle_id, rt.clock.now(), rt.calendar,
                                           quarter=quarter)
            return {"quarter": result.quarter, "created": [t.key for t in result.created],
                    "existing": [t.key for t in result.existing]}
    except actions.ActionError as exc:  # e.g. no in-year stage: say so, the others go on
        get_run_logger().warning("no check-ins for %s: %s", cycle_id, exc)
        return {"quarter": quarter, "created": [], "existing": [], "skipped": str(exc)}
