"""``plancycle stack up | status | env`` against the running stack, as a planner types them.

Given the session's stack, when ``stack up`` runs again it starts nothing (every part is
already running, with the same settings); ``stack status`` shows each part, both workers
polling and the next scheduled chaser run; and the shell exports of ``stack env`` point the
ordinary CLI at the stack's register.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.stack.conftest import ROOT


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PLANCYCLE_", "PREFECT_API_URL"))}
    return subprocess.run([sys.executable, "-m", "plancycle.cli", *args],
                          env={**clean, "COLUMNS": "250", **(env or {})}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_up_again_starts_nothing_and_status_shows_every_part(stack, on_stack):
    home = str(stack.stack.home.root)
    again = _cli("stack", "up", "--home", home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "started:" not in again.stdout
    already = re.search(r"already running: (.*)", again.stdout).group(1)
    assert set(already.split(", ")) >= {"postgres", "prefect-server", "portal", "deployments",
                                       "worker-1", "worker-2"}
    for label in ("Prefect UI", "Portal", "Planner dashboard", "Register", "Logs"):
        assert label in again.stdout

    status = _cli("stack", "status", "--home", home)
    assert status.returncode == 0, status.stdout + status.stderr
    rows = {line.split("│")[1].strip(): line for line in status.stdout.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}
    for part in ("postgres", "register", "prefect-server", "work pool", "worker-1",
                 "worker-2", "deployments", "next chaser run", "portal"):
        assert " ok " in rows[part], rows.get(part)
    assert "polling" in rows["worker-1"] and "polling" in rows["worker-2"]
    assert re.search(r"\d\d:\d\d", rows["next chaser run"])
    assert "30 7 * * 1-5" in rows["next chaser run"]

    _, cycle = on_stack("cli")
    exports = _cli("stack", "env", "--home", home)
    env = dict(re.findall(r"^export (\w+)=(.*)$", exports.stdout, re.M))
    assert env["PLANCYCLE_DATABASE_URL"].startswith("postgresql+psycopg://")
    listed = _cli("cycle", "status", "--cycle", cycle, env={k: v.strip("'") for k, v in
                                                          env.items()})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Agree the planning timetable" in listed.stdout
