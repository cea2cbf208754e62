"""Opening the register: engine, migrations and units of work.

SQLite file by default (zero set-up); any SQLAlchemy URL via ``PLANCYCLE_DATABASE_URL``
(``postgresql+psycopg://…`` in production). The schema is owned by Alembic migrations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from plancycle.clock import Clock, SystemClock
from plancycle.register import audit  # noqa: F401  (installs the audit listener)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def home() -> Path:
    """Where plancycle keeps its data (register, uploads, documents): ``PLANCYCLE_HOME``."""
    return Path(os.environ.get("PLANCYCLE_HOME", ".plancycle")).resolve()


def default_url() -> str:
    url = os.environ.get("PLANCYCLE_DATABASE_URL")
    if url:
        return url
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'register.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


_REVISION = re.compile(r"^(down_)?revision\b[^=]*=\s*(.+)$", re.MULTILINE)


def migration_heads() -> set[str]:
    """The head revision(s) of the migration scripts, read from their ``revision`` lines."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            ids = set(re.findall(r"['\"]([^'\"]+)['\"]", value))
            (parents if down else revisions).update(ids)
    return revisions - parents


class Register:
    """The register of one deployment: a database plus the clock that stamps changes."""

    def __init__(self, url: str | None = None, clock: Clock | None = None) -> None:
        self.url = url or default_url()
        self.clock: Clock = clock or SystemClock()
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema up to the latest migration (safe to call every start).

        A register already at the head is recognised with one query, without loading Alembic
        (about 0.2 s on every command).
        """
        if self._at_head():
            return
        from alembic import command

        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _at_head(self) -> bool:
        try:
            with self.engine.connect() as connection:
                stored = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
        except DBAPIError:   # a new register: no version table yet
            return False
        return stored == migration_heads()

    @contextmanager
    def session(self, actor: str = "system", note: str | None = None) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error; changes audited as ``actor``."""
        session = self._sessions()
        session.info.update(actor=actor, clock=self.clock, note=note)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
