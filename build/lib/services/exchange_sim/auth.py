"""BingX request signing, checked the way the exchange does it.

ccxt signs ``k1=v1&k2=v2`` (keys sorted, raw values) with HMAC-SHA256 and sends the same string
percent-encoded in the query, followed by ``&signature=<hex>``. The server splits the raw query at
``&signature=``, decodes the first part, and recomputes the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import unquote

from services.exchange_sim.errors import AUTH_FAILED, SimError


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify(raw_query: str, api_key: str | None, keys: dict[str, str]) -> str:
    """The API key if the request is correctly signed; SimError(100001) otherwise."""
    secret = keys.get(api_key or "")
    if secret is None:
        raise SimError(AUTH_FAILED, "Incorrect apiKey", 200)
    payload, separator, signature = raw_query.rpartition("&signature=")
    if not separator:
        raise SimError(AUTH_FAILED, "Signature verification failed: signature missing", 200)
    expected = sign(unquote(payload), secret)
    if not hmac.compare_digest(expected, signature):
        raise SimError(AUTH_FAILED, "Signature verification failed", 200)
    return api_key or ""
