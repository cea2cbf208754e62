"""How a command runs a flow: recorded by the Prefect server the user points at, or — with
no server configured — the same steps in this process.

Without ``PREFECT_API_URL`` Prefect would start a temporary server inside every command
(10–20 s, and it can time out on a fresh ``PREFECT_HOME``) only to throw the record away
when the command ends. So:

- **an API is configured** (``PREFECT_API_URL`` in the environment, or set in the active
  Prefect profile with ``prefect config set``): it must answer, then the flow runs and
  Prefect records it; a configured server that does not answer is a clear error (exit 2);
- **no API is configured**: the command runs the flow's steps (:mod:`plancycle.passes`) in
  this process — the register, the source of truth, ends up the same — and says on stderr
  that no flow run was recorded and how to get one;
- a command that **follows or resumes flow runs** (``plancycle ics run``) needs a server:
  without one it says how to start one (exit 2), never a traceback or a hang.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from plancycle.cli.common import UserError, console_err

#: Where ``prefect server start`` listens unless told otherwise.
LOCAL_SERVER = ("127.0.0.1", 4200)
HOW_TO_RECORD = ("start a server with `prefect server start` and "
                 "`export PREFECT_API_URL=http://127.0.0.1:4200/api`, or bring the whole stack "
                 "up with `plancycle stack up` and `eval \"$(plancycle stack env)\"`")


def _profile_api_url() -> str | None:
    """``PREFECT_API_URL`` of the active Prefect profile (``prefect config set …``)."""
    import tomllib

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    settings = (data.get("profiles") or {}).get(active) or {}
    value = settings.get("PREFECT_API_URL") if isinstance(settings, dict) else None
    return str(value) if value else None


def api_url() -> str | None:
    """The Prefect API this process would talk to, or None (Prefect would go ephemeral).

    Read without importing Prefect (a second of imports): the environment first, then the
    active profile, as Prefect itself does.
    """
    if "PREFECT_API_URL" in os.environ:
        return os.environ["PREFECT_API_URL"].strip() or None
    return _profile_api_url()


def answers(url: str, timeout: float = 5.0) -> str | None:
    """None when the API at ``url`` answers its health check, else what went wrong."""
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if response.status_code != 200:
        return f"health check answered HTTP {response.status_code}"
    return None


def _local_server_listening() -> bool:
    try:
        with socket.create_connection(LOCAL_SERVER, timeout=0.2):
            return True
    except OSError:
        return False


def checked_api(command: str) -> str | None:
    """The configured API if it answers; None if none is configured; exit 2 if it is down."""
    url = api_url()
    if url is None:
        return None
    problem = answers(url)
    if problem is not None:
        raise UserError(
            f"the Prefect API at PREFECT_API_URL={url} does not answer ({problem}). Start "
            f"that server (`prefect server start`), or unset PREFECT_API_URL to run "
            f"`{command}` in this process without recording a flow run.")
    return url


def note_not_recorded(command: str, what: str) -> None:
    """Say, on stderr, that the work was done here and no flow run was recorded."""
    hint = HOW_TO_RECORD
    if _local_server_listening():
        host, port = LOCAL_SERVER
        hint = (f"a Prefect server seems to be listening on {host}:{port}: "
                f"`export PREFECT_API_URL=http://{host}:{port}/api` to record runs there")
    console_err.print(
        f"note: no Prefect flow run recorded — PREFECT_API_URL is not set, so `{command}` "
        f"ran {what} in this process (the register holds the outcome). To record flow runs, "
        f"{hint}.", highlight=False, markup=False, emoji=False, soft_wrap=True)


def require_api(command: str, why: str) -> str:
    """The API a command cannot do without, or exit 2 saying how to get one."""
    url = checked_api(command)
    if url is None:
        raise UserError(f"`{command}` {why}, so it needs a Prefect server: {HOW_TO_RECORD}.")
    return url


def warn(message: str) -> None:
    console_err.print(message, highlight=False, markup=False, emoji=False, soft_wrap=True)
