"""Scenario: the submission lock protects what was submitted, not next year's refresh.

Given a cycle whose returns were locked at submission in October, when the HR data owner is
asked in January for the in-year refresh of staff in post, then that upload is accepted,
while a correction to April's staff in post is still refused.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from plancycle.register.models import Cycle, Task
from plancycle.uploads import UploadRefused
from tests.engine.conftest import CYCLE
from tests.uploads.conftest import upload


def test_in_year_refresh_takes_returns_after_the_lock(opened, clock, trust_files):
    clock.set(date(2026, 10, 8))
    with opened.register.session(actor="submission") as session:
        session.get(Cycle, CYCLE).locked = True
        # Everything before the in-year refresh is done (the year as submitted).
        for task in session.scalars(select(Task).where(Task.cycle_id == CYCLE)):
            if task.stage.key != "in_year_refresh":
                task.state = "complete"
    clock.set(date(2027, 1, 11))
    opened.advance(CYCLE)

    refreshed = upload(opened, "refresh_staff_in_post", "lucy.fernandes",
                       trust_files["staff_in_post"])
    assert refreshed.accepted

    with opened.register.session() as session:
        april = session.scalars(select(Task).where(Task.key == "staff_in_post_return")).one()
        april.state = "open"  # even if someone reopened it, the submitted return stays locked
    with pytest.raises(UploadRefused, match="locked at submission on 08 Oct 2026"):
        upload(opened, "staff_in_post_return", "lucy.fernandes", trust_files["staff_in_post"])
