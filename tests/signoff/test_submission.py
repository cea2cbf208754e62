"""Scenarios for the submission: package, manifest, lock, delivery exactly once, audit.

Given the small cycle whose staff-in-post return was sent back once and then accepted, and
whose board approved plan v1 (chief executive, director of finance, chair).
"""

from __future__ import annotations

import csv
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from plancycle.assignments import find_person, find_task
from plancycle.register.models import AuditEntry, Cycle, SubmissionRecord
from plancycle.signoff import SignoffError, decide, register_document
from plancycle.submission import SubmissionError, submit, verify_manifest
from plancycle.synthetic import generate_trust
from plancycle.uploads import UploadRefused, check_can_upload, submit_return
from tests.foundation.helpers import cli_env, plancycle_exe
from tests.signoff.conftest import CYCLE, GATE, TINY_PDF, register_plan, walk_to

FAST = (0.01, 0.02, 0.04, 0.08)
APPROVERS = ("dan.ceo", "fay.finance", "ruth.chair")


def _uploads(rt) -> None:
    rt.advance(CYCLE)
    bad = submit_return(rt, CYCLE, "staff_in_post_return", "bob.hr",
                        b"name,hours\nAnn,37.5\n", "staff_bad.csv")
    assert not bad.accepted
    staff = generate_trust(size=60, seed=3, org_code="RGG")["staff_in_post"]
    good = submit_return(rt, CYCLE, "staff_in_post_return", "bob.hr",
                         staff.to_csv(index=False).encode(), "staff_in_post.csv")
    assert good.accepted


def _approve_all(rt, sha: str) -> None:
    for person in APPROVERS:
        with rt.register.session(actor=person) as session:
            decide(session, find_task(session, CYCLE, GATE), find_person(session, CYCLE, person),
                   "approve", sha, rt.clock.now(), rt.calendar,
                   signature=find_person(session, CYCLE, person).name)


@pytest.fixture
def approved_cycle(start):
    """The small cycle after the board approved plan v1, with one failed and one accepted
    upload of the staff-in-post return."""
    rt = start()
    _uploads(rt)
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    _approve_all(rt, sha)
    return rt, sha


def test_nothing_is_submitted_before_the_board_gate_passes(start):
    rt = start()
    walk_to(rt)
    with pytest.raises(SubmissionError, match="'Board sign-off of the workforce plan' has not "
                                              "passed .*0/3 needed"):
        submit(rt, CYCLE, TINY_PDF, env={})


def test_the_package_holds_plan_returns_dq_and_decisions_and_its_manifest_verifies(
        approved_cycle, receiver, home):
    rt, sha = approved_cycle
    ics = receiver()
    result = submit(rt, CYCLE, TINY_PDF, env={"TEST_ICS_URL": ics.url}, backoff=FAST)
    package = result.package
    assert package.directory == home / "submissions" / CYCLE / package.sha256
    names = [f["path"] for f in package.manifest["files"]]
    assert names == ["decisions.csv", "decisions.json", "dq_summary.csv", "dq_summary.json",
                     "plan/RGG-workforce-plan-2026-27.pdf",
                     "returns/staff_in_post_return-v2-staff_in_post.csv"]
    dq = json.loads((package.directory / "dq_summary.json").read_text())
    assert (dq["accepted"], dq["failed"]) == (1, 1)
    decisions = list(csv.DictReader((package.directory / "decisions.csv").open()))
    assert [(d["person"], d["decision"], d["document_sha256"], d["valid"]) for d in decisions] \
        == [(p, "approve", sha, "True") for p in APPROVERS]
    assert package.manifest["basis"]["document_sha256"] == sha

    for where in (package.directory, package.zip_path):
        check = verify_manifest(where)
        assert check.ok and check.checked == 6 and check.package_sha256 == package.sha256
    # The ICS receives the same zip.
    assert ics.accepted[f"{CYCLE}:{package.sha256}"] == package.zip_path.read_bytes()

    # Tampering is found: a changed return, an added file, an edited manifest.
    raw = package.directory / "returns" / "staff_in_post_return-v2-staff_in_post.csv"
    raw.write_bytes(raw.read_bytes().replace(b"Band 5", b"Band 6", 1))
    (package.directory / "extra.txt").write_text("not packaged")
    check = verify_manifest(package.directory)
    assert not check.ok
    assert any(p.startswith("returns/staff_in_post_return-v2-staff_in_post.csv: SHA-256")
               for p in check.problems)
    assert "extra.txt: not in the manifest" in check.problems
    manifest = package.directory / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"failed": 1', '"failed": 0'))
    assert any("manifest.json was changed" in p for p in verify_manifest(package.directory)
               .problems)
    tampered = package.zip_path.with_name("tampered.zip")
    with zipfile.ZipFile(package.zip_path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data + b"x" if item.filename.endswith(".pdf") else data)
    assert [p.split(":")[0] for p in verify_manifest(tampered).problems] == [
        "plan/RGG-workforce-plan-2026-27.pdf"]


