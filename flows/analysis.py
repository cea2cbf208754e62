"""The plan-build flow: a cycle's accepted returns → analysis → plan document, registered.

How it fits the cycle: the configuration's analysis tasks (``current_workforce_profile`` …
``draft_plan_document``, kind "analysis", held by the workforce planner) are human tasks —
the planner completes them (``plancycle task complete``) once satisfied with the numbers.
The numbers and the document come from this flow (or the same service run directly by
``plancycle plan build``): the planner triggers it when the data is signed off, again after
any resubmitted return, and for the draft the executive gate reviews. Every run converges:
unchanged returns give the same HTML hash, so nothing new is registered and approvals stand;
a changed return gives a new plan version, which voids approvals of the old one (the gates
decide on the current version's hash). Returns that are missing or not accepted stop the
run with a message naming each one; a refusal artifact says the same in the Prefect UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import flow

from plancycle.analysis import AnalysisRefused
from plancycle.documents import Signature
from tasks.analysis import (
    analyse_cycle_returns,
    gather_cycle_returns,
    publish_plan_artifact,
    publish_refusal_artifact,
    register_plan,
    render_plan_documents,
)


@flow(name="build-workforce-plan", flow_run_name="plan for {cycle_id}")
def build_workforce_plan(cycle_id: str, signatures: Sequence[Signature] | None = None
                         ) -> dict[str, Any]:
    """Gather, analyse, render and register one cycle's plan; safe to re-run any time."""
    gathered = gather_cycle_returns(cycle_id)
    try:
        analysis = analyse_cycle_returns(cycle_id, gathered)
    except AnalysisRefused as refused:
        publish_refusal_artifact(cycle_id, refused)
        raise
    rendered = render_plan_documents(cycle_id, analysis, list(signatures or ()), gathered)
    build = register_plan(cycle_id, rendered, analysis, gathered)
    publish_plan_artifact(build)
    return {
        "cycle_id": build.cycle_id, "kind": build.kind, "version": build.version,
        "sha256": build.sha256, "new_version": build.new_version,
        "pdf_path": str(build.pdf_path), "summary_pdf_path":
            str(build.summary_pdf_path) if build.summary_pdf_path else None,
        "measures": build.measures,
    }


if __name__ == "__main__":
    import sys

    build_workforce_plan(sys.argv[1])
