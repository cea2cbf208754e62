"""The sample trust cycle (cycle_config/trust_annual_cycle.yaml) is a complete, valid year.

It is what a new organisation copies, so it must load cleanly, ask for every data return,
pass through both approval gates and keep every date inside FY 2026/27 on a working day.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import jsonschema
import pytest
import yaml

from plancycle.calendar import WorkingCalendar, financial_year_bounds
from plancycle.config import CycleConfig, TaskKind, config_schema, load_config
from plancycle.schedule import resolve_schedule

from .helpers import SAMPLE, run_cli

RETURN_KINDS_ASKED_FOR = {
    "staff_in_post", "vacancies", "leavers", "sickness_absence", "bank_agency", "pay_budget",
    "activity_plan", "service_changes", "education_training",
}


@pytest.fixture(scope="module")
def sample() -> CycleConfig:
    return load_config(SAMPLE)


def as_json(data: Any) -> Any:
    """YAML dates become ISO strings, as an editor validating against the schema sees them."""
    return json.loads(json.dumps(data, default=lambda value: value.isoformat()))


def test_the_sample_is_a_full_year_of_work(sample: CycleConfig) -> None:
    assert sample.cycle.financial_year == "2026/27"
    assert len(sample.stages) >= 12
    assert len(sample.tasks()) >= 40
    assert len(sample.people) >= 30
    assert all(person.email or person.chat for person in sample.people)


def test_the_sample_requests_every_data_return(sample: CycleConfig) -> None:
    requested = {task.return_kind for _, task in sample.tasks()
                 if task.kind == TaskKind.DATA_REQUEST}
    missing = RETURN_KINDS_ASKED_FOR - requested
    assert not missing, missing


def test_the_sample_has_an_executive_gate_then_a_board_gate(sample: CycleConfig) -> None:
    gates = [task for _, task in sample.tasks() if task.kind == TaskKind.GATE]
    assert [gate.id for gate in gates] == ["executive_gate", "board_gate"]
    roles = {role.id for role in sample.roles}
    for gate in gates:
        assert gate.gate is not None and gate.gate.approvers
        assert set(gate.gate.approvers) <= roles
    assert "board" in sample.task("board_gate").gate.approvers
    schedule, problems = resolve_schedule(sample)
    assert problems == []
    assert schedule.task_due["executive_gate"] < schedule.task_due["board_gate"]


def test_every_sample_date_is_a_working_day_in_fy_2026_27(sample: CycleConfig) -> None:
    calendar = WorkingCalendar()
    start, end = financial_year_bounds("2026/27")
    schedule, problems = resolve_schedule(sample, calendar)
    assert problems == []
    assert set(schedule.stages) == {stage.id for stage in sample.stages}
    assert set(schedule.task_due) == {task.id for _, task in sample.tasks()}
    days: dict[str, date] = {}
    for stage in schedule.stages.values():
        days[f"{stage.stage_id} starts"] = stage.starts
        days[f"{stage.stage_id} ends"] = stage.ends
        assert stage.starts <= stage.ends
    days.update({f"{task} due": due for task, due in schedule.task_due.items()})
    for what, day in days.items():
        assert start <= day <= end, f"{what} {day} is outside FY 2026/27"
        assert calendar.is_working_day(day), f"{what} {day:%a %d %b %Y} is not a working day"


def test_the_sample_task_order_respects_dependencies(sample: CycleConfig) -> None:
    schedule, _ = resolve_schedule(sample)
    for _, task in sample.tasks():
        for dep in task.depends_on:
            assert schedule.task_due[dep] <= schedule.task_due[task.id], (dep, task.id)


def test_config_schema_command_prints_a_json_schema_the_sample_satisfies() -> None:
    result = run_cli("config", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == json.loads(json.dumps(config_schema()))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

    document = as_json(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")))
    assert list(validator.iter_errors(document)) == []

    # ...and an editor using the schema flags the same typo the loader does.
    document["stages"][0]["tasks"][0]["assigne"] = "helen.shaw"
    errors = [error.message for error in validator.iter_errors(document)]
    assert any("'assigne' was unexpected" in message for message in errors), errors
