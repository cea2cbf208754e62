"""The ICS roll-up flow: follow every organisation's cycle, roll their plans up into the
system plan, take it through the ICS People Board and submit it to the region.

How the organisations' cycles run — the choice made here:

- **Each organisation's cycle is its own Prefect flow run.** At the start of a roll-up run,
  for every organisation cycle that has no annual-cycle run in flight, the flow starts one:
  with ``run_deployment`` when the ``annual-cycle`` deployment exists (``deployment=``; the
  run goes to the work pool, so with several workers each organisation runs on whichever
  worker is free, and the roll-up does not wait for it: ``timeout=0``), otherwise as a
  subflow run of :func:`flows.annual_cycle.annual_cycle` (one reconcile pass, in this
  process). A run already scheduled, pending or running for that cycle is followed, not
  duplicated; ``run_deployment`` also carries an idempotency key per organisation and day.
- **The roll-up follows the organisations through the register**, not through Prefect run
  states: the register is the truth (an organisation may submit from the CLI or the portal,
  or be walked by its own scheduled deployment). Each pass records the organisations that
  have submitted — completing their task in the system cycle — and reconciles the system
  cycle. An organisation still to submit keeps an ordinary open assignment in the system
  cycle, so the daily chaser reminds its workforce planner and, when overdue, escalates to
  its exec sponsor as the system configuration says. Nothing here sends chasers itself.
- **Once every plan is in**, the roll-up builds the system tables (by organisation, staff
  group and place), the consistency flags and the system plan and registers them as
  documents of the system cycle (again whenever an organisation's accepted returns change);
  the People Board gate gets its approval requests through :mod:`plancycle.signoff` (the
  same gate machinery as an organisation's board); once it passes, the signed system plan is
  packaged, the system cycle locked and the package delivered to the region
  (:mod:`plancycle.submission`).

Like the annual-cycle flow, one pass is idempotent; ``until_complete`` keeps walking,
waiting on the runtime's clock between passes (real sleep, or a simulated day in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from prefect import flow, get_run_logger

from plancycle import runtime
from plancycle.ics import service
from plancycle.register.cycles import open_cycles
from tasks.cycle import stage_transition
from tasks.ics import (
    build_system_documents,
    follow_organisations,
    gate_key,
    publish_system_status,
    roll_up_system,
    submit_to_region,
    task_states,
)
from tasks.runs import current_deployment, flow_runs, start_runs
from tasks.signoff import check_gate

DEPLOYMENT = "annual-cycle/annual-cycle"
_IN_FLIGHT = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED")


def _deployment_exists(name: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True


def _run_in_flight(cycle_id: str) -> str | None:
    """The id of an annual-cycle run of this cycle that is scheduled, pending or running."""
    runs = flow_runs("annual-cycle", _IN_FLIGHT, cycle_id=cycle_id)
    return str(runs[0].id) if runs else None


def start_or_follow(organisation_cycle_ids: Sequence[str], deployment: str | None,
                    today: date) -> dict[str, dict[str, Any]]:
    """One annual-cycle flow run per organisation: followed if in flight, else started."""
    from prefect.deployments import run_deployment

    from flows.annual_cycle import annual_cycle

    use_deployment = bool(deployment) and _deployment_exists(str(deployment))
    runs: dict[str, dict[str, Any]] = {}
    for cycle_id in organisation_cycle_ids:
        running = _run_in_flight(cycle_id)
        if running is not None:
            runs[cycle_id] = {"mode": "following", "flow_run_id": running}
        elif use_deployment:
            run = run_deployment(str(deployment), parameters={"cycle_id": cycle_id}, timeout=0,
                                 idempotency_key=f"ics-rollup:{cycle_id}:{today.isoformat()}")
            runs[cycle_id] = {"mode": "deployment", "flow_run_id": str(run.id)}
        else:
            state = annual_cycle(cycle_id, return_state=True)
            result = state.result(raise_on_failure=False)
            runs[cycle_id] = {"mode": "subflow",
                              "flow_run_id": str(state.state_details.flow_run_id),
                              "state": state.type.value,
                              "complete": isinstance(result, dict) and result.get("complete")}
    return runs


def _run_name() -> str:
    from prefect.runtime import flow_run

    ics_cycle_id = flow_run.parameters.get("ics_cycle_id")
    return f"roll up {ics_cycle_id}" if ics_cycle_id else "roll up open system cycles"


@flow(name="ics-rollup", flow_run_name=_run_name, log_prints=True)
def ics_rollup(ics_cycle_id: str | None = None, organisation_cycle_ids: list[str] | None = None,
               deployment: str | None = DEPLOYMENT, until_complete: bool = False,
               poll_seconds: float = 3600.0, max_passes: int = 0,
               published_data: str | None = None) -> dict[str, Any]:
    """Follow the organisations, roll up, sign off and submit (see the module docstring).

    Without ``ics_cycle_id`` (the scheduled deployment) every open ICS system cycle in the
    register is rolled up, each in its own flow run; without ``organisation_cycle_ids`` the
    members' cycles are found in the register by ORG_CODE and financial year.
    """
    options = {"deployment": deployment, "until_complete": until_complete,
               "poll_seconds": poll_seconds, "max_passes": max_passes,
               "published_data": published_data}
    if ics_cycle_id is None:
        return _every_system_cycle(options)
    rt = runtime.current()
    logger = get_run_logger()
    with rt.register.session() as session:  # refuse a bad call before starting anything
        config = service.system_config(session, ics_cycle_id)
        if organisation_cycle_ids is None:
            organisation_cycle_ids = service.organisation_cycles(session, config)
        members = service.member_cycles(session, config, organisation_cycle_ids)
    runs = start_or_follow(organisation_cycle_ids, deployment, rt.clock.today())
    codes = {m.cycle_id: m.member.org_code for m in members if m.cycle_id}
    for cycle_id, run in runs.items():
        run["org_code"] = codes.get(cycle_id)
    gate = gate_key(ics_cycle_id)
    rollup: service.SystemRollup | None = None
    built: dict[str, Any] | None = None
    result: dict[str, Any] = {"runs": runs, "passes": 0, "submitted_to_region": None}
    waiting: list[str] | None = None
    while True:
        followed = follow_organisations(ics_cycle_id, organisation_cycle_ids)
        for key in followed["opened_stages"]:
            stage_transition(ics_cycle_id, key, key, "opened")
        for key in followed["completed_stages"]:
            stage_transition(ics_cycle_id, key, key, "completed")
        if followed["waiting"] != waiting:
            publish_system_status(ics_cycle_id, followed, runs)
            waiting = followed["waiting"]
        states = task_states(ics_cycle_id, ["gate", "submission"])
        gate_state = states.get(gate) if gate else None
        if not followed["waiting"] and gate_state != "complete":
            # Every plan is in: (re)build while the People Board can still see a new version.
            with rt.register.session() as session:
                basis = service.rollup_basis(session, ics_cycle_id, members)
            if rollup is None or rollup.basis != basis:
                rollup = roll_up_system(ics_cycle_id, organisation_cycle_ids, published_data)
                built = build_system_documents(rollup)
                logger.info("system plan v%s (%s)", built["plan_version"], built["plan_sha256"])
        if gate and (gate_state == "open"
                     or (gate_state == "complete" and result.get("gate") != "passed")):
            result["gate"] = check_gate(ics_cycle_id, gate)["outcome"]
        region = [k for k, s in states.items() if k != gate and s in ("open",)
                  and k not in {m.member.task_key for m in members}]
        if gate_state == "complete" and region and result["submitted_to_region"] is None:
            if rollup is None:
                rollup = roll_up_system(ics_cycle_id, organisation_cycle_ids, published_data)
            result["submitted_to_region"] = submit_to_region(rollup)
        result["passes"] += 1
        result["followed"] = followed
        result["system_plan"] = built
        if followed["cycle_complete"]:
            logger.info("system cycle %s complete after %d passes", ics_cycle_id,
                        result["passes"])
            result["complete"] = True
            return result
        if not until_complete or (max_passes and result["passes"] >= max_passes):
            result["complete"] = False
            return result
        rt.wait(poll_seconds)


def _every_system_cycle(options: dict[str, Any]) -> dict[str, Any]:
    with runtime.current().register.session() as session:
        ics_cycle_ids = open_cycles(session, system=True)
    running_as = current_deployment()
    if running_as is not None:
        return {"system_cycles": start_runs(running_as, "ics_cycle_id", ics_cycle_ids,
                                            **options)}
    return {"system_cycles": {cycle_id: ics_rollup(cycle_id, **options)
                              for cycle_id in ics_cycle_ids}}


if __name__ == "__main__":
    import sys

    ics_rollup(sys.argv[1] if len(sys.argv) > 1 else None, sys.argv[2:] or None)
