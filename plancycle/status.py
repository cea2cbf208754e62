"""The cycle status as markdown: stages with RAG-style progress, then overdue tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.register.cycles import StatusRow
from plancycle.register.models import Cycle, Stage


def status_markdown(session: Session, cycle_id: str, rows: Sequence[StatusRow],
                    today: date) -> str:
    cycle = session.get(Cycle, cycle_id)
    stages = session.scalars(select(Stage).where(Stage.cycle_id == cycle_id)
                             .order_by(Stage.starts_on, Stage.sequence)).all()
    by_stage: dict[str, list[StatusRow]] = {}
    for row in rows:
        by_stage.setdefault(row.stage, []).append(row)
    lines = [f"# {cycle.name if cycle else cycle_id} — status on {today:%d %b %Y}", "",
             "| stage | starts | ends | state | done | open | overdue |",
             "|---|---|---|---|---:|---:|---:|"]
    for stage in stages:
        items = by_stage.get(stage.name, [])
        done = sum(r.state == "complete" for r in items)
        open_ = sum(r.state in ("open", "resubmission_required") for r in items)
        late = sum(r.working_days_overdue > 0 for r in items)
        lines.append(f"| {stage.name} | {stage.starts_on:%d %b} | {stage.ends_on:%d %b} | "
                     f"{stage.state} | {done} | {open_} | {late} |")
    overdue = [r for r in rows if r.working_days_overdue > 0 and r.state != "pending"]
    if overdue:
        lines += ["", "## Overdue", "", "| task | assignee | due | working days overdue |",
                  "|---|---|---|---:|"]
        lines += [f"| {r.task} | {', '.join(r.assignees)} | {r.due_on:%d %b} | "
                  f"{r.working_days_overdue} |" for r in overdue]
    return "\n".join(lines) + "\n"
