"""The live broker through the real ccxt client against the simulator: an order is never sent twice.

The dangerous case is an order the exchange accepted whose answer never came back (a timeout): a
blind retry would double the position. The simulator's ``lost_response`` fault does exactly that.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from devkit.sim_server import SimServer
from services.execution.brokers import LiveBroker
from services.execution.ledger import Ledger
from services.execution.orders import open_order_id
from shared.contracts import Decision
from shared.errors import TransientExchangeError
from tests.conftest import GatewayFactory

BTC = "BTC/USDT:USDT"
ORDER_PATH = "/openApi/swap/v2/trade/order"


async def _decision(make_gateway: GatewayFactory) -> Decision:
    price = (await make_gateway().ticker(BTC)).last
    assert price is not None
    return Decision(
        analysis_id="a1", opportunity_id="o1", symbol=BTC, action="open", side="long", quantity=0.01,
        entry_price=price, stop_loss=price * 0.95, take_profit=price * 1.1, confidence=0.8,
        required_confidence=0.55, reasons=["test"],
    )  # fmt: skip


async def _exchange_quantity(make_gateway: GatewayFactory) -> float:
    positions = await make_gateway().positions([BTC])
    return sum(abs(float(p.get("contracts") or 0)) for p in positions if p.get("symbol") == BTC)


async def test_order_accepted_behind_a_timeout_is_found_not_sent_again(
    redis: Redis, sim: SimServer, make_gateway: GatewayFactory
) -> None:
    decision = await _decision(make_gateway)
    gateway = make_gateway(exchange_timeout_ms=800)
    broker = LiveBroker(Ledger(redis, start_balance=10_000), gateway)
    sim.admin(
        "POST",
        "/faults",
        json={"kind": "lost_response", "count": 1, "method": "POST", "path_prefix": ORDER_PATH, "hang_s": 3},
    )

    result = await broker.open(decision)  # times out on the create, then finds the order by client id

    assert result.created and result.order.status == "filled" and result.order.mode == "live"
    assert result.order.client_order_id == open_order_id(decision.message_id)
    assert result.order.exchange_order_id
    again = await broker.open(decision)  # a redelivery of the same decision
    assert not again.created
    assert await _exchange_quantity(make_gateway) == pytest.approx(0.01)  # one order on the exchange


async def test_order_lost_before_reaching_the_exchange_is_not_invented(
    redis: Redis, sim: SimServer, make_gateway: GatewayFactory
) -> None:
    decision = await _decision(make_gateway)
    gateway = make_gateway(exchange_timeout_ms=800)
    broker = LiveBroker(Ledger(redis, start_balance=10_000), gateway)
    # The create answers 503 without placing anything; the lookup after it finds nothing.
    sim.admin("POST", "/faults", json={"kind": "http_503", "count": 1, "method": "POST", "path_prefix": ORDER_PATH})

    with pytest.raises(TransientExchangeError, match="was not placed"):
        await broker.open(decision)  # the handler fails: the entry stays pending for a redelivery

    assert await broker._ledger.order(open_order_id(decision.message_id)) is None
    assert await _exchange_quantity(make_gateway) == 0
    result = await broker.open(decision)  # the redelivery: looks up (nothing), places once
    assert result.created
    assert await _exchange_quantity(make_gateway) == pytest.approx(0.01)
