"""Writing pipeline messages into the journal: one function per message, each idempotent.

A message is inserted once under the id it already carries (``INSERT ... ON CONFLICT DO NOTHING``); a trade
row is upserted by its decision id, each leg (open, close) writing only its own columns, so legs may arrive
in any order and any number of times. Each function returns True when it wrote something new.
Every function takes a connection inside a transaction: the caller commits, then acks the stream entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.contracts import AccountEvent, Analysis, Decision, Execution
from shared.journal.models import AnalysisRow, DecisionRow, EquityPointRow, EventRow, OrderRow, TradeRow

OPEN_LEG = ("symbol", "side", "mode", "quantity", "open_order_id", "opened_at", "entry_price", "entry_fee")
CLOSE_LEG = ("close_order_id", "closed_at", "exit_price", "exit_fee", "close_reason", "realized_pnl")


def _insert(connection: AsyncConnection, table: Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def _insert_once(connection: AsyncConnection, table: Table, values: dict[str, Any]) -> bool:
    result = await connection.execute(_insert(connection, table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


async def record_analysis(connection: AsyncConnection, analysis: Analysis) -> bool:
    values = analysis.model_dump(
        include={"message_id", "opportunity_id", "symbol", "signal", "confidence", "price", "atr", "setup"}
        | {"analyst", "rationale", "support", "resistance", "patterns", "timeframes", "indicators", "fallback_reason"}
    )
    # origin_at is the opportunity's time: the same for an analysis made again from a redelivered opportunity.
    values |= {"origin_at": analysis.opportunity_created_at, "at": analysis.created_at}
    return await _insert_once(connection, AnalysisRow.__table__, values)  # type: ignore[arg-type]


async def record_decision(connection: AsyncConnection, decision: Decision) -> bool:
    values = decision.model_dump(exclude={"created_at", "opportunity_created_at"})
    values |= {"origin_at": decision.opportunity_created_at, "at": decision.created_at}
    return await _insert_once(connection, DecisionRow.__table__, values)  # type: ignore[arg-type]


async def record_execution(connection: AsyncConnection, execution: Execution) -> bool:
    values = execution.model_dump(include=set(OrderRow.__table__.columns.keys()))
    inserted = await _insert_once(connection, OrderRow.__table__, values | {"at": execution.created_at})  # type: ignore[arg-type]
    if execution.status == "filled":
        await _upsert_trade_leg(connection, execution)
        await refresh_funding(connection, execution.decision_id)
    return inserted


async def _upsert_trade_leg(connection: AsyncConnection, execution: Execution) -> None:
    common = {
        "decision_id": execution.decision_id,
        "symbol": execution.symbol,
        "side": execution.side,
        "mode": execution.mode,
        "quantity": execution.quantity,
    }
    if execution.kind == "open":
        leg = {
            "open_order_id": execution.client_order_id,
            "opened_at": execution.created_at,
            "entry_price": execution.price,
            "entry_fee": execution.fee,
        }
        columns: tuple[str, ...] = OPEN_LEG
    else:
        leg = {
            "close_order_id": execution.client_order_id,
            "closed_at": execution.created_at,
            "exit_price": execution.price,
            "exit_fee": execution.fee,
            "close_reason": execution.reason,
            "realized_pnl": execution.realized_pnl,
        }
        columns = CLOSE_LEG
    statement = _insert(connection, TradeRow.__table__).values(**common, **leg)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["decision_id"], set_={column: statement.excluded[column] for column in columns}
    )
    await connection.execute(statement)


async def refresh_funding(connection: AsyncConnection, decision_id: str) -> None:
    """A trade's funding is the sum of its funding events: recomputed, never added to, so replays are harmless."""
    total = (
        select(func.coalesce(func.sum(EventRow.amount), 0.0))
        .where(EventRow.kind == "funding", EventRow.decision_id == decision_id)
        .scalar_subquery()
    )
    await connection.execute(update(TradeRow).where(TradeRow.decision_id == decision_id).values(funding=total))


async def record_event(connection: AsyncConnection, event: AccountEvent) -> bool:
    if event.kind == "equity":
        assert event.equity is not None  # the contract guarantees it
        values = {"message_id": event.message_id, "at": event.created_at, "mode": event.mode}
        return await _insert_once(connection, EquityPointRow.__table__, values | event.equity.model_dump())  # type: ignore[arg-type]
    details = event.model_dump(mode="json", include={"discrepancy", "alert"}, exclude_none=True)
    values = event.model_dump(include={"message_id", "kind", "severity", "mode", "symbol", "decision_id"})
    values |= {"at": event.created_at, "amount": event.amount, "reason": event.reason, "details": details}
    inserted = await _insert_once(connection, EventRow.__table__, values)  # type: ignore[arg-type]
    if event.kind == "funding" and event.decision_id is not None:
        await refresh_funding(connection, event.decision_id)
    return inserted
