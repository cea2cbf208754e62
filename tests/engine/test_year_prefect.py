"""A whole planning year of the sample cycle through the real Prefect API."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.register.models import Notification, Person, Task
from plancycle.simulation import Rehearsal, Script
from tests.engine.conftest import CYCLE


def test_full_year(prefect_api, runtime, recording):
    from flows.annual_cycle import annual_cycle

    script = Script(offsets={"staff_in_post_return": 4, "pay_budget_return": 2},
                    until_escalated={"activity_plan_return"},
                    gate_rounds={"board_gate": ["reject"]})
    rehearsal = Rehearsal(runtime, CYCLE, script, end=date(2027, 3, 31))
    runtime.waiter = rehearsal.wait
    t0 = time.perf_counter()
    with runtime_mod.use(runtime):
        result = annual_cycle(CYCLE, until_complete=True)
    print("year took", time.perf_counter() - t0, result, rehearsal.days)
    assert result["complete"]
    with runtime.register.session() as session:
        states = Counter(t.state for t in session.scalars(select(Task)))
        print(states)
        per = Counter()
        for n, p in session.execute(select(Notification, Person).join(Person)):
            if n.status == "sent":
                per[p.key] += 1
        print(per)
