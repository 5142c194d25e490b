"""Signed account endpoints: balance, positions, position mode, leverage, margin mode and margin,
fee rates, maintenance tiers, and income history (realised PnL, fees, funding, liquidation fees)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.exchange_sim import trading
from services.exchange_sim.accounts import balance, marks_at, position_row
from services.exchange_sim.errors import BAD_REQUEST, SimError
from services.exchange_sim.orders import positive_number
from services.exchange_sim.web import Route, TopLevel, authed, in_window, int_param, limit_param, spec_of, state

MAX_INCOME = 1000


def capital_config(request: Request) -> Any:
    authed(request)
    return []


def _balance_figures(request: Request) -> dict[str, float]:
    sim = state(request)
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        view = balance(account, sim.exchange.venue, marks_at(account, sim.exchange.venue, now))
        realised = sum(i.amount for i in account.income if i.income_type == "REALIZED_PNL")
    return {"balance": view.wallet, "equity": view.equity, "unrealised": view.unrealised, "used": view.used,
            "frozen": view.frozen, "available": view.available, "realised": realised}  # fmt: skip


def swap_balance(request: Request) -> Any:
    b = _balance_figures(request)
    return [
        {
            "asset": "USDT",
            "balance": f"{b['balance']:.8f}",
            "equity": f"{b['equity']:.8f}",
            "unrealizedProfit": f"{b['unrealised']:.8f}",
            "realisedProfit": f"{b['realised']:.8f}",
            "availableMargin": f"{b['available']:.8f}",
            "usedMargin": f"{b['used']:.8f}",
            "freezedMargin": f"{b['frozen']:.8f}",
        }
    ]


def spot_balance(request: Request) -> Any:
    b = _balance_figures(request)
    return {"balances": [{"asset": "USDT", "free": f"{b['available']:.8f}", "locked": f"{b['used']:.8f}"}]}


def positions(request: Request) -> Any:
    sim = state(request)
    symbol = request.query_params.get("symbol")
    venue = sim.exchange.venue
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        marks = marks_at(account, venue, now)
        return [
            position_row(p, account, venue, marks, now)
            for p in account.positions.values()
            if not symbol or p.symbol == symbol
        ]


def get_position_mode(request: Request) -> Any:
    sim = state(request)
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        return {"dualSidePosition": "true" if account.hedged else "false"}


def set_position_mode(request: Request) -> Any:
    sim = state(request)
    value = request.query_params.get("dualSidePosition", "").lower()
    if value not in ("true", "false"):
        raise SimError(BAD_REQUEST, "dualSidePosition must be true or false")
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        trading.set_position_mode(account, value == "true")
        return {"dualSidePosition": value}


def _leverage_view(request: Request, symbol: str) -> dict[str, Any]:
    sim = state(request)
    venue = sim.exchange.venue
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        long, short = (account.leverage(symbol, side, venue.default_leverage) for side in ("LONG", "SHORT"))
    return {"symbol": symbol, "longLeverage": long, "shortLeverage": short,
            "maxLongLeverage": venue.max_leverage, "maxShortLeverage": venue.max_leverage}  # fmt: skip


def get_leverage(request: Request) -> Any:
    spec = spec_of(state(request), request.query_params.get("symbol"))
    return _leverage_view(request, spec.exchange_id)


def set_leverage(request: Request) -> Any:
    sim = state(request)
    params = request.query_params
    spec = spec_of(sim, params.get("symbol"))
    side = params.get("side", "").upper()
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        leverage = trading.set_leverage(
            account, sim.exchange.venue, spec.exchange_id, side, params.get("leverage", ""), now
        )
    return {**_leverage_view(request, spec.exchange_id), "leverage": leverage}


def get_margin_mode(request: Request) -> Any:
    sim = state(request)
    spec = spec_of(sim, request.query_params.get("symbol"))
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        return {"symbol": spec.exchange_id, "marginType": account.margin_mode(spec.exchange_id)}


def set_margin_mode(request: Request) -> Any:
    sim = state(request)
    spec = spec_of(sim, request.query_params.get("symbol"))
    mode = request.query_params.get("marginType", "").upper()
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        trading.set_margin_mode(account, spec.exchange_id, mode)
        return {"symbol": spec.exchange_id, "marginType": mode}


def position_margin(request: Request) -> Any:
    sim = state(request)
    params = dict(request.query_params)
    spec = spec_of(sim, params.get("symbol"))
    amount = positive_number(params, "amount", required=True)
    side = params.get("positionSide", "BOTH").upper()
    with sim.exchange.session(authed(request), sim.clock()) as (account, now):
        if account.hedged and side not in ("LONG", "SHORT"):
            side = "LONG" if (spec.exchange_id, "LONG") in account.positions else "SHORT"
        margin = trading.adjust_margin(
            account, sim.exchange.venue, spec.exchange_id, side, amount, params.get("type", ""), now
        )
    return TopLevel(amount=amount, type=int(params.get("type", "0")), margin=margin)


def commission_rate(request: Request) -> Any:
    authed(request)
    fees = state(request).exchange.venue.fees
    return {"commission": {"takerCommissionRate": fees.taker, "makerCommissionRate": fees.maker}}


def maintenance_tiers(request: Request) -> Any:
    authed(request)
    sim = state(request)
    spec = spec_of(sim, request.query_params.get("symbol"))
    rows, lower = [], 0.0
    for i, tier in enumerate(sim.exchange.venue.tiers, start=1):
        upper = "" if tier.max_notional == float("inf") else f"{tier.max_notional:.0f}"
        rows.append(
            {
                "tier": f"Tier {i}",
                "symbol": spec.exchange_id,
                "minPositionVal": f"{lower:.0f}",
                "maxPositionVal": upper,
                "maintMarginRatio": f"{tier.rate:.6f}",
                "maintAmount": f"{tier.amount:.6f}",
                "maxLeverage": tier.max_leverage,
            }
        )
        lower = tier.max_notional
    return rows


def income(request: Request) -> Any:
    sim = state(request)
    params = request.query_params
    symbol, kind = params.get("symbol"), params.get("incomeType")
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = limit_param(params, 100, MAX_INCOME)
    with sim.exchange.session(authed(request), sim.clock()) as (account, _now):
        rows = [
            i
            for i in account.income
            if (not symbol or i.symbol == symbol)
            and (not kind or i.income_type == kind)
            and in_window(i.time, start, end)
        ]
    rows = rows[:limit] if start is not None else rows[-limit:]
    return [
        {
            "symbol": i.symbol,
            "incomeType": i.income_type,
            "income": f"{i.amount:.8f}",
            "asset": "USDT",
            "info": i.info,
            "time": i.time,
            "tranId": str(i.tran_id),
            "tradeId": i.trade_id,
        }
        for i in rows
    ]


ROUTES = [
    Route("GET", "/wallets/v1/capital/config/getall", capital_config, private=True),
    Route("GET", "/swap/v3/user/balance", swap_balance, private=True),
    Route("GET", "/spot/v1/account/balance", spot_balance, private=True),
    Route("GET", "/swap/v2/user/positions", positions, private=True),
    Route("GET", "/swap/v1/positionSide/dual", get_position_mode, private=True),
    Route("POST", "/swap/v1/positionSide/dual", set_position_mode, private=True),
    Route("GET", "/swap/v2/trade/leverage", get_leverage, private=True),
    Route("POST", "/swap/v2/trade/leverage", set_leverage, private=True),
    Route("GET", "/swap/v2/trade/marginType", get_margin_mode, private=True),
    Route("POST", "/swap/v2/trade/marginType", set_margin_mode, private=True),
    Route("POST", "/swap/v2/trade/positionMargin", position_margin, private=True),
    Route("GET", "/swap/v2/user/commissionRate", commission_rate, private=True),
    Route("GET", "/swap/v1/maintMarginRatio", maintenance_tiers, private=True),
    Route("GET", "/swap/v2/user/income", income, private=True),
]
