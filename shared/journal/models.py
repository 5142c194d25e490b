"""The journal's tables: what a trader needs later, kept in a real database (SQLite or PostgreSQL).

Every row is keyed by an id the pipeline already has (a message id, a client order id, a decision id), so
writing the same message twice changes nothing. Times are seconds since the epoch (UTC), like the messages.

- ``analyses``, ``decisions``: ia1's readings and ia2's verdicts with their reasons. Keyed by message id and
  ``origin_at`` (when the opportunity behind them was published): a redelivered opportunity yields the same
  pair, and ``origin_at`` is the monthly partition key on PostgreSQL (a unique key there must contain it).
- ``orders``: every order execution recorded, filled or refused, by client order id.
- ``trades``: round trips, one per position (keyed by its decision id): entry, exit, both fees, funding,
  realised PnL and why it closed.
- ``equity_points``: account snapshots; ``events``: halts, kill switch, reconciliation, funding, alerts.
- ``daily_rollups``: what retention keeps of analyses and rejected decisions it removes (counts per day).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Tables that grow with every scan; PostgreSQL partitions them by month on this column.
PARTITIONED: dict[str, str] = {"analyses": "origin_at", "decisions": "origin_at", "equity_points": "at"}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, float: Float(precision=53)}


class AnalysisRow(Base):
    __tablename__ = "analyses"
    __table_args__ = (
        Index("ix_analyses_at", "at"),
        Index("ix_analyses_symbol_at", "symbol", "at"),
        {"postgresql_partition_by": "RANGE (origin_at)"},
    )

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin_at: Mapped[float] = mapped_column(primary_key=True)
    at: Mapped[float]
    opportunity_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(40))
    signal: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float]
    price: Mapped[float]
    atr: Mapped[float]
    setup: Mapped[str] = mapped_column(String(64))
    analyst: Mapped[str] = mapped_column(String(8))
    rationale: Mapped[str] = mapped_column(Text)
    support: Mapped[float | None]
    resistance: Mapped[float | None]
    patterns: Mapped[list[str]]
    timeframes: Mapped[dict[str, Any]]
    indicators: Mapped[dict[str, Any]]
    fallback_reason: Mapped[str | None] = mapped_column(Text)


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_at", "at"),
        Index("ix_decisions_symbol_at", "symbol", "at"),
        Index("ix_decisions_action_at", "action", "at"),
        {"postgresql_partition_by": "RANGE (origin_at)"},
    )

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin_at: Mapped[float] = mapped_column(primary_key=True)
    at: Mapped[float]
    analysis_id: Mapped[str] = mapped_column(String(64))
    opportunity_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(8))
    side: Mapped[str | None] = mapped_column(String(8))
    quantity: Mapped[float]
    entry_price: Mapped[float]
    stop_loss: Mapped[float | None]
    take_profit: Mapped[float | None]
    risk_amount: Mapped[float]
    confidence: Mapped[float]
    required_confidence: Mapped[float]
    signal_kind: Mapped[str] = mapped_column(String(64))
    strategist: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[str]]


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_at", "at"),
        Index("ix_orders_symbol_at", "symbol", "at"),
        Index("ix_orders_mode_at", "mode", "at"),
        Index("ix_orders_decision", "decision_id"),
    )

    client_order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[float]
    decision_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float]
    price: Mapped[float]
    fee: Mapped[float]
    realized_pnl: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)


class TradeRow(Base):
    __tablename__ = "trades"
    __table_args__ = (
        Index("ix_trades_opened_at", "opened_at"),
        Index("ix_trades_symbol_opened_at", "symbol", "opened_at"),
        Index("ix_trades_mode_opened_at", "mode", "opened_at"),
        Index("ix_trades_closed_at", "closed_at"),
    )

    decision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float]
    # Either leg may be written first (two streams' entries are handled concurrently): both are nullable.
    open_order_id: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[float | None]
    entry_price: Mapped[float | None]
    entry_fee: Mapped[float] = mapped_column(default=0.0)
    close_order_id: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[float | None]
    exit_price: Mapped[float | None]
    exit_fee: Mapped[float] = mapped_column(default=0.0)
    close_reason: Mapped[str | None] = mapped_column(Text)
    realized_pnl: Mapped[float] = mapped_column(default=0.0)
    funding: Mapped[float] = mapped_column(default=0.0)


class EquityPointRow(Base):
    __tablename__ = "equity_points"
    __table_args__ = (
        Index("ix_equity_points_at", "at"),
        Index("ix_equity_points_mode_at", "mode", "at"),
        {"postgresql_partition_by": "RANGE (at)"},
    )

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[float] = mapped_column(primary_key=True)
    mode: Mapped[str | None] = mapped_column(String(8))
    equity: Mapped[float]
    cash: Mapped[float]
    unrealized_pnl: Mapped[float]
    realized_pnl: Mapped[float]
    fees: Mapped[float]
    exposure: Mapped[float]
    drawdown: Mapped[float]
    open_positions: Mapped[int] = mapped_column(Integer)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_at", "at"),
        Index("ix_events_kind_at", "kind", "at"),
        Index("ix_events_decision", "decision_id"),
    )

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[float]
    kind: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str | None] = mapped_column(String(8))
    symbol: Mapped[str | None] = mapped_column(String(40))
    decision_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[float | None]
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]


class DailyRollupRow(Base):
    __tablename__ = "daily_rollups"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "analysis" or "rejection"
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)  # the signal, or the setup rejected
    count: Mapped[int] = mapped_column(Integer)
    confidence_sum: Mapped[float]
