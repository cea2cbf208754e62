"""The quarterly action plan summary for the board, rendered with the plan's templates and CSS."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plancycle.actions.plan import action_plan
from plancycle.actions.quarters import previous_quarter
from plancycle.actions.terms import COMPLETE, DROPPED, OPEN, SUMMARY_KIND, TEMPLATE_DIR, ActionError
from plancycle.register.models import (
    Cycle,
    Document,
)

# --- the quarterly summary for the board ---------------------------------------------------------

@dataclass(frozen=True)
class BoardSummary:
    html: str
    pdf: bytes
    sha256: str
    quarter: str
    html_path: Path | None = None
    pdf_path: Path | None = None


def _environment() -> jinja2.Environment:
    """The plan's Jinja2 environment, looking in templates/actions first, then templates/plan
    (so the summary shares the plan's CSS and macros)."""
    from plancycle.documents.plan import TEMPLATE_DIR as PLAN_TEMPLATES
    from plancycle.documents.plan import environment

    env = environment(TEMPLATE_DIR)
    env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                                      jinja2.FileSystemLoader(str(PLAN_TEMPLATES))])
    return env


def summary_view(session: Session, cycle_id: str, quarter: str, today: date) -> dict:
    """What the board summary prints, already formatted."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ActionError(f"no cycle '{cycle_id}' in the register")
    views = action_plan(session, cycle_id)
    prior = previous_quarter(quarter)
    rows = []
    counts = {"Red": 0, "Amber": 0, "Green": 0, "Not reported": 0, "Complete": 0,
              "Dropped": 0}
    for view in views:
        a = view.action
        now_rag = view.rag_in(quarter)
        if a.status == COMPLETE:
            counts["Complete"] += 1
        elif a.status == DROPPED:
            counts["Dropped"] += 1
        else:
            counts[now_rag.capitalize() if now_rag else "Not reported"] += 1
        notes = [u for u in view.updates if u.quarter == quarter and u.note]
        rows.append({
            "key": a.key, "action": a.text, "owner": view.owner_name, "priority": a.priority,
            "due": f"{a.due_on:%d %b %Y}",
            "overdue": a.status == OPEN and a.due_on < today,
            "status": a.status.capitalize(),
            "rag": now_rag.capitalize() if now_rag else None,
            "previous": (view.rag_in(prior) or "").capitalize() or None,
            "trail": [(q, r.capitalize()) for q, r in view.trail()],
            "note": notes[-1].note if notes else None,
            "by": notes[-1].author if notes else None,
            "measure": a.measure_of_success,
            "carried_from": view.carried_from,
        })
    return {"organisation": cycle.org_name, "cycle_name": cycle.name, "quarter": quarter,
            "previous_quarter": prior, "as_of": f"{today:%d %B %Y}", "rows": rows,
            "counts": counts, "total": len(rows),
            "attention": [r for r in rows if r["rag"] == "Red" or r["overdue"]]}


def render_board_summary(session: Session, cycle_id: str, quarter: str, today: date, *,
                         pdf: bool = True) -> BoardSummary:
    """The quarterly action-plan summary for the board: HTML (and PDF via WeasyPrint)."""
    from plancycle.documents.plan import write_pdf

    html = _environment().get_template("board_summary.html.j2").render(
        **summary_view(session, cycle_id, quarter, today))
    return BoardSummary(html=html, pdf=write_pdf(html) if pdf else b"",
                        sha256=hashlib.sha256(html.encode()).hexdigest(), quarter=quarter)


def store_board_summary(session: Session, cycle_id: str, summary: BoardSummary,
                        directory: Path, now: datetime) -> BoardSummary:
    """Write the summary beside the plan's documents and record it (once per content)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{SUMMARY_KIND}-{summary.quarter.replace('/', '-').replace(' ', '-')}-" \
           f"{summary.sha256[:12]}"
    html_path = directory / f"{stem}.html"
    html_path.write_text(summary.html, encoding="utf-8")
    pdf_path = None
    if summary.pdf:
        pdf_path = directory / f"{stem}.pdf"
        pdf_path.write_bytes(summary.pdf)
    known = session.scalars(select(Document).where(
        Document.cycle_id == cycle_id, Document.kind == SUMMARY_KIND,
        Document.sha256 == summary.sha256)).first()
    if known is None:
        latest = session.scalar(select(func.max(Document.version)).where(
            Document.cycle_id == cycle_id, Document.kind == SUMMARY_KIND))
        session.add(Document(cycle_id=cycle_id, kind=SUMMARY_KIND, version=(latest or 0) + 1,
                             sha256=summary.sha256, path=str(pdf_path or html_path),
                             created_at=now))
        session.flush()
    return BoardSummary(summary.html, summary.pdf, summary.sha256, summary.quarter,
                        html_path, pdf_path)


