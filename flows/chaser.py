"""The daily chaser flow: reminders, overdue chasers and escalations for every open cycle.

Runs from a cron deployment (working days, Europe/London) and on demand with ``as_of``
(the test harness has no scheduler, and a planner may want to re-run a missed day).
Re-running for the same day sends nothing new: every step has an idempotency key.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from sqlalchemy import select

from plancycle import runtime
from plancycle.register.models import Cycle, CycleState
from tasks.notify import chase_cycle, deliver_notifications


def open_cycles() -> list[str]:
    with runtime.current().register.session() as session:
        return list(session.scalars(select(Cycle.id).where(Cycle.state == CycleState.STARTED)))


@flow(name="chaser", flow_run_name="chase {as_of}")
def chaser(as_of: date | None = None, cycle_id: str | None = None) -> dict[str, Any]:
    """Chase every open assignment of one cycle (or all open cycles) as of a day."""
    rt = runtime.current()
    day = as_of or rt.clock.today()
    results: dict[str, Any] = {}
    for cid in [cycle_id] if cycle_id else open_cycles():
        results[cid] = chase_cycle(cid, day)
    results["delivery"] = deliver_notifications(cycle_id)
    return results


if __name__ == "__main__":
    import sys

    chaser(date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else None)
