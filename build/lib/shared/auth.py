"""Admin-token guard for the endpoints that change state (kill switch, cache invalidation, halt reset).

401 without a token, 403 with a wrong one (compared in constant time), 403 as well when the service
has no ``ADMIN_TOKEN`` at all: an admin endpoint is never open by default.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Header, HTTPException, Request, status


def admin_guard() -> Callable[..., None]:
    """A FastAPI dependency that checks ``Authorization: Bearer <token>`` or ``X-Admin-Token``."""

    def check(
        request: Request,
        authorization: str | None = Header(default=None),
        x_admin_token: str | None = Header(default=None),
    ) -> None:
        configured = request.app.state.settings.admin_token
        given = x_admin_token
        if given is None and authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if not given:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "admin token required", {"WWW-Authenticate": "Bearer"})
        if configured is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "admin endpoints are disabled: ADMIN_TOKEN is not set")
        if not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong admin token")

    return check
