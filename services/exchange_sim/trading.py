"""What a signed request can ask of an account: orders, cancels, closes, and the account settings.

Every check that can refuse a request runs before anything changes, and each refusal is the error
BingX gives (``errors.py``; ccxt maps the code to its exception):

- the position side must match the position mode: one-way takes ``BOTH`` only, hedge ``LONG`` /
  ``SHORT`` only (109400, BadRequest, with BingX's own message);
- the position mode cannot change while any position or open order exists, nor a symbol's margin mode
  while it has a position or open order (109400);
- leverage is an integer from 1 to the symbol's maximum (125), per side in hedge mode (``BOTH`` in
  one-way mode sets both); one that the open position's size does not allow is refused (109400);
- a reduce-only or closing order needs a position to reduce (101205), and may not grow it (101400);
- an opening order needs the margin and fee at its price (101204, InsufficientFunds).
"""

from __future__ import annotations

from services.exchange_sim.accounts import Account, SimPosition, Venue, balance, marks_at
from services.exchange_sim.errors import (
    BAD_REQUEST,
    DUPLICATE_ORDER,
    INSUFFICIENT_MARGIN,
    INVALID_ORDER,
    NO_POSITION,
    ORDER_NOT_FOUND,
    SimError,
)
from services.exchange_sim.fills import Emit, affordable, cancel, execute
from services.exchange_sim.orders import LIMIT_ON_TRIGGER, TRAILING, SimOrder, next_id, reached, trigger_direction
from shared import perps

ONE_WAY_ONLY = "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
HEDGE_ONLY = "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT."


def check_position_side(account: Account, position_side: str) -> None:
    if account.hedged and position_side not in ("LONG", "SHORT"):
        raise SimError(BAD_REQUEST, HEDGE_ONLY)
    if not account.hedged and position_side != "BOTH":
        raise SimError(BAD_REQUEST, ONE_WAY_ONLY)


# -- orders -----------------------------------------------------------------------------------------------


def place(account: Account, venue: Venue, order: SimOrder, now_ms: int, emit: Emit) -> SimOrder:
    """Validate and place a parsed order at ``now_ms``; market and marketable orders fill at once."""
    check_position_side(account, order.position_side)
    if order.client_order_id and order.client_order_id in account.by_client_id:
        raise SimError(DUPLICATE_ORDER, f"duplicate clientOrderID {order.client_order_id}")
    spec = venue.spec(order.symbol)
    ticker = venue.market.ticker(spec, now_ms)
    mark, best = float(ticker["last"]), float(ticker["ask"] if order.side == "BUY" else ticker["bid"])
    _check_closing(account, order)
    _check_triggers(order, mark)
    marketable = order.type == "MARKET" or (
        order.type == "LIMIT" and reached("down" if order.side == "BUY" else "up", order.price, best)
    )
    if order.type == "LIMIT" and order.time_in_force == "PostOnly" and marketable:
        raise SimError(INVALID_ORDER, "PostOnly order would take liquidity")
    if not order.closes(account.hedged):
        reference = best if marketable else (order.price or order.stop_price or mark)
        _check_margin(account, venue, order, reference, now_ms)
    side = (
        order.position_side if account.hedged else ("LONG" if (order.side == "BUY") != order.closes(False) else "SHORT")
    )
    order.leverage = account.leverage(order.symbol, side, venue.default_leverage)
    account.orders[order.order_id] = order
    if order.client_order_id:
        account.by_client_id[order.client_order_id] = order.order_id
    if marketable:  # a marketable limit's price is at or beyond the book, so it fills at the book too
        execute(account, venue, order, best, maker=False, time=now_ms, emit=emit)
    elif order.type == "LIMIT" and order.time_in_force in ("IOC", "FOK"):
        cancel(account, order, now_ms, emit, status="CANCELLED")
    elif order.type == TRAILING and not order.activation_price:
        order.trail_extreme = mark  # armed at once: trails from here
    return order


def _check_closing(account: Account, order: SimOrder) -> None:
    position = account.positions.get((order.symbol, account.book_of(order)))
    current = position.quantity if position else 0.0
    if order.closes(account.hedged):
        if current == 0:
            raise SimError(NO_POSITION, "No position to close")
        if (current > 0) == (order.side == "BUY"):
            raise SimError(INVALID_ORDER, "reduceOnly order would increase the position")
        if order.attached:
            raise SimError(BAD_REQUEST, "stopLoss / takeProfit only go with an order that opens a position")


def _check_triggers(order: SimOrder, mark: float) -> None:
    entry = order.price or order.stop_price or mark
    for name, spec in order.attached.items():
        below = (name == "stopLoss") == (order.side == "BUY")  # a long's stop lies below, its target above
        if (spec["stopPrice"] >= entry) if below else (spec["stopPrice"] <= entry):
            side = "below" if below else "above"
            raise SimError(
                INVALID_ORDER, f"{name} stopPrice {spec['stopPrice']} must be {side} the entry price {entry}"
            )
    if not order.stop_price:
        return
    order.trigger_direction = trigger_direction(order, mark)
    immediate = order.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET", *LIMIT_ON_TRIGGER - {"TRIGGER_LIMIT"})
    if immediate and reached(order.trigger_direction, order.stop_price, mark):
        raise SimError(
            INVALID_ORDER,
            f"the stopPrice {order.stop_price} is already reached (mark {mark}): it would trigger immediately",
        )


