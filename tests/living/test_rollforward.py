"""Rolling a cycle into next year: working-day positions across Easter, people, baseline, CLI.

Easter moves: 3–6 April 2026 (FY 2026/27's April), 26–29 March 2027 (FY 2026/27's March),
none in FY 2027/28, 14–17 April 2028 (FY 2028/29's April). A date moved by the calendar
would land on Good Friday; a date moved by working-day position never does.
"""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from plancycle.calendar import WorkingCalendar
from plancycle.clock import SimulatedClock
from plancycle.config import load_config, parse_config
from plancycle.config.model import Duration, RelativeDate
from plancycle.notify.channels import AppriseChannels
from plancycle.register.models import Notification
from plancycle.rollforward import baseline_row_count, last_year, roll_forward
from plancycle.schedule import resolve_schedule
from tests.engine.conftest import CYCLE, SAMPLE, build_runtime
from tests.foundation.helpers import cli_env, plancycle_exe
from tests.notify.harness import SmtpServer, use_empty_ca_store

HERE = Path(__file__).resolve().parent
EASTER = HERE / "easter_cycle.yaml"
CALENDAR = WorkingCalendar()


def schedule_of(text: str):  # type: ignore[no-untyped-def]
    config = parse_config(text)
    schedule, problems = resolve_schedule(config, CALENDAR)
    assert not problems
    return config, schedule


def assert_in_order_on_working_days(text: str) -> None:
    """Every due date a working day; every task due on or after what it depends on."""
    config, schedule = schedule_of(text)
    for _, task in config.tasks():
        due = schedule.task_due[task.id]
        assert CALENDAR.is_working_day(due), f"{task.id} due {due:%a %d %b %Y}"
        for dep in task.depends_on:
            assert schedule.task_due[dep] <= due, f"{dep} after {task.id}"


def test_fixed_dates_keep_their_working_day_position_as_easter_moves() -> None:
    """Given a cycle with deadlines beside Easter, when it is rolled forward twice, then
    each fixed date is the same working day of its month, never a bank holiday."""
    text = EASTER.read_text()
    dues: dict[str, dict[str, date]] = {}
    for year in ("2027/28", "2028/29"):
        result = roll_forward(text, year)
        assert result.valid, result.problems
        assert_in_order_on_working_days(result.text)
        config, schedule = schedule_of(result.text)
        dues[year] = {**{f"{s.id} starts": schedule.stages[s.id].starts for s in config.stages},
                      **schedule.task_due}
        text = result.text

    assert dues["2027/28"]["returns starts"] == date(2027, 4, 1)         # 1st working day
    assert dues["2027/28"]["staff_in_post_return"] == date(2027, 4, 14)  # 10th (16 Apr 2026)
    assert dues["2027/28"]["refresh_before_easter"] == date(2028, 3, 27)  # 19th of March
    assert dues["2027/28"]["year_end_report"] == date(2028, 3, 31)        # last working day
    # 2028/29: 1 April is a Saturday; Good Friday 14 and Easter Monday 17 April are skipped.
    assert dues["2028/29"]["returns starts"] == date(2028, 4, 3)
    assert dues["2028/29"]["staff_in_post_return"] == date(2028, 4, 18)
    assert CALENDAR.is_bank_holiday(date(2028, 4, 14))  # where "a year later" would have put it
    assert dues["2028/29"]["refresh_before_easter"] == date(2029, 3, 27)
    # The year-end deadline stays the year's last working day: Good Friday is 30 March 2029.
    assert dues["2028/29"]["year_end_report"] == date(2029, 3, 29)


def test_the_sample_rolls_forward_keeping_relative_dates_comments_and_dependency_order() -> None:
    """The sample trust's year rolls into 2027/28: ids and names relabelled, only the fixed
    dates change, relative dates and comments stay, and the calendar keeps its order."""
    old_text = SAMPLE.read_text()
    result = roll_forward(old_text, "2027/28")
    assert result.valid, result.problems
    new = parse_config(result.text)
    old = load_config(SAMPLE)
    assert (new.cycle.id, new.cycle.name, new.cycle.financial_year) == (
        "rxx-2027-28", "Annual workforce plan 2027/28", "2027/28")
    assert new.task("confirm_exec_sponsor").name == \
        "Confirm the executive sponsor for the 2027/28 plan"
    assert [(m.what, m.old, m.new) for m in result.moved] == [
        ("stage kickoff starts", date(2026, 4, 1), date(2027, 4, 1)),
        ("stage in_year_refresh starts", date(2027, 1, 11), date(2028, 1, 11)),
    ]
    assert result.moved[1].position == "the 6th working day of January"
    for (_, before), (_, after) in zip(old.tasks(), new.tasks(), strict=True):
        assert before.id == after.id and before.depends_on == after.depends_on
        if isinstance(before.due, Duration):
            assert after.due == before.due
    for before, after in zip(old.stages, new.stages, strict=True):
        if isinstance(before.starts, RelativeDate):
            assert after.starts == before.starts
    assert "# Annual workforce planning cycle for an NHS trust" in result.text
    assert "  # Executive team and board\n" in result.text
    assert_in_order_on_working_days(result.text)
    _, old_schedule = schedule_of(old_text)
    _, new_schedule = schedule_of(result.text)
    assert [s.stage_id for s in new_schedule.ordered_stages()] == \
        [s.stage_id for s in old_schedule.ordered_stages()]
    diff = result.diff(old_text)
    assert "-  id: rxx-2026-27\n" in diff and "+  id: rxx-2027-28\n" in diff
    assert "+    starts: 2027-04-01\n" in diff
    assert not [line for line in diff.splitlines()
                if line.startswith(("+", "-")) and "working_days" in line
                and "confirm_exec_sponsor" not in line]


