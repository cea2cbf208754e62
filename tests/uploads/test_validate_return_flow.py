"""The validate-return flow through the real Prefect API (the deployment runs it per upload).

Given a broken staff in post already stored (as the portal does before triggering the flow),
when the flow runs, then it sends the return back, tells Lucy, and publishes the DQ report
as a Markdown artifact; running it again for the same upload changes nothing in the register.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from plancycle import runtime as runtime_mod
from plancycle.assignments import find_task
from plancycle.register.models import DQResult, Notification, TaskState, Upload
from plancycle.uploads import receive_upload
from tests.uploads.conftest import CYCLE, SIP_FAILED_CHECKS


def _counts(runtime) -> tuple[int, int]:
    with runtime.register.session() as session:
        return (session.scalar(select(func.count()).select_from(DQResult)),
                session.scalar(select(func.count()).select_from(Notification)))


def test_the_flow_validates_a_stored_upload_once_and_publishes_its_report(
        prefect_api, opened, clock, recording, trust_files):
    from prefect.artifacts import Artifact

    from flows.validate_return import validate_return

    clock.set(date(2026, 4, 20))
    upload_id = receive_upload(opened, CYCLE, "staff_in_post_return", "lucy.fernandes",
                               trust_files["staff_in_post_broken"].read_bytes(), "esr.csv")
    with runtime_mod.use(opened):
        first = validate_return(upload_id)
        after_first = _counts(opened)
        again = validate_return(upload_id)

    assert first == again
    assert (first["verdict"], first["accepted"], first["counts"]["fail"]) == ("fail", False, 3)
    assert _counts(opened) == after_first
    with opened.register.session() as session:
        assert session.get(Upload, upload_id).state == "failed"
        task = find_task(session, CYCLE, "staff_in_post_return")
        assert task.state == TaskState.RESUBMISSION_REQUIRED
    reports = [m for m in recording.sent if "data quality report" in m.subject]
    assert [(m.recipient.name, m.channel) for m in reports] == [
        ("Lucy Fernandes", "email"), ("Lucy Fernandes", "chat")]

    artifact = Artifact.get(f"dq-report-upload-{upload_id}")
    assert artifact is not None
    assert "# DQ report: Staff in post extract (ESR) — version 1" in artifact.data
    assert "**Resubmission required** (fail)" in artifact.data
    for check_id in SIP_FAILED_CHECKS:
        assert f"| FAIL | `{check_id}`" in artifact.data
