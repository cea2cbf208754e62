"""``plancycle return`` as a lead or planner uses it: upload, list, report, validate.

Runs the real entry point (``plancycle.cli.main``) in-process against the register the
engine fixtures created, so the exit codes are exactly what a shell sees: 0 accepted,
1 sent back, 2 a user mistake (nothing stored), 3 stored but not validated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from plancycle.cli import main, return_cmd
from plancycle.register.models import Cycle, Upload
from tests.uploads.conftest import CYCLE, SIP_FAILED_CHECKS, upload


@pytest.fixture
def cli(opened, monkeypatch, capsys):
    """Run ``plancycle ARGS``; returns (exit code, everything printed on one line)."""
    monkeypatch.delenv("PLANCYCLE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PLANCYCLE_EMAIL_URL", raising=False)
    monkeypatch.delenv("PLANCYCLE_CHAT_URL", raising=False)
    monkeypatch.setattr(return_cmd, "console", Console(width=200))   # tables on one line

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["plancycle", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code or 0
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert "Traceback" not in text
        return code, " ".join(text.split())

    return run


def test_a_failed_upload_exits_1_and_prints_what_to_fix(cli, trust_files):
    code, out = cli("return", "upload", "staff_in_post_return", trust_files["staff_in_post_broken"],
                    "--person", "lucy.fernandes", "--as-of", "2026-04-20")
    assert code == 1, out
    assert "Upload 1: version 1 of 'staff_in_post_return' (staff_in_post.csv" in out
    assert "Verdict: FAIL — Resubmission required" in out
    assert "Task 'staff_in_post_return' is now resubmission_required." in out
    for check_id in SIP_FAILED_CHECKS:
        assert f"({check_id})" in out
    assert "How to fix:" in out


def test_an_accepted_upload_exits_0_and_shows_in_the_list_and_report(cli, trust_files):
    cli("return", "upload", "staff_in_post_return", trust_files["staff_in_post_broken"],
        "--person", "lucy.fernandes", "--as-of", "2026-04-20")
    code, out = cli("return", "upload", "staff_in_post_return", trust_files["staff_in_post"],
                    "--person", "lucy.fernandes", "--cycle", CYCLE, "--as-of", "2026-04-21")
    assert code == 0, out
    assert "Verdict: PASS — Accepted: all checks passed." in out
    assert "Task 'staff_in_post_return' is now complete." in out

    code, listing = cli("return", "list")
    assert code == 0, listing
    assert ("1 staff_in_post_return 1 staff_in_post.csv lucy.fernandes 20 Apr 2026 09:00 fail"
            in listing)
    assert ("2 staff_in_post_return 2 staff_in_post.csv lucy.fernandes 21 Apr 2026 09:00 pass"
            in listing)

    code, report = cli("return", "report", "1")
    assert code == 0 and "Verdict: FAIL" in report and "range.wte" in report
    code, path = cli("return", "report", "2", "--html")
    assert code == 0 and Path(path).read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("args", "message"), [
    (["return", "upload", "staff_in_post_return", "no/such/file.csv", "--person",
      "lucy.fernandes"], "error: no file at no/such/file.csv"),
    (["return", "upload", "staff_in_post_return", "{sip}", "--person", "rachel.moore"],
     "error: rachel.moore has no open assignment on task 'staff_in_post_return'"),
    (["return", "upload", "staff_in_post_return", "{sip}", "--person", "lucy.fernandes",
      "--as-of", "20/04/2026"], "--as-of '20/04/2026' is not a date"),
    (["return", "report", "99"], "error: no upload 99 in the register"),
    (["return", "validate", "99"], "error: no upload 99 in the register"),
])
def test_user_mistakes_exit_2_and_store_nothing(cli, opened, trust_files, args, message):
    args = [a.replace("{sip}", str(trust_files["staff_in_post"])) for a in args]
    code, out = cli(*args)
    assert code == 2, out
    assert message in out
    with opened.register.session() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 0


def test_a_locked_cycle_exits_2_with_how_to_unlock(cli, opened, trust_files):
    with opened.register.session(actor="submission") as session:
        session.get(Cycle, CYCLE).locked = True
    code, out = cli("return", "upload", "staff_in_post_return", trust_files["staff_in_post"],
                    "--person", "lucy.fernandes")
    assert code == 2
    assert "returns for this cycle were locked at submission on 16 Apr 2026" in out
    assert "`plancycle cycle unlock`" in out


def test_a_stored_upload_that_could_not_be_validated_exits_3_and_validates_later(
        cli, opened, trust_files, home):
    sip = upload(opened, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
    with opened.register.session() as session:
        sip_file = Path(session.get(Upload, sip.upload_id).stored_path)
    sip_file.rename(home / "moved-away")

    code, out = cli("return", "upload", "vacancies_return", trust_files["vacancies"],
                    "--person", "lucy.fernandes")
    assert code == 3, out
    assert "the file was stored safely as upload 2" in out
    assert "run `plancycle return validate 2`" in out

    (home / "moved-away").rename(sip_file)
    code, out = cli("return", "validate", "2")
    assert code == 0, out
    assert "Verdict: PASS" in out and "Task 'vacancies_return' is now complete." in out


def test_a_file_over_the_upload_limit_is_refused_with_exit_2_and_nothing_stored(
        cli, opened, trust_files, home, monkeypatch):
    """Over PLANCYCLE_MAX_UPLOAD_MB the upload is a user mistake, never a failed DQ check."""
    sip = trust_files["staff_in_post"]
    limit_mb = 1
    big = home / "staff_in_post_big.csv"
    big.write_bytes(sip.read_bytes() * (limit_mb * 1024 * 1024 // sip.stat().st_size + 1))
    monkeypatch.setenv("PLANCYCLE_MAX_UPLOAD_MB", str(limit_mb))
    code, out = cli("return", "upload", "staff_in_post_return", big, "--person",
                    "lucy.fernandes")
    assert code == 2, out
    size_mb = big.stat().st_size / 1024 / 1024
    assert (f"error: staff_in_post_big.csv: The file is {size_mb:.1f} MB, over the 1 MB upload "
            "limit (setting PLANCYCLE_MAX_UPLOAD_MB). Nothing was stored.") in out
    assert "ask the administrator to raise PLANCYCLE_MAX_UPLOAD_MB" in out
    with opened.register.session() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 0
    assert not (home / "uploads").exists() or not any((home / "uploads").rglob("*[0-9a-f]"))


def test_a_stored_file_is_judged_on_its_data_whatever_the_limit_is_now(
        opened, trust_files, monkeypatch):
    """A file taken under the limit is validated, not judged too large, even when the limit
    is lowered before it is checked (the validate-return flow may run later, elsewhere)."""
    from plancycle.returns import limits
    from plancycle.uploads import receive_upload, validate_upload_id

    upload_id = receive_upload(opened, CYCLE, "staff_in_post_return", "lucy.fernandes",
                               trust_files["staff_in_post"], "staff_in_post.csv")
    size = trust_files["staff_in_post"].stat().st_size
    monkeypatch.setattr(limits, "max_upload_bytes", lambda environ=None: size - 1)
    outcome = validate_upload_id(opened, upload_id)
    assert "file.too_large" not in {c.id for c in outcome.report.checks}
    assert outcome.accepted, outcome.report.to_text()
