"""Every error a service answers is a problem (RFC 9457) with the right status, whoever raised it; and a
route's typed dependencies are checked when the app is built."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.app import create_app
from shared.auth import ADMIN
from shared.deps import SettingsDep, provided
from shared.errors import ConfigurationError
from shared.problems import MEDIA_TYPE
from shared.settings import ServiceSettings

SECRET_INPUT = "s3cret-input-value"


class Body(BaseModel):
    size: int = Field(ge=1, le=10)


class Ledgerish:
    """Something a service would provide to its routes."""

    def __init__(self, name: str) -> None:
        self.name = name


def demo_app() -> FastAPI:
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def item(item_id: int, limit: Annotated[int, Query(ge=1)] = 1) -> dict[str, int]:
        if item_id == 404:
            raise HTTPException(404, "no item 404", headers={"X-Why": "absent"})
        return {"id": item_id}

    @router.post("/admin", dependencies=ADMIN)
    async def admin(body: Body, settings: SettingsDep) -> dict[str, str]:
        return {"service": settings.service_name}

    @router.get("/broken")
    async def broken() -> None:
        raise RuntimeError(f"bug holding {SECRET_INPUT}")

    @router.get("/redis-down")
    async def redis_down() -> None:
        raise RedisConnectionError("Error connecting to redis.internal:6379")

    @router.get("/ledger")
    async def ledger(found: Annotated[Ledgerish, Depends(provided(Ledgerish))]) -> dict[str, str]:
        return {"name": found.name}

    settings = ServiceSettings(service_name="problems-demo", admin_token="right")  # its own metric labels
    return create_app(settings, redis=None, routers=[router], provides=[Ledgerish("books")])


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=demo_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://svc")


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"] and body["detail"]
    return body


async def test_errors_raised_by_handlers_and_by_routing_are_problems(client: httpx.AsyncClient) -> None:
    async with client:
        absent = await client.get("/items/404")
        assert problem(absent, 404)["detail"] == "no item 404" and absent.headers["x-why"] == "absent"
        assert problem(await client.get("/no-such-path"), 404)["title"] == "Not Found"
        problem(await client.delete("/items/1"), 405)
        assert (await client.get("/items/1")).json() == {"id": 1}


async def test_invalid_input_is_a_422_problem_naming_every_field_without_echoing_it(
    client: httpx.AsyncClient,
) -> None:
    async with client:
        response = await client.get("/items/x", params={"limit": SECRET_INPUT})
        body = problem(response, 422)
        assert body["errors"] == [
            {
                "field": "path.item_id",
                "message": "Input should be a valid integer, unable to parse string as an integer",
            },
            {
                "field": "query.limit",
                "message": "Input should be a valid integer, unable to parse string as an integer",
            },
        ]
        assert "path.item_id" in str(body["detail"]) and SECRET_INPUT not in response.text
        bad_body = await client.post("/admin", json={"size": 11}, headers={"Authorization": "Bearer right"})
        assert problem(bad_body, 422)["errors"] == [
            {"field": "body.size", "message": "Input should be less than or equal to 10"}
        ]


async def test_the_admin_guard_answers_problems_and_lets_the_right_token_through(client: httpx.AsyncClient) -> None:
    async with client:
        missing = await client.post("/admin", json={"size": 1})
        assert problem(missing, 401)["detail"] == "admin token required"
        assert missing.headers["www-authenticate"] == "Bearer"
        assert problem(await client.post("/admin", json={"size": 1}, headers={"X-Admin-Token": "wrong"}), 403)
        assert problem(await client.post("/admin", content=b"{not json", headers={"Authorization": "Bearer no"}), 403)
        for headers in ({"Authorization": "Bearer right"}, {"X-Admin-Token": "right"}):
            assert (await client.post("/admin", json={"size": 1}, headers=headers)).json() == {
                "service": "problems-demo"
            }


async def test_redis_down_is_a_503_and_a_bug_a_500_that_tells_nothing(client: httpx.AsyncClient) -> None:
    async with client:
        down = await client.get("/redis-down")
        assert "redis.internal" not in down.text and problem(down, 503)
        assert down.headers["retry-after"]
        broken = await client.get("/broken")
        assert SECRET_INPUT not in broken.text and problem(broken, 500)


async def test_routes_get_what_the_service_provides_and_a_missing_one_stops_the_build(
    client: httpx.AsyncClient,
) -> None:
    async with client:
        assert (await client.get("/ledger")).json() == {"name": "books"}
    router = APIRouter()

    @router.get("/ledger")
    async def ledger(found: Annotated[Ledgerish, Depends(provided(Ledgerish))]) -> None:
        return None

    with pytest.raises(ConfigurationError, match="Ledgerish"):
        create_app(ServiceSettings(), redis=None, routers=[router])
