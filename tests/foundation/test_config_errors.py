"""A planner's mistakes in a cycle file are reported where they are, with a fix.

Each ``tests/fixtures/configs/broken_*.yaml`` is ``valid_small.yaml`` with one mistake, and
the line the error must point at is marked ``# MISTAKE``. ``plancycle config validate`` runs
as a real subprocess: it must exit 2 without a traceback and name the file, the line, the
YAML path and a fix, and every mistake must read differently.
"""

from __future__ import annotations

import difflib
import re
import subprocess
from pathlib import Path

import pytest

from plancycle.config import ConfigError, load_config, parse_config
from plancycle.config.problems import format_path

from .helpers import CONFIGS, VALID_SMALL, cli_env, mistake_lines, run_cli, run_cli_many

#: fixture name -> (YAML path, what the message says, what the fix says)
CASES: dict[str, tuple[str, str, str]] = {
    "broken_yaml_tab": (
        "stages[0].tasks[0]", "not valid YAML: found character '\\t'", "spaces, not tabs"),
    "broken_yaml_indent": (
        "roles[1]", "not valid YAML: mapping values are not allowed here", "check indentation"),
    "broken_unknown_role": (
        "stages[1].tasks[1].role", "task 'pay_budget_return' is assigned to unknown role "
        "'finance_manager'", "use one of the roles under 'roles:' (workforce_planner,"),
    "broken_person_no_channel": (
        "people[2]", "person 'cat.finance' has no channel, so cannot be chased",
        "give them an 'email:' address or a 'chat:' handle"),
    "broken_dependency_cycle": (
        "stages[0].tasks[1].depends_on",
        "dependency cycle: agree_timetable → brief_leads → agree_timetable",
        "remove one of these depends_on entries"),
    "broken_due_before_stage": (
        "stages[1].tasks[1].due", "task 'pay_budget_return' is due 09 Apr 2026, before its "
        "stage 'data' starts (13 Apr 2026)", "make the due date on or after the stage start"),
    "broken_duplicate_task_id": (
        "stages[1].tasks[1].id", "duplicate id 'staff_in_post_return' among tasks",
        "rename one of the 2 entries called 'staff_in_post_return'"),
    "broken_outside_financial_year": (
        "stages[2].tasks[1].due", "task 'exec_gate' is due 15 Apr 2027, outside financial year "
        "2026/27 (01 Apr 2026 – 31 Mar 2027)", "bring the due date into the financial year"),
    "broken_unknown_holder": (
        "roles[4].holders[2]", "role 'service_lead' is held by unknown person 'gus.nobody'",
        "use a person id from 'people:' (ann.planner, bob.hr,"),
    "broken_unknown_dependency": (
        "stages[2].tasks[0].depends_on[0]",
        "task 'draft_plan' depends on unknown task 'staff_in_post_retrun'",
        "use the id of a task defined in any stage"),
    "broken_gate_without_section": (
        "stages[2].tasks[1]", "gate 'exec_gate' has no 'gate:' section",
        "add 'gate: {approvers: [chief_executive, ...], quorum: all}'"),
    "broken_gate_without_approvers": (
        "stages[2].tasks[1].gate.approvers", "required key 'approvers' is missing",
        "add 'approvers:' here"),
    "broken_gate_unknown_approver": (
        "stages[2].tasks[1].gate.approvers[1]", "gate approver role 'finance_director' does "
        "not exist", "use one of the roles under 'roles:'"),
    "broken_data_request_without_return": (
        "stages[1].tasks[1]", "data request 'pay_budget_return' does not say which return it "
        "expects", "add 'return:' with one of: staff_in_post, vacancies,"),
    "broken_unknown_key_typo": (
        "people[1].line_manger", "unknown key 'line_manger'", "did you mean 'line_manager'?"),
    "broken_capitalised_key": (
        "people[2].Chat", "unknown key 'Chat'", "did you mean 'chat'?"),
    "broken_bad_email": (
        "people[1].email", "'bob.hughes at testshire.nhs.uk' is not an email address",
        "plancycle config schema"),
    "broken_quorum_too_large": (
        "stages[2].tasks[1].gate.quorum", "quorum 3 is more than the 2 approver roles",
        "use a number from 1 to 2, 'all' or 'any'"),
    "broken_unknown_after_stage": (
        "stages[2].starts.after", "stage 'approval' starts after unknown stage 'dta'",
        "use one of the stage ids: kickoff, data, approval"),
    "broken_due_on_bank_holiday": (
        "stages[0].tasks[1].due", "task 'brief_leads' is due Mon 04 May 2026, not a working day",
        "use 2026-05-05, the next working day"),
    "broken_impossible_date": (
        "stages[1].tasks[1].due", "'2026-04-31' is not a date in the calendar",
        "write a date (2026-05-15) or working days after the stage starts"),
}

