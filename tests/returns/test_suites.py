"""Suites are generated from the contracts: the committed JSON must equal the generated one."""

from __future__ import annotations

import json

import pytest

from plancycle.returns.kinds import KINDS
from plancycle.returns.suites import EXPECTATIONS_DIR, build_suite, main, suite_json


@pytest.mark.parametrize("key", sorted(KINDS))
def test_committed_suite_equals_generated(key):
    committed = (EXPECTATIONS_DIR / f"{key}.json").read_text(encoding="utf-8")
    assert committed == suite_json(KINDS[key]), (
        f"expectations/{key}.json is stale: run `python -m plancycle.returns.suites`")


def test_no_stray_suites_without_a_kind():
    assert {p.stem for p in EXPECTATIONS_DIR.glob("*.json")} == set(KINDS)


@pytest.mark.parametrize("key", sorted(KINDS))
def test_suite_loads_as_a_gx_expectation_suite(key):
    import great_expectations as gx

    data = json.loads((EXPECTATIONS_DIR / f"{key}.json").read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(**data)
    assert suite.name == key
    assert len(suite.expectations) == len(data["expectations"])
    severities = {e.severity.value if hasattr(e.severity, "value") else e.severity
                  for e in suite.expectations}
    assert severities <= {"critical", "warning"}


def test_suite_covers_the_contract_of_staff_in_post():
    suite = build_suite(KINDS["staff_in_post"])
    ids = {e["meta"]["check_id"] for e in suite["expectations"]}
    assert {"columns.required", "not_null.assignment_id", "type.wte", "range.wte",
            "codes.staff_group", "codes.grade", "codes.ethnic_category", "codes.age_band",
            "unique.assignment_id", "type.start_date"} <= ids
    ethnic = next(e for e in suite["expectations"]
                  if e["meta"]["check_id"] == "codes.ethnic_category")
    assert len(ethnic["kwargs"]["value_set"]) == 17  # 16 + Z not stated
    wte = next(e for e in suite["expectations"] if e["meta"]["check_id"] == "range.wte")
    assert (wte["kwargs"]["min_value"], wte["kwargs"]["max_value"]) == (0, 1.5)


def test_generator_cli_writes_every_kind(tmp_path, capsys):
    assert main([str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(KINDS)
    assert "wrote" in capsys.readouterr().out
