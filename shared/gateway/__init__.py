"""The market-data gateway: cached, batched, rate-limited, breaker-protected access to the exchange."""

from shared.gateway.account import ExchangeAccount, Protection
from shared.gateway.gateway import GatewayOptions, MarketDataGateway, build_exchange
from shared.gateway.models import TIMEFRAMES, Candles, MarketRules, OrderBook, Quote, Ticker

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
