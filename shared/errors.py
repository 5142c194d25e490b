"""The project's error hierarchy, so callers catch meaning, not a library's classes.

TradepipeError
├── ConfigurationError           a setting or argument that can never work
├── BadRequestError              bad input from a caller: unknown symbol, bad timeframe, limit out of range
├── MessageError                 a stream entry that cannot be decoded (dead-lettered, never retried)
│   └── UnknownMessageVersion
├── CacheError
│   └── UpstreamUnavailable      the fetch failed and there is no copy to serve
│       └── UpstreamSlow         no answer within the caller's wait (the fetch goes on; its answer is cached)
└── ExchangeError
    ├── TransientExchangeError   worth a retry: timeouts, 5xx, rate limits
    │   └── CircuitOpenError     the breaker is open: failing fast without calling the exchange
    └── PermanentExchangeError   not worth a retry: auth, bad symbol, insufficient funds, duplicate order
"""

from __future__ import annotations


class TradepipeError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(TradepipeError):
    pass


class BadRequestError(TradepipeError, ValueError):
    pass


class MessageError(TradepipeError):
    pass


class UnknownMessageVersion(MessageError):
    pass


class CacheError(TradepipeError):
    pass


class UpstreamUnavailable(CacheError):
    pass


class UpstreamSlow(UpstreamUnavailable):
    pass


class ExchangeError(TradepipeError):
    pass


class TransientExchangeError(ExchangeError):
    pass


class CircuitOpenError(TransientExchangeError):
    pass


class PermanentExchangeError(ExchangeError):
    pass


class ExchangeAuthError(PermanentExchangeError):
    pass


class InsufficientFundsError(PermanentExchangeError):
    pass


class DuplicateOrderError(PermanentExchangeError):
    pass


class OrderNotFoundError(PermanentExchangeError):
    pass
