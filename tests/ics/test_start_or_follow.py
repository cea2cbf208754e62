"""Scenario: the roll-up starts each organisation's cycle on the work pool, or follows it.

Given an ``annual-cycle`` deployment in the Prefect API (and no worker yet), when the roll-up
starts the organisations' runs, then each becomes a scheduled run of the deployment for that
organisation's cycle; and when it starts them again, it follows those runs rather than
starting new ones. Without the deployment, the cycle runs as a subflow (the scenario in
test_rollup_flow.py).
"""

from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture
def deployment(prefect_api):
    from flows.annual_cycle import annual_cycle

    built = annual_cycle.to_deployment(name="ics-start-test")
    deployment_id = built.apply()
    yield "annual-cycle/ics-start-test"
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs():
            if run.deployment_id == deployment_id:
                client.delete_flow_run(run.id)
        client.delete_deployment(deployment_id)


def test_runs_start_on_the_deployment_then_are_followed(deployment):
    from prefect.client.orchestration import get_client

    from flows.ics_rollup import start_or_follow

    cycles = ["aaa-ics-start-test", "bbb-ics-start-test"]
    started = start_or_follow(cycles, deployment, date(2026, 9, 14))
    assert {c: r["mode"] for c, r in started.items()} == dict.fromkeys(cycles, "deployment")
    with get_client(sync_client=True) as client:
        for cycle_id, run in started.items():
            flow_run = client.read_flow_run(run["flow_run_id"])
            assert flow_run.parameters == {"cycle_id": cycle_id}
            assert flow_run.state.type.value == "SCHEDULED"
    again = start_or_follow(cycles, deployment, date(2026, 9, 15))
    assert {c: (r["mode"], r["flow_run_id"]) for c, r in again.items()} == {
        c: ("following", r["flow_run_id"]) for c, r in started.items()}
