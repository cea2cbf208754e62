"""The annual cycle flow: walk the planning calendar until every stage is complete.

Each pass reconciles the register with today (opening stages and tasks, assigning people,
queueing "new task" messages), marks stage transitions as named task runs, delivers the
messages and publishes the status artifact. A pass is idempotent, so the flow can run on a
schedule, be re-triggered by an upload or decision, or — with ``until_complete`` — keep
walking, waiting between passes on the runtime's clock (real sleep, or a simulated day).

A year is hundreds of passes and most change nothing, so only what happened becomes a task
run: the reconcile itself runs in the flow (what it opened or completed is logged and
marked as ``stage`` task runs), delivery is a task run only when something is due, and the
status artifact is published when something changed. A quiet pass costs two indexed
queries, not four task runs' worth of events on the Prefect server.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from plancycle import runtime
from plancycle.passes import has_due, reconcile_summary
from plancycle.register.cycles import open_cycles
from plancycle.register.models import Stage
from tasks.cycle import publish_status, stage_transition
from tasks.notify import deliver_notifications
from tasks.runs import current_deployment, start_runs


def _run_name() -> str:
    from prefect.runtime import flow_run

    cycle_id = flow_run.parameters.get("cycle_id")
    return f"cycle {cycle_id}" if cycle_id else "open cycles"


def _stage_names(cycle_id: str) -> dict[str, str]:
    with runtime.current().register.session() as session:
        return {s.key: s.name for s in session.query(Stage).filter(Stage.cycle_id == cycle_id)}


@flow(name="annual-cycle", flow_run_name=_run_name, log_prints=True)
def annual_cycle(cycle_id: str | None = None, until_complete: bool = False,
                 poll_seconds: float = 900.0, max_passes: int = 0) -> dict[str, Any]:
    """Run reconcile passes for one cycle; stop after one pass unless ``until_complete``.

    Without ``cycle_id`` (the scheduled deployment) every open organisation cycle in the
    register gets its own pass: in a deployment, one flow run per cycle on the work pool
    (so a region's cycles spread over the workers); run locally, one subflow run each.
    """
    if cycle_id is None:
        return _every_open_cycle(until_complete, poll_seconds, max_passes)
    rt = runtime.current()
    logger = get_run_logger()
    names = _stage_names(cycle_id)
    passes = 0
    totals = {"passes": 0, "opened_tasks": 0, "completed_tasks": 0, "sent": 0, "failed": 0}
    while True:
        progress = reconcile_summary(rt.advance(cycle_id))
        for key in progress["opened_stages"]:
            stage_transition(cycle_id, key, names.get(key, key), "opened")
        for key in progress["completed_stages"]:
            stage_transition(cycle_id, key, names.get(key, key), "completed")
        changed = any(progress[k] for k in ("opened_stages", "opened_tasks", "completed_tasks",
                                            "completed_stages"))
        if changed:
            logger.info("%s on %s: opened %d tasks, completed %d", cycle_id,
                        rt.clock.today().isoformat(), len(progress["opened_tasks"]),
                        len(progress["completed_tasks"]))
        delivery = (deliver_notifications(cycle_id) if has_due(rt, cycle_id)
                    else {"sent": 0, "failed": 0, "cancelled": 0})
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


def _every_open_cycle(until_complete: bool, poll_seconds: float, max_passes: int
                      ) -> dict[str, Any]:
    with runtime.current().register.session() as session:
        cycle_ids = open_cycles(session, system=False)
    options = {"until_complete": until_complete, "poll_seconds": poll_seconds,
               "max_passes": max_passes}
    deployment = current_deployment()
    if deployment is not None:
        return {"cycles": start_runs(deployment, "cycle_id", cycle_ids, **options)}
    return {"cycles": {cycle_id: annual_cycle(cycle_id, **options) for cycle_id in cycle_ids}}


if __name__ == "__main__":
    import sys

    annual_cycle(sys.argv[1] if len(sys.argv) > 1 else None)
