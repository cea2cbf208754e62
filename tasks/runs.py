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