def test_a_receiver_failing_twice_gets_the_package_exactly_once_and_reruns_send_nothing(
        approved_cycle, receiver, home):
    rt, _ = approved_cycle
    ics = receiver([500, 503])
    env = {"TEST_ICS_URL": ics.url}
    first = submit(rt, CYCLE, TINY_PDF, env=env, backoff=FAST)
    assert first.delivered and first.locked_now
    assert [code for _, _, code in ics.requests] == [500, 503, 200]
    assert len(ics.accepted) == 1
    by_destination = {r["destination"]: r for r in first.records}
    http = by_destination["http:TEST_ICS_URL"]
    assert (http["status"], http["attempts"], http["receipt"]["status"]) == ("delivered", 3, 200)
    assert http["receipt"]["body"] == '{"receipt": "ICS-0001"}'
    outbox = Path(by_destination["outbox:outbox"]["receipt"]["path"])
    assert outbox.parent == home / "outbox" and outbox.read_bytes() == \
        first.package.zip_path.read_bytes()

    for _ in range(2):
        again = submit(rt, CYCLE, None, env=env, backoff=FAST)
        assert again.package.sha256 == first.package.sha256 and again.package.reused
        assert not again.locked_now and not any(r["sent_now"] for r in again.records)
    assert len(ics.requests) == 3
    with rt.register.session() as session:
        records = session.scalars(select(SubmissionRecord)).all()
        assert sorted((r.destination, r.status, r.attempts) for r in records) == [
            ("http:TEST_ICS_URL", "delivered", 3), ("outbox:outbox", "delivered", 1)]
        # The planner's submission task was completed by the delivery.
        assert find_task(session, CYCLE, "submit_to_ics").state == "complete"
        assert session.get(Cycle, CYCLE).locked is True


def test_a_refusal_is_recorded_and_retried_on_the_next_run_only(approved_cycle, receiver):
    rt, _ = approved_cycle
    ics = receiver([422])
    first = submit(rt, CYCLE, TINY_PDF, env={"TEST_ICS_URL": ics.url}, backoff=FAST)
    http = next(r for r in first.records if r["destination"].startswith("http"))
    assert (http["status"], http["attempts"], http["receipt"]["status"]) == ("failed", 1, 422)
    assert not first.delivered
    with rt.register.session() as session:
        assert find_task(session, CYCLE, "submit_to_ics").state == "pending"
    unconfigured = submit(rt, CYCLE, None, env={}, backoff=FAST)
    http = next(r for r in unconfigured.records if r["destination"].startswith("http"))
    assert "set the environment variable TEST_ICS_URL" in http["receipt"]["error"]
    second = submit(rt, CYCLE, None, env={"TEST_ICS_URL": ics.url}, backoff=FAST)
    assert second.delivered
    assert [code for _, _, code in ics.requests] == [422, 200]
    outbox = next(r for r in second.records if r["destination"].startswith("outbox"))
    assert outbox["attempts"] == 1 and not outbox["sent_now"]


