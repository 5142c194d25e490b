"""Signed trading endpoints: place, query, cancel and list orders, fills, liquidations, closing positions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from services.exchange_sim import trading
from services.exchange_sim.accounts import Fill
from services.exchange_sim.errors import BAD_REQUEST, NO_POSITION, SimError
from services.exchange_sim.orders import SimOrder, parse_create
from services.exchange_sim.web import Route, authed, in_window, int_param, limit_param, spec_of, state

MAX_ORDERS = 1000
MAX_LIQUIDATIONS = 100


def _created(order: SimOrder) -> dict[str, Any]:
    """The create answer: attached stopLoss / takeProfit come back as JSON strings, as BingX sends them."""
    row = order.as_bingx()
    for name in ("stopLoss", "takeProfit"):
        row[name] = json.dumps(row[name]) if name in order.attached else ""
    return row


def create_order(request: Request) -> Any:
    sim = state(request)
    key = authed(request)
    params = dict(request.query_params)
    spec = spec_of(sim, params.get("symbol"))
    with sim.exchange.session(key, sim.clock()) as (account, now):
        order = trading.place(account, sim.exchange.venue, parse_create(params, spec, now), now, sim.exchange.emit)
        return {"order": _created(order)}


def _lookup(request: Request) -> tuple[str | None, str | None]:
    params = request.query_params
    return params.get("orderId"), params.get("clientOrderID") or params.get("clientOrderId")


def fetch_order(request: Request) -> Any:
    sim = state(request)
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        return {"order": trading.find(account, *_lookup(request)).as_bingx()}


def cancel_order(request: Request) -> Any:
    sim = state(request)
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        order = trading.find(account, *_lookup(request))
        return {"order": trading.cancel_one(account, order, now, sim.exchange.emit).as_bingx()}


def _orders(request: Request, *, which: str) -> list[dict[str, Any]]:
    """Orders of the account, oldest first: "open", "finished" (history) or "all"."""
    sim = state(request)
    params = request.query_params
    symbol = params.get("symbol")
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    after = int_param(params, "orderId")
    limit = limit_param(params, 500, MAX_ORDERS)
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        rows = [
            o for o in account.orders.values()
            if (not symbol or o.symbol == symbol)
            and (which == "all" or o.is_open == (which == "open"))
            and in_window(o.time, start, end) and (after is None or o.order_id >= after)
        ]  # fmt: skip
        return [o.as_bingx() for o in rows[-limit:]] if which != "open" else [o.as_bingx() for o in rows]


def open_orders(request: Request) -> Any:
    return {"orders": _orders(request, which="open")}


def order_history(request: Request) -> Any:
    return {"orders": _orders(request, which="finished")}


def all_orders(request: Request) -> Any:
    return {"orders": _orders(request, which="all")}


def cancel_all(request: Request) -> Any:
    sim = state(request)
    symbol = request.query_params.get("symbol")
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        cancelled = [trading.cancel_one(account, o, now, sim.exchange.emit) for o in account.open_orders(symbol)]
        return {"success": [o.as_bingx() for o in cancelled], "failed": None}


def _id_list(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        values = text.strip("[]").split(",")
    return [str(v).strip().strip('"') for v in (values if isinstance(values, list) else [values])]


def cancel_batch(request: Request) -> Any:
    sim = state(request)
    params = request.query_params
    order_ids, client_ids = _id_list(params.get("orderIdList")), _id_list(params.get("clientOrderIDList"))
    if not order_ids and not client_ids:
        raise SimError(BAD_REQUEST, "orderIdList or clientOrderIDList is required")
    success, failed = [], []
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        for oid, cid in [(i, None) for i in order_ids] + [(None, c) for c in client_ids]:
            try:
                order = trading.find(account, oid, cid)
                success.append(trading.cancel_one(account, order, now, sim.exchange.emit).as_bingx())
            except SimError as error:
                failed.append(
                    {
                        "orderId": oid or "",
                        "clientOrderID": cid or "",
                        "errorCode": error.code,
                        "errorMessage": error.msg,
                    }
                )
    return {"success": success, "failed": failed or None}


def _fill_row(fill: Fill) -> dict[str, Any]:
    when = datetime.fromtimestamp(fill.time / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "symbol": fill.symbol, "orderId": str(fill.order_id), "tradeId": str(fill.trade_id), "side": fill.side,
        "positionSide": fill.position_side, "volume": f"{fill.quantity}", "price": f"{fill.price}",
        "amount": f"{fill.quantity * fill.price:.8f}", "commission": f"{-fill.commission:.8f}", "currency": "USDT",
        "realisedPNL": f"{fill.realised:.8f}", "maker": fill.maker, "filledTm": when,
    }  # fmt: skip


def fills(request: Request) -> Any:
    """``allFillOrders``: BingX requires ``startTs`` and ``endTs`` (ccxt sends the last 30 days by its own clock)."""
    sim = state(request)
    params = request.query_params
    symbol = params.get("symbol")
    start, end = int_param(params, "startTs"), int_param(params, "endTs")
    if start is None or end is None:
        raise SimError(BAD_REQUEST, "Invalid parameters, err:startTs and endTs are required")
    order_id = params.get("orderId")
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        rows = [
            f for f in account.fills
            if (not symbol or f.symbol == symbol) and in_window(f.time, start, end)
            and (not order_id or str(f.order_id) == order_id)
        ]  # fmt: skip
        return {"fill_orders": [_fill_row(f) for f in rows[-MAX_ORDERS:]]}


def liquidations(request: Request) -> Any:
    sim = state(request)
    params = request.query_params
    symbol = params.get("symbol")
    if params.get("autoCloseType", "LIQUIDATION") not in ("LIQUIDATION", "ADL"):
        raise SimError(BAD_REQUEST, "autoCloseType must be LIQUIDATION or ADL")
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = limit_param(params, 50, MAX_LIQUIDATIONS)
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        rows = [
            o for o in account.orders.values()
            if o.liquidation and params.get("autoCloseType", "LIQUIDATION") == "LIQUIDATION"
            and (not symbol or o.symbol == symbol) and in_window(o.time, start, end)
        ]  # fmt: skip
        return {"orders": [o.as_bingx() for o in rows[-limit:]]}


def close_all_positions(request: Request) -> Any:
    sim = state(request)
    symbol = request.query_params.get("symbol")
    if symbol:
        spec_of(sim, symbol)
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        orders = trading.close_positions(account, sim.exchange.venue, symbol, now, sim.exchange.emit)
        return {"success": [o.order_id for o in orders], "failed": None}


def close_position(request: Request) -> Any:
    sim = state(request)
    position_id = request.query_params.get("positionId", "")
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        position = next((p for p in account.positions.values() if str(p.position_id) == position_id), None)
        if position is None:
            raise SimError(NO_POSITION, "No position to close")
        closer = trading.close_one(account, sim.exchange.venue, position, now, sim.exchange.emit)
        row = closer.as_bingx()
        return {key: row[key] for key in ("orderId", "symbol", "side", "type", "positionSide", "origQty")} | {
            "positionId": position_id
        }


ROUTES = [
    Route("POST", "/swap/v2/trade/order", create_order, private=True),
    Route("GET", "/swap/v2/trade/order", fetch_order, private=True),
    Route("DELETE", "/swap/v2/trade/order", cancel_order, private=True),
    Route("GET", "/swap/v2/trade/openOrders", open_orders, private=True),
    Route("GET", "/swap/v2/trade/allOrders", order_history, private=True),
    Route("GET", "/swap/v1/trade/fullOrder", all_orders, private=True),
    Route("DELETE", "/swap/v2/trade/allOpenOrders", cancel_all, private=True),
    Route("DELETE", "/swap/v2/trade/batchOrders", cancel_batch, private=True),
    Route("GET", "/swap/v2/trade/allFillOrders", fills, private=True),
    Route("GET", "/swap/v2/trade/forceOrders", liquidations, private=True),
    Route("POST", "/swap/v2/trade/closeAllPositions", close_all_positions, private=True),
    Route("POST", "/swap/v1/trade/closePosition", close_position, private=True),
]
