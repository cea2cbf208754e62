"""Submission to the ICS: package the signed plan and its evidence, lock the cycle, deliver.

Once the final (board) gate has passed:

1. :mod:`.package` writes ``<PLANCYCLE_HOME>/submissions/<cycle>/<package sha>/`` — the
   signed plan PDF, the workforce plan template (xlsx + CSV), the accepted returns (raw files
   as received), the DQ summary and the decision trail (CSV and JSON), and ``manifest.json``
   with the SHA-256 of every file — and a reproducible zip of it beside the directory.
2. :mod:`.lock` locks the cycle's returns and plan; only an unlock with a recorded reason
   opens it again.
3. :mod:`.delivery` sends the zip to each destination (outbox, HTTP with retries and an
   ``Idempotency-Key``, email through Apprise), one record per package × destination, so a
   delivered package is never sent again and a failed one is retried on the next run.

:mod:`.gate` finds the passed gate and the signatures a package rests on; :mod:`.submit`
runs the whole thing for the CLI and tests. No Prefect here: ``flows/submission.py`` runs
these steps as tasks.
"""

from plancycle.submission.delivery import (
    DELIVERED,
    FAILED,
    HTTP_BACKOFF,
    PENDING,
    Outcome,
    deliver_to,
    destinations,
    label,
    open_record,
    record_outcome,
    send,
)
from plancycle.submission.errors import SubmissionError
from plancycle.submission.gate import (
    approving_decisions,
    final_gate,
    final_gates,
    ready_gate,
    signatures,
    signed_plan_pdf,
)
from plancycle.submission.lock import lock_cycle, unlock_cycle
from plancycle.submission.package import (
    FORMAT,
    MANIFEST,
    ManifestCheck,
    Package,
    basis,
    build_package,
    existing_package,
    latest_accepted,
    load_package,
    sha256_file,
    submissions_dir,
    verify_manifest,
)
from plancycle.submission.submit import SubmissionResult, complete_submission_tasks, submit

__all__ = [
    "DELIVERED", "FAILED", "FORMAT", "HTTP_BACKOFF", "MANIFEST", "PENDING", "ManifestCheck",
    "Outcome", "Package", "SubmissionError", "SubmissionResult", "approving_decisions", "basis",
    "build_package", "complete_submission_tasks", "deliver_to", "destinations",
    "existing_package", "final_gate", "final_gates", "label", "latest_accepted", "load_package",
    "lock_cycle",
    "open_record", "ready_gate", "record_outcome", "send", "sha256_file", "signatures",
    "signed_plan_pdf", "submissions_dir", "submit", "unlock_cycle", "verify_manifest",
]
