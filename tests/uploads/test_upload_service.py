"""Scenarios for the upload service: store first, validate, accept or send back, refuse cleanly.

Everything runs on the sample trust's cycle in a real SQLite register, with real files
(published NHS extracts and a synthetic trust) and the real validator; messages go to the
recording channels.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plancycle.assignments import find_person, find_task
from plancycle.register.models import (
    AuditEntry,
    Cycle,
    DQResult,
    Notification,
    TaskState,
    Upload,
)
from plancycle.uploads import (
    UploadRefused,
    ValidationNotRun,
    accepted_returns,
    receive_upload,
    upload_store,
    validate_upload_id,
)
from tests.uploads.conftest import CYCLE, NHS, SIP_FAILED_CHECKS, upload

SICKNESS = ["nhs_sickness_absence_2024-04.csv", "nhs_sickness_absence_2024-05.csv"]


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _stored_files(home: Path) -> list[Path]:
    root = home / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- accepted ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SICKNESS)
def test_a_published_sickness_extract_is_accepted_and_completes_the_task(
        opened, clock, recording, name):
    """Given the sickness request open, when Lucy uploads NHS Digital's published file
    unchanged, then it passes, her assignment and the task complete, and she is told."""
    clock.set(date(2026, 4, 20))
    outcome = upload(opened, "sickness_return", "lucy.fernandes", NHS / name)

    assert (outcome.verdict, outcome.accepted) == ("pass", True), outcome.report.to_text()
    assert outcome.report.row_count == 285
    with opened.register.session() as session:
        row = session.get(Upload, outcome.upload_id)
        task = find_task(session, CYCLE, "sickness_return")
        assert (row.state, row.version, row.original_name) == ("accepted", 1, name)
        assert task.state == TaskState.COMPLETE
        assert [a.state for a in task.assignments] == ["complete"]
        assert accepted_returns(session, CYCLE)["sickness_absence"].id == outcome.upload_id
    emails = [m for m in recording.sent if m.channel == "email" and "data quality" in m.subject]
    assert [m.subject for m in emails] == [
        "Accepted: data quality report for Sickness absence by month and staff group (version 1)"]
    assert "passed every data quality check" in emails[0].body
    assert "Verdict: PASS" in emails[0].body


# --- sent back --------------------------------------------------------------------------------

def test_a_broken_staff_in_post_is_sent_back_with_the_exact_failed_checks(
        opened, clock, recording, trust_files):
    """Given a staff in post with WTE out of range, a repeated assignment id and an unknown
    staff group, when it is uploaded, then exactly those checks fail, the task needs
    resubmission, Lucy's assignment stays open and she gets the DQ report with her link."""
    clock.set(date(2026, 4, 20))
    outcome = upload(opened, "staff_in_post_return", "lucy.fernandes",
                     trust_files["staff_in_post_broken"])

    assert outcome.verdict == "fail" and not outcome.accepted
    failed = {c.id for c in outcome.report.checks if c.status == "fail"}
    assert failed == SIP_FAILED_CHECKS
    assert outcome.report.check("range.wte").offending == 3
    with opened.register.session() as session:
        task = find_task(session, CYCLE, "staff_in_post_return")
        row = session.get(Upload, outcome.upload_id)
        result = session.scalar(select(DQResult).where(DQResult.upload_id == row.id))
        assert task.state == TaskState.RESUBMISSION_REQUIRED
        assert [a.state for a in task.assignments] == ["open"]
        assert row.state == "failed"
        assert result.verdict == "fail"
        assert {c["id"] for c in result.report["checks"] if c["status"] == "fail"} == failed
        html = Path(result.report_path)
        assert html.parent == Path(row.stored_path).parent
        assert "range.wte" in html.read_text()
    (email,) = [m for m in recording.sent if m.channel == "email" and "data quality" in m.subject]
    assert email.recipient.name == "Lucy Fernandes"
    assert email.subject == ("Resubmission required: data quality report for Staff in post "
                             "extract (ESR) (version 1)")
    assert "range.wte" in email.body and "How to fix" in email.body
    assert "Upload the corrected file: http://portal.test/t/" in email.body
    (chat,) = [m for m in recording.sent if m.channel == "chat" and "sent back" in m.body]
    assert "failed 3 checks" in chat.body


