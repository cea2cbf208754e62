"""The ``plancycle`` command line as a planner uses it: real processes, real registers.

Mistakes a user can fix (unknown cycle, a date written the wrong way) exit 2 with a message
and never a traceback. A planner's session of commands runs once, in one batch process (see
cli_batch.py: each command starting costs a second of imports); starting a cycle twice also
runs as two separate ``plancycle`` processes, which must print exactly what the batch did.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from plancycle.cli import app

from .helpers import REPO, cli_env, run_cli, run_cli_many

SAMPLE_ARG = "cycle_config/trust_annual_cycle.yaml"
SMALL_ARG = "tests/fixtures/configs/valid_small.yaml"


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def user_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert a clean user error (exit 2, no traceback) and return what was printed."""
    text = output(result)
    assert result.returncode == 2, text
    assert "Traceback" not in text
    return " ".join(text.split())   # rich may wrap; compare on single spaces


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A planner's session, run once: (name, args) in order, in three separate homes."""
    def home(name: str) -> dict[str, str]:
        root = tmp_path_factory.mktemp(name)
        return cli_env(PLANCYCLE_HOME=str(root / "home"),
                       PLANCYCLE_DATABASE_URL=f"sqlite:///{root / 'register.db'}")

    busy, empty, refused = home("busy"), home("empty"), home("refused")
    session = {
        # the sample cycle started twice, then a second cycle in the same register
        "first start": (["cycle", "start", SAMPLE_ARG], busy),
        "second start": (["cycle", "start", SAMPLE_ARG], busy),
        "other start": (["cycle", "start", SMALL_ARG], busy),
        "status": (["cycle", "status", "--cycle", "rxx-2026-27", "--as-of", "2026-04-20"], busy),
        "calendar": (["cycle", "calendar", "--cycle", "rxx-2026-27"], busy),
        "unknown cycle": (["cycle", "status", "--cycle", "rxx-2025-26"], busy),
        "which cycle": (["cycle", "status"], busy),
        # nothing started yet
        "empty status": (["cycle", "status"], empty),
        "bad date 2026-13-01": (["cycle", "status", "--as-of", "2026-13-01"], empty),
        "bad date 20/04/2026": (["cycle", "status", "--as-of", "20/04/2026"], empty),
        "bad date tomorrow": (["cycle", "status", "--as-of", "tomorrow"], empty),
        "bad date [/x]": (["cycle", "status", "--as-of", "[/x]"], empty),
        "validate sample": (["config", "validate", SAMPLE_ARG], empty),
        "validate missing": (["config", "validate", "cycle_config/no_such_cycle.yaml"], empty),
        "start broken": (["cycle", "start", "tests/fixtures/configs/broken_unknown_role.yaml"],
                         refused),
    }
    results = run_cli_many(list(session.values()))
    ran = dict(zip(session, results, strict=True))
    ran["refused register exists"] = Path(refused["PLANCYCLE_DATABASE_URL"][10:]).exists()
    return ran


# --- starting a cycle -------------------------------------------------------------------------

def test_starting_a_cycle_prints_its_calendar(ran) -> None:
    result = ran["first start"]
    assert result.returncode == 0, output(result)
    assert "Cycle rxx-2026-27 started." in result.stdout
    assert "Calendar of rxx-2026-27" in result.stdout
    assert re.search(r"Kick-off and executive sponsorship\s+│ Wed 01 Apr 2026", result.stdout)
    assert re.search(r"In-year refresh and\s.*│ Mon 11 Jan 2027", result.stdout)


def test_starting_the_same_cycle_again_changes_nothing(ran) -> None:
    result = ran["second start"]
    assert result.returncode == 0, output(result)
    assert "Cycle rxx-2026-27 already started; nothing changed." in result.stdout
    assert "Calendar of rxx-2026-27" in result.stdout
    assert ran["other start"].returncode == 0
    assert "Cycle rzz-2026-27 started." in ran["other start"].stdout


def test_starting_twice_in_separate_processes_prints_the_same(ran) -> None:
    """The real console script, one process per command, as in a terminal."""
    first = run_cli("cycle", "start", SAMPLE_ARG)
    second = run_cli("cycle", "start", SAMPLE_ARG)
    assert "Cycle rxx-2026-27 started." in first.stdout
    assert "Cycle rxx-2026-27 already started; nothing changed." in second.stdout
    for alone, batched in [(first, ran["first start"]), (second, ran["second start"])]:
        assert (alone.returncode, alone.stdout, alone.stderr) == (
            batched.returncode, batched.stdout, batched.stderr)


