"""The demo's local Prefect server starts from a cached, already-migrated empty database.

Given no cache, when the cache is prepared, then a real ``prefect server database upgrade``
writes one self-contained SQLite file (at Prefect's head revision, no runs in it) under
``PLANCYCLE_CACHE``; when a server is launched into a fresh home, then the home starts from a
copy of it and the real server answers its health check; a home that already has a database
keeps it.
"""

from __future__ import annotations

import sqlite3

import pytest


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANCYCLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PREFECT_API_DATABASE_CONNECTION_URL", raising=False)
    return tmp_path / "cache"


def test_a_fresh_home_starts_from_the_cached_migrated_database(cache, tmp_path) -> None:
    from plancycle import prefect_local

    made = prefect_local.empty_database()
    assert made is not None and made.parent == cache and made.exists()
    assert not list(cache.glob(".*")), "no scratch left behind"
    with sqlite3.connect(made) as db:
        revision = db.execute("select version_num from alembic_version").fetchall()
        runs = db.execute("select count(*) from flow_run").fetchone()[0]
    assert len(revision) == 1 and runs == 0

    home = tmp_path / "home"
    process, url = prefect_local.launch(home, tmp_path / "server.log")
    try:
        assert (home / "prefect.db").exists(), "seeded before the server starts"
        assert prefect_local.wait_until_healthy(process, url, timeout=90), \
            (tmp_path / "server.log").read_text()[-2000:]
        assert prefect_local.prepare_cache() is None, "the cache is already there"
    finally:
        process.terminate()
        process.wait(timeout=30)
    with sqlite3.connect(home / "prefect.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == revision


def test_a_home_with_a_database_keeps_it(cache, tmp_path) -> None:
    from plancycle import prefect_local

    cache.mkdir()
    prefect_local.cached_database().write_bytes(b"not used")
    home = tmp_path / "home"
    home.mkdir()
    (home / "prefect.db").write_bytes(b"the user's own")
    process, _ = prefect_local.launch(home, tmp_path / "server.log")
    process.terminate()
    process.wait(timeout=30)
    assert (home / "prefect.db").read_bytes() == b"the user's own"
