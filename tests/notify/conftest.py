"""Fixtures for delivery tests: a register, a simulated clock and two real loopback servers.

No mocks: the runtime's channels are real Apprise URLs, ``mailto://`` to an aiosmtpd server
and ``json://`` to an HTTP webhook receiver, both on 127.0.0.1 (see ``harness.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plancycle.clock import SimulatedClock
from plancycle.runtime import Runtime

from .harness import START, Driver, SmtpServer, Webhook, isolate, make_runtime


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like the engine tests' ``home`` (own register, link secret, portal URL)."""
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def clock() -> SimulatedClock:
    """1 April 2026, 09:00 London: the sample cycle's first day."""
    return SimulatedClock(START)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.start()
    yield hook
    hook.stop()


@pytest.fixture
def runtime(home: Path, clock: SimulatedClock, smtp: SmtpServer,
            webhook: Webhook) -> Iterator[Runtime]:
    """The sample cycle started in a fresh register, delivering to ``smtp`` and ``webhook``."""
    rt = make_runtime(home, clock, smtp, webhook)
    yield rt
    rt.register.dispose()


@pytest.fixture
def driver(runtime: Runtime, clock: SimulatedClock) -> Driver:
    return Driver(runtime, clock)
