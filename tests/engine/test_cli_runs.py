"""``plancycle cycle run`` and ``plancycle chase`` with and without a Prefect server.

Given no PREFECT_API_URL, when a planner runs a pass of the cycle and the chaser from the
command line, then the same steps run in the command's own process — no temporary Prefect
server — and leave the register exactly as the flows do (the same assignments, the same
notifications with the same idempotency keys and outcomes, the same audit entries), and
the command says on stderr that no flow run was recorded and how to get one. Given a
PREFECT_API_URL (or a Prefect profile's) that does not answer, the command refuses before
touching the register (exit 2, no traceback). Given a live API, the flow run is recorded.
A command that follows flow runs (``ics run``) says it needs a server.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.clock import clock_at
from plancycle.register import Register
from plancycle.register.models import Assignment, AuditEntry, Notification
from plancycle.runtime import Runtime
from tests.engine.conftest import CYCLE
from tests.foundation.helpers import cli_env, run_cli, run_cli_many

SAMPLE_ARG = "cycle_config/trust_annual_cycle.yaml"
DAYS = (date(2026, 4, 1), date(2026, 4, 16))
CHASE_DAY = date(2026, 5, 1)   # Lucy's two data requests are a day overdue
NO_EMAIL = {"PLANCYCLE_EMAIL_URL": "", "PLANCYCLE_CHAT_URL": ""}


def home_env(root: Path, **extra: str) -> dict[str, str]:
    env = cli_env(PLANCYCLE_HOME=str(root / "home"),
                  PLANCYCLE_DATABASE_URL=f"sqlite:///{root / 'register.db'}",
                  PLANCYCLE_LINK_SECRET="test-secret", PREFECT_HOME=str(root / "prefect"),
                  **NO_EMAIL, **extra)
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_PROFILE", None)
    return env


def _timeless(values: dict | None) -> dict:
    """An audited change without its wall-clock times (the cycle start is real time)."""
    return {k: v for k, v in (values or {}).items() if not k.endswith("_at")}


def register_state(url: str) -> dict[str, list[tuple]]:
    """Everything a pass writes, without times or message bodies (links carry timestamps)."""
    register = Register(url)
    try:
        with register.session() as session:
            return {
                "assignments": sorted(session.execute(select(
                    Assignment.task_id, Assignment.person_id, Assignment.state,
                    Assignment.due_on)).all()),
                "notifications": sorted(session.execute(select(
                    Notification.idempotency_key, Notification.kind, Notification.channel,
                    Notification.status, Notification.attempts, Notification.person_id)).all()),
                # Entries of one flush come in no set order: compare them as a multiset.
                "audit": sorted((r.actor, r.action, r.entity, r.entity_id,
                                 json.dumps(_timeless(r.after), sort_keys=True, default=str))
                                for r in session.execute(select(
                                    AuditEntry.actor, AuditEntry.action, AuditEntry.entity,
                                    AuditEntry.entity_id, AuditEntry.after)).all()),
            }
    finally:
        register.dispose()


def _cli_steps() -> list[list[str]]:
    steps = [["cycle", "start", SAMPLE_ARG]]
    steps += [["cycle", "run", "--as-of", day.isoformat()] for day in DAYS]
    steps += [["chase", "--as-of", CHASE_DAY.isoformat()],
              ["chase", "--as-of", CHASE_DAY.isoformat()]]
    return steps


@pytest.fixture(scope="module")
def without_server(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("in-process")
    env = home_env(root)
    results = run_cli_many([(args, env) for args in _cli_steps()])
    return {"root": root, "env": env, "results": results,
            "state": register_state(env["PLANCYCLE_DATABASE_URL"])}


def test_without_a_server_the_commands_run_the_passes_here_and_say_so(without_server) -> None:
    start, first, second, chase, again = without_server["results"]
    for result in (start, first, second, chase, again):
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    assert first.stdout.startswith(f"{CYCLE}: ") and "tasks opened" in first.stdout
    assert f"{CYCLE}: " in chase.stdout and "steps due" in chase.stdout
    assert "delivered: 0 sent," in chase.stdout    # no channel configured: recorded failures
    for result in (first, second, chase, again):
        note = " ".join(result.stderr.split())
        assert "no Prefect flow run recorded — PREFECT_API_URL is not set" in note
        assert "prefect server start" in note and "PREFECT_API_URL=" in note
        assert "note:" not in result.stdout             # stdout is what the flow path prints
    # Re-running the chase on the same day queues nothing new.
    assert " 0 messages queued" in again.stdout
    assert without_server["state"]["notifications"], "the chase queued messages"


def test_the_passes_in_process_leave_the_register_as_the_flows_do(
        prefect_api: None, without_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """The same commands' work through the Prefect flows, in a fresh register."""
    from flows.annual_cycle import annual_cycle
    from flows.chaser import chaser

    env = home_env(tmp_path)
    for name in ("PLANCYCLE_HOME", "PLANCYCLE_DATABASE_URL", "PLANCYCLE_LINK_SECRET",
                 "PLANCYCLE_EMAIL_URL", "PLANCYCLE_CHAT_URL"):
        monkeypatch.setenv(name, env[name])
    start = run_cli("cycle", "start", SAMPLE_ARG, env=env)
    assert start.returncode == 0, start.stderr
    for day in DAYS:
        with runtime_mod.use(Runtime.build(clock=clock_at(day))):
            annual_cycle(CYCLE)
    for _ in range(2):
        with runtime_mod.use(Runtime.build(clock=clock_at(CHASE_DAY))):
            chaser(as_of=CHASE_DAY)

    flows_state = register_state(env["PLANCYCLE_DATABASE_URL"])
    for part in ("assignments", "notifications", "audit"):
        ours, theirs = without_server["state"][part], flows_state[part]
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b]
        assert len(ours) == len(theirs) and not diff, (part, len(ours), len(theirs), diff[:5])


