"""Brokers turn a decision into a filled (or refused) order.

``PaperBroker`` fills from the cached market price with slippage and fees (the default, and what runs
whenever no exchange keys are configured). A live broker places the same orders on the exchange
through the gateway; both record into the same ledger under the same client order ids.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from services.execution.ledger import CloseResult, Ledger, OpenResult
from services.execution.orders import close_order_id, open_order_id
from services.execution.settings import ExecutionSettings
from shared.contracts import Decision
from shared.errors import ConfigurationError, DuplicateOrderError, OrderNotFoundError, TransientExchangeError
from shared.gateway import MarketDataGateway
from shared.trading_state import Order, Position


class PriceSource(Protocol):
    """Last prices by symbol; served from the shared price cache, one batched exchange call at most."""

    async def prices(self, symbols: Sequence[str]) -> dict[str, float]: ...


class Broker(Protocol):
    mode: str

    async def open(self, decision: Decision) -> OpenResult: ...

    async def close(self, position: Position, price: float, reason: str) -> CloseResult | None: ...


def fill_price(price: float, *, buying: bool, slippage_bps: float) -> float:
    """Slippage always works against us: buys fill higher, sells lower."""
    slip = slippage_bps / 10_000
    return price * (1 + slip) if buying else price * (1 - slip)


def opening_order(decision: Decision, mode: Literal["paper", "live"], **fill: Any) -> Order:
    """The order that opens ``decision``'s position, under the client id both brokers derive from it."""
    assert decision.side is not None  # an "open" decision is complete (the contract checks it)
    fill.setdefault("status", "filled")
    return Order(
        client_order_id=open_order_id(decision.message_id),
        decision_id=decision.message_id,
        symbol=decision.symbol,
        side=decision.side,
        kind="open",
        quantity=decision.quantity,
        mode=mode,
        **fill,
    )


def closing_order(position: Position, mode: Literal["paper", "live"], reason: str, **fill: Any) -> Order:
    return Order(
        client_order_id=close_order_id(position.client_order_id),
        decision_id=position.decision_id,
        symbol=position.symbol,
        side=position.side,
        kind="close",
        quantity=position.quantity,
        status="filled",
        mode=mode,
        reason=reason,
        **fill,
    )


def opened_position(decision: Decision, order: Order, last_price: float) -> Position:
    assert decision.side is not None and decision.stop_loss is not None
    return Position(
        symbol=decision.symbol,
        side=decision.side,
        quantity=decision.quantity,
        entry_price=order.price,
        stop_loss=decision.stop_loss,
        take_profit=decision.take_profit,
        last_price=last_price,
        opened_at=time.time(),
        decision_id=decision.message_id,
        client_order_id=order.client_order_id,
        signal_kind=decision.signal_kind,
        fees=order.fee,
    )


class PaperBroker:
    mode = "paper"

    def __init__(self, ledger: Ledger, prices: PriceSource, *, fee_rate: float, slippage_bps: float) -> None:
        self._ledger = ledger
        self._prices = prices
        self._fee_rate = fee_rate
        self._slippage_bps = slippage_bps

    async def open(self, decision: Decision) -> OpenResult:
        existing = await self._ledger.order(open_order_id(decision.message_id))
        if existing is not None:
            return OpenResult(existing, created=False)
        market = (await self._prices.prices([decision.symbol])).get(decision.symbol)
        if not market or market <= 0:
            refused = opening_order(decision, "paper", status="rejected", reason="no market price")
            return await self._ledger.record_rejection(refused)
        price = fill_price(market, buying=decision.side == "long", slippage_bps=self._slippage_bps)
        order = opening_order(decision, "paper", price=price, fee=price * decision.quantity * self._fee_rate)
        return await self._ledger.open_position(order, opened_position(decision, order, market))

    async def close(self, position: Position, price: float, reason: str) -> CloseResult | None:
        fill = fill_price(price, buying=position.side == "short", slippage_bps=self._slippage_bps)
        order = closing_order(position, "paper", reason, price=fill, fee=fill * position.quantity * self._fee_rate)
        return await self._ledger.close_position(position.symbol, order)


class LiveBroker:
    """Real orders through the gateway, under the same client order ids as paper.

    An order is never sent twice: before placing, the exchange is asked for the client order id (a
    previous attempt may have been accepted before a timeout), and a duplicate answer is resolved by
    looking the order up too.
    """

    mode = "live"

    def __init__(self, ledger: Ledger, gateway: MarketDataGateway) -> None:
        self._ledger = ledger
        self._gateway = gateway

    async def _place_once(
        self, symbol: str, side: str, quantity: float, client_order_id: str, *, reduce_only: bool
    ) -> dict[str, Any]:
        try:
            return await self._gateway.fetch_order_by_client_id(symbol, client_order_id)
        except OrderNotFoundError:
            pass
        try:
            return await self._gateway.create_order(
                symbol, side, quantity, client_order_id=client_order_id, reduce_only=reduce_only
            )
        except DuplicateOrderError:
            return await self._gateway.fetch_order_by_client_id(symbol, client_order_id)
        except TransientExchangeError as error:
            # The order may have been accepted before the error: find out before anyone retries.
            try:
                return await self._gateway.fetch_order_by_client_id(symbol, client_order_id)
            except OrderNotFoundError:
                raise TransientExchangeError(
                    f"order {client_order_id} was not placed ({error}); the redelivered decision places it"
                ) from error

    @staticmethod
    def _filled(raw: dict[str, Any], fallback_price: float) -> tuple[float, float, str | None]:
        price = float(raw.get("average") or raw.get("price") or fallback_price)
        fee = float((raw.get("fee") or {}).get("cost") or 0.0)
        return price, abs(fee), str(raw.get("id")) if raw.get("id") else None

    async def open(self, decision: Decision) -> OpenResult:
        client_order_id = open_order_id(decision.message_id)
        existing = await self._ledger.order(client_order_id)
        if existing is not None:
            return OpenResult(existing, created=False)
        side = "buy" if decision.side == "long" else "sell"
        raw = await self._place_once(decision.symbol, side, decision.quantity, client_order_id, reduce_only=False)
        price, fee, exchange_id = self._filled(raw, decision.entry_price)
        order = opening_order(decision, "live", price=price, fee=fee, exchange_order_id=exchange_id)
        return await self._ledger.open_position(order, opened_position(decision, order, price))

    async def close(self, position: Position, price: float, reason: str) -> CloseResult | None:
        client_order_id = close_order_id(position.client_order_id)
        side = "sell" if position.side == "long" else "buy"
        raw = await self._place_once(position.symbol, side, position.quantity, client_order_id, reduce_only=True)
        fill, fee, exchange_id = self._filled(raw, price)
        order = closing_order(position, "live", reason, price=fill, fee=fee, exchange_order_id=exchange_id)
        return await self._ledger.close_position(position.symbol, order)


def select_broker(settings: ExecutionSettings, ledger: Ledger, gateway: MarketDataGateway) -> Broker:
    """Paper unless live is asked for explicitly AND keys are set; a half-configured live setup refuses to start."""
    if settings.trading_mode == "paper":
        return PaperBroker(ledger, gateway, fee_rate=settings.paper_fee_rate, slippage_bps=settings.paper_slippage_bps)
    if not settings.live_trading_enabled:
        raise ConfigurationError("TRADING_MODE=live also needs LIVE_TRADING_ENABLED=true: refusing to start")
    if settings.exchange_api_key is None or settings.exchange_api_secret is None:
        raise ConfigurationError("live trading needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET: refusing to start")
    return LiveBroker(ledger, gateway)
