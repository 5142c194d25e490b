"""Tokens: the admin guard for the endpoints that change state (kill switch, cache invalidation, halt
reset), and the constant-time check every token comparison uses.

401 without a token, 403 with a wrong one (compared in constant time), 403 as well when the service
has no ``ADMIN_TOKEN`` at all: an admin endpoint is never open by default. Both are answered as problem
details (shared/problems.py). The token goes in ``Authorization: Bearer <token>`` or ``X-Admin-Token``;
OpenAPI documents both as security schemes, so /docs has an Authorize button.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from shared.deps import SettingsDep

_bearer = HTTPBearer(auto_error=False, description="the service's ADMIN_TOKEN, as `Authorization: Bearer <token>`")
_header = APIKeyHeader(name="X-Admin-Token", auto_error=False, description="the service's ADMIN_TOKEN")


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


def require_admin(
    settings: SettingsDep,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_admin_token: Annotated[str | None, Depends(_header)],
) -> None:
    """The admin guard: passes with the right token, answers 401 or 403 otherwise."""
    given = x_admin_token or (authorization.credentials if authorization else None)
    if not given:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "admin token required", {"WWW-Authenticate": "Bearer"})
    if settings.admin_token is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin endpoints are disabled: ADMIN_TOKEN is not set")
    if not token_matches(given, settings.admin_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong admin token")


# An admin route: ``@router.post(path, dependencies=ADMIN, responses=problems(401, 403, ...))``.
ADMIN = [Depends(require_admin)]
