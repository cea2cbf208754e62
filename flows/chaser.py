"""The daily chaser flow: reminders, overdue chasers and escalations for every open cycle.

Runs from a cron deployment (working days, Europe/London) and on demand with ``as_of``
(the test harness has no scheduler, and a planner may want to re-run a missed day).
Re-running for the same day sends nothing new: every step has an idempotency key.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from plancycle import runtime
from plancycle.register.cycles import open_cycles
from tasks.notify import chase_cycle, deliver_notifications
from tasks.runs import current_deployment, start_runs


def _run_name() -> str:
    from prefect.runtime import flow_run

    as_of = flow_run.parameters.get("as_of")
    return f"chase {as_of or 'today'}"


@flow(name="chaser", flow_run_name=_run_name)
def chaser(as_of: date | None = None, cycle_id: str | None = None) -> dict[str, Any]:
    """Chase every open assignment of one cycle (or all open cycles) as of a day.

    Without a cycle it chases every open cycle in the register, organisations' and ICS
    system cycles alike (a system cycle chases organisations still to submit): in a
    deployment, one flow run per cycle on the work pool, so a region's chasing and sending
    spread over the workers; run locally, one after the other in this run.
    """
    rt = runtime.current()
    day = as_of or rt.clock.today()
    results: dict[str, Any] = {}
    if cycle_id:
        cycle_ids = [cycle_id]
    else:
        with rt.register.session() as session:
            cycle_ids = open_cycles(session)
        deployment = current_deployment()
        if deployment is not None:
            return {"cycles": start_runs(deployment, "cycle_id", cycle_ids,
                                         as_of=day.isoformat())}
    for cid in cycle_ids:
        results[cid] = chase_cycle(cid, day)
    results["delivery"] = deliver_notifications(cycle_id)
    return results


if __name__ == "__main__":
    import sys

    chaser(date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else None)
