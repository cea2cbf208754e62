"""The command line pauses the cyclic collector while a command starts and always resumes it:
when the command ends, or after the start-up window for a long command (a chase, the portal)."""

from __future__ import annotations

import gc
import threading

import pytest

from plancycle.cli import _quiet_start


@pytest.fixture(autouse=True)
def _collector_restored():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_the_collector_is_paused_during_start_up_and_resumed_when_the_command_ends():
    gc.enable()
    settle = _quiet_start(60.0)
    assert not gc.isenabled()
    settle()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0           # the start-up heap, out of the exit's sight
    settle()                                  # a second call changes nothing
    assert gc.isenabled()


def test_a_long_command_collects_again_after_the_start_up_window():
    gc.enable()
    settle = _quiet_start(0.01)
    resumed = threading.Event()
    for _ in range(500):                      # the window's timer thread resumes it
        if gc.isenabled():
            resumed.set()
            break
        resumed.wait(0.01)
    assert resumed.is_set()
    gc.unfreeze()
    settle()                                  # nothing a long command built gets frozen
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_someone_else_paused_stays_paused():
    gc.disable()
    settle = _quiet_start(0.01)
    settle()
    assert not gc.isenabled()
