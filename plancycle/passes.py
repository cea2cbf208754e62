"""One chaser pass and one cycle pass as plain calls on the runtime, with their summaries.

The Prefect flows run these steps as tasks, so each is recorded as a task run
(``flows/chaser.py``, ``flows/annual_cycle.py`` through ``tasks/``). A command with no
Prefect API to record to runs the same steps here, in its own process: the register — the
source of truth — ends up exactly as after the flow, and the summary is the one the flow
returns. Nothing here imports Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plancycle.chaser import ChaseResult
    from plancycle.context import CycleContext
    from plancycle.engine import Progress
    from plancycle.notify.service import DeliveryReport


def chase_summary(result: ChaseResult) -> dict[str, Any]:
    """What a chase of one cycle did: steps due, messages queued, steps by kind."""
    kinds: dict[str, int] = {}
    for planned in result.planned:
        kinds[planned.step.kind] = kinds.get(planned.step.kind, 0) + 1
    return {"planned": len(result.planned), "queued": result.queued, "by_kind": kinds,
            "non_working_day": result.skipped_non_working_day}


def delivery_summary(report: DeliveryReport) -> dict[str, Any]:
    return {"sent": report.sent, "failed": report.failed, "cancelled": report.cancelled}


def reconcile_summary(progress: Progress) -> dict[str, Any]:
    return {
        "opened_stages": progress.opened_stages,
        "opened_tasks": progress.opened_tasks,
        "completed_tasks": progress.completed_tasks,
        "completed_stages": progress.completed_stages,
        "new_assignments": len(progress.new_assignments),
        "cycle_complete": progress.cycle_complete,
    }


def deliver(rt: CycleContext, cycle_id: str | None = None,
            warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Send what is queued; ``warn`` hears about the first 20 failures (retried next pass)."""
    report = rt.deliver(cycle_id)
    if warn is not None:
        for error in report.errors[:20]:
            warn(f"delivery failed: {error}")
    return delivery_summary(report)


def has_due(rt: CycleContext, cycle_id: str | None = None) -> bool:
    """Whether a delivery pass would find anything to send (one indexed lookup)."""
    with rt.register.session() as session:
        return rt.notifier.has_due(session, cycle_id)


def chased_cycles(rt: CycleContext, cycle_id: str | None = None) -> list[str]:
    """The cycle named, or every cycle still running (the ones the chaser flow chases)."""
    if cycle_id:
        return [cycle_id]
    from sqlalchemy import select

    from plancycle.register.models import Cycle, CycleState

    with rt.register.session() as session:
        return list(session.scalars(select(Cycle.id).where(Cycle.state == CycleState.STARTED)))


def chase(rt: CycleContext, as_of: date | None = None, cycle_id: str | None = None,
          warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The chaser flow's pass: chase each cycle as of a day, then deliver what is queued."""
    day = as_of or rt.clock.today()
    results: dict[str, Any] = {cid: chase_summary(rt.chase(cid, day))
                               for cid in chased_cycles(rt, cycle_id)}
    results["delivery"] = deliver(rt, cycle_id, warn)
    return results


def cycle_pass(rt: CycleContext, cycle_id: str, warn: Callable[[str], None] | None = None
               ) -> dict[str, Any]:
    """One pass of the annual-cycle flow: reconcile with today, deliver; the flow's totals."""
    progress = rt.advance(cycle_id)
    delivery = deliver(rt, cycle_id, warn)
    return {"passes": 1, "opened_tasks": len(progress.opened_tasks),
            "completed_tasks": len(progress.completed_tasks), "sent": delivery["sent"],
            "failed": delivery["failed"], "complete": progress.cycle_complete}
