"""A fixed stage start on a day nobody works is warned about (issue 18.9).

Given the sample cycle with its kick-off moved to Easter Monday (6 Apr 2026), when the planner
validates or starts it, then the file is accepted with a warning that names the line, the
holiday and the next working day as the fix.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from plancycle.calendar import WorkingCalendar
from plancycle.cli import app
from plancycle.config import load_config

SAMPLE = Path(__file__).resolve().parents[2] / "cycle_config" / "trust_annual_cycle.yaml"


def _sample_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SAMPLE.read_text()
    assert old in text
    path = tmp_path / "cycle.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_stage_starting_on_a_bank_holiday_is_warned_with_the_next_working_day(
        tmp_path: Path) -> None:
    path = _sample_with(tmp_path, "starts: 2026-04-01", "starts: 2026-04-06")
    config = load_config(path)
    [warning] = config.warnings
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if "starts: 2026-04-06" in text)
    assert (warning.file, warning.line, warning.severity) == (str(path), line, "warning")
    assert warning.path == ("stages", 0, "starts")
    assert "Mon 06 Apr 2026, a bank holiday (Easter Monday)" in warning.message
    assert "Tue 07 Apr 2026 (2026-04-07)" in warning.fix


def test_the_sample_cycle_has_no_warnings() -> None:
    assert load_config(SAMPLE).warnings == []


def test_config_validate_shows_the_warning_and_accepts_the_file(tmp_path: Path) -> None:
    path = _sample_with(tmp_path, "starts: 2026-04-01", "starts: 2026-04-06")
    result = CliRunner().invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: stages[0].starts" in result.output
    assert "Easter Monday" in result.output and "2026-04-07" in result.output
    assert "✓" in result.output


def test_closure_names_the_day() -> None:
    calendar = WorkingCalendar({date(2026, 6, 1)})
    assert calendar.closure(date(2026, 12, 25)) == "a bank holiday (Christmas Day)"
    assert calendar.closure(date(2026, 5, 3)) == "Sunday"
    assert calendar.closure(date(2026, 6, 1)) == "a closure day"
    assert calendar.closure(date(2026, 6, 2)) is None
