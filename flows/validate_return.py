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

from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger

from plancycle import runtime
from plancycle.uploads import awaiting_validation
from tasks.returns import publish_dq_report, validate_stored_upload

UPLOAD_EVENT = "plancycle.upload.stored"


def _run_name() -> str:
    from prefect.runtime import flow_run

    upload_id = flow_run.parameters.get("upload_id")
    return f"validate upload {upload_id}" if upload_id else "validate stored uploads"


@flow(name="validate-return", flow_run_name=_run_name)
def validate_return(upload_id: int | None = None, stored_minutes_ago: float = 10.0
                    ) -> dict[str, Any]:
    """Validate a stored upload, accept or send it back, and publish its DQ report.

    Without ``upload_id`` (the scheduled sweep) every upload of a running cycle stored more
    than ``stored_minutes_ago`` minutes ago and still without a verdict is validated — the
    ones a crash left between storing and validating. Recent ones are left to the run their
    upload event triggered.
    """
    if upload_id is not None:
        outcome = validate_stored_upload(upload_id)
        publish_dq_report(upload_id)
        return outcome
    rt = runtime.current()
    with rt.register.session() as session:
        pending = awaiting_validation(session,
                                      rt.clock.now() - timedelta(minutes=stored_minutes_ago))
    outcomes: dict[str, Any] = {}
    for pending_id in pending:
        state = validate_stored_upload(pending_id, return_state=True)
        if state.is_completed():
            publish_dq_report(pending_id)
            outcomes[str(pending_id)] = state.result()["verdict"]
        else:
            get_run_logger().warning("upload %s still not validated: %s", pending_id,
                                     state.message)
            outcomes[str(pending_id)] = "not validated"
    return {"validated": outcomes}


def announce_upload(upload_id: int, cycle_id: str, task_key: str) -> None:
    """Emit the event that triggers the validate-return deployment for a stored upload."""
    from prefect.events import emit_event

    emit_event(event=UPLOAD_EVENT,
               resource={"prefect.resource.id": f"plancycle.upload.{upload_id}",
                         "plancycle.cycle": cycle_id, "plancycle.task": task_key},
               payload={"upload_id": upload_id})


if __name__ == "__main__":
    import sys

    print(validate_return(int(sys.argv[1]) if len(sys.argv) > 1 else None))
