"""The whole submission: package, lock, deliver (CLI and tests; the flow runs the same steps
as tasks)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from plancycle.register.models import (
    AssignmentState,
    Task,
    TaskState,
)
from plancycle.submission.delivery import DELIVERED, HTTP_BACKOFF, deliver_to, destinations
from plancycle.submission.gate import ready_gate, signed_plan_pdf
from plancycle.submission.lock import lock_cycle
from plancycle.submission.package import (
    Package,
    basis,
    build_package,
    existing_package,
    submissions_dir,
)

if TYPE_CHECKING:
    from plancycle.context import CycleContext


@dataclass
class SubmissionResult:
    package: Package
    locked_now: bool
    records: list[dict[str, Any]]

    @property
    def delivered(self) -> bool:
        return all(r["status"] == DELIVERED for r in self.records)


def complete_submission_tasks(runtime: CycleContext, cycle_id: str, package: Package,
                              records: list[dict[str, Any]]) -> list[str]:
    """Once every destination has the package, the cycle's open submission tasks are done."""
    if not records or any(r["status"] != DELIVERED for r in records):
        return []
    done = []
    note = (f"submitted package {package.sha256[:12]}… to "
            + ", ".join(r["destination"] for r in records))
    with runtime.register.session(actor="submission") as session:
        states = dict(session.execute(select(Task.key, Task.state).where(
            Task.cycle_id == cycle_id)).all())
        for task in session.scalars(select(Task).where(
                Task.cycle_id == cycle_id, Task.kind == "submission",
                Task.state.in_([TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED,
                                TaskState.PENDING]))):
            if task.state == TaskState.PENDING:
                # Submitted before its stage opened: nothing left to ask anyone to do.
                if any(states.get(d) not in (TaskState.COMPLETE, TaskState.CANCELLED)
                       for d in task.depends_on or []):
                    continue
                task.state, task.completed_at = TaskState.COMPLETE, runtime.clock.now()
            for assignment in task.assignments:
                if assignment.state == AssignmentState.OPEN:
                    assignment.state = AssignmentState.COMPLETE
                    assignment.completed_at = runtime.clock.now()
                    assignment.reason = note
            done.append(task.key)
        # The cycle's state stays "started": its in-year tasks are still chased.
    if done:
        runtime.advance(cycle_id, actor="submission")
    return done


def submit(runtime: CycleContext, cycle_id: str, plan_pdf: bytes | Path | None = None, *,
           env: Mapping[str, str] | None = None, sleep: Callable[[float], None] = time.sleep,
           backoff: Sequence[float] = HTTP_BACKOFF, gate_key: str | None = None
           ) -> SubmissionResult:
    """Package, lock and deliver; safe to run again (nothing is delivered twice)."""
    with runtime.register.session(actor="submission") as session:
        gate = ready_gate(session, cycle_id, gate_key)
        package = existing_package(submissions_dir() / cycle_id, basis(session, cycle_id, gate))
    if package is None:
        pdf = plan_pdf if plan_pdf is not None else signed_plan_pdf(runtime, cycle_id)
        with runtime.register.session(actor="submission") as session:
            package = build_package(session, cycle_id, pdf, gate_key=gate_key)
    with runtime.register.session(actor="submission") as session:
        locked_now = lock_cycle(session, cycle_id, runtime.clock.now(),
                                f"submitted: package {package.sha256}")
        targets = destinations(session, cycle_id)
    records = [deliver_to(runtime, package, d, env=env, sleep=sleep, backoff=backoff)
               for d in targets]
    complete_submission_tasks(runtime, cycle_id, package, records)
    return SubmissionResult(package, locked_now, records)
