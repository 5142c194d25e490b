"""monitor's history endpoints, read from the journal: pages newest first, filtered by symbol, mode and time
range (``since`` inclusive, ``until`` exclusive), and exports of trades, orders or equity as CSV or JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from shared.journal import queries
from shared.journal.export import EXPORT_ROWS, MEDIA_TYPES, ExportFormat, ExportKind, chunks
from shared.journal.queries import (
    AnalysisRecord,
    DecisionRecord,
    EquityRecord,
    EventRecord,
    OrderRecord,
    Page,
    TradeRecord,
)
from shared.journal.web import UNAVAILABLE, FiltersDep, JournalDep, Limit, Offset, read

history_router = APIRouter(prefix="/api/history", tags=["history"], responses=UNAVAILABLE)


@history_router.get("/trades")
async def trades(journal: JournalDep, filters: FiltersDep, limit: Limit = 100, offset: Offset = 0) -> Page[TradeRecord]:
    """Round trips by opening time: entry and exit, both fees, funding, realised and net PnL, why it closed."""
    return await read(queries.page(journal, "trades", filters, limit=limit, offset=offset))


@history_router.get("/orders")
async def orders(
    journal: JournalDep,
    filters: FiltersDep,
    status: Annotated[Literal["filled", "rejected"] | None, Query(description="filled or refused only")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[OrderRecord]:
    return await read(queries.page(journal, "orders", filters, limit=limit, offset=offset, status=status))


@history_router.get("/decisions")
async def decisions(
    journal: JournalDep,
    filters: FiltersDep,
    action: Annotated[Literal["open", "reject"] | None, Query(description="trades or rejections only")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DecisionRecord]:
    """ia2's decisions with their reasons (rejections are kept for RETENTION_ANALYSES_DAYS)."""
    return await read(queries.page(journal, "decisions", filters, limit=limit, offset=offset, action=action))


@history_router.get("/analyses")
async def analyses(
    journal: JournalDep, filters: FiltersDep, limit: Limit = 100, offset: Offset = 0
) -> Page[AnalysisRecord]:
    return await read(queries.page(journal, "analyses", filters, limit=limit, offset=offset))


@history_router.get("/equity")
async def equity(
    journal: JournalDep, filters: FiltersDep, limit: Limit = 500, offset: Offset = 0
) -> Page[EquityRecord]:
    return await read(queries.page(journal, "equity", filters, limit=limit, offset=offset))


EventKindFilter = Literal[
    "halt", "halt_cleared", "kill_switch", "kill_switch_cleared", "reconciliation", "funding", "alert"
]


@history_router.get("/events")
async def events(
    journal: JournalDep,
    filters: FiltersDep,
    kind: Annotated[EventKindFilter | None, Query(description="one kind of event only")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[EventRecord]:
    """Halts, kill switch, reconciliation, funding and alerts (equity snapshots are /equity)."""
    return await read(queries.page(journal, "events", filters, limit=limit, offset=offset, kind=kind))


@history_router.get(
    "/export/{kind}",
    response_model=EXPORT_ROWS,  # documents the JSON export; the rows are streamed, not validated again
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string", "description": "a header line, then one line a row"}}
            },
            "description": "the rows, oldest first, as a JSON array or CSV (same columns)",
        }
    },
)
async def export(
    journal: JournalDep,
    filters: FiltersDep,
    kind: Annotated[ExportKind, Path(description="trades, orders or equity")],
    format: Annotated[ExportFormat, Query(description="csv or json")] = "csv",
) -> StreamingResponse:
    """Every matching row, oldest first, streamed; times in ISO 8601 (UTC)."""
    await read(queries.page(journal, kind, filters, limit=1))  # a database that is down answers 503 before streaming
    headers = {"Content-Disposition": f'attachment; filename="tradepipe-{kind}.{format}"'}
    return StreamingResponse(chunks(journal, kind, filters, format), media_type=MEDIA_TYPES[format], headers=headers)
