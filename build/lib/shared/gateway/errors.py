"""ccxt's exceptions mapped onto the project's, in one place (see shared/errors.py for the tree)."""

from __future__ import annotations

import ccxt.async_support as ccxt

from shared import errors

# Most specific first: ccxt's classes inherit from each other (DuplicateOrderId is an InvalidOrder...).
_PERMANENT: list[tuple[type[Exception], type[errors.TradepipeError]]] = [
    (ccxt.AuthenticationError, errors.ExchangeAuthError),
    (ccxt.PermissionDenied, errors.ExchangeAuthError),
    (ccxt.InsufficientFunds, errors.InsufficientFundsError),
    (ccxt.DuplicateOrderId, errors.DuplicateOrderError),
    (ccxt.OrderNotFound, errors.OrderNotFoundError),
    (ccxt.BadSymbol, errors.BadRequestError),
    (ccxt.BadRequest, errors.BadRequestError),
    (ccxt.InvalidOrder, errors.PermanentExchangeError),
    (ccxt.NotSupported, errors.PermanentExchangeError),
]
# Worth another try: the network, the exchange being down or busy, and BingX's "rate limit reached".
_TRANSIENT: tuple[type[Exception], ...] = (ccxt.NetworkError, ccxt.OperationFailed, ccxt.ExchangeNotAvailable)


def outcome_of(error: Exception) -> str:
    """A bounded label for metrics."""
    if isinstance(error, ccxt.RequestTimeout):
        return "timeout"
    if isinstance(error, ccxt.DDoSProtection | ccxt.OperationFailed):
        return "rate_limited"
    if isinstance(error, ccxt.NetworkError):
        return "unavailable"
    return "error"


def map_error(error: Exception) -> errors.TradepipeError:
    message = f"{type(error).__name__}: {error}"[:500]
    for ccxt_class, ours in _PERMANENT:
        if isinstance(error, ccxt_class):
            return ours(message)
    if isinstance(error, _TRANSIENT):
        return errors.TransientExchangeError(message)
    return errors.PermanentExchangeError(message)
