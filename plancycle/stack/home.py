"""Where the local stack keeps everything: one folder, its ports, pids and secrets.

``PLANCYCLE_STACK_HOME`` (default ``$PLANCYCLE_HOME/stack``, i.e. ``.plancycle/stack``)::

    postgres/data/       the Postgres cluster (databases ``plancycle`` and ``prefect``)
    postgres/server.log
    prefect/             PREFECT_HOME of the server and the workers
    home/                PLANCYCLE_HOME of every part: uploads, documents, DQ reports
    mail/                the local mail sink's messages (when no PLANCYCLE_EMAIL_URL is set)
    logs/<part>.log      one log per process
    state.json           ports (kept from the first start, so URLs stay the same) and pids
    secrets.json         link secret and planner token (mode 600, generated once)
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def default_root() -> Path:
    explicit = os.environ.get("PLANCYCLE_STACK_HOME")
    if explicit:
        return Path(explicit).resolve()
    return (Path(os.environ.get("PLANCYCLE_HOME", ".plancycle")) / "stack").resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class StackHome:
    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> StackHome:
        return cls(Path(root).resolve() if root else default_root())

    # --- layout ------------------------------------------------------------------------------
    @property
    def postgres(self) -> Path:
        return self.root / "postgres"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def data(self) -> Path:
        """PLANCYCLE_HOME of every part (uploads, documents): shared storage in production."""
        return self.root / "home"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, part: str) -> Path:
        return self.logs / f"{part}.log"

    def create(self) -> None:
        for folder in (self.root, self.prefect_home, self.data, self.logs):
            folder.mkdir(parents=True, exist_ok=True)

    # --- state: ports and pids ----------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_path)

    def port(self, part: str, wanted: int | None = None) -> int:
        """The part's port: as recorded at the first start, else ``wanted``, else a free one."""
        state = self.state()
        ports = state.setdefault("ports", {})
        if wanted:
            ports[part] = wanted
        elif part not in ports:
            ports[part] = free_port()
        self.save_state(state)
        return int(ports[part])

    # --- secrets ------------------------------------------------------------------------------
    def secrets(self) -> dict[str, str]:
        """The stack's link secret and planner token, generated once (file mode 600)."""
        path = self.root / "secrets.json"
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            pass
        values = {"PLANCYCLE_LINK_SECRET": secrets.token_urlsafe(32),
                  "PLANCYCLE_PLANNER_TOKEN": secrets.token_urlsafe(18)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
        return values
