"""Looking up Prefect flow runs by flow name, state and parameters (follow, resume)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def flow_runs(flow_name: str, states: Iterable[str], **parameters: Any) -> list[Any]:
    """Runs of ``flow_name`` in one of ``states`` whose parameters include ``parameters``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType(s) for s in states]))))
    return [r for r in runs
            if all(r.parameters.get(k) == v for k, v in parameters.items())]


#: Flow-run states of a run that is still going to do (or doing) its work.
IN_FLIGHT = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED")


def current_deployment() -> str | None:
    """``flow-name/deployment-name`` of the deployment running this flow, or None (local)."""
    from prefect.runtime import deployment, flow_run

    if not deployment.id:
        return None
    return f"{flow_run.flow_name}/{deployment.name}"


def start_runs(deployment: str, parameter: str, values: Iterable[str],
               **parameters: Any) -> dict[str, dict[str, str]]:
    """One flow run of ``deployment`` per value of ``parameter`` (e.g. one per cycle).

    The runs go to the deployment's work pool, so each lands on whichever worker is free;
    nothing waits for them (``timeout=0``). A run already scheduled, pending or running for
    a value is followed, not duplicated, and each start carries an idempotency key from the
    run that starts it, so a retried dispatcher starts nothing twice.
    """
    from prefect.deployments import run_deployment
    from prefect.runtime import flow_run

    flow_name = deployment.partition("/")[0]
    in_flight = {str(r.parameters.get(parameter)): str(r.id)
                 for r in flow_runs(flow_name, IN_FLIGHT) if r.parameters.get(parameter)}
    started: dict[str, dict[str, str]] = {}
    for value in values:
        if value in in_flight:
            started[value] = {"mode": "following", "flow_run_id": in_flight[value]}
            continue
        run = run_deployment(deployment, parameters={parameter: value, **parameters},
                             timeout=0, idempotency_key=f"{flow_run.id}:{parameter}={value}")
        started[value] = {"mode": "deployment", "flow_run_id": str(run.id)}
    return started
