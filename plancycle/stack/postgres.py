"""The stack's Postgres: a cluster from the machine's own server binaries, on loopback.

``initdb`` once, ``pg_ctl start`` on the recorded port, two databases — ``plancycle`` (the
register) and ``prefect`` (Prefect's server). Postgres refuses to run as root, so under
root the binaries run as the ``postgres`` user (``runuser``), which must be able to reach
the stack's folder. Authentication is ``trust`` on 127.0.0.1 only: a local stack; on
separate hosts use passwords or certificates (README, "The production stack").
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

DATABASES = ("plancycle", "prefect")
SUPERUSER = "postgres"


class StackError(Exception):
    """A part of the stack cannot start; the message says why and what to do."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / name).exists():
            return str(base / name)
    raise StackError(f"the Postgres server binary '{name}' is not installed: install the "
                     "Postgres server package (Debian: apt-get install postgresql) or put "
                     "its bin/ folder on PATH")


def _as_owner() -> list[str]:
    """Run as the ``postgres`` user when we are root (Postgres refuses root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise StackError("running as root, and there is no 'postgres' user to run the "
                         "database as: create one (useradd -r postgres) or run as a normal "
                         "user") from None
    if runuser is None:
        raise StackError("running as root without `runuser` (util-linux) to start Postgres "
                         "as the 'postgres' user")
    return [runuser, "-u", SUPERUSER, "--"]


@dataclass
class Postgres:
    folder: Path
    port: int
    #: fsync off: for throwaway stacks (tests, benchmarks) only.
    durable: bool = True

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_as_owner(), *argv], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def _prepare_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        shutil.chown(self.folder, user=SUPERUSER)
        for parent in self.folder.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                raise StackError(
                    f"the 'postgres' user cannot reach {self.folder}: {parent} is not "
                    f"searchable by others. Run `chmod o+x {parent}` or set "
                    "PLANCYCLE_STACK_HOME to a folder under a searchable path (e.g. /srv)")

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if there is none; True if it was created now."""
        if self.initialised():
            return False
        self._prepare_folder()
        done = self._run(_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U",
                         SUPERUSER, "-E", "UTF8", *([] if self.durable else ["--no-sync"]))
        if done.returncode != 0:
            raise StackError(f"initdb failed for {self.data}:\n{done.stderr.strip()[-2000:]}")
        return True

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run(_binary("pg_ctl"), "-D", str(self.data), "status",
                         timeout=30).returncode == 0

    def start(self) -> bool:
        """Start the server if it is not running; True if it was started now."""
        self.init()
        if self.running():
            return False
        options = (f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c max_connections=200"
                   + ("" if self.durable else " -F"))
        done = self._run(_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                         "-t", "60", "-o", options, "start")
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise StackError(f"Postgres did not start on 127.0.0.1:{self.port} "
                             f"({done.stderr.strip() or done.stdout.strip()}); its log "
                             f"{self.log} ends:\n{tail}")
        return True

    def stop(self, mode: str = "fast") -> bool:
        if not self.running():
            return False
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        return True

    def restart(self) -> None:
        """Stop and start again (every open connection is cut): for fault drills."""
        self.stop("fast")
        self.start()

    def create_databases(self) -> list[str]:
        """Create ``plancycle`` and ``prefect`` if missing; the ones created now."""
        import psycopg

        created = []
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
            for name in DATABASES:
                if name not in existing:
                    conn.execute(f'CREATE DATABASE "{name}"')
                    created.append(name)
        return created

    def version(self) -> str | None:
        import psycopg

        try:
            with psycopg.connect(self.dsn, connect_timeout=3) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]) if row else None
        except psycopg.Error:
            return None
