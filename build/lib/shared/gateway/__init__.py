"""The market-data gateway: cached, batched, rate-limited, breaker-protected access to the exchange."""

from shared.gateway.gateway import GatewayOptions, MarketDataGateway, build_exchange
from shared.gateway.models import TIMEFRAMES, Candles, OrderBook, Ticker

__all__ = ["TIMEFRAMES", "Candles", "GatewayOptions", "MarketDataGateway", "OrderBook", "Ticker", "build_exchange"]
