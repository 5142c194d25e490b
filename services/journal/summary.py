"""The daily summary: yesterday's closed trades, their PnL after fees and funding, the equity's move, and
the halts and discrepancies of the day, as one note (sent once per day, whoever runs it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.journal.notifier import Note
from shared.journal.models import EquityPointRow, EventRow, TradeRow


@dataclass(frozen=True)
class DaySummary:
    day: str
    trades: int
    wins: int
    realized_pnl: float
    fees: float
    funding: float
    equity_start: float | None
    equity_end: float | None
    events: dict[str, int]

    @property
    def net_pnl(self) -> float:
        return self.realized_pnl - self.fees + self.funding


def previous_day(now: float) -> tuple[str, float, float]:
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=1)
    return start.strftime("%Y-%m-%d"), start.timestamp(), today.timestamp()


async def summarise(engine: AsyncEngine, day: str, start: float, end: float) -> DaySummary:
    closed = (TradeRow.closed_at >= start) & (TradeRow.closed_at < end)
    in_day = (EquityPointRow.at >= start) & (EquityPointRow.at < end)
    async with engine.connect() as connection:
        trades, wins, pnl, fees, funding = (
            await connection.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((TradeRow.realized_pnl > 0, 1), else_=0)), 0),
                    func.coalesce(func.sum(TradeRow.realized_pnl), 0.0),
                    func.coalesce(func.sum(TradeRow.entry_fee + TradeRow.exit_fee), 0.0),
                    func.coalesce(func.sum(TradeRow.funding), 0.0),
                ).where(closed)
            )
        ).one()
        first = await connection.scalar(
            select(EquityPointRow.equity).where(in_day).order_by(EquityPointRow.at).limit(1)
        )
        last = await connection.scalar(
            select(EquityPointRow.equity).where(in_day).order_by(EquityPointRow.at.desc()).limit(1)
        )
        counts = await connection.execute(
            select(EventRow.kind, func.count())
            .where(
                EventRow.at >= start, EventRow.at < end, EventRow.kind.in_(("halt", "kill_switch", "reconciliation"))
            )
            .group_by(EventRow.kind)
        )
        events = {kind: int(count) for kind, count in counts}
    return DaySummary(day, int(trades), int(wins), float(pnl), float(fees), float(funding), first, last, events)


def summary_note(summary: DaySummary) -> Note:
    lines = [
        f"{summary.trades} trades closed, {summary.wins} won",
        f"PnL {summary.realized_pnl:+.2f}, fees {summary.fees:.2f}, funding {summary.funding:+.2f}: "
        f"net {summary.net_pnl:+.2f}",
    ]
    if summary.equity_start is not None and summary.equity_end is not None:
        lines.append(f"equity {summary.equity_start:,.2f} -> {summary.equity_end:,.2f}")
    if summary.events:
        lines.append(", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sorted(summary.events.items())))
    return Note(
        kind="daily_summary",
        key=f"daily:{summary.day}",
        title=f"Daily summary {summary.day}: net {summary.net_pnl:+.2f}",
        body="\n".join(lines),
    )
