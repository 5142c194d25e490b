"""Reading the journal: pages of orders, trades, equity points, decisions, analyses and events, newest first,
filtered by symbol, mode and time range; and the same rows oldest first, streamed, for exports.

Each filter maps onto an index of models.py (``symbol``/``mode`` with the time column), so a page costs an
index range scan. Records are pydantic models named after their table, with the columns as fields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from shared.journal.models import AnalysisRow, Base, DecisionRow, EquityPointRow, EventRow, OrderRow, TradeRow

Mode = Literal["paper", "live"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class OrderRecord(Record):
    client_order_id: str
    at: float
    decision_id: str
    symbol: str
    side: str
    kind: str
    status: str
    mode: str
    quantity: float
    price: float
    fee: float
    realized_pnl: float
    reason: str


class TradeRecord(Record):
    """A round trip: the position one decision opened, and how it ended (``status`` "open" until it did)."""

    decision_id: str
    symbol: str
    side: str
    mode: str
    quantity: float
    open_order_id: str | None
    opened_at: float | None
    entry_price: float | None
    entry_fee: float
    close_order_id: str | None
    closed_at: float | None
    exit_price: float | None
    exit_fee: float
    close_reason: str | None
    realized_pnl: float
    funding: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        return "closed" if self.closed_at is not None else "open"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_pnl(self) -> float:
        """What the trade made after both fees and funding (positive funding was received)."""
        return self.realized_pnl - self.entry_fee - self.exit_fee + self.funding


class EquityRecord(Record):
    message_id: str
    at: float
    mode: str | None
    equity: float
    cash: float
    unrealized_pnl: float
    realized_pnl: float
    fees: float
    exposure: float
    drawdown: float
    open_positions: int


class DecisionRecord(Record):
    message_id: str
    at: float
    analysis_id: str
    opportunity_id: str
    symbol: str
    action: str
    side: str | None
    quantity: float
    entry_price: float
    stop_loss: float | None
    take_profit: float | None
    risk_amount: float
    confidence: float
    required_confidence: float
    signal_kind: str
    strategist: str
    reasons: list[str]


class AnalysisRecord(Record):
    message_id: str
    at: float
    opportunity_id: str
    symbol: str
    signal: str
    confidence: float
    price: float
    atr: float
    setup: str
    analyst: str
    rationale: str
    support: float | None
    resistance: float | None
    patterns: list[str]
    timeframes: dict[str, Any]
    indicators: dict[str, Any]
    fallback_reason: str | None


class EventRecord(Record):
    message_id: str
    at: float
    kind: str
    severity: str
    mode: str | None
    symbol: str | None
    decision_id: str | None
    amount: float | None
    reason: str
    details: dict[str, Any]


R = TypeVar("R", bound=Record)


class Page(BaseModel, Generic[R]):
    items: list[R]
    next_offset: int | None  # ask again with this offset for the next (older) page; None: that was the last


@dataclass(frozen=True)
class Filters:
    symbol: str | None = None
    mode: Mode | None = None
    since: float | None = None  # inclusive, seconds since the epoch
    until: float | None = None  # exclusive


@dataclass(frozen=True)
class Table:
    """How to read one table: its model, the time its filters and order use, its record type."""

    row: type[Base]
    time: InstrumentedAttribute[Any]
    record: type[Record]
    key: InstrumentedAttribute[Any]

    def select(self, filters: Filters, **equal: object) -> Select[Any]:
        columns = self.row.__table__.c
        statement = select(self.row.__table__)
        if filters.symbol is not None and "symbol" in columns:
            statement = statement.where(columns.symbol == filters.symbol)
        if filters.mode is not None and "mode" in columns:
            statement = statement.where(columns.mode == filters.mode)
        if filters.since is not None:
            statement = statement.where(self.time >= filters.since)
        if filters.until is not None:
            statement = statement.where(self.time < filters.until)
        for column, value in equal.items():
            if value is not None:
                statement = statement.where(columns[column] == value)
        return statement


TABLES: dict[str, Table] = {
    "orders": Table(OrderRow, OrderRow.at, OrderRecord, OrderRow.client_order_id),
    "trades": Table(TradeRow, TradeRow.opened_at, TradeRecord, TradeRow.decision_id),
    "equity": Table(EquityPointRow, EquityPointRow.at, EquityRecord, EquityPointRow.message_id),
    "decisions": Table(DecisionRow, DecisionRow.at, DecisionRecord, DecisionRow.message_id),
    "analyses": Table(AnalysisRow, AnalysisRow.at, AnalysisRecord, AnalysisRow.message_id),
    "events": Table(EventRow, EventRow.at, EventRecord, EventRow.message_id),
}


async def page(
    engine: AsyncEngine, name: str, filters: Filters, *, limit: int = 100, offset: int = 0, **equal: object
) -> Page[Any]:
    """Newest first. ``equal`` narrows by other columns (``status="filled"``, ``action="open"``, ``kind=...``)."""
    table = TABLES[name]
    statement = table.select(filters, **equal).order_by(table.time.desc(), table.key.desc())
    async with engine.connect() as connection:
        rows = (await connection.execute(statement.limit(limit + 1).offset(offset))).mappings().all()
    items = [table.record.model_validate(dict(row)) for row in rows[:limit]]
    return Page[Any](items=items, next_offset=offset + limit if len(rows) > limit else None)


async def stream(engine: AsyncEngine, name: str, filters: Filters, **equal: object) -> AsyncIterator[Record]:
    """Every matching row, oldest first, without holding them all in memory."""
    table = TABLES[name]
    statement = table.select(filters, **equal).order_by(table.time.asc(), table.key.asc())
    async with engine.connect() as connection:
        result = await connection.stream(statement.execution_options(yield_per=500))
        async for row in result.mappings():
            yield table.record.model_validate(dict(row))