def test_a_reupload_is_the_next_version_and_both_files_are_kept(opened, clock, trust_files,
                                                                 home):
    clock.set(date(2026, 4, 20))
    first = upload(opened, "staff_in_post_return", "lucy.fernandes",
                   trust_files["staff_in_post_broken"], "esr_extract.csv")
    clock.set(date(2026, 4, 21))
    second = upload(opened, "staff_in_post_return", "lucy.fernandes",
                    trust_files["staff_in_post"], "esr_extract.csv")

    assert (first.verdict, second.verdict) == ("fail", "pass")
    with opened.register.session() as session:
        rows = session.scalars(select(Upload).order_by(Upload.id)).all()
        assert [(r.version, r.state) for r in rows] == [(1, "failed"), (2, "accepted")]
        assert rows[0].sha256 != rows[1].sha256
        assert all(Path(r.stored_path).read_bytes() for r in rows)
        assert accepted_returns(session, CYCLE)["staff_in_post"].version == 2
        assert find_task(session, CYCLE, "staff_in_post_return").state == TaskState.COMPLETE
    # two raw files, their two HTML reports and the two runs' GX Data Docs
    assert len(_stored_files(home)) == 6


# --- nothing is lost --------------------------------------------------------------------------

def test_the_raw_file_and_its_record_survive_a_validation_that_breaks(
        opened, clock, trust_files, home):
    """Given an accepted staff in post whose stored file has since gone missing from disk,
    when vacancies (checked against it) are uploaded, then validation cannot run — but the
    vacancies file and its upload record are kept, and once the staff in post file is back
    the same upload validates without being uploaded again."""
    clock.set(date(2026, 4, 20))
    sip = upload(opened, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
    with opened.register.session() as session:
        sip_path = Path(session.get(Upload, sip.upload_id).stored_path)
    sip_path.unlink()

    with pytest.raises(ValidationNotRun) as caught:
        upload(opened, "vacancies_return", "lucy.fernandes", trust_files["vacancies"])

    upload_id = caught.value.upload_id
    assert f"stored safely as upload {upload_id}" in str(caught.value)
    assert f"plancycle return validate {upload_id}" in str(caught.value)
    with opened.register.session() as session:
        row = session.get(Upload, upload_id)
        assert row.state == "received"
        assert Path(row.stored_path).read_bytes() == trust_files["vacancies"].read_bytes()
        assert session.scalar(select(DQResult).where(DQResult.upload_id == upload_id)) is None
        assert find_task(session, CYCLE, "vacancies_return").state == TaskState.OPEN

    upload_store(home / "uploads").store(trust_files["staff_in_post"].read_bytes())
    outcome = validate_upload_id(opened, upload_id)
    assert outcome.verdict == "pass"
    assert outcome.report.check("context.staff_groups_in_sip").evaluated > 0


def test_validating_the_same_upload_again_changes_nothing(opened, clock, trust_files):
    clock.set(date(2026, 4, 20))
    outcome = upload(opened, "staff_in_post_return", "lucy.fernandes",
                     trust_files["staff_in_post_broken"])
    with opened.register.session() as session:
        before = (_count(session, DQResult), _count(session, Notification),
                  _count(session, AuditEntry))
    again = validate_upload_id(opened, outcome.upload_id)
    assert again.verdict == "fail"
    with opened.register.session() as session:
        assert (_count(session, DQResult), _count(session, Notification),
                _count(session, AuditEntry)) == before


# --- checked against the cycle's other returns ------------------------------------------------

def test_returns_are_checked_against_the_cycles_accepted_returns(opened, clock, trust_files):
    """Vacancies are compared with the accepted staff in post, the pay budget reconciled with
    it; before staff in post arrives the DQ report says so instead."""
    clock.set(date(2026, 4, 20))
    early = upload(opened, "pay_budget_return", "rachel.moore", trust_files["pay_budget"])
    assert "context.reconcile_pay_budget" not in {c.id for c in early.report.checks}
    sip = upload(opened, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
    vacancies = upload(opened, "vacancies_return", "lucy.fernandes", trust_files["vacancies"])

    assert sip.report.check("context.reconcile_pay_budget").status == "pass"
    assert vacancies.report.check("context.staff_groups_in_sip").status == "pass"
    assert not any("not compared" in note for note in vacancies.report.notes)


def test_a_refresh_with_far_fewer_rows_is_accepted_with_notes(opened, clock, trust_files,
                                                               tmp_path):
    """Given staff in post accepted in April and the plan submitted, when January's in-year
    refresh has a third fewer rows (200 of 313), then it is accepted with a row-count
    warning for the planner to review."""
    clock.set(date(2026, 4, 20))
    upload(opened, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
    with opened.register.session(actor="submission") as session:
        find_task(session, CYCLE, "submit_to_ics").state = TaskState.COMPLETE
    clock.set(date(2027, 1, 12))
    assert "refresh_staff_in_post" in opened.advance(CYCLE).opened_tasks
    lines = trust_files["staff_in_post"].read_text().splitlines()
    short = tmp_path / "staff_in_post_jan.csv"
    short.write_text("\n".join(lines[:201]) + "\n")

    outcome = upload(opened, "refresh_staff_in_post", "lucy.fernandes", short)

    assert (outcome.verdict, outcome.accepted) == ("warn", True)
    swing = outcome.report.check("completeness.row_swing")
    assert swing.status == "warn" and "200 rows against 313 last year" in swing.message
    with opened.register.session() as session:
        assert find_task(session, CYCLE, "refresh_staff_in_post").state == TaskState.COMPLETE
        assert accepted_returns(session, CYCLE)["staff_in_post"].id == outcome.upload_id


# --- refused: nothing stored, nothing changed --------------------------------------------------

def _nothing_stored(runtime, home: Path) -> None:
    with runtime.register.session() as session:
        assert _count(session, Upload) == 0
    assert _stored_files(home) == []


def test_a_locked_cycle_refuses_uploads_and_stores_nothing(opened, clock, trust_files, home):
    clock.set(date(2026, 4, 20))
    with opened.register.session(actor="submission") as session:
        session.get(Cycle, CYCLE).locked = True
    clock.set(date(2026, 4, 22))

    with pytest.raises(UploadRefused) as refused:
        upload(opened, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])

    assert str(refused.value) == (
        "returns for this cycle were locked at submission on 20 Apr 2026; ask the workforce "
        "planner to unlock it (`plancycle cycle unlock`)")
    _nothing_stored(opened, home)


@pytest.mark.parametrize(("task", "person", "message"), [
    ("staff_in_post_return", "rachel.moore",
     "rachel.moore has no open assignment on task 'staff_in_post_return' (open for: "
     "lucy.fernandes)"),
    ("agree_timetable", "priya.nair", "task 'agree_timetable' is a review task, not a data "
     "request: it takes no file"),
    ("service_change_return", "nobody.here", "no person 'nobody.here' in cycle"),
    ("no_such_task", "lucy.fernandes", "no task 'no_such_task' in cycle"),
])
def test_an_upload_that_cannot_be_taken_is_refused_and_stores_nothing(
        opened, trust_files, home, task, person, message):
    with pytest.raises(UploadRefused) as refused:
        upload(opened, task, person, trust_files["staff_in_post"])
    assert message in str(refused.value)
    _nothing_stored(opened, home)


def test_a_task_not_yet_open_or_already_complete_refuses_uploads(runtime, clock, trust_files,
                                                                  home):
    runtime.advance(CYCLE)   # 1 April: the data requests are still pending
    with pytest.raises(UploadRefused, match="is not open yet"):
        receive_upload(runtime, CYCLE, "staff_in_post_return", "lucy.fernandes",
                       trust_files["staff_in_post"].read_bytes(), "sip.csv")
    _nothing_stored(runtime, home)

    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    upload(runtime, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
    with pytest.raises(UploadRefused, match="already complete"):
        upload(runtime, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
    with runtime.register.session() as session:
        assert _count(session, Upload) == 1


def test_an_uploaded_file_name_keeps_no_path(opened, trust_files):
    outcome = upload(opened, "staff_in_post_return", "lucy.fernandes",
                     trust_files["staff_in_post"], "../../etc/passwd\\..\\esr.csv")
    with opened.register.session() as session:
        row = session.get(Upload, outcome.upload_id)
        assert row.original_name == "esr.csv"
        assert Path(row.stored_path).name == row.sha256   # the path comes from the hash only
        assert row.person_id == find_person(session, CYCLE, "lucy.fernandes").id
