"""The market-data gateway: cached, batched, rate-limited, breaker-protected access to the exchange.

The names are loaded on first use (PEP 562): a process that only needs the domain types (``models``,
e.g. a backtest) does not pay for importing ccxt.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.gateway.account import ExchangeAccount, Protection
    from shared.gateway.gateway import GatewayOptions, MarketDataGateway, build_exchange
    from shared.gateway.models import TIMEFRAMES, Candles, MarketRules, OrderBook, Quote, Ticker

_WHERE = {
    "ExchangeAccount": "account",
    "Protection": "account",
    "GatewayOptions": "gateway",
    "MarketDataGateway": "gateway",
    "build_exchange": "gateway",
    "TIMEFRAMES": "models",
    "Candles": "models",
    "MarketRules": "models",
    "OrderBook": "models",
    "Quote": "models",
    "Ticker": "models",
}

__all__ = [
    "TIMEFRAMES",
    "Candles",
    "ExchangeAccount",
    "GatewayOptions",
    "MarketDataGateway",
    "MarketRules",
    "OrderBook",
    "Protection",
    "Quote",
    "Ticker",
    "build_exchange",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'shared.gateway' has no attribute {name!r}")
    return getattr(import_module(f"shared.gateway.{_WHERE[name]}"), name)
