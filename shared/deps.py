"""Typed dependencies for routes: what a service built (its ledger, its store, its settings) reaches a
handler as a parameter of its own type, never read off ``request.app.state``.

A service hands its objects to the app factory (``runtime.app(..., provides=[ledger, trader])``); a
route asks for one by type::

    LedgerDep = Annotated[Ledger, Depends(provided(Ledger))]

    @router.get("/positions")
    async def positions(ledger: LedgerDep) -> list[Position]: ...

mypy sees a ``Ledger``; at run time the provider returns the app's object of that type (the first one
that is an instance of it, so asking for ``ServiceSettings`` finds a service's own settings). A route
that asks for something its app does not provide is refused when the app is built, not at the first
request (``check_provided``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, APIRouter, APIWebSocketRoute
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from shared.errors import ConfigurationError
from shared.settings import ServiceSettings

T = TypeVar("T")


class Provided:
    """The objects an app's routes may depend on."""

    def __init__(self, values: Iterable[object]) -> None:
        self._values = list(values)

    def find(self, kind: type[T]) -> T | None:
        for value in self._values:
            if isinstance(value, kind):
                return value
        return None


class Provider(Generic[T]):
    """A dependency that returns the app's object of type ``kind``."""

    def __init__(self, kind: type[T]) -> None:
        self.kind = kind

    def __call__(self, connection: HTTPConnection) -> T:  # HTTPConnection: requests and websockets alike
        app: FastAPI = connection.app
        return provided_by(app, self.kind)  # check_provided saw to it that the app has one

    def __repr__(self) -> str:
        return f"provided({self.kind.__name__})"


_providers: dict[type, Provider[object]] = {}


def provided(kind: type[T]) -> Provider[T]:
    """The dependency for ``kind`` (one per type, so FastAPI solves it once per request)."""
    provider = _providers.setdefault(kind, Provider(kind))
    return provider  # type: ignore[return-value]  # the dict holds one Provider[kind] per kind


def provide(app: FastAPI, values: Iterable[object]) -> None:
    app.state.provided = Provided(values)


def provided_by(app: FastAPI, kind: type[T]) -> T:
    """The object of type ``kind`` an app was given, for code that holds the app rather than a request."""
    provided_values: Provided = app.state.provided
    value = provided_values.find(kind)
    if value is None:
        raise LookupError(f"{kind.__name__} is not provided to this app")
    return value


def _route_providers(routers: Sequence[APIRouter]) -> Iterable[Provider[object]]:
    pending = [
        route.dependant
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute | APIWebSocketRoute)
    ]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Provider):
            yield dependant.call
        pending.extend(dependant.dependencies)


def check_provided(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Refuse to build an app whose routes depend on something it was not given."""
    provided_values: Provided = app.state.provided
    missing = sorted({p.kind.__name__ for p in _route_providers(routers) if provided_values.find(p.kind) is None})
    if missing:
        raise ConfigurationError(f"routes depend on what this app does not provide: {', '.join(missing)}")


SettingsDep = Annotated[ServiceSettings, Depends(provided(ServiceSettings))]
RedisDep = Annotated[Redis, Depends(provided(Redis))]
