"""The journal's tables (see shared/journal/models.py), and on PostgreSQL a default partition for each
partitioned one: rows outside every monthly partition land there, so no insert ever fails for want of one.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REAL = sa.Float(precision=53)
PARTITIONED = {"analyses": "origin_at", "decisions": "origin_at", "equity_points": "at"}


def _real(name: str, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, REAL, nullable=nullable)


def _text(name: str, length: int | None = None, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length) if length else sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "analyses",
        _text("message_id", 64),
        _real("origin_at"),
        _real("at"),
        _text("opportunity_id", 64),
        _text("symbol", 40),
        _text("signal", 8),
        _real("confidence"),
        _real("price"),
        _real("atr"),
        _text("setup", 64),
        _text("analyst", 8),
        _text("rationale"),
        _real("support", True),
        _real("resistance", True),
        sa.Column("patterns", sa.JSON(), nullable=False),
        sa.Column("timeframes", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        _text("fallback_reason", nullable=True),
        sa.PrimaryKeyConstraint("message_id", "origin_at"),
        postgresql_partition_by="RANGE (origin_at)",
    )
    op.create_index("ix_analyses_at", "analyses", ["at"])
    op.create_index("ix_analyses_symbol_at", "analyses", ["symbol", "at"])

    op.create_table(
        "decisions",
        _text("message_id", 64),
        _real("origin_at"),
        _real("at"),
        _text("analysis_id", 64),
        _text("opportunity_id", 64),
        _text("symbol", 40),
        _text("action", 8),
        _text("side", 8, True),
        _real("quantity"),
        _real("entry_price"),
        _real("stop_loss", True),
        _real("take_profit", True),
        _real("risk_amount"),
        _real("confidence"),
        _real("required_confidence"),
        _text("signal_kind", 64),
        _text("strategist", 8),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "origin_at"),
        postgresql_partition_by="RANGE (origin_at)",
    )
    op.create_index("ix_decisions_at", "decisions", ["at"])
    op.create_index("ix_decisions_symbol_at", "decisions", ["symbol", "at"])
    op.create_index("ix_decisions_action_at", "decisions", ["action", "at"])

    op.create_table(
        "orders",
        _text("client_order_id", 40),
        _real("at"),
        _text("decision_id", 64),
        _text("symbol", 40),
        _text("side", 8),
        _text("kind", 8),
        _text("status", 10),
        _text("mode", 8),
        _real("quantity"),
        _real("price"),
        _real("fee"),
        _real("realized_pnl"),
        _text("reason"),
        sa.PrimaryKeyConstraint("client_order_id"),
    )
    op.create_index("ix_orders_at", "orders", ["at"])
    op.create_index("ix_orders_symbol_at", "orders", ["symbol", "at"])
    op.create_index("ix_orders_mode_at", "orders", ["mode", "at"])
    op.create_index("ix_orders_decision", "orders", ["decision_id"])

    op.create_table(
        "trades",
        _text("decision_id", 64),
        _text("symbol", 40),
        _text("side", 8),
        _text("mode", 8),
        _real("quantity"),
        _text("open_order_id", 40, True),
        _real("opened_at", True),
        _real("entry_price", True),
        _real("entry_fee"),
        _text("close_order_id", 40, True),
        _real("closed_at", True),
        _real("exit_price", True),
        _real("exit_fee"),
        _text("close_reason", nullable=True),
        _real("realized_pnl"),
        _real("funding"),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index("ix_trades_opened_at", "trades", ["opened_at"])
    op.create_index("ix_trades_symbol_opened_at", "trades", ["symbol", "opened_at"])
    op.create_index("ix_trades_mode_opened_at", "trades", ["mode", "opened_at"])
    op.create_index("ix_trades_closed_at", "trades", ["closed_at"])

    op.create_table(
        "equity_points",
        _text("message_id", 64),
        _real("at"),
        _text("mode", 8, True),
        _real("equity"),
        _real("cash"),
        _real("unrealized_pnl"),
        _real("realized_pnl"),
        _real("fees"),
        _real("exposure"),
        _real("drawdown"),
        sa.Column("open_positions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "at"),
        postgresql_partition_by="RANGE (at)",
    )
    op.create_index("ix_equity_points_at", "equity_points", ["at"])
    op.create_index("ix_equity_points_mode_at", "equity_points", ["mode", "at"])

    op.create_table(
        "events",
        _text("message_id", 64),
        _real("at"),
        _text("kind", 24),
        _text("severity", 8),
        _text("mode", 8, True),
        _text("symbol", 40, True),
        _text("decision_id", 64, True),
        _real("amount", True),
        _text("reason"),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_kind_at", "events", ["kind", "at"])
    op.create_index("ix_events_decision", "events", ["decision_id"])

    op.create_table(
        "daily_rollups",
        _text("day", 10),
        _text("kind", 16),
        _text("symbol", 40),
        _text("label", 64),
        sa.Column("count", sa.Integer(), nullable=False),
        _real("confidence_sum"),
        sa.PrimaryKeyConstraint("day", "kind", "symbol", "label"),
    )

    if op.get_bind().dialect.name == "postgresql":
        for table in PARTITIONED:
            op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def downgrade() -> None:
    for table in ("daily_rollups", "events", "equity_points", "trades", "orders", "decisions", "analyses"):
        op.drop_table(table)
