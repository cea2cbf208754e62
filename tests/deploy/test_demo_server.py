"""The demo's Prefect server: never a temporary in-process one.

Given no PREFECT_API_URL and a local Prefect server that cannot start (here: its database
URL points into a folder that does not exist, so the real ``prefect server start`` exits),
when the demo runs, then it stops before rehearsing anything (exit 2) and says how to start
a server and set PREFECT_API_URL — it does not fall back to a temporary server that may time
out halfway through the year.
"""

from __future__ import annotations

import os

from tests.deploy.test_demo_smoke import DEMO_ENV


def test_a_server_that_cannot_start_stops_the_demo_saying_how_to_start_one(
        tmp_path, monkeypatch, capsys) -> None:
    from plancycle import demo

    for name in DEMO_ENV:
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL",
                       f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'folder' / 'prefect.db'}")
    out = tmp_path / "demo-output"
    assert demo.main(out=out, trust_size=300, start_server=True) == 2
    text = " ".join(capsys.readouterr().out.split())
    assert "The local Prefect server did not start" in text
    assert "prefect server start" in text and "PREFECT_API_URL=" in text
    assert not (out / "mail").exists(), "nothing rehearsed"
    assert (out / "prefect-server.log").read_text().strip(), "the server's own log is kept"
