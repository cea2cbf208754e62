"""kill -9 of a worker mid-upload: the stored return still gets its verdict, once.

Given a staff in post extract stored by the portal or the CLI (the raw file and its row are
committed before any validation), when the worker validating it on the stack is killed
mid-validation (with its flow run), then nothing is half-recorded — no DQ result yet — and
the scheduled validate-return sweep gives the upload its verdict and the submitter one DQ
report, however often it runs.
"""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select

from plancycle.register.models import DQResult, Upload
from plancycle.uploads import receive_upload

SWEEP = "validate-return/validate-stored-returns"


def _task_running(stack, flow_run_id: str, name: str) -> bool:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from plancycle.stack.orchestrator import client

    with client(stack.api_url) as api:
        runs = api.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_run_id])))
    return any(r.name.startswith(name) and r.state_name == "Running" for r in runs)


def test_kill_9_mid_validation_then_the_sweep_validates_the_upload_once(
        mail, on_stack, tmp_path):
    from plancycle.synthetic import generate_trust, write_trust

    rt, cycle = on_stack("upload", day=date(2026, 4, 16))
    rt.advance(cycle)
    extract = write_trust({"staff_in_post": generate_trust(size=40000, seed=3)[
        "staff_in_post"]}, tmp_path)["staff_in_post"]
    upload_id = receive_upload(rt, cycle, "staff_in_post_return", "lucy.fernandes",
                               extract.read_bytes(), "esr-april.csv")

    run = mail.start("validate-return/validate-return", upload_id=upload_id)
    running = mail.wait_running(run)
    deadline = time.monotonic() + 120
    while not _task_running(mail, run, "validate upload"):
        assert time.monotonic() < deadline, "validation never started"
        time.sleep(0.2)
    time.sleep(1.0)  # reading and checking 40,000 rows takes several seconds
    mail.kill_worker(mail.worker_of(running))
    with rt.register.session() as session:
        assert session.scalar(select(DQResult).where(DQResult.upload_id == upload_id)) is None, \
            "validation finished before the kill: nothing was interrupted"
        assert session.get(Upload, upload_id).state == "received"

    mail.heal()
    swept = mail.run(SWEEP, stored_minutes_ago=0)
    again = mail.run(SWEEP, stored_minutes_ago=0)
    assert swept.state.is_completed() and again.state.is_completed()
    with rt.register.session() as session:
        assert session.get(Upload, upload_id).state == "accepted"
        assert len(session.scalars(select(DQResult).where(
            DQResult.upload_id == upload_id)).all()) == 1
    reports = [e for e in mail.smtp.emails if "data quality report" in e.subject.lower()]
    assert [e.to for e in reports] == ["lucy.fernandes@riverside.nhs.uk"]
