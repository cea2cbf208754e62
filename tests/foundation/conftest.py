"""Shared fixtures for the foundation tests: isolated homes, SQLite and Postgres registers.

No mocks: every test gets its own PLANCYCLE_HOME and SQLite file under tmp_path, and the
Postgres variants run against the throwaway cluster of tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own register: nothing leaks into .plancycle/ or between tests."""
    home = tmp_path / "home"
    monkeypatch.setenv("PLANCYCLE_HOME", str(home))
    monkeypatch.setenv("PLANCYCLE_DATABASE_URL", f"sqlite:///{tmp_path / 'register.db'}")
    return home


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'register.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test against SQLite (default) and Postgres (production)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
