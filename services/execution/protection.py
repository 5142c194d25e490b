"""Protection that runs continuously in execution, not only when ia2 analyses.

Every ``PRICE_WATCH_INTERVAL_S``: read prices no older than ``PRICE_MAX_AGE_S`` (past the cache tier
when needed), mark positions to market, close those past their stop-loss or take-profit (paper; live
the exchange-side orders do it first, this is the safety net), and latch the halt when the daily loss
or the drawdown limit is reached (flattening too when ``HALT_FLATTEN`` is set). A position whose price
cannot be read fresh is an alert (a metric, a log line), never silence.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Gauge

from services.execution.checks import halt_refusal
from services.execution.trader import Trader
from shared import metrics
from shared.contracts import AccountEvent, EquityFigures
from shared.gateway import Quote
from shared.keys import STREAM_EVENTS
from shared.periodic import Periodic
from shared.trading_state import Position, Snapshot, set_flag

log = logging.getLogger(__name__)

EQUITY = Gauge(metrics.name("equity_usd"), "Account equity (cash + unrealised PnL)")
DRAWDOWN = Gauge(metrics.name("drawdown_ratio"), "Drawdown from the equity peak, 0-1")
OPEN_POSITIONS = Gauge(metrics.name("open_positions"), "Open positions")
EXPOSURE = Gauge(metrics.name("exposure_usd"), "Notional of open positions")
HALTED = Gauge(metrics.name("trading_halted"), "1 while new entries are stopped (risk halt or kill switch)")
UNPRICED = Gauge(
    metrics.name("positions_unpriced"), "Open positions whose price could not be read fresh on the last check"
)
PRICE_AGE = Gauge(metrics.name("position_price_age_seconds"), "Age of the oldest price a stop check used")


def exit_reason(position: Position, price: float) -> str | None:
    """'stop-loss' or 'take-profit' when the price crossed one, else None."""
    if position.side == "long":
        if position.stop_loss is not None and price <= position.stop_loss:
            return "stop-loss"
        if position.take_profit is not None and price >= position.take_profit:
            return "take-profit"
    else:
        if position.stop_loss is not None and price >= position.stop_loss:
            return "stop-loss"
        if position.take_profit is not None and price <= position.take_profit:
            return "take-profit"
    return None


def equity_event(snapshot: Snapshot, mode: str, at: float) -> AccountEvent:
    """The account's figures as an event on stream:events, for the journal's equity curve."""
    account = snapshot.account
    figures = EquityFigures(
        equity=snapshot.equity,
        cash=account.cash,
        unrealized_pnl=snapshot.equity - account.cash,
        realized_pnl=account.realized_pnl,
        fees=account.fees,
        exposure=snapshot.exposure,
        drawdown=min(1.0, max(0.0, snapshot.drawdown)),
        open_positions=len(snapshot.positions),
    )
    return AccountEvent(kind="equity", mode="live" if mode == "live" else "paper", equity=figures, created_at=at)


def publish_gauges(snapshot: Snapshot) -> None:
    EQUITY.set(snapshot.equity)
    DRAWDOWN.set(snapshot.drawdown)
    OPEN_POSITIONS.set(len(snapshot.positions))
    EXPOSURE.set(snapshot.exposure)
    HALTED.set(1 if snapshot.halt_reason or snapshot.kill_reason else 0)


class Protection(Periodic):
    name = "protection"

    def __init__(
        self, trader: Trader, *, interval_s: float, equity_every_s: float, price_max_age_s: float, halt_flatten: bool
    ) -> None:
        super().__init__(interval_s)
        self._trader = trader
        self._equity_every_s = equity_every_s
        self._price_max_age_s = price_max_age_s
        self._halt_flatten = halt_flatten
        self._last_equity_point = 0.0
        self.unpriced: list[str] = []

    async def tick(self) -> int:
        """One round; returns how many positions it closed."""
        ledger = self._trader.ledger
        held = (await ledger.snapshot()).positions
        prices = await self._trader.market.fresh_prices(list(held), self._price_max_age_s) if held else {}
        now = time.time()
        self.unpriced = sorted(s for s in held if s not in prices or now - prices[s].read_at > self._price_max_age_s)
        UNPRICED.set(len(self.unpriced))
        if self.unpriced:
            log.error("positions without a fresh price: stops cannot be checked", extra={"symbols": self.unpriced})
        PRICE_AGE.set(max((now - q.read_at for q in prices.values()), default=0.0))
        priced = {s: (q.price, q.read_at) for s, q in prices.items() if s not in self.unpriced}
        snapshot = await ledger.mark_to_market(priced, now=now)
        closed = 0
        for symbol, position in snapshot.positions.items():
            if symbol not in self.unpriced and await self._protect(position, prices[symbol]):
                closed += 1
        closed += await self._halt_if_limits_reached(snapshot)
        if closed:
            snapshot = await ledger.snapshot()
        publish_gauges(snapshot)
        if now - self._last_equity_point >= self._equity_every_s:
            await ledger.record_equity_point(snapshot.equity, now=now)
            await self._trader.publisher.publish(STREAM_EVENTS, equity_event(snapshot, self._trader.venue.mode, now))
            self._last_equity_point = now
        return closed

    async def _protect(self, position: Position, quote: Quote) -> bool:
        """Book what the venue did since the last check (paper: resting levels, funding), then the safety
        net: a position past its stop or target at the fresh price is closed at the market."""
        venue, ledger = self._trader.venue, self._trader.ledger
        check = await venue.check(position, quote)
        for due_ms, amount in check.funding:
            await self._trader.book_funding(position, amount, due_ms)
        if check.triggered is not None:
            return await self._trader.record_close(position, check.triggered.fill, check.triggered.reason)
        if check.checked_until_ms > position.checked_until_ms:
            await ledger.mark_checked(position.symbol, check.checked_until_ms)
        reason = exit_reason(position, quote.price)
        return bool(reason) and await self._trader.close(position, quote.price, reason or "")

    async def _halt_if_limits_reached(self, snapshot: Snapshot) -> int:
        if snapshot.halt_reason or snapshot.kill_reason:
            return 0
        why = halt_refusal(snapshot, self._trader.ledger.limits)
        if why is None:
            return 0
        if await set_flag(self._trader.ledger.redis, self._trader.ledger.keys.halt, why):
            log.error("trading halted", extra={"reason": why})
        return await self._trader.flatten(f"halt: {why}") if self._halt_flatten else 0

    async def step(self) -> None:
        await self.tick()

    async def ready(self) -> str | None:
        if self.unpriced:
            return f"no fresh price for open positions {', '.join(self.unpriced)}"
        return await super().ready()
