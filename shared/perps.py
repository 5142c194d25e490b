"""Linear (USDT-margined) perpetual futures arithmetic: fees, margins, liquidation, funding, fills.

One model, used by the exchange simulator's account engine and meant for the paper broker and the
backtester too, so that paper, history and the "exchange" agree on every fill, fee, funding payment
and liquidation. Pure functions and frozen dataclasses; no I/O, no clock.

Notation: ``q`` quantity (> 0, base units), ``E`` entry price, ``P`` mark price, ``s`` +1 for a long
and -1 for a short, ``L`` leverage.

- Fee: ``notional * rate`` with ``notional = q * price``; makers pay the maker rate, takers the taker rate.
- Initial margin: ``q * E / L``.
- Maintenance margin, tiered by the position's notional at the mark (``N = q * P``), as BingX and
  Binance publish it: ``MM(N) = N * rate - amount`` with the tier's ``rate`` and ``amount``. The amounts
  make MM continuous across tiers (see :data:`DEFAULT_TIERS`).
- Unrealised PnL: ``s * q * (P - E)``.
- Liquidation: a set of legs (one position; or, in hedge mode under cross margin, both sides of a symbol)
  backed by ``collateral`` is liquidated when ``surplus(P) = collateral + sum(pnl) - sum(MM) <= 0``.
  Isolated: the collateral is the position's margin. Cross: the wallet balance, less every isolated
  margin, plus (unrealised PnL - MM) of the cross positions on the other symbols. For one leg in one
  tier the root is closed-form: long ``P = (q*E - M - a) / (q * (1 - r))``, short
  ``P = (q*E + M + a) / (q * (1 + r))``; :func:`liquidation_price` finds it across tiers and legs.
- Funding: every 8 h at 00:00, 08:00, 16:00 UTC a position pays ``s * q * P * rate`` at the mark of that
  time: with a positive rate longs pay and shorts receive (:func:`funding_payment` returns what the
  position receives, so a long's payment is negative).
- Triggers inside a candle (:func:`touch_price`, :func:`exit_in_candle`): a level below the open is
  touched when ``low <= level`` and fills at ``min(open, level)``; a level above when ``high >= level``,
  at ``max(open, level)``: a candle that opens beyond the level fills at the open (the gap), never at the
  level. When a candle touches both a position's stop-loss and its take-profit, the stop wins: we cannot
  know which came first, so we assume the worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Side = Literal["long", "short"]
Direction = Literal["down", "up"]
ExitReason = Literal["stop_loss", "take_profit"]

HOUR_MS = 3_600_000
FUNDING_INTERVAL_MS = 8 * HOUR_MS  # funding at 00:00, 08:00 and 16:00 UTC
FAR_PRICE_FACTOR = 1e6  # a short is searched for liquidation up to this multiple of the mark


# -- fees and margins -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeSchedule:
    """Fee rates on notional. BingX's standard USDT-M perpetual rates by default."""

    maker: float = 0.0002
    taker: float = 0.0005


def fee(quantity: float, price: float, rate: float) -> float:
    """The fee of a fill of ``quantity`` at ``price``: ``q * price * rate``."""
    return abs(quantity) * price * rate


def initial_margin(quantity: float, price: float, leverage: float) -> float:
    """``q * price / L``: what opening a position locks."""
    return abs(quantity) * price / leverage


@dataclass(frozen=True)
class MarginTier:
    """One maintenance-margin tier: notional up to ``max_notional`` (inclusive)."""

    max_notional: float
    rate: float  # maintenance margin rate
    amount: float  # maintenance amount, subtracted so MM is continuous at the tier's lower bound
    max_leverage: int


def _tiers(*rows: tuple[float, float, int]) -> tuple[MarginTier, ...]:
    """Tiers from (max notional, rate, max leverage), with each maintenance amount derived so that
    ``MM`` is continuous: ``amount_k = amount_{k-1} + bound_{k-1} * (rate_k - rate_{k-1})``."""
    tiers, amount, previous_rate, previous_bound = [], 0.0, rows[0][1], 0.0
    for bound, rate, leverage in rows:
        amount += previous_bound * (rate - previous_rate)
        tiers.append(MarginTier(bound, rate, amount, leverage))
        previous_rate, previous_bound = rate, bound
    return tuple(tiers)


# BingX-like tiers for every symbol: 0.4 % up to 50k USDT of notional (125x), up to 10 % beyond 5M.
DEFAULT_TIERS: tuple[MarginTier, ...] = _tiers(
    (50_000.0, 0.004, 125),
    (250_000.0, 0.005, 100),
    (1_000_000.0, 0.01, 50),
    (5_000_000.0, 0.025, 20),
    (float("inf"), 0.05, 10),
)


def tier_for(notional: float, tiers: Sequence[MarginTier] = DEFAULT_TIERS) -> MarginTier:
    for tier in tiers:
        if abs(notional) <= tier.max_notional:
            return tier
    return tiers[-1]


def maintenance_margin(notional: float, tiers: Sequence[MarginTier] = DEFAULT_TIERS) -> float:
    """``N * rate - amount`` for the tier of ``N``."""
    tier = tier_for(notional, tiers)
    return abs(notional) * tier.rate - tier.amount


