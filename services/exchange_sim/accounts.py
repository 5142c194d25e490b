"""A simulated USDT-M perpetual account and how it is valued (margins, liquidation prices, balance).

The wallet balance holds deposits, realised PnL, fees and funding, isolated margins included. An
isolated position owns its margin (its collateral); cross positions share what is left:
``wallet - isolated margins + cross PnL`` (see ``shared/perps.py`` for every formula).

Positions live in books keyed by (symbol, position side): ``BOTH`` in one-way mode (a signed quantity
that nets), ``LONG`` and ``SHORT`` in hedge mode. Every figure is a function of the account and the
mark prices at one instant, which :class:`Venue` gives for any time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from services.exchange_sim.market import SymbolSpec, SyntheticMarket
from services.exchange_sim.orders import SimOrder
from shared import perps

EventKind = Literal["order", "position", "balance"]


@dataclass(frozen=True)
class AccountEvent:
    """What changed in an account, for listeners (a websocket account stream, tests)."""

    api_key: str
    kind: EventKind
    time: int
    data: dict[str, Any]


Listener = Callable[[AccountEvent], None]


@dataclass(frozen=True)
class Venue:
    """What an account is valued and filled against: the market, fees, margin tiers, leverage rules."""

    market: SyntheticMarket
    fees: perps.FeeSchedule
    default_leverage: int
    tiers: tuple[perps.MarginTier, ...] = perps.DEFAULT_TIERS

    @property
    def max_leverage(self) -> int:
        return max(t.max_leverage for t in self.tiers)

    def spec(self, symbol: str) -> SymbolSpec:
        return self.market.by_id[symbol]

    def mark(self, symbol: str, time_ms: int) -> float:
        return self.market.price_now(self.market.by_id[symbol], time_ms)


@dataclass
class SimPosition:
    position_id: int
    symbol: str
    book: str  # BOTH | LONG | SHORT
    quantity: float  # signed: > 0 long, < 0 short
    entry_price: float
    isolated: bool
    margin: float  # isolated margin; 0 under cross
    opened_at: int
    updated_at: int
    realised: float = 0.0

    @property
    def side(self) -> perps.Side:
        return "long" if self.quantity > 0 else "short"

    @property
    def position_side(self) -> str:
        return "LONG" if self.quantity > 0 else "SHORT"

    def leg(self) -> perps.Leg:
        return perps.Leg(self.side, abs(self.quantity), self.entry_price)


@dataclass(frozen=True)
class Fill:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    position_side: str
    price: float
    quantity: float
    commission: float
    realised: float
    maker: bool
    time: int


@dataclass(frozen=True)
class Income:
    tran_id: int
    symbol: str
    income_type: str  # REALIZED_PNL | FUNDING_FEE | TRADING_FEE | INSURANCE_CLEAR
    amount: float
    time: int
    info: str
    trade_id: str = ""


@dataclass
class Account:
    api_key: str
    wallet: float
    clock_ms: int  # everything up to this instant has been evaluated
    hedged: bool = False
    margin_modes: dict[str, str] = field(default_factory=dict)  # symbol -> ISOLATED | CROSSED
    leverages: dict[tuple[str, str], int] = field(default_factory=dict)  # (symbol, LONG|SHORT) -> leverage
    positions: dict[tuple[str, str], SimPosition] = field(default_factory=dict)
    orders: dict[int, SimOrder] = field(default_factory=dict)
    by_client_id: dict[str, int] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)

    def margin_mode(self, symbol: str) -> str:
        return self.margin_modes.get(symbol, "CROSSED")

    def leverage(self, symbol: str, side: str, default: int) -> int:
        """Leverage of a position side (LONG / SHORT; a one-way account sets both at once)."""
        return self.leverages.get((symbol, side), default)

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    def book_of(self, order: SimOrder) -> str:
        return order.position_side if self.hedged else "BOTH"

    def active_symbols(self) -> set[str]:
        return {p.symbol for p in self.positions.values()} | {o.symbol for o in self.open_orders()}


# -- valuation at one instant -----------------------------------------------------------------------------


Marks = dict[str, float]


def marks_at(account: Account, venue: Venue, time_ms: int) -> Marks:
    return {symbol: venue.mark(symbol, time_ms) for symbol in account.active_symbols()}


def position_margin(position: SimPosition, account: Account, venue: Venue) -> float:
    """Isolated: the position's own margin; cross: its initial margin at the current leverage."""
    if position.isolated:
        return position.margin
    leverage = account.leverage(position.symbol, position.position_side, venue.default_leverage)
    return perps.initial_margin(position.quantity, position.entry_price, leverage)


