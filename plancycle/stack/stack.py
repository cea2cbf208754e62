"""``plancycle stack up | down | status``: the production stack on one machine.

Up, in order (each step skipped when already done, so running it twice changes nothing):

1. **Postgres** from the machine's binaries; databases ``plancycle`` and ``prefect``;
2. the **register's migrations** (Alembic ``upgrade head``) — at every start;
3. **Prefect's server** on the ``prefect`` database (API, UI, scheduler, triggers);
4. the ``plancycle`` **process work pool**, the zombie-run automation, the **deployments**
   of ``deployments/prefect.yaml`` (re-deployed when it or a flow changes);
5. **N workers** polling the pool (default 2), each with the register's environment;
6. the **portal**, and a local **mail sink** when no ``PLANCYCLE_EMAIL_URL`` is given.

Every process runs detached with its log under ``<stack home>/logs``; ``down`` stops them
(workers first, Postgres last) and ``status`` asks each one how it is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from plancycle.stack import orchestrator, processes
from plancycle.stack.home import StackHome, port_in_use
from plancycle.stack.postgres import Postgres, StackError

Echo = Callable[[str], None]
ROOT = orchestrator.ROOT
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
SERVER, PORTAL, MAILSINK = "prefect-server", "portal", "mailsink"


@dataclass
class StackOptions:
    workers: int = 2
    #: Flow runs one worker runs at once (``prefect worker start --limit``).
    worker_limit: int | None = 4
    #: How often workers ask the pool for work (PREFECT_WORKER_QUERY_SECONDS).
    poll_seconds: float = 5.0
    #: Prefect's scheduler service: off for test stacks, where only explicit runs may run.
    scheduler: bool = True
    portal: bool = True
    #: fsync on in Postgres; off only for throwaway stacks (tests, benchmarks).
    durable: bool = True
    #: Start the sample trust's cycle in the register (a newcomer's first stack).
    sample: bool = False
    #: More environment for the workers and the portal (e.g. a test's settings).
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartStatus:
    part: str
    ok: bool
    detail: str
    url: str | None = None
    log: str | None = None


@dataclass
class UpReport:
    started: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)


def _worker_name(i: int) -> str:
    return f"worker-{i}"


class Stack:
    """The local stack rooted at one folder (see :mod:`plancycle.stack.home`)."""

    def __init__(self, home: StackHome | None = None) -> None:
        self.home = home or StackHome.at()

    # --- addresses and environment ------------------------------------------------------------
    @property
    def postgres(self) -> Postgres:
        durable = bool(self.home.state().get("options", {}).get("durable", True))
        return Postgres(self.home.postgres, self.home.port("postgres"), durable=durable)

    @property
    def prefect_url(self) -> str:
        return f"http://127.0.0.1:{self.home.port('prefect')}"

    @property
    def api_url(self) -> str:
        return f"{self.prefect_url}/api"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.home.port('portal')}"

    @property
    def register_url(self) -> str:
        return self.postgres.url("plancycle")

    def _channels(self) -> dict[str, str]:
        """Email/chat URLs: from the environment of ``stack up`` (kept with the secrets, so
        a later ``up`` from another shell keeps them), else the local mail sink's."""
        recorded = self.home.secrets()
        for name in ("PLANCYCLE_EMAIL_URL", "PLANCYCLE_CHAT_URL"):
            if os.environ.get(name):
                recorded[f"channel:{name}"] = os.environ[name]
        self._save_secrets(recorded)
        channels = {k.split(":", 1)[1]: v for k, v in recorded.items()
                    if k.startswith("channel:")}
        if "PLANCYCLE_EMAIL_URL" not in channels:
            channels["PLANCYCLE_EMAIL_URL"] = (
                f"mailto://127.0.0.1:{self.home.port('mailsink')}?"
                "from=workforce.planning@localhost&name=Workforce%20Planning&mode=insecure")
        return channels

    def _save_secrets(self, values: dict[str, str]) -> None:
        import json

        path = self.home.root / "secrets.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
        tmp.replace(path)

    def uses_mailsink(self) -> bool:
        return not any(k == "channel:PLANCYCLE_EMAIL_URL" for k in self.home.secrets())

    def env(self) -> dict[str, str]:
        """What the CLI, the portal and the workers need to use this stack."""
        secrets = self.home.secrets()
        return {
            "PLANCYCLE_STACK_HOME": str(self.home.root),
            "PLANCYCLE_HOME": str(self.home.data),
            "PLANCYCLE_DATABASE_URL": self.register_url,
            "PREFECT_API_URL": self.api_url,
            "PREFECT_UI_URL": self.prefect_url,
            "PLANCYCLE_PORTAL_URL": self.portal_url,
            "PLANCYCLE_LINK_SECRET": secrets["PLANCYCLE_LINK_SECRET"],
            "PLANCYCLE_PLANNER_TOKEN": secrets["PLANCYCLE_PLANNER_TOKEN"],
            "PLANCYCLE_CHECKOUT": str(ROOT),
            **self._channels(),
        }

    def _own_env(self, **extra: str) -> dict[str, str]:
        """What the stack sets for its processes (on top of the environment of ``up``)."""
        return {**self.env(), "PREFECT_HOME": str(self.home.prefect_home),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1", **extra}

    @staticmethod
    def _full_env(own: dict[str, str]) -> dict[str, str]:
        env = {**os.environ, **own}
        env.pop(processes.MARKER, None)
        return env

    # --- state --------------------------------------------------------------------------------
    def _pid(self, part: str) -> int | None:
        return self.home.state().get("pids", {}).get(part)

    def _record(self, part: str, pid: int | None) -> None:
        state = self.home.state()
        pids = state.setdefault("pids", {})
        if pid is None:
            pids.pop(part, None)
        else:
            pids[part] = pid
        self.home.save_state(state)

    def running(self, part: str) -> bool:
        return processes.alive(self._pid(part), self.home.root, part)

    @staticmethod
    def _fingerprint(argv: list[str], own: dict[str, str]) -> str:
        """What the stack started a process with: a change (a new PLANCYCLE_EMAIL_URL,
        another worker limit) restarts it on the next ``up``; the rest of the caller's
        environment does not count."""
        import hashlib
        import json

        blob = json.dumps([argv, sorted(own.items())])
        return hashlib.sha256(blob.encode()).hexdigest()

    def _ensure_process(self, part: str, argv: list[str], own: dict[str, str],
                        port: int | None, report: UpReport) -> None:
        fingerprint = self._fingerprint(argv, own)
        if self.running(part):
            if self.home.state().get("started_with", {}).get(part) == fingerprint:
                report.already.append(part)
                return
            processes.stop(self._pid(part) or 0, self.home.root, part)
            report.started.append(f"{part} (restarted: its settings changed)")
            if port is not None:
                processes.wait_until(lambda: not port_in_use(port), 10)
        else:
            report.started.append(part)
        if port is not None and port_in_use(port):
            raise StackError(f"{part}: port {port} on 127.0.0.1 is taken by another program; "
                             f"stop it, or edit 'ports' in {self.home.state_path}")
        self._record(part, processes.spawn(self.home.root, part, argv, self._full_env(own),
                                           self.home.log(part), cwd=ROOT))
        state = self.home.state()
        state.setdefault("started_with", {})[part] = fingerprint
        self.home.save_state(state)

    def _wait_http(self, part: str, url: str, timeout: float) -> None:
        import httpx

        def up() -> bool:
            if not self.running(part):
                tail = self.home.log(part).read_text(errors="replace")[-2000:]
                raise StackError(f"{part} exited while starting; {self.home.log(part)} "
                                 f"ends:\n{tail}")
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        if not processes.wait_until(up, timeout, interval=0.5):
            raise StackError(f"{part} did not answer {url} within {timeout:.0f} s; see "
                             f"{self.home.log(part)}")

    # --- up -----------------------------------------------------------------------------------
    def recorded_options(self, **changes: Any) -> StackOptions:
        """The options of the last ``up`` (defaults the first time), with ``changes``."""
        import dataclasses

        known = {f.name for f in dataclasses.fields(StackOptions)}
        saved = {k: v for k, v in self.home.state().get("options", {}).items() if k in known}
        saved.pop("sample", None)  # a one-off action, not a setting
        return StackOptions(**{**saved, **{k: v for k, v in changes.items() if v is not None}})

    def up(self, options: StackOptions | None = None, echo: Echo = print) -> UpReport:
        """Bring every part up (what is running already is left running).

        Without ``options`` the last ``up``'s are used, so running it again changes nothing.
        """
        import dataclasses

        options = options or self.recorded_options()
        report = UpReport()
        self.home.create()
        state = self.home.state()
        state["options"] = dataclasses.asdict(options)
        self.home.save_state(state)
        self.home.secrets()

        pg = self.postgres
        (report.started if pg.start() else report.already).append("postgres")
        pg.create_databases()
        revision = self._migrate()
        echo(f"postgres      {pg.url('plancycle')} (register at revision {revision})")

        env = self._own_env(**options.env)
        server_env = {**self._own_env(), "PREFECT_API_URL": "",
                      "PREFECT_API_DATABASE_CONNECTION_URL": pg.url("prefect", "asyncpg"),
                      "PREFECT_SERVER_API_HOST": "127.0.0.1",
                      "PREFECT_SERVER_API_PORT": str(self.home.port("prefect")),
                      "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED":
                          "true" if options.scheduler else "false",
                      "PREFECT_UI_API_URL": self.api_url}
        self._ensure_process(SERVER, orchestrator.server_argv(self.home.port("prefect")),
                             server_env, self.home.port("prefect"), report)
        if self.uses_mailsink():
            self._ensure_process(MAILSINK, [sys.executable, "-m", "plancycle.stack",
                                            "mailsink", "--folder", str(self.home.mail),
                                            "--port", str(self.home.port("mailsink"))],
                                 env, self.home.port("mailsink"), report)
        if options.portal:
            self._ensure_process(PORTAL, [sys.executable, "-m", "plancycle.cli", "portal",
                                          "--host", "127.0.0.1",
                                          "--port", str(self.home.port("portal"))],
                                 env, self.home.port("portal"), report)
        self._wait_http(SERVER, f"{self.api_url}/health", timeout=180)
        if orchestrator.ensure_pool(self.api_url):
            report.started.append("work pool")
        orchestrator.ensure_zombie_automation(self.api_url)
        self._deploy(env, report)
        self._ensure_workers(options, env, report)
        if options.portal:
            self._wait_http(PORTAL, f"{self.portal_url}/healthz", timeout=90)
        if options.sample:
            echo(self._start_sample())
        self._wait_polling(options.workers, timeout=90)
        return report

    def _migrate(self) -> str:
        from alembic.runtime.migration import MigrationContext

        from plancycle.register import Register

        register = Register(self.register_url)
        try:
            register.migrate()
            with register.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision() or "?"
        finally:
            register.dispose()

    def _deploy(self, env: dict[str, str], report: UpReport) -> None:
        fingerprint = orchestrator.deployments_fingerprint()
        state = self.home.state()
        deployed = {n.split("/", 1)[1] for n in orchestrator.deployment_names(self.api_url)}
        if state.get("deployed") == fingerprint and \
                orchestrator.expected_deployments() <= deployed:
            report.already.append("deployments")
            return
        orchestrator.deploy(self._full_env(env), self.home.log("deploy"))
        state = self.home.state()
        state["deployed"] = fingerprint
        self.home.save_state(state)
        report.started.append("deployments")

    def _ensure_workers(self, options: StackOptions, env: dict[str, str],
                        report: UpReport) -> None:
        worker_env = {**env,
                      "PREFECT_WORKER_QUERY_SECONDS": str(options.poll_seconds),
                      "PREFECT_WORKER_PREFETCH_SECONDS": str(max(options.poll_seconds, 1)),
                      "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(orchestrator.HEARTBEAT_SECONDS)}
        for i in range(1, options.workers + 1):
            name = _worker_name(i)
            self._ensure_process(name, orchestrator.worker_argv(name, options.worker_limit),
                                 worker_env, None, report)
        for part in list(self.home.state().get("pids", {})):
            if part.startswith("worker-") and int(part.split("-")[1]) > options.workers:
                processes.stop(self._pid(part) or 0, self.home.root, part)
                self._record(part, None)

    def _wait_polling(self, count: int, timeout: float) -> None:
        names = {_worker_name(i) for i in range(1, count + 1)}

        def polling() -> bool:
            for name in names:
                if not self.running(name):
                    tail = self.home.log(name).read_text(errors="replace")[-2000:]
                    raise StackError(f"{name} exited; {self.home.log(name)} ends:\n{tail}")
            seen = {w.name for w in orchestrator.workers(self.api_url) if w.polling()}
            return names <= seen

        if not processes.wait_until(polling, timeout, interval=1.0):
            raise StackError(f"workers {', '.join(sorted(names))} are running but not polling "
                             f"the '{orchestrator.POOL}' pool; see {self.home.logs}/worker-*.log")

    def _start_sample(self) -> str:
        from plancycle.config import load_config
        from plancycle.register import Register
        from plancycle.register.cycles import start_cycle

        register = Register(self.register_url)
        try:
            with register.session(actor="stack") as session:
                result = start_cycle(session, load_config(SAMPLE), SAMPLE)
        finally:
            register.dispose()
        return (f"sample cycle  {result.cycle_id} "
                + ("started" if result.created else "already in the register"))

    # --- down ---------------------------------------------------------------------------------
    def down(self, echo: Echo = print) -> list[str]:
        """Stop every part: workers first (no new runs), Postgres last; what was stopped."""
        stopped = []
        pids = self.home.state().get("pids", {})
        order = sorted(p for p in pids if p.startswith("worker-")) + [PORTAL, MAILSINK, SERVER]
        for part in order:
            pid = pids.get(part)
            if pid and processes.stop(pid, self.home.root, part):
                stopped.append(part)
                echo(f"stopped {part} (pid {pid})")
            self._record(part, None)
        if self.home.postgres.exists() and self.postgres.stop():
            stopped.append("postgres")
            echo("stopped postgres")
        if not stopped:
            echo(f"nothing was running in {self.home.root}")
        return stopped

    # --- status -------------------------------------------------------------------------------
    def status(self) -> list[PartStatus]:
        """Each part, as it answers now."""
        rows: list[PartStatus] = []
        logs = self.home.logs
        pg = self.postgres
        pg_version = pg.version() if pg.running() else None
        rows.append(PartStatus("postgres", pg_version is not None,
                               f"Postgres {pg_version}, data in {pg.data}" if pg_version
                               else "not running", pg.url("plancycle"), str(pg.log)))
        if pg_version:
            rows.append(self._register_status())
        server_up = self.running(SERVER) and orchestrator.healthy(self.api_url)
        rows.append(PartStatus(
            SERVER, server_up,
            f"Prefect {orchestrator.version(self.api_url)} on the 'prefect' database, UI "
            f"{self.prefect_url}" if server_up else "not running",
            self.api_url, str(logs / f"{SERVER}.log")))
        if server_up:
            rows += self._prefect_rows()
        elif not any(p.startswith("worker-") for p in self.home.state().get("pids", {})):
            rows.append(PartStatus("workers", False, "none running"))
        for part, url in ((PORTAL, f"{self.portal_url}/healthz"),
                          (MAILSINK, None)):
            if part == MAILSINK and not self.uses_mailsink():
                continue
            ok = self.running(part)
            detail = "running" if ok else "not running"
            if ok and url:
                import httpx

                try:
                    ok = httpx.get(url, timeout=2).status_code == 200
                    detail = "answering" if ok else "not answering"
                except httpx.HTTPError:
                    ok, detail = False, "not answering"
            if part == MAILSINK and ok:
                count = len(list(self.home.mail.glob("*.eml")))
                detail = f"{count} messages in {self.home.mail}"
            rows.append(PartStatus(part, ok, detail,
                                   self.portal_url if part == PORTAL else None,
                                   str(logs / f"{part}.log")))
        return rows

    def _register_status(self) -> PartStatus:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.register_url)
        try:
            with engine.connect() as connection:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")
                                              ).scalar()
                cycles = connection.execute(text(
                    "SELECT count(*) FROM cycles WHERE state = 'started'")).scalar()
            return PartStatus("register", True, f"revision {revision}, {cycles} open cycles",
                              self.register_url)
        except Exception as exc:  # noqa: BLE001 - shown, not raised: status must go on
            return PartStatus("register", False, f"cannot read: {exc}", self.register_url)
        finally:
            engine.dispose()

    def _prefect_rows(self) -> list[PartStatus]:
        rows = []
        pool = orchestrator.pool_status(self.api_url)
        rows.append(PartStatus("work pool", pool is not None,
                               f"'{orchestrator.POOL}' (process) {pool}" if pool
                               else f"'{orchestrator.POOL}' missing: run `plancycle stack up`"))
        now = datetime.now(UTC)
        seen = {w.name: w for w in orchestrator.workers(self.api_url)}
        for part in sorted(p for p in self.home.state().get("pids", {})
                           if p.startswith("worker-")):
            worker = seen.get(part)
            alive = self.running(part)
            polling = bool(alive and worker and worker.polling(now))
            if polling and worker and worker.last_heartbeat:
                ago = int((now - worker.last_heartbeat).total_seconds())
                detail = f"polling (last heartbeat {ago} s ago)"
            else:
                detail = "process not running" if not alive else "running, not polling yet"
            rows.append(PartStatus(part, polling, detail, log=str(self.home.log(part))))
        names = orchestrator.deployment_names(self.api_url)
        missing = orchestrator.expected_deployments() - {n.split("/", 1)[1] for n in names}
        rows.append(PartStatus("deployments", not missing,
                               f"{len(names)} registered" + (f"; missing {sorted(missing)}"
                                                             if missing else ""),
                               log=str(self.home.log("deploy"))))
        upcoming = orchestrator.next_run(self.api_url)
        if upcoming is None:
            rows.append(PartStatus("next chaser run", False, "no active schedule"))
        else:
            when = upcoming.when.astimezone().strftime("%a %d %b %Y %H:%M %Z")
            source = (f"flow run '{upcoming.flow_run}'" if upcoming.flow_run
                      else "from the schedule (the scheduler has not created it yet)")
            scheduler = self.home.state().get("options", {}).get("scheduler", True)
            rows.append(PartStatus("next chaser run", True,
                                   f"{when} — {source}; {upcoming.schedule}"
                                   + ("" if scheduler else "; scheduler off in this stack")))
        return rows


def describe(stack: Stack) -> dict[str, Any]:
    """Where everything is, for the summary ``stack up`` prints."""
    env = stack.env()
    return {
        "Prefect UI": stack.prefect_url,
        "Prefect API": stack.api_url,
        "Portal": f"{stack.portal_url}/",
        "Planner dashboard": f"{stack.portal_url}/planner (token {env['PLANCYCLE_PLANNER_TOKEN']})",
        "Register": env["PLANCYCLE_DATABASE_URL"],
        "Prefect database": stack.postgres.url("prefect", "asyncpg"),
        "Mail": (f"local sink, messages in {stack.home.mail}" if stack.uses_mailsink()
                 else "PLANCYCLE_EMAIL_URL as given"),
        "Logs": str(stack.home.logs),
        "Data (PLANCYCLE_HOME)": str(stack.home.data),
    }


def shell_exports(stack: Stack) -> str:
    import shlex

    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in stack.env().items())


__all__ = ["PartStatus", "Stack", "StackError", "StackOptions", "describe", "shell_exports"]
