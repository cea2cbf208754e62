"""The quarterly check-ins flow: ask each owner of open Annex G actions for a RAG status.

Scheduled once a quarter (see ``deployments/``) for every open organisation cycle in the
register — or one cycle, or another quarter, on demand. Each owner role gets one check-in
task (:func:`plancycle.actions.open_checkins`); the reconcile pass that follows assigns its
holders and sends the task link, and the daily chaser chases it like any task.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from plancycle import runtime
from plancycle.register.cycles import open_cycles
from tasks.actions import open_quarter_checkins
from tasks.cycle import reconcile_cycle
from tasks.notify import deliver_notifications


def _run_name() -> str:
    from prefect.runtime import flow_run

    cycle_id = flow_run.parameters.get("cycle_id")
    return f"check-ins of {cycle_id or 'open cycles'}"


@flow(name="quarterly-checkins", flow_run_name=_run_name)
def quarterly_checkins(cycle_id: str | None = None, quarter: str | None = None
                       ) -> dict[str, Any]:
    """Open the quarter's check-ins (default: the current quarter) and assign them."""
    if cycle_id:
        cycle_ids = [cycle_id]
    else:
        with runtime.current().register.session() as session:
            cycle_ids = open_cycles(session, system=False)
    results: dict[str, Any] = {}
    for cid in cycle_ids:
        results[cid] = open_quarter_checkins(cid, quarter)
        if results[cid]["created"]:
            reconcile_cycle(cid)
    results["delivery"] = deliver_notifications(cycle_id)
    return results


if __name__ == "__main__":
    import sys

    print(quarterly_checkins(sys.argv[1] if len(sys.argv) > 1 else None))