def order_margin(order: SimOrder, account: Account, venue: Venue) -> float:
    """Margin a resting opening limit order reserves (``freezedMargin``)."""
    if not order.resting_limit or order.closes(account.hedged):
        return 0.0
    side = "LONG" if order.side == "BUY" else "SHORT"
    return perps.initial_margin(
        order.quantity, order.price, account.leverage(order.symbol, side, venue.default_leverage)
    )


def cross_collateral(account: Account, venue: Venue, marks: Marks, symbol: str) -> float:
    """What backs ``symbol``'s cross positions: the wallet less isolated margins, plus PnL less
    maintenance margin of the cross positions on other symbols (held at their current marks)."""
    total = account.wallet - sum(p.margin for p in account.positions.values() if p.isolated)
    for p in account.positions.values():
        if not p.isolated and p.symbol != symbol:
            mark = marks[p.symbol]
            total += perps.unrealised_pnl(p.leg(), mark) - perps.maintenance_margin(abs(p.quantity) * mark, venue.tiers)
    return total


def liquidation_units(account: Account, venue: Venue, marks: Marks) -> list[tuple[str, list[SimPosition], float]]:
    """(symbol, positions, collateral) groups that are liquidated together: each isolated position on
    its own margin, the cross positions of a symbol on the cross collateral."""
    units: list[tuple[str, list[SimPosition], float]] = []
    cross: dict[str, list[SimPosition]] = {}
    for p in account.positions.values():
        if p.isolated:
            units.append((p.symbol, [p], p.margin))
        else:
            cross.setdefault(p.symbol, []).append(p)
    for symbol, group in cross.items():
        units.append((symbol, group, cross_collateral(account, venue, marks, symbol)))
    return units


def liquidation_price(position: SimPosition, account: Account, venue: Venue, marks: Marks) -> float | None:
    for symbol, group, collateral in liquidation_units(account, venue, marks):
        if position in group:
            legs = [p.leg() for p in group]
            return perps.liquidation_price(legs, collateral, marks[symbol], venue.tiers)
    return None


@dataclass(frozen=True)
class BalanceView:
    wallet: float
    unrealised: float
    used: float  # isolated margins + cross initial margins
    frozen: float  # reserved by resting opening orders
    available: float  # wallet - used - frozen + cross PnL (an isolated position's PnL stays its own)

    @property
    def equity(self) -> float:
        return self.wallet + self.unrealised


def balance(account: Account, venue: Venue, marks: Marks) -> BalanceView:
    positions = account.positions.values()
    unrealised = sum(perps.unrealised_pnl(p.leg(), marks[p.symbol]) for p in positions)
    cross_pnl = sum(perps.unrealised_pnl(p.leg(), marks[p.symbol]) for p in positions if not p.isolated)
    used = sum(position_margin(p, account, venue) for p in positions)
    frozen = sum(order_margin(o, account, venue) for o in account.open_orders())
    return BalanceView(account.wallet, unrealised, used, frozen, account.wallet - used - frozen + cross_pnl)


def position_row(position: SimPosition, account: Account, venue: Venue, marks: Marks, now_ms: int) -> dict[str, Any]:
    """A ``user/positions`` row as BingX answers it."""
    mark = marks[position.symbol]
    size = abs(position.quantity)
    liquidation = liquidation_price(position, account, venue, marks)
    margin = position_margin(position, account, venue)
    pnl = perps.unrealised_pnl(position.leg(), mark)
    return {
        "positionId": str(position.position_id),
        "symbol": position.symbol,
        "currency": "USDT",
        "positionSide": position.position_side,
        "positionAmt": f"{size}",
        "availableAmt": f"{size}",
        "isolated": position.isolated,
        "avgPrice": f"{position.entry_price}",
        "initialMargin": f"{margin:.8f}",
        "margin": f"{margin + pnl:.8f}" if position.isolated else f"{margin:.8f}",
        "leverage": account.leverage(position.symbol, position.position_side, venue.default_leverage),
        "unrealizedProfit": f"{pnl:.8f}",
        "realisedProfit": f"{position.realised:.8f}",
        "liquidationPrice": liquidation or 0,
        "markPrice": f"{mark}",
        "positionValue": f"{size * mark:.8f}",
        "maintMargin": f"{perps.maintenance_margin(size * mark, venue.tiers):.8f}",
        "onlyOnePosition": not account.hedged,
        "openTime": position.opened_at,
        "updateTime": max(position.updated_at, now_ms),
    }
