"""Shared test set-up: quiet, offline settings and one Prefect test harness per session."""

from __future__ import annotations

import os

# Before anything imports Prefect or Great Expectations.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("PREFECT_UI_ENABLED", "false")
# The harness's server prints shutdown noise from its event recorder when it stops.
os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")

import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect API (temporary database) shared by every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


# --- Postgres ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_cluster_owner() -> list[str]:
    """Postgres refuses to run as root: under root, run its binaries as the postgres user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser; cannot start a Postgres cluster")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to own a test cluster")
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway Postgres cluster on a free loopback port; yields its base URL."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("Postgres binaries (initdb, pg_ctl) are not on PATH")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed")
    prefix = _as_cluster_owner()
    # Not under pytest's tmp dir: that is private to the user running pytest.
    root = Path(tempfile.mkdtemp(prefix="plancycle-pg-"))
    if prefix:
        shutil.chown(root, user="postgres")
    data, port = root / "data", _free_port()
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=60)
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w",
                        "-o", f"-p {port} -h 127.0.0.1 -k {root} -F", "start"],
                       check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = root / "server.log"
        detail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a throwaway Postgres cluster: {exc} {detail}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database in the throwaway cluster for one test."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name).lower()[:50]
    dsn = postgres_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


# --- the sample cycle on a simulated clock -------------------------------------------------------

@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A private PLANCYCLE_HOME with a fixed link secret and portal URL."""
    monkeypatch.setenv("PLANCYCLE_HOME", str(tmp_path))
    monkeypatch.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    monkeypatch.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
    return tmp_path


@pytest.fixture
def clock():
    """Wednesday 1 April 2026, 09:00 London: the first day of the sample cycle."""
    from datetime import date

    from plancycle.clock import SimulatedClock

    return SimulatedClock(date(2026, 4, 1))


@pytest.fixture
def recording():
    """A channel that keeps every message in memory (fast who-gets-what assertions)."""
    from plancycle.notify.channels import RecordingChannels

    return RecordingChannels()


@pytest.fixture
def runtime(home, clock, recording):
    """The sample cycle started in a SQLite register, on the simulated clock."""
    from tests.engine.conftest import build_runtime

    rt = build_runtime(home, clock, recording)
    yield rt
    rt.register.dispose()


# --- Real parts that could not run ---------------------------------------------------------
#
# A browser, Postgres or SMTP test that cannot run is skipped with a reason saying how to
# enable it; the run then ends with a loud list of them, and with PLANCYCLE_REQUIRE_REAL_PARTS=1
# (set by .ci/run) any skip fails the run: CI never passes with a real part left out.

_SKIPPED: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _SKIPPED:
        return
    write = terminalreporter.write_line
    terminalreporter.section("REAL PARTS NOT TESTED", sep="!", red=True, bold=True)
    reasons: dict[str, list[str]] = {}
    for nodeid, reason in _SKIPPED:
        reasons.setdefault(reason, []).append(nodeid)
    for reason, nodeids in reasons.items():
        write(f"{len(nodeids)} test(s) skipped: {reason}", red=True, bold=True)
        for nodeid in nodeids[:5]:
            write(f"    {nodeid}")
        if len(nodeids) > 5:
            write(f"    … and {len(nodeids) - 5} more")
    if _strict():
        write("PLANCYCLE_REQUIRE_REAL_PARTS=1: a skipped real part fails this run.",
              red=True, bold=True)


def _strict() -> bool:
    return os.environ.get("PLANCYCLE_REQUIRE_REAL_PARTS", "") not in ("", "0")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and _strict() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