def max_notional(leverage: float, tiers: Sequence[MarginTier] = DEFAULT_TIERS) -> float:
    """The largest position (in notional) that ``leverage`` is allowed for; 0 above the highest leverage."""
    allowed = [tier.max_notional for tier in tiers if tier.max_leverage >= leverage]
    return max(allowed, default=0.0)


# -- positions and liquidation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    """An open position (one side): ``quantity`` > 0 at an average ``entry_price``."""

    side: Side
    quantity: float
    entry_price: float

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


def unrealised_pnl(leg: Leg, mark: float) -> float:
    """``s * q * (P - E)``."""
    return leg.sign * leg.quantity * (mark - leg.entry_price)


def realised_pnl(side: Side, quantity: float, entry_price: float, exit_price: float) -> float:
    """PnL of closing ``quantity`` of a position entered at ``entry_price``."""
    return unrealised_pnl(Leg(side, quantity, entry_price), exit_price)


def average_entry(quantity: float, entry_price: float, added: float, price: float) -> float:
    """The entry price after adding ``added`` at ``price`` to ``quantity`` at ``entry_price``."""
    return (quantity * entry_price + added * price) / (quantity + added)


def margin_surplus(
    legs: Sequence[Leg], collateral: float, mark: float, tiers: Sequence[MarginTier] = DEFAULT_TIERS
) -> float:
    """``collateral + sum(pnl) - sum(MM)`` at ``mark``: the legs are liquidated when it reaches 0."""
    return collateral + sum(unrealised_pnl(leg, mark) - maintenance_margin(leg.quantity * mark, tiers) for leg in legs)


def first_breach(
    legs: Sequence[Leg], collateral: float, start: float, end: float, tiers: Sequence[MarginTier] = DEFAULT_TIERS
) -> float | None:
    """The first price on the way from ``start`` to ``end`` where the surplus reaches 0 (``start`` itself
    if it is already there), or None. The surplus is linear in P between tier bounds, so the root is exact."""
    low, high = min(start, end), max(start, end)
    bounds = {t.max_notional / leg.quantity for leg in legs for t in tiers if t.max_notional != float("inf")}
    inside = sorted((b for b in bounds if low < b < high), reverse=end < start)
    previous, before = start, margin_surplus(legs, collateral, start, tiers)
    if before <= 0:
        return start
    for price in [*inside, end]:
        after = margin_surplus(legs, collateral, price, tiers)
        if after <= 0:
            return previous + (price - previous) * before / (before - after)
        previous, before = price, after
    return None


def liquidation_price(
    legs: Sequence[Leg], collateral: float, mark: float, tiers: Sequence[MarginTier] = DEFAULT_TIERS
) -> float | None:
    """Where the legs would be liquidated if the price moved against them from ``mark``: below for a net
    long, above for a net short (or a flat hedge, whose maintenance margin grows with the price).
    None when no positive price liquidates them (a 1x long, say)."""
    if not legs:
        return None
    net = sum(leg.sign * leg.quantity for leg in legs)
    target = 0.0 if net > 0 else mark * FAR_PRICE_FACTOR
    price = first_breach(legs, collateral, mark, target, tiers)
    return price if price is not None and price > 0 else None


# -- funding ---------------------------------------------------------------------------------------------


def funding_payment(side: Side, quantity: float, mark: float, rate: float) -> float:
    """What a position receives at a funding time (negative: it pays): ``-s * q * P * rate``."""
    sign = 1 if side == "long" else -1
    return -sign * abs(quantity) * mark * rate


def funding_times(after_ms: int, until_ms: int) -> list[int]:
    """The funding times ``T`` with ``after_ms < T <= until_ms``, oldest first."""
    first = (after_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    return list(range(first, until_ms + 1, FUNDING_INTERVAL_MS))


def next_funding_time(now_ms: int) -> int:
    """The first funding time strictly after ``now_ms``."""
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


# -- fills inside a candle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candle:
    open: float
    high: float
    low: float
    close: float


def touch_price(level: float, candle: Candle, direction: Direction) -> float | None:
    """The fill price of a level crossed ``direction`` ("down": reached from above, "up": from below)
    in ``candle``; the open when the candle opens beyond the level; None when not touched."""
    if direction == "down":
        return min(candle.open, level) if candle.low <= level else None
    return max(candle.open, level) if candle.high >= level else None


@dataclass(frozen=True)
class Exit:
    price: float
    reason: ExitReason


def exit_in_candle(side: Side, candle: Candle, stop_loss: float | None, take_profit: float | None) -> Exit | None:
    """The exit of a position with the given stop-loss / take-profit in ``candle``, the stop first."""
    stop_direction: Direction = "down" if side == "long" else "up"
    profit_direction: Direction = "up" if side == "long" else "down"
    if stop_loss is not None and (price := touch_price(stop_loss, candle, stop_direction)) is not None:
        return Exit(price, "stop_loss")
    if take_profit is not None and (price := touch_price(take_profit, candle, profit_direction)) is not None:
        return Exit(price, "take_profit")
    return None