#: files with several mistakes -> (YAML path, message) of each, in file order
SEVERAL: dict[str, list[tuple[str, str]]] = {
    "three_cross_reference_mistakes": [
        ("stages[1].tasks[1].role", "assigned to unknown role 'finance_manager'"),
        ("stages[2].tasks[0].depends_on[0]", "depends on unknown task 'staff_in_post_retrun'"),
        ("stages[2].tasks[1].gate.quorum", "quorum 3 is more than the 2 approver roles"),
    ],
    "three_schema_mistakes": [
        ("people[1].line_manger", "unknown key 'line_manger'"),
        ("people[2].email", "'cat.finch' is not an email address"),
        ("stages[0].tasks[1].kind", "'acknowledgment' is not a known kind"),
    ],
}

XFAIL: dict[str, pytest.MarkDecorator] = {}


def fixture(name: str) -> Path:
    return CONFIGS / f"{name}.yaml"


def rel(name: str) -> str:
    """The path as the planner types it, from the repository root."""
    return f"tests/fixtures/configs/{name}.yaml"


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, subprocess.CompletedProcess[str]]:
    """``plancycle config validate FILE`` on every fixture (one batch, see cli_batch.py)."""
    names = ["valid_small", *CASES, *SEVERAL]
    env = cli_env(PLANCYCLE_HOME=str(tmp_path_factory.mktemp("home")))
    results = run_cli_many([(["config", "validate", rel(n)], env) for n in names],
                           independent=True)
    return dict(zip(names, results, strict=True))


@pytest.mark.parametrize("name", ["broken_yaml_tab", "three_cross_reference_mistakes"])
def test_a_separate_plancycle_process_prints_exactly_the_same(validated, name: str) -> None:
    alone = run_cli("config", "validate", rel(name))
    batched = validated[name]
    assert (alone.returncode, alone.stdout, alone.stderr) == (
        batched.returncode, batched.stdout, batched.stderr)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def reported(result: subprocess.CompletedProcess[str], name: str) -> dict[int, list[tuple]]:
    """Problems in the CLI output: line -> [(file, YAML path, message, fix)]."""
    found: dict[int, list[tuple]] = {}
    pattern = re.compile(
        r"^(?P<file>\S+):(?P<line>\d+): (?P<path>\S+): (?P<message>.+)\n    fix: (?P<fix>.+)$",
        re.MULTILINE)
    for m in pattern.finditer(output(result)):
        found.setdefault(int(m["line"]), []).append((m["file"], m["path"], m["message"], m["fix"]))
    return found


def test_the_small_valid_cycle_validates(validated) -> None:
    result = validated["valid_small"]
    assert result.returncode == 0, output(result)
    assert "cycle 'rzz-2026-27'" in result.stdout
    assert "3 stages, 6 tasks, 6 people, 5 roles" in result.stdout


def test_every_broken_fixture_has_an_expected_report() -> None:
    on_disk = {p.stem for p in CONFIGS.glob("*.yaml")} - {"valid_small"}
    assert on_disk == set(CASES) | set(SEVERAL)
    assert len(CASES) >= 12


@pytest.mark.parametrize("name", [*CASES, *SEVERAL])
def test_each_broken_fixture_is_the_valid_cycle_with_a_small_edit(name: str) -> None:
    valid = VALID_SMALL.read_text(encoding="utf-8").splitlines()
    broken = fixture(name).read_text(encoding="utf-8").splitlines()
    changed = [line for line in difflib.unified_diff(valid, broken, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert 1 <= len(changed) <= 8, changed
    assert mistake_lines(fixture(name)), f"{name}: mark the offending line with # MISTAKE"


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=XFAIL[n]) if n in XFAIL else n for n in CASES])
def test_a_mistake_is_reported_with_file_line_path_and_fix(validated, name: str) -> None:
    path, message, fix = CASES[name]
    result = validated[name]
    text = output(result)
    assert result.returncode == 2, text
    assert "Traceback" not in text
    assert re.search(rf"^{re.escape(rel(name))}: \d+ problems? in the cycle configuration$",
                     text, re.MULTILINE), text
    (line,) = mistake_lines(fixture(name))
    problems = reported(result, name)
    assert line in problems, f"no problem reported on line {line}:\n{text}"
    matches = [p for p in problems[line] if p[1] == path]
    assert matches, f"expected YAML path {path} on line {line}:\n{text}"
    file, _, said, how = matches[0]
    assert file == rel(name)
    assert message in said
    assert fix in how


