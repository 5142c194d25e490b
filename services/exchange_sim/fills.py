"""What happens to an account when an order fills, a position is liquidated, or funding is settled.

Orders fill whole. A fill first reduces an opposite position (realising its PnL), then grows the
position with what is left (one-way mode nets and can flip; hedge-mode books never flip). Reduce-only,
close-position and hedge-mode closing orders are clipped to the position and never grow it; with
nothing to reduce they are cancelled. When a position reaches zero, the orders that could only close
it are cancelled (its stop-loss / take-profit among them); other orders stay. When an entry with
``stopLoss`` / ``takeProfit`` fills, those become reduce-only trigger orders on its position side.

Liquidation closes at the liquidation price; what is left of the collateral goes as the clearance fee
(income ``INSURANCE_CLEAR``): an isolated position loses exactly its margin, a cross liquidation closes
every cross position and leaves the cross collateral at zero. Open orders on a liquidated symbol are
cancelled. Funding is paid from (or to) the wallet, isolated positions included.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from services.exchange_sim.accounts import (
    Account,
    AccountEvent,
    Fill,
    Income,
    SimPosition,
    Venue,
    balance,
    marks_at,
    order_margin,
)
from services.exchange_sim.orders import SimOrder, next_id, trigger_direction
from shared import perps

Emit = Callable[[AccountEvent], None]
EPSILON = 1e-12
_trade_ids = itertools.count(1)
_income_ids = itertools.count(1)
_position_ids = itertools.count(1_800_000_000_000_000_000)


def _income(account: Account, symbol: str, kind: str, amount: float, time: int, info: str, trade: str = "") -> None:
    if amount:
        account.income.append(Income(next(_income_ids), symbol, kind, amount, time, info, trade))


def cancel(account: Account, order: SimOrder, time: int, emit: Emit, status: str = "CANCELLED") -> None:
    order.status = status
    order.update_time = time
    emit(AccountEvent(account.api_key, "order", time, order.as_bingx()))


def cancel_closers(account: Account, symbol: str, book: str, time: int, emit: Emit) -> None:
    """The position on (symbol, book) is gone: its reduce-only / close orders no longer apply."""
    for order in account.open_orders(symbol):
        if account.book_of(order) == book and order.closes(account.hedged):
            cancel(account, order, time, emit)


def affordable(account: Account, venue: Venue, order: SimOrder, grow: float, price: float, time: int) -> bool:
    """Enough available margin (with what the order itself reserved) to open ``grow`` at ``price``."""
    side = "LONG" if order.side == "BUY" else "SHORT"
    leverage = account.leverage(order.symbol, side, venue.default_leverage)
    position = account.positions.get((order.symbol, account.book_of(order)))
    held = abs(position.quantity) if position and position.position_side == side else 0.0
    if (held + grow) * price > perps.max_notional(leverage, venue.tiers):
        return False
    needed = perps.initial_margin(grow, price, leverage) + perps.fee(grow, price, venue.fees.taker)
    view = balance(account, venue, marks_at(account, venue, time))
    return needed <= view.available + order_margin(order, account, venue) + 1e-9


def execute(
    account: Account, venue: Venue, order: SimOrder, price: float, *, maker: bool, time: int, emit: Emit
) -> bool:
    """Fill ``order`` whole at ``price``; False when it cannot (then it is cancelled)."""
    book = account.book_of(order)
    position = account.positions.get((order.symbol, book))
    current = position.quantity if position else 0.0
    opposite = current != 0 and (current > 0) != (order.sign > 0)
    quantity = order.quantity or abs(current)
    if order.closes(account.hedged):
        if not opposite:
            cancel(account, order, time, emit)
            return False
        quantity = min(quantity, abs(current))
    reduce = min(quantity, abs(current)) if opposite else 0.0
    grow = quantity - reduce
    if grow > EPSILON and not affordable(account, venue, order, grow, price, time):
        cancel(account, order, time, emit)
        return False
    pnl = _reduce(account, position, reduce, price, time) if position and reduce else 0.0
    if position and abs(position.quantity) < EPSILON:
        del account.positions[(order.symbol, book)]
        cancel_closers(account, order.symbol, book, time, emit)
    if grow > EPSILON:
        _grow(account, venue, order, book, grow, price, time)
    commission = perps.fee(quantity, price, venue.fees.maker if maker else venue.fees.taker)
    account.wallet -= commission
    fill = Fill(next(_trade_ids), order.order_id, order.symbol, order.side, order.position_side, price, quantity,
                commission, pnl, maker, time)  # fmt: skip
    account.fills.append(fill)
    _income(account, order.symbol, "REALIZED_PNL", pnl, time, "Realized PNL", str(fill.trade_id))
    _income(account, order.symbol, "TRADING_FEE", -commission, time, "Trading fee", str(fill.trade_id))
    order.status, order.executed_qty, order.avg_price, order.update_time = "FILLED", quantity, price, time
    order.commission, order.profit = commission, pnl
    if grow > EPSILON:
        _attach_protection(account, order, price, time, emit)
    _announce(account, venue, order, time, emit)
    return True


def _reduce(account: Account, position: SimPosition, quantity: float, price: float, time: int) -> float:
    pnl = perps.realised_pnl(position.side, quantity, position.entry_price, price)
    if position.isolated:
        position.margin *= 1 - quantity / abs(position.quantity)
    position.quantity = round(position.quantity - (quantity if position.quantity > 0 else -quantity), 12)
    position.realised += pnl
    position.updated_at = time
    account.wallet += pnl
    return pnl


def _grow(account: Account, venue: Venue, order: SimOrder, book: str, quantity: float, price: float, time: int) -> None:
    side = "LONG" if order.side == "BUY" else "SHORT"
    leverage = account.leverage(order.symbol, side, venue.default_leverage)
    order.leverage = leverage
    key = (order.symbol, book)
    position = account.positions.get(key)
    if position is None:
        isolated = account.margin_mode(order.symbol) == "ISOLATED"
        position = SimPosition(next(_position_ids), order.symbol, book, 0.0, price, isolated, 0.0, time, time)
        account.positions[key] = position
    size = abs(position.quantity)
    position.entry_price = perps.average_entry(size, position.entry_price, quantity, price) if size else price
    position.quantity = round(position.quantity + order.sign * quantity, 12)
    if position.isolated:
        position.margin += perps.initial_margin(quantity, price, leverage)
    position.updated_at = time


def _attach_protection(account: Account, entry: SimOrder, price: float, time: int, emit: Emit) -> None:
    for spec in entry.attached.values():
        child = SimOrder(
            order_id=next_id(),
            client_order_id="",
            symbol=entry.symbol,
            side="SELL" if entry.side == "BUY" else "BUY",
            position_side=entry.position_side,
            type=spec["type"],
            quantity=spec["quantity"] or entry.quantity,
            time=time,
            price=spec["price"],
            stop_price=spec["stopPrice"],
            working_type=spec["workingType"],
            reduce_only=not account.hedged,
            parent_id=entry.order_id,
            update_time=time,
        )
        child.trigger_direction = trigger_direction(child, price)
        account.orders[child.order_id] = child
        emit(AccountEvent(account.api_key, "order", time, child.as_bingx()))


def _announce(account: Account, venue: Venue, order: SimOrder, time: int, emit: Emit) -> None:
    emit(AccountEvent(account.api_key, "order", time, order.as_bingx()))
    position = account.positions.get((order.symbol, account.book_of(order)))
    emit(AccountEvent(account.api_key, "position", time, {
        "symbol": order.symbol,
        "positionSide": position.position_side if position else order.position_side,
        "positionAmt": abs(position.quantity) if position else 0.0,
        "avgPrice": position.entry_price if position else 0.0,
    }))  # fmt: skip
    emit(AccountEvent(account.api_key, "balance", time, {"asset": "USDT", "balance": account.wallet}))


# -- liquidation and funding -----------------------------------------------------------------------------------


def liquidate(
    account: Account, venue: Venue, group: list[SimPosition], symbol: str, price: float, time: int, emit: Emit
) -> None:
    """Close a liquidation unit: an isolated position at ``price``, or (cross) every cross position,
    ``symbol``'s at ``price`` and the others at their marks; the collateral left is the clearance fee."""
    targets = group if group[0].isolated else [p for p in account.positions.values() if not p.isolated]
    closes = [(p, price if p.symbol == symbol else venue.mark(p.symbol, time)) for p in targets]
    weights = [perps.maintenance_margin(abs(p.quantity) * px, venue.tiers) for p, px in closes]
    pnls = [perps.realised_pnl(p.side, abs(p.quantity), p.entry_price, px) for p, px in closes]
    if group[0].isolated:
        left = group[0].margin + pnls[0]
    else:
        left = account.wallet + sum(pnls) - sum(p.margin for p in account.positions.values() if p.isolated)
    clearance = max(0.0, left)
    for (position, px), weight, pnl in zip(closes, weights, pnls, strict=True):
        fee = clearance * weight / sum(weights) if sum(weights) else 0.0
        account.wallet += pnl - fee
        del account.positions[(position.symbol, position.book)]
        order = SimOrder(next_id(), "", position.symbol, "SELL" if position.quantity > 0 else "BUY",
                         position.book, "MARKET", abs(position.quantity), time, liquidation=True)  # fmt: skip
        order.status, order.executed_qty, order.avg_price = "FILLED", abs(position.quantity), px
        order.commission, order.profit, order.update_time = fee, pnl, time
        account.orders[order.order_id] = order
        fill = Fill(next(_trade_ids), order.order_id, position.symbol, order.side, position.book, px,
                    abs(position.quantity), fee, pnl, False, time)  # fmt: skip
        account.fills.append(fill)
        _income(account, position.symbol, "REALIZED_PNL", pnl, time, "Liquidation", str(fill.trade_id))
        _income(
            account, position.symbol, "INSURANCE_CLEAR", -fee, time, "Liquidation clearance fee", str(fill.trade_id)
        )
        for stale in account.open_orders(position.symbol):
            cancel(account, stale, time, emit)
        _announce(account, venue, order, time, emit)


def settle_funding(account: Account, venue: Venue, time: int, rate_of: Callable[[str, int], float], emit: Emit) -> None:
    """Every open position pays or receives funding at ``time`` (a funding time), at that mark."""
    for position in list(account.positions.values()):
        mark = venue.mark(position.symbol, time)
        amount = perps.funding_payment(position.side, abs(position.quantity), mark, rate_of(position.symbol, time))
        account.wallet += amount
        _income(account, position.symbol, "FUNDING_FEE", amount, time, "Funding Fee")
    if account.positions:
        emit(AccountEvent(account.api_key, "balance", time, {"asset": "USDT", "balance": account.wallet}))
