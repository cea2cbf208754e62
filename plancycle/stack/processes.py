"""The stack's long-running processes: started detached, recognised again, stopped cleanly.

Each process gets ``PLANCYCLE_STACK_PART=<stack root>:<part>`` in its environment, so a pid
recorded in ``state.json`` is only taken for the part if ``/proc/<pid>/environ`` still says
so (a reused pid is never mistaken for a worker, and never killed). Processes run in their
own session: closing the terminal that ran ``stack up`` does not stop them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

MARKER = "PLANCYCLE_STACK_PART"


def marker(root: Path, part: str) -> str:
    return f"{root}:{part}"


def spawn(root: Path, part: str, argv: Sequence[str], env: Mapping[str, str], log: Path,
          cwd: Path | None = None) -> int:
    """Start ``argv`` detached (own session), output appended to ``log``; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {part}: "
                  f"{' '.join(argv)}\n".encode())
        out.flush()
        process = subprocess.Popen(list(argv), env={**env, MARKER: marker(root, part)},
                                   stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
    return process.pid


def _reap(pid: int) -> None:
    """Collect a child that has exited (tests start the stack from their own process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int | None, root: Path, part: str) -> bool:
    """Whether ``pid`` is running and is this stack's ``part``."""
    if not pid:
        return False
    _reap(pid)
    if _state(pid) in (None, "Z", "X"):
        return False
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER}={marker(root, part)}".encode() in environ.split(b"\0")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (e.g. a worker's flow runs, which run in their own
    session, so a signal to the worker's group does not reach them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo += children.get(child, [])
    return out


def _signal(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def stop(pid: int, root: Path, part: str, timeout: float = 20.0) -> bool:
    """SIGTERM the part (and what it started), SIGKILL whatever is left after ``timeout``.

    Returns False if the pid was not this part (nothing is signalled then).
    """
    if not alive(pid, root, part):
        return False
    below = descendants(pid)
    _signal([pid], signal.SIGTERM)
    if not wait_until(lambda: not alive(pid, root, part), timeout):
        _signal([pid], signal.SIGKILL)
        wait_until(lambda: not alive(pid, root, part), 5)
    remaining = [p for p in below if _state(p) not in (None, "Z", "X")]
    _signal(remaining, signal.SIGTERM)
    if remaining and not wait_until(
            lambda: all(_state(p) in (None, "Z", "X") for p in remaining), 10):
        _signal(remaining, signal.SIGKILL)
    return True


def kill_hard(pid: int) -> list[int]:
    """SIGKILL a process and everything below it at once (a host dying); the pids killed."""
    victims = [pid, *descendants(pid)]
    _signal(victims, signal.SIGKILL)
    for victim in victims:
        _reap(victim)
    return victims