def test_a_person_without_a_channel_is_reported_and_the_new_file_says_what_to_fix() -> None:
    text = SAMPLE.read_text().replace(
        "{id: emma.lloyd, name: Emma Lloyd, email: emma.lloyd@riverside.nhs.uk, ",
        "{id: emma.lloyd, name: Emma Lloyd, ")
    result = roll_forward(text, "2027/28")
    assert [(f.person, f.reason.split(":")[0]) for f in result.people] == [
        ("emma.lloyd", "no email or chat handle")]
    assert not result.valid
    assert any("emma.lloyd" in p.message and "no channel" in p.message for p in result.problems)
    assert any("no register" in note for note in result.notes)


class Bounce(SmtpServer):
    """The trust's mail server: one mailbox no longer exists (the person has left)."""

    gone = "rachel.moore@riverside.nhs.uk"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        if address == self.gone:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def bounce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    use_empty_ca_store(monkeypatch, tmp_path / "empty-ca")
    server = Bounce()
    server.start()
    yield server
    server.stop()


def test_last_years_register_gives_the_baseline_and_who_bounced(
        home: Path, clock: SimulatedClock, bounce: Bounce, tmp_path: Path) -> None:
    """Given last year's register (a bounced mailbox, an accepted return), the roll-forward
    flags the person and records the accepted return as next year's comparison baseline."""
    from plancycle.synthetic import generate_trust, write_trust
    from plancycle.uploads import submit_return

    rt = build_runtime(home, clock, AppriseChannels(email_url=bounce.apprise_url))
    try:
        rt.advance(CYCLE)
        report = rt.deliver(CYCLE)
        assert report.failed == 1 and "rachel.moore" in report.errors[0]
        clock.set(date(2026, 4, 16))
        rt.advance(CYCLE)
        files = write_trust(generate_trust(size=300, seed=1), tmp_path / "returns")
        outcome = submit_return(rt, CYCLE, "staff_in_post_return", "lucy.fernandes",
                                files["staff_in_post"].read_bytes(), "staff_in_post.csv")
        assert outcome.accepted
        with rt.register.session() as session:
            last = last_year(session, CYCLE)
            failed = session.query(Notification).filter_by(status="failed").count()
        assert last is not None and failed >= 1
    finally:
        rt.register.dispose()

    result = roll_forward(SAMPLE.read_text(), "2027/28", last)
    assert result.valid, result.problems
    flagged = {f.person: f.reason for f in result.people}
    assert list(flagged) == ["rachel.moore"]
    assert re.match(r"\d+ messages? to them failed last year \(last error: the SMTP server "
                    r"refused rachel\.moore@riverside\.nhs\.uk: 550 .*\)", flagged["rachel.moore"])
    baseline = parse_config(result.text).baseline
    assert baseline is not None and baseline.cycle == CYCLE
    [sip] = baseline.returns
    assert (sip.kind, sip.sha256, sip.rows) == (
        "staff_in_post", outcome.report.sha256, outcome.report.row_count)
    assert Path(sip.file).read_bytes() == files["staff_in_post"].read_bytes()

    # Next year's cycle, started elsewhere, still knows last year's row count.
    next_file = tmp_path / "next.yaml"
    next_file.write_text(result.text)
    elsewhere = build_runtime(tmp_path / "elsewhere", clock, AppriseChannels(), next_file)
    try:
        with elsewhere.register.session() as session:
            assert baseline_row_count(session, "rxx-2027-28", "staff_in_post") == sip.rows
            assert baseline_row_count(session, "rxx-2027-28", "vacancies") is None
    finally:
        elsewhere.register.dispose()


def test_the_cli_writes_next_years_file_that_config_validate_accepts(tmp_path: Path) -> None:
    env = cli_env(PLANCYCLE_HOME=str(tmp_path / "home"))
    source = tmp_path / "trust_annual_cycle_2026_27.yaml"
    source.write_text(SAMPLE.read_text())
    run = subprocess.run([plancycle_exe(), "cycle", "roll-forward", str(source), "--to",
                          "2027/28"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    target = tmp_path / "trust_annual_cycle_2027_28.yaml"
    assert f"rxx-2026-27 (2026/27) → rxx-2027-28 (2027/28) written to {target}" in run.stdout
    assert "+  id: rxx-2027-28" in run.stdout                       # the diff is printed
    assert "the 6th working day of January" in run.stdout
    assert "no register with last year's cycle" in run.stdout
    valid = subprocess.run([plancycle_exe(), "config", "validate", str(target)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert valid.returncode == 0, valid.stdout + valid.stderr

    again = subprocess.run([plancycle_exe(), "cycle", "roll-forward", str(source), "--to",
                            "2027/28"], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 2 and "already exists; pass --force" in again.stderr
    backwards = subprocess.run([plancycle_exe(), "cycle", "roll-forward", str(target), "--to",
                                "2026/27"], capture_output=True, text=True, env=env,
                               timeout=120)
    assert backwards.returncode == 2 and "Traceback" not in backwards.stderr
    assert "is not after the file's financial year 2027/28" in backwards.stderr
