"""Alembic's entry point. The journal runs migrations itself (shared/journal/database.py: ``migrate``) and
hands over its connection; run by hand, ``alembic -c shared/journal/migrations/alembic.ini upgrade head`` reads
the URL from DATABASE_URL (or DATA_DIR) like the services do."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from shared.journal.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    from shared.journal.database import create_engine, database_url  # noqa: PLC0415  (only when run by hand)
    from shared.settings import ServiceSettings  # noqa: PLC0415

    engine = create_engine(database_url(ServiceSettings()), writer=True)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    asyncio.run(_run_from_settings())
