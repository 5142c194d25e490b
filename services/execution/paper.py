"""The paper venue: the exchange simulated here, with the same model the simulator and the backtest use
(shared/perps.py), on the market's real prices.

- Entries and exits fill at the market price with ``PAPER_SLIPPAGE_BPS`` against us and the taker fee.
- A position's stop-loss, take-profit and liquidation price rest "on the venue": each 1-minute candle
  since the last check is walked in order with the conservative rule (a candle opening beyond a level
  fills at the open; a candle touching both the stop and the target takes the stop), so a wick that came
  and went between two checks still closes the position, as it would on the exchange.
- Liquidation (isolated margin): at the price where the position's margin plus its loss reaches the
  maintenance margin; the margin left at that price goes as the clearance fee, so the position loses
  exactly its margin, as BingX (and the simulator) does. Cross-margin paper positions are not
  liquidated here (they would need the whole account's path); use isolated margin on paper.
- Funding every 8 h at the funding rate the exchange published for that time, on the mark of that minute.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from services.execution.checks import Plan
from services.execution.venue import Check, Fill, Triggered
from shared import perps
from shared.gateway import Candles, Quote
from shared.trading_state import MarginMode, Mode, Position

MINUTE_MS = 60_000
MAX_CANDLES = 1_439  # about a day of minutes (one more is read): an older gap is walked over its last day


class PaperMarket(Protocol):
    async def fresh_prices(self, symbols: Sequence[str], max_age_s: float) -> dict[str, Quote]: ...

    async def ohlcv(self, symbol: str, timeframe: str, limit: int) -> Candles: ...

    async def funding_rate_history(self, symbol: str, since_ms: int, until_ms: int) -> list[tuple[int, float]]: ...


def fill_price(price: float, *, buying: bool, slippage_bps: float) -> float:
    """Slippage always works against us: buys fill higher, sells lower."""
    slip = slippage_bps / 10_000
    return price * (1 + slip) if buying else price * (1 - slip)


def liquidation_price(side: str, quantity: float, entry: float, margin: float) -> float | None:
    return perps.liquidation_price([perps.Leg("long" if side == "long" else "short", quantity, entry)], margin, entry)


def walk(position: Position, candles: Candles, from_ms: int, fee_rate: float) -> Triggered | None:
    """The first of the position's resting levels (stop, target, liquidation) that complete candles from
    ``from_ms`` on touch, in time order, with the price it fills at."""
    downward = position.side == "long"
    for ts, open_, high, low, close, _ in candles:
        if ts < from_ms:
            continue
        candle = perps.Candle(open_, high, low, close)
        liquidation = position.liquidation_price
        if liquidation is not None and ((open_ <= liquidation) if downward else (open_ >= liquidation)):
            return _liquidated(position, open_, ts)  # gapped through it
        hit = perps.exit_in_candle(position.side, candle, position.stop_loss, position.take_profit)
        if hit is not None:
            reason = "stop-loss" if hit.reason == "stop_loss" else "take-profit"
            fee = perps.fee(position.quantity, hit.price, fee_rate)
            return Triggered(Fill(hit.price, position.quantity, fee, at=ts / 1000), reason)
        if liquidation is not None and perps.touch_price(liquidation, candle, "down" if downward else "up") is not None:
            return _liquidated(position, liquidation, ts)
    return None


def _liquidated(position: Position, price: float, at_ms: float) -> Triggered:
    left = max(0.0, position.margin + position.unrealized_pnl(price))  # the clearance fee: the margin is gone
    return Triggered(Fill(price, position.quantity, left, at=at_ms / 1000), "liquidation")


class PaperVenue:
    mode: Mode = "paper"

    def __init__(
        self,
        market: PaperMarket,
        *,
        taker_fee: float,
        slippage_bps: float,
        leverage: float = 1.0,
        margin_mode: MarginMode = "isolated",
        price_max_age_s: float = 2.0,
    ) -> None:
        self.market = market
        self.taker_fee = taker_fee
        self.slippage_bps = slippage_bps
        self.leverage = leverage
        self.margin_mode: MarginMode = margin_mode
        self.price_max_age_s = price_max_age_s

    async def start(self) -> None:
        return None

    async def prepare(self, symbol: str) -> str | None:
        return None

    def _fill(self, price: float, quantity: float, *, buying: bool, at: float | None) -> Fill:
        filled = fill_price(price, buying=buying, slippage_bps=self.slippage_bps)
        return Fill(price=filled, quantity=quantity, fee=perps.fee(quantity, filled, self.taker_fee), at=at)

    async def _quote(self, symbol: str, fallback: float) -> tuple[float, float]:
        quote = (await self.market.fresh_prices([symbol], self.price_max_age_s)).get(symbol)
        return (quote.price, quote.exchange_ms / 1000) if quote else (fallback, time.time())

    async def open(self, plan: Plan, client_order_id: str) -> Fill:
        price, at = await self._quote(plan.symbol, plan.price)
        return self._fill(price, plan.quantity, buying=plan.side == "long", at=at)

    async def find(self, symbol: str, client_order_id: str) -> Fill | None:
        return None  # a paper fill is recorded with its reservation's confirmation or not at all

    async def protect(self, position: Position) -> Position:
        """The levels rest on the paper venue as the position's own; isolated positions get their liquidation."""
        if self.margin_mode != "isolated":
            return position
        liquidation = liquidation_price(position.side, position.quantity, position.entry_price, position.margin)
        return position.model_copy(update={"liquidation_price": liquidation})

    async def close(self, position: Position, client_order_id: str, price: float) -> Fill:
        return self._fill(price, position.quantity, buying=position.side == "short", at=None)

    async def funding(self, position: Position) -> float | None:
        return None  # paper books funding itself, as it falls due

    # -- what happened on the paper venue since the last check ------------------------------------------

    async def check(self, position: Position, quote: Quote) -> Check:
        """Walk the complete 1-minute candles since the last check through the position's levels, and
        settle the funding that fell due meanwhile."""
        opened_ms = int(position.opened_at * 1000)
        from_ms = max(position.checked_until_ms, (opened_ms // MINUTE_MS + 1) * MINUTE_MS)
        current_minute = quote.exchange_ms // MINUTE_MS * MINUTE_MS
        funding_times = perps.funding_times(max(position.funded_until_ms, opened_ms), quote.exchange_ms)
        oldest = min([from_ms, *funding_times])
        if oldest >= current_minute:
            return Check(checked_until_ms=position.checked_until_ms)
        count = min(MAX_CANDLES, (current_minute - oldest) // MINUTE_MS + 1)
        # The series' newest row is left for the next check: a cached series may still hold it as it was in
        # progress (a series stays fresh a moment past its candle's close), and a wick in its unseen rest
        # must not be skipped.
        series = await self.market.ohlcv(position.symbol, "1m", count + 1)
        candles = tuple(c for c in series[:-1] if c[0] < current_minute)
        fired = walk(position, candles, from_ms, self.taker_fee)
        walked = int(candles[-1][0]) + MINUTE_MS if candles else position.checked_until_ms
        if fired is not None and fired.fill.at is not None:  # no funding falls due after the position closed
            funding_times = [t for t in funding_times if t <= fired.fill.at * 1000]
        funding = await self._funding(position, funding_times, candles, quote)
        return Check(fired, max(walked, position.checked_until_ms), funding)

    async def _funding(
        self, position: Position, times: list[int], candles: Candles, quote: Quote
    ) -> tuple[tuple[int, float], ...]:
        """Each funding time's payment at the rate published for it, on the mark of that minute."""
        if not times:
            return ()
        rates = dict(await self.market.funding_rate_history(position.symbol, times[0], times[-1]))
        marks = {int(c[0]): c[1] for c in candles}
        return tuple(
            (t, perps.funding_payment(position.side, position.quantity, marks.get(t, quote.price), rates[t]))
            for t in times
            if t in rates
        )
