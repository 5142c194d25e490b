"""Tokens: the admin guard for the endpoints that change state (kill switch, cache invalidation, halt
reset), and the constant-time check every token comparison uses.

401 without a token, 403 with a wrong one (compared in constant time), 403 as well when the service
has no ``ADMIN_TOKEN`` at all: an admin endpoint is never open by default.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Header, HTTPException, Request, status
from pydantic import SecretStr


def token_matches(given: str | None, configured: SecretStr | None) -> bool:
    """True only when both exist and are equal, compared in constant time."""
    if not given or configured is None:
        return False
    return hmac.compare_digest(given.encode(), configured.get_secret_value().encode())


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def admin_guard() -> Callable[..., None]:
    """A FastAPI dependency that checks ``Authorization: Bearer <token>`` or ``X-Admin-Token``."""

    def check(
        request: Request,
        authorization: str | None = Header(default=None),
        x_admin_token: str | None = Header(default=None),
    ) -> None:
        configured = request.app.state.settings.admin_token
        given = x_admin_token or bearer(authorization)
        if not given:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "admin token required", {"WWW-Authenticate": "Bearer"})
        if configured is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "admin endpoints are disabled: ADMIN_TOKEN is not set")
        if not token_matches(given, configured):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong admin token")

    return check
