"""Reading the journal: pages of orders, trades, equity points, decisions, analyses and events, newest first,
filtered by symbol, mode and time range; and the same rows oldest first, streamed, for exports.

Each filter maps onto an index of models.py (``symbol``/``mode`` with the time column), so a page costs an
index range scan. Records are pydantic models named after their table, with the columns as fields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from shared.contracts import AlertInfo, Discrepancy, Signal
from shared.journal.models import AnalysisRow, Base, DecisionRow, EquityPointRow, EventRow, OrderRow, TradeRow

Mode = Literal["paper", "live"]

# Columns several tables share, described once.
MessageId = Annotated[str, Field(description="the id of the stream message the row was written from")]
At = Annotated[float, Field(description="when, in seconds since the epoch (UTC)")]
SymbolName = Annotated[str, Field(description="the market, e.g. BTC/USDT:USDT")]
BookMode = Annotated[str, Field(description="paper or live")]
Reason = Annotated[str, Field(description="why, in words")]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class OrderRecord(Record):
    """An order execution sent, filled or refused."""

    client_order_id: str = Field(description="our id of the order, also sent to the exchange")
    at: At
    decision_id: str = Field(description="the decision that asked for it")
    symbol: SymbolName
    side: str = Field(description="long or short: the position's side (a close order trades the other way)")
    kind: str = Field(description="open or close")
    status: str = Field(description="filled or rejected")
    mode: BookMode
    quantity: float = Field(description="contracts, in the base currency")
    price: float = Field(description="the fill's average price (0 when refused)")
    fee: float = Field(description="the fee paid, in the quote currency")
    realized_pnl: float = Field(description="for a close: price PnL of the closed quantity (fees apart)")
    reason: Reason


class TradeRecord(Record):
    """A round trip: the position one decision opened, and how it ended (``status`` "open" until it did)."""

    decision_id: str = Field(description="the decision that opened the position")
    symbol: SymbolName
    side: str = Field(description="long or short")
    mode: BookMode
    quantity: float = Field(description="contracts opened")
    open_order_id: str | None = Field(description="the opening order's client id")
    opened_at: float | None = Field(description="when it opened (seconds since the epoch)")
    entry_price: float | None = Field(description="the entry fill's price")
    entry_fee: float = Field(description="the fee of the entry")
    close_order_id: str | None = Field(description="the closing order's client id; null while open")
    closed_at: float | None = Field(description="when it closed; null while open")
    exit_price: float | None = Field(description="the exit fill's price; null while open")
    exit_fee: float = Field(description="the fee of the exit")
    close_reason: str | None = Field(description="why it closed: stop, target, kill switch, liquidation...")
    realized_pnl: float = Field(description="price PnL, fees and funding apart")
    funding: float = Field(description="funding received (+) or paid (-) while it was open")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        """open, or closed"""
        return "closed" if self.closed_at is not None else "open"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_pnl(self) -> float:
        """What the trade made after both fees and funding (positive funding was received)."""
        return self.realized_pnl - self.entry_fee - self.exit_fee + self.funding


class EquityRecord(Record):
    """A snapshot of the account's figures."""

    message_id: MessageId
    at: At
    mode: str | None = Field(description="paper or live")
    equity: float = Field(description="cash plus unrealised PnL")
    cash: float = Field(description="the wallet balance")
    unrealized_pnl: float = Field(description="PnL of the open positions at their last prices")
    realized_pnl: float = Field(description="price PnL of everything closed so far")
    fees: float = Field(description="fees paid so far")
    exposure: float = Field(description="notional of the open positions")
    drawdown: float = Field(description="below the peak, as a share of it")
    open_positions: int = Field(description="positions open")


class DecisionRecord(Record):
    """ia2's verdict on an analysis, with its reasons."""

    message_id: MessageId
    at: At
    analysis_id: str = Field(description="the analysis decided on")
    opportunity_id: str = Field(description="the opportunity behind that analysis")
    symbol: SymbolName
    action: str = Field(description="open or reject")
    side: str | None = Field(description="long or short; null for a rejection")
    quantity: float = Field(description="contracts to open (0 for a rejection)")
    entry_price: float = Field(description="the price the decision was made at")
    stop_loss: float | None = Field(description="the protective stop's price")
    take_profit: float | None = Field(description="the target's price")
    risk_amount: float = Field(description="what is lost if the stop is hit, in the quote currency")
    confidence: float = Field(description="the analysis' confidence (0..1)")
    required_confidence: float = Field(description="what this setup needed (adaptive)")
    signal_kind: str = Field(description="the setup, as outcomes are tracked by")
    strategist: str = Field(description="rules or llm")
    reasons: list[str] = Field(description="why, one line each")


class AnalysisRecord(Record):
    """ia1's reading of an opportunity."""

    message_id: MessageId
    at: At
    opportunity_id: str = Field(description="the opportunity analysed")
    symbol: SymbolName
    signal: str = Field(description="long, short or neutral")
    confidence: float = Field(description="how sure (0..1)")
    price: float = Field(description="the price analysed")
    atr: float = Field(description="average true range, in price units")
    setup: str = Field(description="short label of the setup, e.g. trend_long")
    analyst: str = Field(description="rules or llm")
    rationale: str = Field(description="the analysis in words")
    support: float | None = Field(description="the nearest support below the price")
    resistance: float | None = Field(description="the nearest resistance above the price")
    patterns: list[str] = Field(description="the chart patterns seen")
    timeframes: dict[str, Signal] = Field(description='the signal read on each timeframe, e.g. {"1h": "long"}')
    indicators: dict[str, float] = Field(description="indicator values by name, e.g. rsi, macd_hist")
    fallback_reason: str | None = Field(description="why the rules answered instead of the model, if they did")


class EventDetails(BaseModel):
    """The typed part of an event, by its kind."""

    model_config = ConfigDict(frozen=True)

    discrepancy: Discrepancy | None = Field(None, description="for reconciliation: what differed")
    alert: AlertInfo | None = Field(None, description="for alert: the Prometheus alert")


class EventRecord(Record):
    """Something that happened to the account that is not an order."""

    message_id: MessageId
    at: At
    kind: str = Field(
        description="halt, halt_cleared, kill_switch, kill_switch_cleared, reconciliation, funding, alert"
    )
    severity: str = Field(description="info, warning or critical")
    mode: str | None = Field(description="paper or live, when the event concerns one book")
    symbol: str | None = Field(description="the market, when it concerns one")
    decision_id: str | None = Field(description="for funding: the decision that opened the position")
    amount: float | None = Field(description="for funding: received (+) or paid (-)")
    reason: Reason
    details: EventDetails = Field(description="the part its kind carries")


R = TypeVar("R", bound=Record)


class Page(BaseModel, Generic[R]):
    items: list[R] = Field(description="the rows, newest first")
    next_offset: int | None = Field(description="ask again with this offset for the next (older) page; null: last page")


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
