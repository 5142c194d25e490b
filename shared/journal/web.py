"""The journal at the HTTP edge, for the services that read it (execution, monitor): the engine as a typed
dependency, the filters as query parameters, and a 503 that says the journal is unavailable (its database
down, or its tables not made yet because the journal service has not started) instead of a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.deps import provided
from shared.journal.database import UNAVAILABLE_ERRORS, create_engine, database_url
from shared.journal.queries import Filters, Mode
from shared.problems import problems
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many rows")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="skip this many rows (the previous page's next_offset)")]


def reader_engine(settings: ServiceSettings) -> AsyncEngine:
    return create_engine(database_url(settings), pool_size=3)


JournalDep = Annotated[AsyncEngine, Depends(provided(AsyncEngine))]  # the app provides its reader_engine


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _filters(
    symbol: Annotated[str | None, Query(min_length=3, max_length=40, description="e.g. BTC/USDT:USDT")] = None,
    mode: Annotated[Mode | None, Query(description="paper or live only")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601 (UTC if no zone) or epoch seconds")] = None,
    until: Annotated[datetime | None, Query(description="exclusive; ISO 8601 or epoch seconds")] = None,
) -> Filters:
    return Filters(symbol=symbol, mode=mode, since=_epoch(since), until=_epoch(until))


FiltersDep = Annotated[Filters, Depends(_filters)]


async def read(work: Awaitable[T]) -> T:
    """Await a journal read; a database that is down or not set up yet answers 503, not 500."""
    try:
        return await work
    except UNAVAILABLE_ERRORS as error:
        # Only the error's type is logged: its text may name the database host.
        log.warning("journal read failed: %s", type(error).__name__)
        raise HTTPException(503, "journal unavailable: its database is down or not set up yet") from None


# What a route that reads the journal documents: bad filters, and the database down or not set up yet.
UNAVAILABLE: dict[int | str, dict[str, Any]] = problems(422, 503)
