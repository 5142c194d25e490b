"""The account engine in process: what happens does not depend on how often the account is looked at,
and listeners see every change in order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.exchange_sim import trading
from services.exchange_sim.accounts import AccountEvent, Venue
from services.exchange_sim.exchange import Exchange
from services.exchange_sim.funding import funding_rate
from services.exchange_sim.market import SyntheticMarket
from services.exchange_sim.orders import parse_create
from shared.perps import FeeSchedule
from tests.services.exchange_sim.helpers import HOUR, past

MARKET = SyntheticMarket(42, 20)
T0 = past(4, hour=3)
HORIZON = 20 * HOUR  # crosses two funding times


def _exchange() -> Exchange:
    venue = Venue(MARKET, FeeSchedule(), default_leverage=5)
    return Exchange(venue, start_balance=10_000, rate_of=lambda s, t: funding_rate(MARKET, MARKET.by_id[s], t))


def _place(exchange: Exchange, now: int, **params: Any) -> None:
    with exchange.session("k", now) as (account, at):
        spec = MARKET.by_id[params["symbol"]]
        order = parse_create({k: str(v) for k, v in params.items()}, spec, at)
        trading.place(account, exchange.venue, order, at, exchange.emit)


def _scenario(exchange: Exchange) -> None:
    """A long with a tight stop and target, a short with a trailing stop, resting limits."""
    btc = MARKET.price_now(MARKET.by_id["BTC-USDT"], T0)
    sl_tp = '{"stopPrice": %.1f}'
    _place(exchange, T0, symbol="BTC-USDT", side="BUY", type="MARKET", quantity=0.05,
           stopLoss=sl_tp % (btc * 0.992), takeProfit=sl_tp % (btc * 1.008))  # fmt: skip
    _place(exchange, T0, symbol="ETH-USDT", side="SELL", type="MARKET", quantity=0.5)
    _place(exchange, T0, symbol="ETH-USDT", side="BUY", type="TRAILING_STOP_MARKET", quantity=0.5,
           priceRate=0.004, reduceOnly="true")  # fmt: skip
    sol = MARKET.price_now(MARKET.by_id["SOL-USDT"], T0)
    for step in (0.99, 0.98, 1.01):
        side = "BUY" if step < 1 else "SELL"
        _place(exchange, T0, symbol="SOL-USDT", side=side, type="LIMIT", quantity=1, price=round(sol * step, 3))


def _outcome(exchange: Exchange, at: int) -> tuple[Any, ...]:
    with exchange.session("k", at) as (account, _now):
        fills = [(f.symbol, f.side, f.price, f.quantity, f.time, f.maker) for f in account.fills]
        income = [(i.symbol, i.income_type, round(i.amount, 9), i.time) for i in account.income]
        statuses = sorted((o.symbol, o.type, o.status) for o in account.orders.values())
        return fills, income, statuses, round(account.wallet, 9)


@settings(max_examples=8, deadline=None)
@given(steps=st.lists(st.integers(1_000, 4 * HOUR), min_size=1, max_size=25))
def test_the_outcome_does_not_depend_on_how_often_the_account_is_evaluated(steps: list[int]) -> None:
    at_once, in_steps = _exchange(), _exchange()
    _scenario(at_once)
    _scenario(in_steps)
    now = T0
    for step in steps:
        now = min(now + step, T0 + HORIZON)
        in_steps.advance_all(now)
    at_once.advance_all(T0 + HORIZON)
    expected = _outcome(at_once, T0 + HORIZON)
    assert _outcome(in_steps, T0 + HORIZON) == expected
    fills, income, _statuses, _wallet = expected
    assert len(fills) >= 5  # the scenario does trade: entries, a stop or target, limits
    assert any(kind == "FUNDING_FEE" for _s, kind, _a, _t in income)


def test_listeners_see_each_change_in_time_order() -> None:
    exchange = _exchange()
    events: list[AccountEvent] = []
    exchange.listeners.append(events.append)
    _scenario(exchange)
    exchange.advance_all(T0 + HORIZON)
    kinds = {e.kind for e in events}
    assert kinds == {"order", "position", "balance"}
    assert [e.time for e in events] == sorted(e.time for e in events)
    filled = [e.data["orderId"] for e in events if e.kind == "order" and e.data["status"] == "FILLED"]
    with exchange.session("k", T0 + HORIZON) as (account, _now):
        assert sorted(filled) == sorted(str(o.order_id) for o in account.orders.values() if o.status == "FILLED")
