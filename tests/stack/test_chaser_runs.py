"""Chaser runs on the real stack: two at once, and the SMTP server down for a while.

Given the sample trust's cycle five weeks in, with nobody having done anything (so new-task
messages, reminders, due-date and overdue chasers and escalations are all due), when two
chaser runs for the same day run at the same moment on the two workers, then every step is
queued once and the SMTP server and the chat webhook receive every message exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from tests.stack.conftest import ledger, sent_once_each, unsettled, walk

DAY = date(2026, 5, 6)
NEEDS_CLAIM = pytest.mark.xfail(
    reason="needs the lead's delivery rewrite (plancycle/notify): queued messages claimed "
           "before sending and INSERT ... ON CONFLICT DO NOTHING when queueing, so concurrent "
           "passes neither fail nor send twice", raises=AssertionError, strict=False)


@NEEDS_CLAIM
def test_two_chaser_runs_for_the_same_day_queue_and_send_each_step_once(mail, on_stack):
    rt, cycle = on_stack("chase-twice")
    walk(rt, cycle, DAY)
    first = mail.start("chaser/daily-chaser", as_of=DAY.isoformat(), cycle_id=cycle)
    second = mail.start("chaser/daily-chaser", as_of=DAY.isoformat(), cycle_id=cycle)
    runs = mail.wait(first, second)
    assert [r.state_name for r in runs] == ["Completed", "Completed"]
    assert {r.work_queue_name for r in runs} == {"default"}

    rows = ledger(rt, cycle)
    keys = Counter(r.idempotency_key for r in rows)
    assert max(keys.values()) == 1
    steps = {k.rsplit(":", 1)[0] for k in keys}
    assert any(":overdue:" in k for k in steps) and any(":reminder:" in k for k in steps)
    assert not unsettled(rows)
    assert mail.smtp.count >= 50
    sent_once_each(mail, rows)
