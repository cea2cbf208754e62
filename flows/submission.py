"""The submission flow: once the board gate has passed, package, lock and deliver.

Re-running it is safe at any time: the package is found again by its basis (same hash),
the lock is already on, and each destination's record says whether it was delivered — a
delivered one is never sent again, a failed one is retried.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from plancycle import runtime
from plancycle.submission import DELIVERED, SubmissionError, ready_gate
from tasks.signoff import (
    complete_submission,
    deliver_package,
    lock_for_submission,
    package_submission,
    submission_destinations,
)


def _receipts(cycle_id: str, package: dict[str, Any], records: list[dict[str, Any]]) -> str:
    lines = [f"# Submission of {cycle_id}", "", f"Package `{package['sha256']}` "
             f"({package['files']} files)", "", "| Destination | Status | Attempts | Receipt |",
             "|---|---|---|---|"]
    for r in records:
        receipt = r["receipt"] or {}
        shown = receipt.get("path") or receipt.get("status") or receipt.get("error") or ""
        lines.append(f"| {r['destination']} | {r['status']} | {r['attempts']} | {shown} |")
    return "\n".join(lines)


@flow(name="submission", flow_run_name="submit {cycle_id}", log_prints=True)
def submit_cycle(cycle_id: str, plan_pdf: str | None = None, gate_key: str | None = None,
                 http_backoff: list[float] | None = None) -> dict[str, Any]:
    """Package the signed plan and evidence, lock the cycle, deliver to every destination."""
    logger = get_run_logger()
    with runtime.current().register.session() as session:
        try:
            ready_gate(session, cycle_id, gate_key)
        except SubmissionError as exc:
            logger.info("not submitting %s yet: %s", cycle_id, exc)
            return {"status": "not_ready", "message": str(exc)}
    package = package_submission(cycle_id, plan_pdf, gate_key)
    lock_for_submission(cycle_id, package["sha256"])
    records = [deliver_package(cycle_id, package["directory"], destination, http_backoff)
               for destination in submission_destinations(cycle_id)]
    completed = complete_submission(cycle_id, package["directory"], records)
    create_markdown_artifact(_receipts(cycle_id, package, records),
                             key=f"submission-{cycle_id}".lower().replace("_", "-"),
                             description=f"Submission receipts of {cycle_id}")
    delivered = all(r["status"] == DELIVERED for r in records)
    return {"status": "delivered" if delivered else "incomplete", "package": package,
            "records": records, "completed_tasks": completed}


if __name__ == "__main__":
    import sys

    submit_cycle(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