def _check_margin(account: Account, venue: Venue, order: SimOrder, price: float, now_ms: int) -> None:
    position = account.positions.get((order.symbol, account.book_of(order)))
    current = position.quantity if position else 0.0
    grow = max(0.0, abs(current + order.sign * order.quantity) - abs(current)) if not account.hedged else order.quantity
    if grow and not affordable(account, venue, order, grow, price, now_ms):
        side = "LONG" if order.side == "BUY" else "SHORT"
        leverage = account.leverage(order.symbol, side, venue.default_leverage)
        cap = perps.max_notional(leverage, venue.tiers)
        if (abs(current) + grow) * price > cap:
            raise SimError(
                INVALID_ORDER, f"at {leverage}x a position may hold at most {cap:,.0f} USDT; lower the leverage"
            )
        needed = perps.initial_margin(grow, price, leverage) + perps.fee(grow, price, venue.fees.taker)
        raise SimError(INSUFFICIENT_MARGIN, f"insufficient margin: {needed:.2f} USDT needed")


def find(account: Account, order_id: str | None, client_id: str | None) -> SimOrder:
    oid = account.by_client_id.get(client_id) if client_id else _int_or_none(order_id)
    order = account.orders.get(oid) if oid is not None else None
    if order is None:
        raise SimError(ORDER_NOT_FOUND, "order does not exist")
    return order


def cancel_one(account: Account, order: SimOrder, now_ms: int, emit: Emit) -> SimOrder:
    if not order.is_open:
        raise SimError(INVALID_ORDER, f"order is {order.status}, cannot cancel")
    cancel(account, order, now_ms, emit)
    return order


def close_one(account: Account, venue: Venue, position: SimPosition, now_ms: int, emit: Emit) -> SimOrder:
    """A market order that closes ``position`` whole."""
    side = "SELL" if position.quantity > 0 else "BUY"
    order = SimOrder(next_id(), "", position.symbol, side, position.book, "MARKET", abs(position.quantity), now_ms)
    order.reduce_only = not account.hedged
    return place(account, venue, order, now_ms, emit)


def close_positions(account: Account, venue: Venue, symbol: str | None, now_ms: int, emit: Emit) -> list[SimOrder]:
    """Market orders closing every position (of ``symbol``), as ``closeAllPositions`` does."""
    chosen = [p for p in account.positions.values() if symbol is None or p.symbol == symbol]
    return [close_one(account, venue, p, now_ms, emit) for p in chosen]


# -- settings ----------------------------------------------------------------------------------------------------


def set_position_mode(account: Account, hedged: bool) -> None:
    if hedged != account.hedged and (account.positions or account.open_orders()):
        raise SimError(BAD_REQUEST, "The position mode cannot be changed while there are positions or open orders")
    account.hedged = hedged


def set_margin_mode(account: Account, symbol: str, mode: str) -> None:
    if mode not in ("ISOLATED", "CROSSED"):
        raise SimError(BAD_REQUEST, "marginType must be ISOLATED or CROSSED")
    busy = any(p.symbol == symbol for p in account.positions.values()) or account.open_orders(symbol)
    if mode != account.margin_mode(symbol) and busy:
        raise SimError(
            BAD_REQUEST, f"The margin mode of {symbol} cannot be changed while it has a position or open orders"
        )
    account.margin_modes[symbol] = mode


def set_leverage(account: Account, venue: Venue, symbol: str, side: str, leverage_text: str, now_ms: int) -> int:
    try:
        leverage = int(leverage_text)
    except ValueError:
        raise SimError(BAD_REQUEST, "leverage must be an integer") from None
    if not 1 <= leverage <= venue.max_leverage:
        raise SimError(BAD_REQUEST, f"leverage must be between 1 and {venue.max_leverage}")
    if side not in ("BOTH", "LONG", "SHORT"):
        raise SimError(BAD_REQUEST, "side must be LONG, SHORT or BOTH")
    check_position_side(account, side)
    sides = ("LONG", "SHORT") if side == "BOTH" else (side,)
    marks = marks_at(account, venue, now_ms)
    cap = perps.max_notional(leverage, venue.tiers)
    for p in account.positions.values():
        if p.symbol == symbol and p.position_side in sides and abs(p.quantity) * marks[symbol] > cap:
            raise SimError(BAD_REQUEST, f"leverage {leverage}x is too high for the open {symbol} position")
    previous = {s: account.leverage(symbol, s, venue.default_leverage) for s in sides}
    for s in sides:
        account.leverages[(symbol, s)] = leverage
    if balance(account, venue, marks).available < 0:
        account.leverages.update({(symbol, s): v for s, v in previous.items()})
        raise SimError(INSUFFICIENT_MARGIN, f"not enough available margin for {leverage}x on the open position")
    return leverage


def adjust_margin(
    account: Account, venue: Venue, symbol: str, side: str, amount: float, kind: str, now_ms: int
) -> float:
    """Add (type 1) or remove (type 2) isolated margin; the position's new margin."""
    book = side if account.hedged else "BOTH"
    position = account.positions.get((symbol, book))
    if position is None or not position.isolated:
        raise SimError(NO_POSITION, "No isolated position to adjust")
    view = balance(account, venue, marks_at(account, venue, now_ms))
    if kind == "1":
        if amount > view.available:
            raise SimError(INSUFFICIENT_MARGIN, "not enough available margin to add")
        position.margin += amount
    elif kind == "2":
        floor = perps.initial_margin(
            position.quantity,
            position.entry_price,
            account.leverage(symbol, position.position_side, venue.default_leverage),
        )
        if position.margin - amount < floor - 1e-9 * floor:  # float sums: adding then removing x is allowed
            raise SimError(BAD_REQUEST, "the margin cannot go below the initial margin")
        position.margin -= amount
    else:
        raise SimError(BAD_REQUEST, "type must be 1 (add) or 2 (reduce)")
    return position.margin


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
