"""Faults on the real stack: the SMTP server down, a worker killed, Postgres restarted.

Each scenario starts from the sample trust's cycle five weeks in with nobody having done
anything (about sixty messages due: new tasks, reminders, overdue chasers, escalations),
breaks something while a chaser run on a worker is delivering them, then runs the next
pass and checks at the SMTP server and the webhook: nothing lost, nothing sent twice —
except, after a crash, the one message in flight, resent with the same Message-ID.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.stack.conftest import (
    ledger,
    planner_dashboard,
    sent_once_each,
    unsettled,
    wait_for,
    walk,
)

DAY = date(2026, 5, 6)
CHASER = "chaser/daily-chaser"
NEEDS_MESSAGE_ID = pytest.mark.xfail(
    reason="needs the lead's delivery rewrite (plancycle/notify): a claim on each queued "
           "message and a stable Message-ID from its idempotency key, so the one message in "
           "flight at a crash is the only one resent and the resend is recognisable",
    raises=AssertionError, strict=False)


def _cycle(on_stack, name: str):
    rt, cycle = on_stack(name)
    walk(rt, cycle, DAY)
    return rt, cycle


def test_smtp_down_for_a_while_then_back_delivers_everything_once(mail, on_stack):
    rt, cycle = _cycle(on_stack, "smtp-down")
    mail.smtp.delay = 0.1
    run = mail.start(CHASER, as_of=DAY.isoformat(), cycle_id=cycle)
    wait_for(lambda: mail.smtp.count >= 10, what="first emails")
    mail.smtp.stop()  # the mail server goes down mid-delivery
    (first,) = mail.wait(run)
    assert first.state.is_completed()  # failures are recorded, not raised
    rows = ledger(rt, cycle)
    failed = [r for r in rows if r.status == "failed"]
    assert failed, "some emails should have failed while the server was down"
    dashboard = planner_dashboard(mail, cycle)
    shown = re.search(r"(\d+) sent, (\d+) failed", dashboard)
    assert shown and int(shown.group(2)) == len(failed), "failures are on the dashboard"

    mail.smtp.delay = 0.0
    mail.smtp.start()  # back on the same port
    mail.run(CHASER, as_of=DAY.isoformat(), cycle_id=cycle)
    rows = ledger(rt, cycle)
    assert not unsettled(rows)
    sent_once_each(mail, rows)


@NEEDS_MESSAGE_ID
def test_kill_9_of_a_worker_mid_delivery_loses_nothing(mail, on_stack):
    rt, cycle = _cycle(on_stack, "kill-worker")
    mail.smtp.delay = 0.3
    run = mail.start(CHASER, as_of=DAY.isoformat(), cycle_id=cycle)
    running = mail.wait_running(run)
    wait_for(lambda: mail.smtp.count >= 5, what="first emails")
    worker = mail.worker_of(running)
    mail.kill_worker(worker)  # the worker and its flow run die at once (kill -9)
    received_at_kill = mail.smtp.count
    mail.smtp.delay = 0.0
    mail.heal()  # `stack up` again: the dead worker comes back, nothing else changes
    mail.run(CHASER, as_of=DAY.isoformat(), cycle_id=cycle)
    rows = ledger(rt, cycle)
    assert not unsettled(rows)
    assert received_at_kill < len([r for r in rows if r.status == "sent"])
    sent_once_each(mail, rows, allow_twice=1)


@NEEDS_MESSAGE_ID
def test_postgres_restarted_under_a_worker_the_next_pass_recovers(mail, on_stack):
    rt, cycle = _cycle(on_stack, "pg-restart")
    workers_before = {p: pid for p, pid in mail.stack.home.state()["pids"].items()
                      if p.startswith("worker-")}
    mail.smtp.delay = 0.2
    run = mail.start(CHASER, as_of=DAY.isoformat(), cycle_id=cycle)
    mail.wait_running(run)
    wait_for(lambda: mail.smtp.count >= 5, what="first emails")
    mail.stack.postgres.restart()  # every connection is cut, mid-delivery
    mail.smtp.delay = 0.0
    mail.wait(run, timeout=300)  # it ends one way or another; nobody touches anything
    mail.run(CHASER, as_of=DAY.isoformat(), cycle_id=cycle)
    rows = ledger(rt, cycle)
    assert not unsettled(rows)
    sent_once_each(mail, rows, allow_twice=1)
    workers_after = {p: pid for p, pid in mail.stack.home.state()["pids"].items()
                     if p.startswith("worker-")}
    assert workers_after == workers_before and all(mail.stack.running(p)
                                                   for p in workers_after)
