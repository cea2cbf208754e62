"""Serve plancycle's flows as Prefect deployments from one long-running process.

    python deployments/serve.py          # needs PREFECT_API_URL pointing at a Prefect server

The same deployments are declared in ``deployments/prefect.yaml`` for work pools and
workers (``prefect deploy --all``). Schedules run in Europe/London on working days; the
flows skip bank holidays themselves (the chaser plans nothing on a non-working day).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python deployments/serve.py` from a checkout
    sys.path.insert(0, str(ROOT))

from prefect.events import DeploymentEventTrigger  # noqa: E402
from prefect.schedules import Cron  # noqa: E402

TIMEZONE = "Europe/London"
#: 07:30 Monday to Friday: reminders are waiting when people start work.
CHASER_CRON = "30 7 * * 1-5"
#: Every hour in the working day the cycle reconciles (stages open, tasks unblock).
CYCLE_CRON = "0 8-18 * * 1-5"
#: Every 15 minutes: uploads a crash left stored but unvalidated get their verdict.
SWEEP_CRON = "*/15 * * * *"
#: The last month of each quarter, mid-month: the Annex G check-ins.
CHECKIN_CRON = "0 9 15 6,9,12,3 *"
#: Working days at 10:00: the ICS roll-up follows its organisations.
ROLLUP_CRON = "0 10 * * 1-5"
#: Emitted by flows.validate_return.announce_upload when a raw return has been stored by an
#: ingestion path that does not validate in-process (the portal and CLI validate at once).
UPLOAD_EVENT = "plancycle.upload.stored"


def deployments() -> list:  # type: ignore[type-arg]
    """Build the RunnerDeployment objects (no API calls; safe to import in tests)."""
    from flows.analysis import build_workforce_plan
    from flows.annual_cycle import annual_cycle
    from flows.chaser import chaser
    from flows.checkins import quarterly_checkins
    from flows.ics_rollup import ics_rollup
    from flows.signoff import signoff_gate
    from flows.submission import submit_cycle
    from flows.validate_return import validate_return

    built = [
        annual_cycle.to_deployment(
            name="annual-cycle",
            description="Reconcile every open cycle with its calendar (one run per cycle).",
            schedules=[Cron(CYCLE_CRON, timezone=TIMEZONE)],
            tags=["plancycle", "cycle"],
        ),
        chaser.to_deployment(
            name="daily-chaser",
            description="Reminders, overdue chasers and escalations for every open cycle.",
            schedules=[Cron(CHASER_CRON, timezone=TIMEZONE)],
            tags=["plancycle", "chaser"],
        ),
    ]
    built += [
        validate_return.to_deployment(
            name="validate-return",
            description="Validate a stored data return as soon as it is uploaded.",
            triggers=[DeploymentEventTrigger(
                expect={UPLOAD_EVENT},
                parameters={"upload_id": "{{ event.payload.upload_id }}"},
            )],
            tags=["plancycle", "returns"],
        ),
        validate_return.to_deployment(
            name="validate-stored-returns",
            description="Validate uploads a crash left stored but without a verdict.",
            schedules=[Cron(SWEEP_CRON, timezone=TIMEZONE)],
            concurrency_limit=1,
            tags=["plancycle", "returns"],
        ),
        quarterly_checkins.to_deployment(
            name="quarterly-checkins",
            description="Annex G check-ins for every open cycle, once a quarter.",
            schedules=[Cron(CHECKIN_CRON, timezone=TIMEZONE)],
            tags=["plancycle", "actions"],
        ),
        build_workforce_plan.to_deployment(
            name="build-workforce-plan",
            description="Analyse the accepted returns and register the plan document.",
            tags=["plancycle", "analysis"],
        ),
        signoff_gate.to_deployment(
            name="signoff-gate",
            description="Request approvals for a gate and wait (suspended) for decisions.",
            tags=["plancycle", "signoff"],
        ),
        ics_rollup.to_deployment(
            name="ics-rollup",
            description="Roll every open ICS system cycle's members up into its system plan.",
            schedules=[Cron(ROLLUP_CRON, timezone=TIMEZONE)],
            tags=["plancycle", "ics"],
        ),
        submit_cycle.to_deployment(
            name="submission",
            description="Package, lock and deliver a signed plan (triggered by the planner).",
            tags=["plancycle", "submission"],
        ),
    ]
    return built


def main() -> None:
    from prefect import serve

    serve(*deployments())


if __name__ == "__main__":
    main()
