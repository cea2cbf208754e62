"""Gate decisions arriving at the same moment, on the real stack.

Given the board gate of a small cycle open on its plan (quorum: all three approver roles),
with a signoff-gate flow run waiting on it on a worker, when the chief executive and the
chair approve in the stack's portal, the chair's approval is sent a second time at the same
moment (a double click, another tab) and the director of finance approves from the CLI —
all four released at once from behind a lock the test holds — then each approver has one
decision, the quorum counts each role once, the gate passes once, and the waiting flow run
sees it pass.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time

import httpx
from sqlalchemy import create_engine, func, select, text

from plancycle.register.models import AuditEntry, Decision, Task
from plancycle.signoff import register_document
from tests.signoff.conftest import HERE as SIGNOFF
from tests.signoff.conftest import walk_to
from tests.stack.conftest import link_now, wait_for

GATE = "board_gate"


def _issue_plan(rt, cycle_id: str, data_home) -> str:
    data = f"<h1>Workforce plan of {cycle_id}</h1>".encode()
    sha = hashlib.sha256(data).hexdigest()
    path = data_home / "documents" / f"{sha}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with rt.register.session(actor="planner") as session:
        register_document(session, cycle_id, "plan", sha, str(path), rt.clock.now(),
                          rt.calendar)
    return sha


def _reviewed(portal: str, path: str, name: str, sha: str) -> tuple[httpx.Client, dict]:
    """Open the approval page and review an approval: the confirm form, ready to post."""
    web = httpx.Client(base_url=portal, timeout=120)
    page = web.get(f"{path}/approve")
    assert page.status_code == 200, page.text[:500]
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    review = web.post(f"{path}/approve", data={"csrf_token": csrf, "document_sha256": sha,
                                                "verdict": "approve", "signature": name,
                                                "step": "review"})
    assert review.status_code == 200 and "Check your decision" in review.text, review.text[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"',
                             review.text))
    return web, {**fields, "step": "confirm"}


def test_approvals_at_the_same_moment_count_once_and_pass_the_gate_once(
        stack, on_stack, tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text((SIGNOFF / "board_small.yaml").read_text().replace("__QUORUM__", "all"))
    rt, cycle = on_stack("gate", config=config)
    walk_to(rt, GATE, cycle)
    env = stack.env()
    sha = _issue_plan(rt, cycle, stack.stack.home.data)
    waiting = stack.start("signoff-gate/signoff-gate", cycle_id=cycle, task_key=GATE,
                          wait="poll", poll_seconds=2)
    stack.wait_running(waiting)

    portal = env["PLANCYCLE_PORTAL_URL"]
    forms = [_reviewed(portal, link_now(rt, cycle, GATE, person), name, sha)
             for person, name in (("dan.ceo", "Dan Chowdhury"), ("ruth.chair", "Ruth Callaghan"),
                                  ("ruth.chair", "Ruth Callaghan"))]
    engine = create_engine(env["PLANCYCLE_DATABASE_URL"])
    answers: list[int] = []
    with engine.connect() as held:
        # Hold the cycle's lock: every decision below waits on it, then all go at once.
        transaction = held.begin()
        held.execute(text("SELECT id FROM cycles WHERE id = :c FOR UPDATE"), {"c": cycle})
        cli = subprocess.Popen(
            [sys.executable, "-m", "plancycle.cli", "gate", "decide", GATE, "--cycle", cycle,
             "--person", "fay.finance", "--decision", "approve", "--document", sha],
            env={**os.environ, **env}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        posts = [threading.Thread(target=lambda w=w, f=f, p=p: answers.append(
            w.post(f"{p}/approve", data=f).status_code))
            for (w, f), p in zip(forms, [link_now(rt, cycle, GATE, "dan.ceo"),
                                        link_now(rt, cycle, GATE, "ruth.chair"),
                                        link_now(rt, cycle, GATE, "ruth.chair")], strict=True)]
        for post in posts:
            post.start()

        def blocked() -> int:
            with engine.connect() as probe:
                return probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'")).scalar()

        wait_for(lambda: blocked() >= 4, timeout=90, what="four decisions waiting together")
        time.sleep(0.2)
        transaction.commit()
    for post in posts:
        post.join(timeout=120)
    out, _ = cli.communicate(timeout=120)
    engine.dispose()
    assert cli.returncode == 0, out
    assert answers == [303, 303, 303]  # the repeat gets the same recorded decision

    with rt.register.session() as session:
        gate = session.scalars(select(Task).where(Task.cycle_id == cycle,
                                                  Task.key == GATE)).one()
        decisions = session.scalars(select(Decision).where(Decision.task_id == gate.id)).all()
        completions = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.cycle_id == cycle, AuditEntry.entity == "tasks",
            AuditEntry.entity_id == str(gate.id),
            AuditEntry.after["state"].as_string() == "complete"))
    assert gate.state == "complete"
    assert sorted(d.role_key for d in decisions) == ["board", "chief_executive",
                                                    "director_of_finance"]
    assert all(d.valid for d in decisions)
    assert completions == 1

    (run,) = stack.wait(waiting, timeout=120)
    assert run.state.is_completed()
    from plancycle.stack.orchestrator import client

    with client(stack.api_url) as api:
        (summary,) = [a for a in api.read_artifacts() if str(a.flow_run_id) == waiting]
    assert summary.data.startswith(f"# Gate `{GATE}`: passed")
