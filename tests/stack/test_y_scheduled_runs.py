"""What the schedules start, on the real stack: a run with no parameters finds the open
cycles in the register and starts one run per cycle on the pool.

Given two organisations' cycles open (every other cycle of the session closed), when the
``annual-cycle`` and ``daily-chaser`` deployments run with no parameters — as their
schedules run them — then each starts one flow run per open cycle on the work pool, each of
those completes on a worker, and every new-task message they queued reaches the SMTP server.
"""

from __future__ import annotations

from sqlalchemy import update

from plancycle.register.models import Cycle, CycleState
from tests.stack.conftest import ledger, sent_once_each, unsettled


def _children(stack, flow: str, cycle_ids: set[str]) -> list:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from plancycle.stack.orchestrator import client

    with client(stack.api_url) as api:
        runs = api.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])))
    return [r for r in runs if r.parameters.get("cycle_id") in cycle_ids]


def test_scheduled_runs_start_one_run_per_open_cycle(mail, on_stack):
    first, one = on_stack("scheduled-a")
    _, two = on_stack("scheduled-b")
    with first.register.session() as session:
        session.execute(update(Cycle).where(Cycle.id.not_in([one, two]))
                        .values(state=CycleState.CLOSED))
    for deployment, flow in (("annual-cycle/annual-cycle", "annual-cycle"),
                             ("chaser/daily-chaser", "chaser")):
        mail.run(deployment)  # no parameters: what the schedule runs
        started = _children(mail, flow, {one, two})
        assert sorted(r.parameters["cycle_id"] for r in started) == sorted([one, two])
        for run in mail.wait(*[str(r.id) for r in started]):
            assert run.state.is_completed(), (run.name, run.state_name)
    rows = ledger(first, one) + ledger(first, two)
    assert [r for r in rows if r.status == "sent"] and not unsettled(rows)
    sent_once_each(mail, rows)
