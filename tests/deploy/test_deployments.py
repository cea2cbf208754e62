"""Every deployment in deployments/ builds, and every schedule parses in Europe/London."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "deployments" / "prefect.yaml"


def _entries() -> list[dict]:
    return yaml.safe_load(PREFECT_YAML.read_text())["deployments"]


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["name"])
def test_prefect_yaml_entrypoint_is_a_flow_and_schedules_parse(entry):
    path, _, name = entry["entrypoint"].partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    assert isinstance(getattr(module, name), Flow)
    for schedule in entry.get("schedules", []):
        cron = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
        assert cron.timezone == "Europe/London"
    for trigger in entry.get("triggers", []):
        assert trigger["expect"] and trigger["parameters"]


def test_serve_builds_the_same_deployments_as_prefect_yaml():
    from deployments.serve import deployments

    built = {d.name: d for d in deployments()}
    assert set(built) == {e["name"] for e in _entries()}
    chaser = built["daily-chaser"]
    (schedule,) = chaser.schedules
    assert schedule.schedule.cron == "30 7 * * 1-5"
    assert schedule.schedule.timezone == "Europe/London"
    assert built["validate-return"].triggers


def test_no_deployment_names_a_cycle():
    """A planner who starts a new cycle edits nothing: runs find the open cycles."""
    from deployments.serve import deployments

    for entry in _entries():
        assert not (entry.get("parameters") or {}), entry["name"]
    for built in deployments():
        assert not built.parameters, built.name
