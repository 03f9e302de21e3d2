"""Engines for SQLite (embedded default, WAL) and PostgreSQL (production), and migrations."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
PG_CONNECT_TIMEOUT_S = 5
# SQLite URLs are served by ImmediateSQLiteDialect (below), registered under this driver name.
SQLITE_DRIVERNAME = "sqlite.xunzhen"
SQLITE_URL_DRIVERNAME = "sqlite+xunzhen"


@dataclass(frozen=True, slots=True)
class SqliteOptions:
    """SQLite tuning, read from the environment by ``bot.config.Settings`` and handed to :func:`make_engine`."""

    # How long a write waits for another writer before the user is told the system is busy. Chat users
    # should not wait half a minute; one long write (a 10,000-row fan-out) takes about a second.
    busy_timeout_ms: int = 5000
    # Pages the WAL may hold before a commit copies them into the database file (SQLite's default is 1,000). A
    # checkpoint copies each page once however often it changed, and every chat update rewrites the same few
    # pages (accounts, recent buttons, the audit tail): at 1,000 one commit in sixty paid for a checkpoint and
    # its fsyncs (README → Measured, bench/lifecycle.py). The WAL is then about 16 MB; one large transaction
    # can grow it beyond that, and after the next checkpoint it is cut back to SQLITE_WAL_SIZE_LIMIT.
    wal_autocheckpoint_pages: int = 4000


SQLITE_WAL_SIZE_LIMIT = 32 * 1024 * 1024


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (the form most hosting panels print)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class ImmediateSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, with every transaction begun by ``BEGIN IMMEDIATE``.

    A read-then-write transaction takes the write lock up front and waits on the busy timeout instead of failing
    later with "database is locked". SQLAlchemy's recipe for this is an engine ``begin`` event; the dialect's
    ``do_begin`` does the same without one, and an engine without connection events skips the event dispatch on
    every statement it runs (about a tenth of a chat update's time, see bench/lifecycle.py). A failure to begin
    (busy beyond the timeout) is raised as SQLAlchemy's ``OperationalError``, as every other statement's is.
    """

    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        """Begin a transaction that holds the write lock from its first statement."""
        dbapi_connection.execute("BEGIN IMMEDIATE")


registry.register(SQLITE_DRIVERNAME, __name__, "ImmediateSQLiteDialect")


def make_engine(url: str, *, echo: bool = False, sqlite: SqliteOptions | None = None) -> Engine:
    """An engine for ``url``: SQLite gets WAL, a busy timeout, foreign keys and ``BEGIN IMMEDIATE``
    (tuned by ``sqlite``, the defaults when None)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        options = sqlite or SqliteOptions()
        parsed = sa.engine.make_url(url)
        if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
            parsed = parsed.set(drivername=SQLITE_URL_DRIVERNAME)
        path = parsed.database
        # A URI filename (``sqlite:///file:...?uri=true``, e.g. an in-memory database shared by name) names no folder.
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            echo=echo,
            # SQL logs must never carry residents' words or numbers, even at DEBUG.
            hide_parameters=True,
            connect_args={"timeout": options.busy_timeout_ms / 1000, "check_same_thread": False},
        )
        _sqlite_recipe(engine, options)
        return engine
    # pre-ping: after the database restarts, stale pooled connections are replaced, not handed out.
    return sa.create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )


def _sqlite_recipe(engine: Engine, options: SqliteOptions) -> None:
    # SQLAlchemy's documented recipe, first half: take transaction control away from the pysqlite driver (the
    # dialect then begins every transaction itself, with BEGIN IMMEDIATE: ImmediateSQLiteDialect). A pool event,
    # not a connection event: it runs once per new driver connection, never per statement.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={options.busy_timeout_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA wal_autocheckpoint={options.wal_autocheckpoint_pages}")
        cur.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_SIZE_LIMIT}")
        # Erased personal data is overwritten on disk, not just unlinked from the b-tree.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()


def checkpoint_wal(engine: Engine) -> None:
    """Copy the WAL into the database file and truncate it, waiting (busy timeout) for readers to move on.

    Run after an erasure has committed, so the erased rows' old pages leave the ``-wal`` file while the service
    keeps running. A checkpoint that cannot finish (a reader still on an old snapshot after the busy timeout)
    is tried again once; it never fails the erasure, which is committed already.
    """
    if engine.dialect.name != "sqlite":
        return
    for _ in range(2):
        raw = engine.raw_connection()
        try:
            assert raw.dbapi_connection is not None
            cur = raw.dbapi_connection.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cur.fetchone()
            busy = row[0] if row else 1
            cur.close()
        except sqlite3.Error:
            busy = 1
        finally:
            raw.close()
        if not busy:
            return


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs this package's migrations on ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (both backends use the same Alembic migrations)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision(s) the database is at (comma-separated while branches are open), or None."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None