def test_a_locked_cycle_refuses_uploads_and_new_plan_versions_until_unlocked(
        approved_cycle, receiver, home):
    rt, _ = approved_cycle
    submit(rt, CYCLE, TINY_PDF, env={"TEST_ICS_URL": receiver().url}, backoff=FAST)
    with rt.register.session() as session:
        task = find_task(session, CYCLE, "staff_in_post_return")
        with pytest.raises(UploadRefused, match="locked at submission"):
            check_can_upload(session, task, find_person(session, CYCLE, "bob.hr"))
        with pytest.raises(SignoffError, match="is locked since its submission"):
            register_document(session, CYCLE, "plan", "b" * 64, "x.html", rt.clock.now())

    env = cli_env(PLANCYCLE_HOME=str(home), PLANCYCLE_LINK_SECRET="test-secret")
    missing = subprocess.run([plancycle_exe(), "cycle", "unlock", "--reason", " "],
                             capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2 and "say why the cycle is being unlocked" in missing.stderr
    done = subprocess.run([plancycle_exe(), "cycle", "unlock", "--by", "ann.planner",
                           "--reason", "ICS asked for a corrected pay budget"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    with rt.register.session() as session:
        assert session.get(Cycle, CYCLE).locked is False
        entries = [(e.action, e.actor, e.note) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["lock", "unlock"])))]
    assert entries[0][0] == "lock" and entries[0][2].startswith("submitted: package ")
    assert entries[1] == ("unlock", "cli:ann.planner", "ICS asked for a corrected pay budget")


def test_the_cli_refuses_a_non_approver_and_the_audit_csv_holds_the_decisions(start, home):
    rt = start()
    walk_to(rt)
    sha = register_plan(rt, "<h1>Plan v1</h1>")
    env = cli_env(PLANCYCLE_HOME=str(home), PLANCYCLE_LINK_SECRET="test-secret")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([plancycle_exe(), *args], capture_output=True, text=True,
                              env=env, timeout=120)

    refused = cli("gate", "decide", GATE, "--person", "zed.outsider", "--decision", "approve",
                  "--as-of", rt.clock.today().isoformat())
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Zed Outsider is not an approver" in " ".join(refused.stderr.split())
    ok = cli("gate", "decide", GATE, "--person", "ruth.chair", "--decision", "reject",
             "--reason", "Nursing gap unfunded", "--signature", "Ruth Callaghan",
             "--as-of", rt.clock.today().isoformat())
    assert ok.returncode == 0, ok.stderr
    out = home / "audit.csv"
    exported = cli("cycle", "audit", "--csv", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open()))
    decisions = [r for r in rows if r["action"].startswith("decision:")]
    assert [(r["actor"], r["action"], r["entity_id"], r["note"]) for r in decisions] == [
        ("ruth.chair", "decision:reject", GATE, "Nursing gap unfunded")]
    assert sha[:12] in decisions[0]["details"] and "signed 'Ruth Callaghan'" in \
        decisions[0]["details"]
    # State changes are there too: the gate sent back, the draft reopened.
    assert any(r["entity"] == "tasks" and "state: open → pending" in r["details"]
               and r["actor"] == "cli:ruth.chair" for r in rows)
    shown = cli("cycle", "audit", "--decisions")
    assert shown.returncode == 0 and "decision:reject" in shown.stdout


def test_email_delivery_attaches_the_package_through_real_smtp(approved_cycle, home):
    """Given an ICS mailbox behind a local SMTP server, the zip arrives as an attachment."""
    import email
    from email.policy import default as default_policy

    from plancycle.config.model import Destination
    from plancycle.mailsink import MailSink
    from plancycle.submission import build_package, send

    rt, _ = approved_cycle
    with rt.register.session() as session:
        package = build_package(session, CYCLE, TINY_PDF)
    sink = MailSink(home / "mail").start()
    try:
        to_ics = Destination(type="email", to="workforce@gateshire.icb.nhs.uk")
        outcome = send(package, to_ics, env={"PLANCYCLE_EMAIL_URL": sink.apprise_url})
        unconfigured = send(package, to_ics, env={})
    finally:
        sink.stop()
    assert outcome.ok, outcome.receipt
    assert not unconfigured.ok and "set PLANCYCLE_EMAIL_URL" in unconfigured.receipt["error"]
    [eml] = sorted((home / "mail").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert message["Subject"] == "Workforce plan submission: Gateshire Hospitals NHS Trust 2026/27"
    attachments = [part for part in message.iter_attachments()]
    assert [a.get_content() for a in attachments] == [package.zip_path.read_bytes()]
