"""Prefect tasks of the upload path: validate a stored return, publish its DQ report."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from plancycle import runtime, uploads
from plancycle.register.models import DQResult, Person, Task, Upload


@task(name="validate return", task_run_name="validate upload {upload_id}")
def validate_stored_upload(upload_id: int) -> dict[str, Any]:
    """Run the checks once (a re-run returns the recorded verdict), accept or send back."""
    outcome = uploads.validate_upload_id(runtime.current(), upload_id)
    counts = outcome.report.counts()
    get_run_logger().info("upload %s: %s (%d failed, %d warnings)", upload_id, outcome.verdict,
                          counts["fail"], counts["warn"])
    return {"upload_id": upload_id, "verdict": outcome.verdict, "accepted": outcome.accepted,
            "counts": counts}


@task(name="publish DQ report", task_run_name="DQ report of upload {upload_id}")
def publish_dq_report(upload_id: int) -> str:
    """The DQ report as a Markdown artifact, one key per upload (so re-runs add versions)."""
    with runtime.current().register.session() as session:
        upload = session.get(Upload, upload_id)
        task_row = session.get(Task, upload.task_id)
        person = session.get(Person, upload.person_id) if upload.person_id else None
        result = session.query(DQResult).filter(DQResult.upload_id == upload_id).one()
        markdown = uploads.dq_markdown(upload, task_row, person, result)
        description = f"DQ report: {task_row.name}, version {upload.version} ({result.verdict})"
    create_markdown_artifact(markdown, key=f"dq-report-upload-{upload_id}",
                             description=description)
    return markdown
