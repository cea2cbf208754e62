"""The validate-return flow: one run per stored upload.

The raw file is already stored and recorded (``plancycle.uploads.receive_upload``) when this
runs, so nothing is lost whatever happens here. The flow validates it (once: a re-run finds
the recorded verdict and changes nothing), accepts it or sends it back, tells the submitter,
reconciles the cycle (an accepted return may unblock dependants) and publishes the DQ report
as a Prefect artifact.

In a deployment it is triggered by the ``plancycle.upload.stored`` event, which
:func:`announce_upload` emits; the CLI and portal may instead validate in-process with
``plancycle.uploads.submit_return`` (same code, no round trip).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.returns import publish_dq_report, validate_stored_upload

UPLOAD_EVENT = "plancycle.upload.stored"


@flow(name="validate-return", flow_run_name="validate upload {upload_id}")
def validate_return(upload_id: int) -> dict[str, Any]:
    """Validate a stored upload, accept or send it back, and publish its DQ report."""
    outcome = validate_stored_upload(upload_id)
    publish_dq_report(upload_id)
    return outcome


def announce_upload(upload_id: int, cycle_id: str, task_key: str) -> None:
    """Emit the event that triggers the validate-return deployment for a stored upload."""
    from prefect.events import emit_event

    emit_event(event=UPLOAD_EVENT,
               resource={"prefect.resource.id": f"plancycle.upload.{upload_id}",
                         "plancycle.cycle": cycle_id, "plancycle.task": task_key},
               payload={"upload_id": upload_id})


if __name__ == "__main__":
    import sys

    print(validate_return(int(sys.argv[1])))
