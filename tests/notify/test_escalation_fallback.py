"""Escalations with nobody to receive them (issue 18.4).

The story: the sample cycle, except that Lucy Fernandes (HR / ESR data owner) has no line
manager recorded. Her staff in post extract is due Thu 30 Apr 2026; on Wed 6 May it is three
working days overdue and the ladder escalates to her line manager — who does not exist. The
workforce planner (Amira Khan) is told once instead, the step is never planned again, and the
gap is listed for the dashboard and ``plancycle cycle status``. When Lucy is herself the only
workforce planner, her deputy is told; with no deputy either, the step is recorded as
``unrouted``, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from plancycle.clock import SimulatedClock
from plancycle.notify.fallbacks import FALLBACK_KIND, UNROUTED, escalation_gaps
from plancycle.register.models import Notification
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE, SAMPLE

from .harness import Driver, SmtpServer, Webhook, make_runtime

TASK_NAME = "Staff in post extract (ESR)"
AMIRA = "amira.khan@riverside.nhs.uk"
KWAME = "kwame.asante@riverside.nhs.uk"
OPENED = date(2026, 4, 16)
ESCALATED = date(2026, 5, 6)   # 3 working days overdue (Mon 4 May is a bank holiday)
END = date(2026, 5, 8)


def _cycle_without(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SAMPLE.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "cycle.yaml"
    path.write_text(text)
    return path


NO_LINE_MANAGER = ("chat: \"@lucy.fernandes\", line_manager: tom.reeves, deputy: kwame.asante",
                   "chat: \"@lucy.fernandes\", deputy: kwame.asante")
NO_PLANNER = ("{id: workforce_planner, name: Workforce Planner, holders: [amira.khan]}",
              "{id: workforce_planner, name: Workforce Planner, holders: [lucy.fernandes]}")
NO_DEPUTY = ("chat: \"@lucy.fernandes\", deputy: kwame.asante", "chat: \"@lucy.fernandes\"")


@pytest.fixture
def story(home: Path, clock: SimulatedClock, smtp: SmtpServer, webhook: Webhook,
          tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    config = _cycle_without(tmp_path, *request.param)
    runtime = make_runtime(home, clock, smtp, webhook, config)
    driver = Driver(runtime, clock)
    driver.days(OPENED, END)
    yield runtime
    runtime.register.dispose()


def _escalation_rows(runtime: Runtime) -> list[Notification]:
    with runtime.register.session() as session:
        rows = list(session.scalars(select(Notification).where(
            Notification.cycle_id == CYCLE,
            Notification.idempotency_key.like("%:escalation:%"))))
        session.expunge_all()
    return rows


@pytest.mark.parametrize("story", [(NO_LINE_MANAGER,)], indirect=True)
def test_planner_told_once_when_nobody_is_line_manager(story: Runtime, smtp: SmtpServer,
                                                        clock: SimulatedClock) -> None:
    fallback = [e for e in smtp.emails if e.subject.startswith("Escalation with nobody")
                and TASK_NAME in e.subject]
    assert [(e.day, e.to) for e in fallback] == [(ESCALATED, AMIRA)]
    text = re.sub(r"\s+", " ", fallback[0].text or "")
    assert "Lucy Fernandes's line manager" in text
    assert "holder of the Workforce Planner role" in text
    assert "cycle's YAML" in text
    # No ordinary escalation to anyone, and the planner is not told again on later passes.
    assert not [e for e in smtp.emails if e.subject.startswith("Escalation:")
                and TASK_NAME in e.subject]
    rows = [r for r in _escalation_rows(story) if r.kind == FALLBACK_KIND]
    assert {r.channel for r in rows} <= {"email", "chat"}
    before = len(_escalation_rows(story))
    story.chase(CYCLE)
    story.deliver(CYCLE)
    assert len(_escalation_rows(story)) == before

    with story.register.session() as session:
        gaps = escalation_gaps(session, CYCLE)
    gap = next(g for g in gaps if g.task_name == TASK_NAME)
    assert (gap.assignee, gap.wanted, gap.told) == ("Lucy Fernandes", "line_manager",
                                                    ("Amira Khan",))
    assert gap.due_on == date(2026, 4, 30)


@pytest.mark.parametrize("story", [(NO_LINE_MANAGER, NO_PLANNER, NO_DEPUTY)], indirect=True)
def test_unrouted_recorded_once_when_the_cycle_has_nobody(story: Runtime,
                                                           smtp: SmtpServer) -> None:
    assert not [e for e in smtp.emails if e.subject.startswith("Escalation")
                and TASK_NAME in e.subject]
    with story.register.session() as session:
        markers = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.status == UNROUTED,
            Notification.idempotency_key.like("%:escalation:0:%")))
        gaps = [g for g in escalation_gaps(session, CYCLE) if g.task_name == TASK_NAME]
    # One marker for the step (the first escalation rung), however many passes ran.
    assert markers >= 1
    assert len(gaps) == len({(g.task_key, g.wanted) for g in gaps})
    assert gaps[0].told == () and gaps[0].wanted == "line_manager"
    before = len(_escalation_rows(story))
    story.chase(CYCLE)
    assert len(_escalation_rows(story)) == before


@pytest.mark.parametrize("story", [(NO_LINE_MANAGER, NO_PLANNER)], indirect=True)
def test_deputy_told_when_there_is_no_planner(story: Runtime, smtp: SmtpServer) -> None:
    fallback = [e for e in smtp.emails if e.subject.startswith("Escalation with nobody")
                and TASK_NAME in e.subject]
    assert [(e.day, e.to) for e in fallback] == [(ESCALATED, KWAME)]
    assert "Lucy Fernandes's deputy" in (fallback[0].text or "")


@pytest.mark.parametrize("story", [(NO_LINE_MANAGER,)], indirect=True)
def test_cycle_status_lists_the_gap(story: Runtime, home: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from plancycle.cli import app

    result = CliRunner().invoke(app, ["cycle", "status", "--cycle", CYCLE,
                                      "--as-of", END.isoformat()])
    assert result.exit_code == 0, result.output
    out = re.sub(r"\s+", " ", result.output)
    assert "escalation(s) had nobody to receive them" in out
    assert "Lucy Fernandes, due 30 Apr" in out
    assert "meant for Lucy Fernandes's line manager; told Amira Khan instead" in out


@pytest.mark.parametrize("story", [(NO_LINE_MANAGER,)], indirect=True)
def test_the_dashboard_lists_the_gap(story: Runtime) -> None:
    from fastapi.testclient import TestClient

    from plancycle.portal.app import create_app
    from plancycle.portal.settings import PortalSettings
    from tests.portal.helpers import PLANNER_TOKEN, csrf_of

    app = create_app(story, PortalSettings(planner_token=PLANNER_TOKEN))
    with TestClient(app, follow_redirects=False) as client:
        login = client.get("/planner/login")
        assert client.post("/planner/login", data={"csrf_token": csrf_of(login.text),
                                                   "token": PLANNER_TOKEN}).status_code == 303
        page = client.get(f"/planner/cycles/{CYCLE}").text
    section = page[page.index('<h2 id="unrouted">'):]
    section = section[:section.index("</section>")]
    row = re.search(r'<tr data-task="staff_in_post_return">(.*?)</tr>', section, re.S)
    assert row is not None, section
    cells = re.findall(r"<td>(.*?)</td>", row[1])
    assert cells[:2] == [TASK_NAME, "Lucy Fernandes"]
    assert cells[3:5] == ["Lucy Fernandes&#39;s line manager", "Amira Khan"]