def test_a_configured_server_that_does_not_answer_is_refused_before_any_work(
        without_server, tmp_path: Path) -> None:
    from plancycle.mailsink import free_port

    dead = f"http://127.0.0.1:{free_port()}/api"
    profile_home = tmp_path / "prefect-profile"
    profile_home.mkdir()
    (profile_home / "profiles.toml").write_text(
        f'active = "local"\n\n[profiles.local]\nPREFECT_API_URL = "{dead}"\n')
    env = without_server["env"]
    before = register_state(env["PLANCYCLE_DATABASE_URL"])
    calls = [(["chase", "--as-of", "2026-05-04"], {**env, "PREFECT_API_URL": dead}),
             (["cycle", "run", "--as-of", "2026-05-04"], {**env, "PREFECT_API_URL": dead}),
             (["chase", "--as-of", "2026-05-05"], {**env, "PREFECT_HOME": str(profile_home)})]
    for result in run_cli_many(calls):
        text = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 2, text
        assert "Traceback" not in text
        assert f"the Prefect API at PREFECT_API_URL={dead} does not answer" in text
        assert "unset PREFECT_API_URL" in text
    assert register_state(env["PLANCYCLE_DATABASE_URL"]) == before


def test_following_organisations_runs_needs_a_server_and_says_how_to_start_one(
        without_server) -> None:
    [result] = run_cli_many([(["ics", "run", "qoc-2026-27"], without_server["env"])])
    text = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, text
    assert "Traceback" not in text
    assert "`plancycle ics run` starts or follows each organisation's annual-cycle flow run" \
        in text
    assert "prefect server start" in text and "PREFECT_API_URL" in text


def test_with_a_live_api_the_chase_is_recorded_as_a_flow_run(
        prefect_api: None, without_server, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    env = {**home_env(tmp_path), "PREFECT_API_URL": api}
    for name in ("PLANCYCLE_HOME", "PLANCYCLE_DATABASE_URL"):
        env[name] = without_server["env"][name]
    day = "2026-05-06"
    result = run_cli("chase", "--as-of", day, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no Prefect flow run recorded" not in result.stderr
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["chaser"])))
    assert any(r.name == f"chase {day}" and r.state_type.value == "COMPLETED" for r in runs), \
        [(r.name, r.state_type) for r in runs]
