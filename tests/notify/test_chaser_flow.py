"""The daily chaser flow through the real Prefect API, delivering to the loopback servers."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select

from plancycle import runtime as runtime_mod
from plancycle.clock import SimulatedClock
from plancycle.register.models import Notification
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE

from .harness import SmtpServer, Webhook, assert_ledger_matches

FRIDAY = date(2026, 5, 1)        # Lucy's two data requests are a day overdue
BANK_HOLIDAY = date(2026, 5, 4)  # early May bank holiday


def reconcile_on(runtime: Runtime, clock: SimulatedClock, *days: date) -> None:
    """The annual-cycle flow's part: open stages and assign tasks as the dates come."""
    for day in days:
        clock.set(day)
        runtime.advance(CYCLE)


def notification_count(runtime: Runtime) -> int:
    with runtime.register.session() as session:
        return int(session.scalar(select(func.count(Notification.id))) or 0)


def test_given_the_chaser_flow_runs_three_times_on_a_day_then_nothing_is_duplicated(
        prefect_api: None, runtime: Runtime, clock: SimulatedClock, smtp: SmtpServer,
        webhook: Webhook) -> None:
    from flows.chaser import chaser

    reconcile_on(runtime, clock, date(2026, 4, 1), date(2026, 4, 16), FRIDAY)

    with runtime_mod.use(runtime):
        runs = []
        for _ in range(3):
            runs.append(chaser(as_of=FRIDAY, cycle_id=CYCLE))
            runs[-1]["counts"] = (len(smtp.emails), len(webhook.posts), notification_count(
                runtime))

    first, second, third = runs
    assert first[CYCLE]["queued"] > 0 and first[CYCLE]["non_working_day"] is False
    assert first["delivery"]["sent"] == first["counts"][0] + first["counts"][1]
    assert first["delivery"]["failed"] == 0
    # Lucy's staff in post and vacancies returns, due yesterday: overdue 1, by email and chat.
    overdue = Counter(e.subject for e in smtp.emails if e.to == "lucy.fernandes@riverside.nhs.uk"
                      and e.subject.startswith("Overdue by 1 working day"))
    assert overdue == {"Overdue by 1 working day: Staff in post extract (ESR)": 1,
                       "Overdue by 1 working day: Vacancies by staff group, band and service": 1}
    for again in (second, third):
        assert again[CYCLE]["queued"] == 0
        assert again["delivery"] == {"sent": 0, "failed": 0, "cancelled": 0}
        assert again["counts"] == first["counts"]
    assert_ledger_matches(runtime, smtp, webhook)


def test_given_a_bank_holiday_then_the_chaser_flow_plans_nothing(
        prefect_api: None, runtime: Runtime, clock: SimulatedClock, smtp: SmtpServer,
        webhook: Webhook) -> None:
    from flows.chaser import chaser

    reconcile_on(runtime, clock, date(2026, 4, 1), date(2026, 4, 16), FRIDAY)
    with runtime_mod.use(runtime):
        chaser(as_of=FRIDAY, cycle_id=CYCLE)
        before = (len(smtp.emails), len(webhook.posts), notification_count(runtime))
        reconcile_on(runtime, clock, BANK_HOLIDAY)

        result = chaser(as_of=BANK_HOLIDAY, cycle_id=CYCLE)

    assert result[CYCLE] == {"planned": 0, "queued": 0, "by_kind": {}, "non_working_day": True}
    assert result["delivery"] == {"sent": 0, "failed": 0, "cancelled": 0}
    assert (len(smtp.emails), len(webhook.posts), notification_count(runtime)) == before
