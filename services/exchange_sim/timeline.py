"""Bringing an account up to a given instant: everything that happened since its last evaluation, in
time order, along the market's price path.

The path is continuous and monotone between knots 20 s apart (``SyntheticMarket.knots``), so each
piece between two knots is walked exactly: for every resting limit, waiting trigger, trailing stop and
liquidation unit, the first instant the mark reaches its level is computed, the earliest of them
happens, and the walk goes on from there. Funding is settled at every 8-hour boundary crossed. The
result does not depend on how often the account is evaluated: a stop that is crossed while nobody asks
fills at its price and time all the same.

Fill prices follow ``shared.perps.touch_price``: a level reached inside a piece fills at the level, one
already passed when the piece starts (a new cross liquidation price after a funding payment, a limit
inside the spread) fills at the price of that instant. Liquidation is checked on the cross collateral
as of each piece's start for the other symbols' PnL (exact for isolated positions and for one symbol).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from services.exchange_sim.accounts import Account, SimPosition, Venue, liquidation_units
from services.exchange_sim.fills import Emit, execute, liquidate, settle_funding
from services.exchange_sim.market import LEG_MS, MINUTE_MS, path_price
from services.exchange_sim.orders import LIMIT_ON_TRIGGER, STOP_FAMILY, TRAILING, SimOrder
from shared import perps

MAX_EVENTS_PER_PIECE = 10_000  # far above any real account; a loop guard, not a limit


class Path:
    """One symbol's mark between two instants, from the market's knots."""

    def __init__(self, venue: Venue, symbol: str, start_ms: int, end_ms: int) -> None:
        self.first = start_ms // MINUTE_MS
        count = end_ms // MINUTE_MS - self.first + 2
        self.knots = venue.market.knots(venue.spec(symbol), self.first, count)

    def price(self, time: float) -> float:
        minute = int(time // MINUTE_MS)
        return path_price(self.knots[minute - self.first], time - minute * MINUTE_MS)

    def time_of(self, level: float, start: float, end: float, p_start: float, p_end: float) -> float:
        """When the price reaches ``level`` between ``start`` and ``end`` (one monotone geometric piece)."""
        if p_start == p_end:
            return start
        frac = math.log(level / p_start) / math.log(p_end / p_start)
        return start + min(max(frac, 0.0), 1.0) * (end - start)


@dataclass(frozen=True)
class Event:
    time: float
    priority: int  # at one instant: liquidation, then stops, then the rest
    price: float
    kind: str  # fill | trigger | arm | liquidate
    symbol: str
    gap: bool = False
    order: SimOrder | None = None
    group: tuple[SimPosition, ...] = ()


def advance(account: Account, venue: Venue, to_ms: int, rate_of: Callable[[str, int], float], emit: Emit) -> None:
    """Evaluate ``account`` from its clock up to ``to_ms`` (never backwards)."""
    start = account.clock_ms
    if to_ms <= start:
        return
    symbols = account.active_symbols()
    if not symbols:
        account.clock_ms = to_ms
        return
    paths = {symbol: Path(venue, symbol, start, to_ms) for symbol in symbols}
    knots = range((start // LEG_MS + 1) * LEG_MS, to_ms, LEG_MS)
    for boundary in [*knots, to_ms]:
        _walk(account, venue, paths, float(account.clock_ms), float(boundary), emit)
        if boundary % perps.FUNDING_INTERVAL_MS == 0:
            settle_funding(account, venue, boundary, rate_of, emit)
        account.clock_ms = boundary
        if not account.active_symbols():
            account.clock_ms = to_ms
            return


def _walk(account: Account, venue: Venue, paths: dict[str, Path], start: float, end: float, emit: Emit) -> None:
    for _ in range(MAX_EVENTS_PER_PIECE):
        event = _next_event(account, venue, paths, start, end)
        if event is None:
            break
        _apply(account, venue, event, emit)
        start = event.time
    else:
        raise RuntimeError(f"account {account.api_key}: too many events at {start}")
    for order in account.open_orders():
        if order.type == TRAILING and order.trail_extreme and order.symbol in paths:
            _follow(order, paths[order.symbol].price(end))


def _follow(order: SimOrder, price: float) -> None:
    """An armed trailing stop remembers the best mark: the highest for a SELL, the lowest for a BUY."""
    order.trail_extreme = max(order.trail_extreme, price) if order.side == "SELL" else min(order.trail_extreme, price)


def _watch(order: SimOrder) -> tuple[str, float, str, int] | None:
    """(direction, level, event kind, priority) an open order waits for, or None."""
    if order.resting_limit:
        return ("down" if order.side == "BUY" else "up"), order.price, "fill", 2
    if not order.waiting_trigger:
        return None
    priority = 1 if order.type in STOP_FAMILY else 2
    if order.type != TRAILING:
        return order.trigger_direction, order.stop_price, "trigger", priority
    if not order.trail_extreme:
        return ("up" if order.side == "SELL" else "down"), order.activation_price, "arm", 0
    return ("down" if order.side == "SELL" else "up"), order.trail_level(), "trigger", priority


def _next_event(account: Account, venue: Venue, paths: dict[str, Path], start: float, end: float) -> Event | None:
    prices = {s: (p.price(start), p.price(end)) for s, p in paths.items()}
    events: list[Event] = []
    for order in account.open_orders():
        if order.type == TRAILING and order.trail_extreme:
            _follow(order, prices[order.symbol][0])
        watched = _watch(order)
        if watched is None:
            continue
        direction, level, kind, priority = watched
        p0, p1 = prices[order.symbol]
        price = perps.touch_price(
            level, perps.Candle(p0, max(p0, p1), min(p0, p1), p1), "down" if direction == "down" else "up"
        )
        if price is not None:
            gap = price == p0
            when = start if gap else paths[order.symbol].time_of(level, start, end, p0, p1)
            events.append(Event(when, priority, price, kind, order.symbol, gap, order=order))
    marks = {s: p0 for s, (p0, _p1) in prices.items()}
    for symbol, group, collateral in liquidation_units(account, venue, marks):
        p0, p1 = prices[symbol]
        breach = perps.first_breach([p.leg() for p in group], collateral, p0, p1, venue.tiers)
        if breach is not None:
            when = start if breach == p0 else paths[symbol].time_of(breach, start, end, p0, p1)
            events.append(Event(when, 0, breach, "liquidate", symbol, group=tuple(group)))
    return min(events, key=lambda e: (e.time, e.priority, e.order.order_id if e.order else 0), default=None)


def _apply(account: Account, venue: Venue, event: Event, emit: Emit) -> None:
    time = int(event.time)
    order = event.order
    if event.kind == "liquidate":
        liquidate(account, venue, list(event.group), event.symbol, event.price, time, emit)
    elif order is None:
        return
    elif event.kind == "arm":
        order.trail_extreme = event.price
    elif event.kind == "trigger" and order.type in LIMIT_ON_TRIGGER:
        order.triggered, order.update_time = True, time  # now a resting limit at its price
    else:
        execute(account, venue, order, event.price, maker=event.kind == "fill" and not event.gap, time=time, emit=emit)
