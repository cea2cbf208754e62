"""The annual cycle flow: walk the planning calendar until every stage is complete.

Each pass reconciles the register with today (opening stages and tasks, assigning people,
queueing "new task" messages), marks stage transitions as named task runs, delivers the
messages and publishes the status artifact. A pass is idempotent, so the flow can run on a
schedule, be re-triggered by an upload or decision, or — with ``until_complete`` — keep
walking, waiting between passes on the runtime's clock (real sleep, or a simulated day).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from plancycle import runtime
from plancycle.register.models import Stage
from tasks.cycle import publish_status, reconcile_cycle, stage_transition
from tasks.notify import deliver_notifications


def _stage_names(cycle_id: str) -> dict[str, str]:
    with runtime.current().register.session() as session:
        return {s.key: s.name for s in session.query(Stage).filter(Stage.cycle_id == cycle_id)}


@flow(name="annual-cycle", flow_run_name="cycle {cycle_id}", log_prints=True)
def annual_cycle(cycle_id: str, until_complete: bool = False, poll_seconds: float = 900.0,
                 max_passes: int = 0) -> dict[str, Any]:
    """Run reconcile passes for one cycle; stop after one pass unless ``until_complete``."""
    rt = runtime.current()
    logger = get_run_logger()
    names = _stage_names(cycle_id)
    passes = 0
    totals = {"passes": 0, "opened_tasks": 0, "completed_tasks": 0, "sent": 0, "failed": 0}
    while True:
        progress = reconcile_cycle(cycle_id)
        for key in progress["opened_stages"]:
            stage_transition(cycle_id, key, names.get(key, key), "opened")
        for key in progress["completed_stages"]:
            stage_transition(cycle_id, key, names.get(key, key), "completed")
        delivery = deliver_notifications(cycle_id)
        changed = any(progress[k] for k in ("opened_stages", "opened_tasks", "completed_tasks",
                                            "completed_stages"))
        if changed or passes == 0:
            publish_status(cycle_id)
        passes += 1
        totals["passes"] = passes
        totals["opened_tasks"] += len(progress["opened_tasks"])
        totals["completed_tasks"] += len(progress["completed_tasks"])
        totals["sent"] += delivery["sent"]
        totals["failed"] += delivery["failed"]
        if progress["cycle_complete"]:
            logger.info("cycle %s complete after %d passes", cycle_id, passes)
            totals["complete"] = True
            return totals
        if not until_complete or (max_passes and passes >= max_passes):
            totals["complete"] = False
            return totals
        rt.wait(poll_seconds)


if __name__ == "__main__":
    import sys

    annual_cycle(sys.argv[1])
