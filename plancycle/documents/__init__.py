"""Documents rendered from an analysis: the workforce plan and its executive summary."""

from plancycle.documents.plan import (
    SECTION_HEADINGS,
    PlanContext,
    PlanDocument,
    Signature,
    render_exec_summary,
    render_plan,
)

__all__ = [
    "SECTION_HEADINGS",
    "PlanContext",
    "PlanDocument",
    "Signature",
    "render_exec_summary",
    "render_plan",
]
