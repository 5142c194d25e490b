"""Monthly partitions of the large tables on PostgreSQL (``models.PARTITIONED``); nothing on SQLite.

Each partitioned table has a default partition (made by the first migration) and one partition per month,
``<table>_pYYYYMM``, made ahead of time by :func:`ensure_partitions` (at start and by the retention job). A
month whose rows already sit in the default partition (old entries caught up after a long outage) is made by
moving those rows, in one transaction. Retention drops a month's partition once it is wholly older than the
cutoff and empty, which costs nothing like deleting its rows one by one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.journal.models import PARTITIONED

_MONTHLY = re.compile(r"_p(\d{4})(\d{2})$")
PARTITIONS_LOCK = 7_341_592_002  # advisory lock: two processes changing partitions at once would deadlock


async def _serialised(connection: AsyncConnection) -> None:
    """Hold the partitions lock until the transaction ends (taken again by the same session: no wait)."""
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITIONS_LOCK})


def month_bounds(year: int, month: int) -> tuple[float, float]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def months_around(now: float, *, behind: int = 1, ahead: int = 2) -> list[tuple[int, int]]:
    today = datetime.fromtimestamp(now, UTC)
    index = today.year * 12 + today.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - behind, index + ahead + 1)]


async def _exists(connection: AsyncConnection, name: str) -> bool:
    return (await connection.execute(text("SELECT to_regclass(:name)"), {"name": name})).scalar() is not None


async def ensure_month(connection: AsyncConnection, table: str, year: int, month: int) -> bool:
    """Create ``table``'s partition for that month unless it exists; True if it was created."""
    name = f"{table}_p{year:04d}{month:02d}"
    if await _exists(connection, name):
        return False
    column = PARTITIONED[table]
    low, high = month_bounds(year, month)
    bounds = f"FOR VALUES FROM ({low!r}) TO ({high!r})"
    in_range = f"{column} >= {low!r} AND {column} < {high!r}"
    stranded = await connection.execute(text(f"SELECT 1 FROM {table}_default WHERE {in_range} LIMIT 1"))
    if stranded.first() is None:
        await connection.execute(text(f"CREATE TABLE {name} PARTITION OF {table} {bounds}"))
        return True
    # PostgreSQL refuses a partition whose rows sit in the default one: move them over, atomically.
    await connection.execute(text(f"ALTER TABLE {table} DETACH PARTITION {table}_default"))
    await connection.execute(text(f"CREATE TABLE {name} PARTITION OF {table} {bounds}"))
    await connection.execute(text(f"INSERT INTO {name} SELECT * FROM {table}_default WHERE {in_range}"))
    await connection.execute(text(f"DELETE FROM {table}_default WHERE {in_range}"))
    await connection.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {table}_default DEFAULT"))
    return True


async def ensure_partitions(connection: AsyncConnection, now: float) -> list[str]:
    """This month's, last month's and the next two months' partitions of every partitioned table."""
    if connection.dialect.name != "postgresql":
        return []
    await _serialised(connection)
    created = []
    for table in PARTITIONED:
        for year, month in months_around(now):
            if await ensure_month(connection, table, year, month):
                created.append(f"{table}_p{year:04d}{month:02d}")
    return created


async def monthly_partitions(connection: AsyncConnection, table: str) -> list[str]:
    rows = await connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:table) ORDER BY c.relname"
        ),
        {"table": table},
    )
    return [name for (name,) in rows if _MONTHLY.search(name)]


async def drop_empty_before(connection: AsyncConnection, table: str, cutoff: float) -> list[str]:
    """Drop ``table``'s monthly partitions that end before ``cutoff`` and hold no row any more."""
    if connection.dialect.name != "postgresql":
        return []
    await _serialised(connection)
    dropped = []
    for name in await monthly_partitions(connection, table):
        match = _MONTHLY.search(name)
        assert match is not None
        _low, high = month_bounds(int(match.group(1)), int(match.group(2)))
        if high > cutoff:
            continue
        if (await connection.execute(text(f"SELECT 1 FROM {name} LIMIT 1"))).first() is None:
            await connection.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    return dropped
