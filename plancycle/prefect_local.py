"""A local Prefect server for the rehearsed year: started early, ready before the first run.

``make demo`` records the year's flow runs on a Prefect server of its own, whose UI the
planner browses afterwards. Two things made the user wait for it:

- it was started, then waited for, before anything else happened: now it is launched first
  and waited for only when the first flow runs, so it starts while the demo generates the
  synthetic trust and loads Great Expectations;
- on a fresh ``PREFECT_HOME`` the server spends ~5 s creating its SQLite database from
  Prefect's own migrations, on every run (the demo starts from a clean folder). The empty,
  migrated database is made once per Prefect version into the user's cache
  (``$XDG_CACHE_HOME/plancycle``, or ``PLANCYCLE_CACHE``) and copied into each fresh home;
  the server still checks it is at head when it starts. A missing or unusable cache only
  costs the migrations, never the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from importlib.metadata import version
from pathlib import Path

from plancycle.mailsink import free_port


def cache_dir() -> Path:
    configured = os.environ.get("PLANCYCLE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "plancycle"


def _server_env(home: Path, port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": ""}
    if port is not None:
        env.update(PREFECT_SERVER_API_HOST="127.0.0.1", PREFECT_SERVER_API_PORT=str(port))
    return env


def cached_database() -> Path:
    return cache_dir() / f"prefect-{version('prefect')}-empty.db"


def prepare_cache() -> threading.Thread | None:
    """Make the cached empty database in the background if it is missing (≈ 5 s of
    Prefect's migrations in another process, while the year runs); join the thread
    before exiting. ``None`` when the cache is already there."""
    if cached_database().exists() or os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL"):
        return None
    thread = threading.Thread(target=empty_database, name="prefect-cache", daemon=True)
    thread.start()
    return thread


def empty_database() -> Path | None:
    """The cached empty database at Prefect's head revision, made if missing.

    Written to a scratch name and renamed, so two demos starting at once never copy half a
    file. ``None`` (and the server migrates by itself) if it cannot be made.
    """
    cached = cached_database()
    if cached.exists():
        return cached
    scratch = cached.parent / f".build-{uuid.uuid4().hex}"
    try:
        scratch.mkdir(parents=True)
        env = _server_env(scratch)
        env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)  # the scratch home's SQLite
        done = subprocess.run([sys.executable, "-m", "prefect", "server", "database",
                               "upgrade", "-y"], env=env,
                              capture_output=True, timeout=300, check=False)
        built = scratch / "prefect.db"
        if done.returncode != 0 or not built.exists():
            return None
        part = cached.with_name(f".{cached.name}.{uuid.uuid4().hex}")
        _copy_database(built, part)
        os.replace(part, cached)
        return cached
    except (OSError, sqlite3.Error, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_database(source: Path, target: Path) -> None:
    """A consistent, self-contained copy (SQLite's backup API folds in the WAL)."""
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def launch(home: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``prefect server start`` on a free loopback port without waiting for it.

    A fresh ``home`` is seeded with the cached empty database when there is one; otherwise
    the server migrates its own (and :func:`prepare_cache` makes the cache for next time).
    """
    home.mkdir(parents=True, exist_ok=True)
    database, empty = home / "prefect.db", cached_database()
    own_sqlite = not os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL")
    if own_sqlite and not database.exists() and empty.exists():
        try:
            _copy_database(empty, database)
        except (OSError, sqlite3.Error):
            with contextlib.suppress(OSError):
                database.unlink(missing_ok=True)
    port = free_port()
    out = log.open("wb")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)], env=_server_env(home, port), stdout=out,
            stderr=subprocess.STDOUT)
    finally:
        out.close()  # the child holds its own descriptor
    return process, f"http://127.0.0.1:{port}"


def wait_until_healthy(process: subprocess.Popen[bytes], url: str,
                       timeout: float = 90) -> bool:
    """Whether the launched server answers its health check within ``timeout`` seconds;
    a server that exits or never answers is stopped and reported as ``False``."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.terminate()
    return False
