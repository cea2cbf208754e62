"""Production path: a short cycle against a real Postgres register (throwaway cluster).

Given the small cycle of tests/fixtures/configs/valid_small.yaml on Postgres, when the
annual-cycle flow walks it on the simulated clock with one late responder, then every task
completes, the late one is chased and escalated once, and nothing is duplicated.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.clock import SimulatedClock
from plancycle.config import load_config
from plancycle.notify.channels import RecordingChannels
from plancycle.register.cycles import start_cycle
from plancycle.register.models import Notification, Task
from plancycle.runtime import Runtime
from plancycle.simulation import Rehearsal, Script

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "configs" / "valid_small.yaml"


def test_short_cycle_on_postgres(prefect_api, postgres_url, home):
    from flows.annual_cycle import annual_cycle

    config = load_config(SMALL)
    fy_start = date(int(config.cycle.financial_year[:4]), 4, 1)
    channels = RecordingChannels()
    runtime = Runtime.build(clock=SimulatedClock(fy_start), channels=channels,
                            database_url=postgres_url)
    assert runtime.register.engine.dialect.name == "postgresql"
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, config, SMALL)
    # Bob (HR, line manager Ann) is 4 working days late with his task.
    late = next(t.id for _, t in config.tasks() if t.role == "hr_data_owner")
    rehearsal = Rehearsal(runtime, config.cycle.id, Script(offsets={late: 4}),
                          end=date(fy_start.year + 1, 3, 31))
    runtime.waiter = rehearsal.wait
    with runtime_mod.use(runtime):
        result = annual_cycle(config.cycle.id, until_complete=True)
    assert result["complete"] is True
    with runtime.register.session() as session:
        assert {t.state for t in session.scalars(select(Task))} == {"complete"}
        notes = session.scalars(select(Notification)).all()
        keys = [n.idempotency_key for n in notes]
        assert len(keys) == len(set(keys))
        kinds = Counter(n.kind for n in notes if n.status == "sent")
        assert kinds["new_task"] >= len(config.tasks())
        assert kinds["overdue"] >= 1 and kinds["escalation"] >= 1
    runtime.register.dispose()
