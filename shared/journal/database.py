"""The journal's database: which one (``DATABASE_URL``, else a SQLite file under ``DATA_DIR``), engines for the
writer and for readers, and the migrations, run by the writer at start.

SQLite runs in WAL mode, so readers in other processes (execution, monitor, the export command) never block
the writer nor see half a transaction; the writer uses one connection, so its own writes never contend for
the file's lock. PostgreSQL connections are checked before use (a restarted server leaves dead ones in the pool).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.settings import ServiceSettings

# What a database that is down or not set up yet raises: SQLAlchemy's errors, the network's, and asyncpg's
# own (it raises them unwrapped while connecting, e.g. to a restarted server that is still starting up).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_FILE = "journal.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATION_LOCK = 7_341_592_001  # any constant: PostgreSQL advisory lock taken while migrating


def database_url(settings: ServiceSettings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return f"sqlite+aiosqlite:///{Path(settings.data_dir).resolve() / SQLITE_FILE}"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process crash, fast
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(url: str, *, writer: bool = False, pool_size: int = 5) -> AsyncEngine:
    """An engine for ``url``; nothing connects until it is used. ``writer`` makes the SQLite file's folder."""
    if is_sqlite(url):
        database = make_url(url).database
        if writer and database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        sizing: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if writer else {}
        engine = create_async_engine(url, **sizing)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No call waits forever: connecting gives up after 10 s, a statement after 60 s.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=30,
        connect_args={"timeout": 10, "command_timeout": 60},
    )


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Two journal replicas starting together: the second waits, then finds nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent: an up-to-date schema is left alone)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
