"""The exchange account's private endpoints (live trading), through the gateway's breaker and budget.

Nothing here is cached. Reads wait at most the read deadline. An order is never retried here: a timeout
may hide an accepted order, so the caller looks it up by its client order id before trying again.
Position mode, leverage and margin mode follow ccxt's unified calls; ``hedged`` picks ``positionSide``
LONG/SHORT (hedge mode) instead of BOTH (one-way), as a hedge-mode account requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shared.gateway.models import PRIVATE_WEIGHT

if TYPE_CHECKING:
    from shared.gateway.gateway import MarketDataGateway

MarginModeName = Literal["isolated", "cross"]


@dataclass(frozen=True)
class Protection:
    """A stop-loss and take-profit sent with an entry (attached) or on their own (reduce-only triggers)."""

    stop_loss: float
    take_profit: float


class ExchangeAccount:
    def __init__(self, gateway: MarketDataGateway) -> None:
        self._gateway = gateway
        self._exchange = gateway.exchange

    async def balance(self) -> dict[str, Any]:
        raw: dict[str, Any] = await self._gateway._bounded(
            "fetch_balance", PRIVATE_WEIGHT, lambda: self._exchange.fetch_balance({"type": "swap"})
        )
        return raw

    async def wallet(self) -> Wallet:
        return parse_wallet(await self.balance())

    async def positions(self, symbols: Sequence[str] | None = None) -> list[dict[str, Any]]:
        raw: list[dict[str, Any]] = await self._gateway._bounded(
            "fetch_positions",
            PRIVATE_WEIGHT,
            lambda: self._exchange.fetch_positions(list(symbols) if symbols else None),
        )
        return raw

    async def hedged(self) -> bool:
        """True when the account is in hedge mode (LONG and SHORT positions apart), False for one-way."""
        raw = await self._gateway._bounded("fetch_position_mode", PRIVATE_WEIGHT, self._exchange.fetch_position_mode)
        return bool(raw.get("hedged"))

    async def set_leverage(self, symbol: str, leverage: int, side: Literal["BOTH", "LONG", "SHORT"]) -> None:
        await self._gateway._call(
            "set_leverage", PRIVATE_WEIGHT, lambda: self._exchange.set_leverage(leverage, symbol, {"side": side})
        )

    async def leverage(self, symbol: str) -> dict[str, Any]:
        raw: dict[str, Any] = await self._gateway._bounded(
            "fetch_leverage", PRIVATE_WEIGHT, lambda: self._exchange.fetch_leverage(symbol)
        )
        return raw

    async def set_margin_mode(self, symbol: str, mode: MarginModeName) -> None:
        await self._gateway._call(
            "set_margin_mode", PRIVATE_WEIGHT, lambda: self._exchange.set_margin_mode(mode, symbol)
        )

    async def create_order(
        self,
        symbol: str,
        side: str,
        amount: float,
        *,
        client_order_id: str,
        hedged: bool,
        order_type: str = "market",
        price: float | None = None,
        reduce_only: bool = False,
        attached: Protection | None = None,
        stop_loss_price: float | None = None,
        take_profit_price: float | None = None,
    ) -> dict[str, Any]:
        """Place one order, never retried here. ``attached`` sends the entry's stop-loss and take-profit
        with it (the exchange places them when it fills); ``stop_loss_price`` / ``take_profit_price``
        make this order itself a reduce-only trigger on the mark price."""
        await self._gateway._check_symbol(symbol)
        params: dict[str, Any] = {"clientOrderId": client_order_id, "hedged": hedged}
        if reduce_only:
            params["reduceOnly"] = True
        if attached is not None:
            params["stopLoss"] = {"triggerPrice": attached.stop_loss, "workingType": "MARK_PRICE"}
            params["takeProfit"] = {"triggerPrice": attached.take_profit, "workingType": "MARK_PRICE"}
        if stop_loss_price is not None:
            params |= {"stopLossPrice": stop_loss_price, "workingType": "MARK_PRICE"}
        if take_profit_price is not None:
            params |= {"takeProfitPrice": take_profit_price, "workingType": "MARK_PRICE"}
        raw: dict[str, Any] = await self._gateway._call(
            "create_order",
            PRIVATE_WEIGHT,
            lambda: self._exchange.create_order(symbol, order_type, side, amount, price, params),
            retry=False,
        )
        return raw

    async def order_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any]:
        raw: dict[str, Any] = await self._gateway._bounded(
            "fetch_order",
            PRIVATE_WEIGHT,
            lambda: self._exchange.fetch_order("None", symbol, {"clientOrderId": client_order_id}),
        )
        return raw

    async def open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        raw: list[dict[str, Any]] = await self._gateway._bounded(
            "fetch_open_orders", PRIVATE_WEIGHT, lambda: self._exchange.fetch_open_orders(symbol)
        )
        return raw

    async def cancel_order(self, symbol: str, order_id: str) -> None:
        await self._gateway._call("cancel_order", PRIVATE_WEIGHT, lambda: self._exchange.cancel_order(order_id, symbol))

    async def cancel_all(self, symbol: str) -> None:
        await self._gateway._call("cancel_all_orders", PRIVATE_WEIGHT, lambda: self._exchange.cancel_all_orders(symbol))

    async def my_trades(self, symbol: str, since_ms: int | None = None) -> list[dict[str, Any]]:
        raw: list[dict[str, Any]] = await self._gateway._bounded(
            "fetch_my_trades", PRIVATE_WEIGHT, lambda: self._exchange.fetch_my_trades(symbol, since_ms)
        )
        return raw

    async def liquidations(self, symbol: str, since_ms: int | None = None) -> list[dict[str, Any]]:
        """The account's positions on ``symbol`` the exchange liquidated since ``since_ms``."""
        raw: list[dict[str, Any]] = await self._gateway._bounded(
            "fetch_my_liquidations", PRIVATE_WEIGHT, lambda: self._exchange.fetch_my_liquidations(symbol, since_ms)
        )
        return raw

    async def funding_history(self, symbol: str, since_ms: int | None = None) -> list[dict[str, Any]]:
        """Funding the account paid or received on ``symbol`` (amount > 0 received)."""
        raw: list[dict[str, Any]] = await self._gateway._bounded(
            "fetch_funding_history", PRIVATE_WEIGHT, lambda: self._exchange.fetch_funding_history(symbol, since_ms)
        )
        return raw


@dataclass(frozen=True)
class Wallet:
    """The USDT-M account as the exchange reports it."""

    balance: float  # wallet balance: deposits + realised PnL - fees + funding
    equity: float  # balance + unrealised PnL
    available: float  # free margin


def parse_wallet(raw: dict[str, Any]) -> Wallet:
    """From ccxt's fetch_balance; BingX's own fields (ccxt maps ``total`` to the withdrawable amount)."""
    rows = (raw.get("info") or {}).get("data") or []
    row = next((r for r in rows if isinstance(r, dict) and r.get("asset") == "USDT"), None)
    if row is not None:
        return Wallet(
            float(row["balance"]), float(row.get("equity") or row["balance"]), float(row.get("availableMargin") or 0)
        )
    usdt = raw.get("USDT") or {}
    total = float(usdt.get("total") or 0.0)
    return Wallet(total, total, float(usdt.get("free") or 0.0))