def test_every_mistake_reads_differently(validated) -> None:
    messages = {}
    for name, (path, _, _) in CASES.items():
        text = output(validated[name])
        lines = [line for line in text.splitlines() if f" {path}: " in line]
        assert lines, f"{name}: path {path} not in\n{text}"
        messages[name] = lines[0].split(f" {path}: ", 1)[1]
    assert len(set(messages.values())) == len(messages) >= 12, messages


@pytest.mark.parametrize("name", list(SEVERAL))
def test_three_mistakes_in_one_file_are_all_reported_at_once(validated, name: str) -> None:
    result = validated[name]
    text = output(result)
    assert result.returncode == 2 and "Traceback" not in text
    assert f"{rel(name)}: 3 problems in the cycle configuration" in text
    problems = reported(result, name)
    marked = mistake_lines(fixture(name))
    assert len(marked) == 3
    for line, (path, message) in zip(marked, SEVERAL[name], strict=True):
        assert any(p[1] == path and message in p[2] for p in problems.get(line, [])), (
            f"line {line}: expected {path}: {message}\n{text}")


# --- the same through the Python API ---------------------------------------------------------

@pytest.mark.parametrize("name", [*CASES, *SEVERAL])
def test_load_config_raises_config_error_whose_problems_carry_lines(name: str) -> None:
    file = fixture(name)
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    error = caught.value
    assert error.file == str(file)
    assert error.problems
    n_lines = len(file.read_text(encoding="utf-8").splitlines())
    for problem in error.problems:
        assert problem.file == str(file)
        assert isinstance(problem.line, int) and 1 <= problem.line <= n_lines, problem
        assert problem.fix
    expected = [CASES[name][:2]] if name in CASES else SEVERAL[name]
    for line, (path, message) in zip(mistake_lines(file), expected, strict=True):
        assert any(p.line == line and format_path(p.path) == path and message in p.message
                   for p in error.problems), (line, path, [str(p) for p in error.problems])
    assert str(file) in str(error)


def test_a_missing_file_is_reported_against_its_name(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_cycle.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    (problem,) = caught.value.problems
    assert problem.file == str(missing)
    assert str(problem).startswith(f"{missing}: ")
    assert "file not found" in problem.message and "cycle_config/" in problem.fix


def test_a_file_that_is_not_utf8_is_reported_against_its_name(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("cycle:\n  name: Café plan\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(latin1)
    (problem,) = caught.value.problems
    assert problem.file == str(latin1)
    assert "not UTF-8" in problem.message and "UTF-8" in problem.fix


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a list\n- of things\n"])
def test_a_file_without_sections_says_where_to_start(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "empty.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 1 and problem.file == "empty.yaml"
    assert "trust_annual_cycle.yaml" in problem.fix


def test_an_impossible_date_anywhere_is_a_problem_not_a_crash() -> None:
    text = VALID_SMALL.read_text(encoding="utf-8").replace(
        "starts: 2026-04-01", "starts: 2026-02-30")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "feb.yaml")
    (problem,) = caught.value.problems
    assert format_path(problem.path) == "stages[0].starts"
    assert problem.line == text.splitlines().index("    starts: 2026-02-30") + 1
    assert "'2026-02-30' is not a date in the calendar" in problem.message


@pytest.mark.parametrize("text, line, path", [
    ("\tversion: 1\n", 1, "(top level)"),
    ("version: 1\ncycle:\n  id: x\n   name: y\n", 4, "cycle"),
    ("version: 1\nstages:\n  - id: a\n    tasks:\n      - {id: t, due: 2026-04-31}\n"
     "      - id: u\n\t name: v\n", 7, "stages[0].tasks[1]"),
])
def test_a_yaml_syntax_error_names_the_section_it_is_in(text: str, line: int, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cycle.yaml")
    (problem,) = caught.value.problems
    assert problem.message.startswith("not valid YAML")
    assert (problem.line, format_path(problem.path)) == (line, path)