def test_starting_a_broken_file_starts_nothing(ran) -> None:
    text = user_error(ran["start broken"])
    assert "broken_unknown_role.yaml:86: stages[1].tasks[1].role" in text
    assert ran["refused register exists"] is False   # refused before opening the register


# --- status and calendar ----------------------------------------------------------------------

def test_status_as_of_a_date_shows_every_task_and_how_late_it_is(ran) -> None:
    result = ran["status"]
    assert result.returncode == 0, output(result)
    text = result.stdout
    assert "rxx-2026-27 as of Mon 20 Apr 2026" in text
    assert re.search(r"stage\s+┃ task\s+┃ role\s+┃ assignee\s+┃ due\s+┃ state\s+┃ days", text)
    assert len(re.findall(r"│ pending\s+│", text)) == 49
    # Due Wed 8 April: Easter took two days, so it is 8 working days late on 20 April.
    assert re.search(r"Confirm the executive sponsor.*│ 08 Apr 2026 │ pending\s+│ 8\s+│", text)
    assert re.search(r"Lessons learned and next year's timetable.*│ pending\s+│\s+│", text)


def test_calendar_lists_every_stage(ran) -> None:
    result = ran["calendar"]
    assert result.returncode == 0, output(result)
    assert len(re.findall(r"│ pending │", result.stdout)) == 14


def test_status_of_an_unknown_cycle_exits_2_naming_the_known_ones(ran) -> None:
    text = user_error(ran["unknown cycle"])
    assert "no cycle 'rxx-2025-26' in the register (cycles: rxx-2026-27, rzz-2026-27)" in text
    assert "plancycle cycle start FILE" in text


def test_status_without_cycle_when_there_are_several_asks_which(ran) -> None:
    text = user_error(ran["which cycle"])
    assert "several cycles in the register (rxx-2026-27, rzz-2026-27); choose one with --cycle" \
        in text


def test_status_of_an_empty_register_says_how_to_start(ran) -> None:
    text = user_error(ran["empty status"])
    assert "the register has no cycles yet" in text
    assert "plancycle cycle start cycle_config/trust_annual_cycle.yaml" in text


@pytest.mark.parametrize("as_of", ["2026-13-01", "20/04/2026", "tomorrow"])
def test_status_with_a_bad_date_exits_2(ran, as_of: str) -> None:
    text = user_error(ran[f"bad date {as_of}"])
    assert f"--as-of '{as_of}' is not a date; write it as YYYY-MM-DD" in text


def test_a_bad_date_that_looks_like_markup_is_still_a_clean_error(ran) -> None:
    text = user_error(ran["bad date [/x]"])
    assert "--as-of '[/x]' is not a date" in text


# --- config ---------------------------------------------------------------------------------

def test_validating_the_sample_summarises_it(ran) -> None:
    result = ran["validate sample"]
    assert result.returncode == 0, output(result)
    assert "14 stages, 49 tasks, 34 people, 17 roles" in result.stdout


def test_validating_a_missing_file_names_it(ran) -> None:
    text = user_error(ran["validate missing"])
    assert "cycle_config/no_such_cycle.yaml: (top level): file not found" in text


# --- help -----------------------------------------------------------------------------------

def command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the app (Typer vendors click, so duck-type the groups)."""
    paths = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths += command_paths(sub, (*prefix, name))
    return paths


COMMANDS = command_paths(typer.main.get_command(app))


def test_the_cli_has_the_foundation_commands() -> None:
    assert {("config", "validate"), ("config", "schema"), ("cycle", "start"),
            ("cycle", "status"), ("cycle", "calendar")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "plancycle")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "Traceback" not in result.output


def test_help_through_the_installed_entry_point() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, output(result)
    assert "Run an NHS organisation's annual workforce planning cycle." in result.stdout
    for noun in ("config", "cycle"):
        assert re.search(rf"│ {noun}\s", result.stdout)


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "plancycle.cli", "--help"], cwd=REPO,
                            env=cli_env(), capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
