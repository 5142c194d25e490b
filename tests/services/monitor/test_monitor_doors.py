"""monitor's doors: the live feed needs a read token and an allowed origin; the endpoints that call the
exchange are limited per client and never spend more than their share of the exchange budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from devkit.sim_server import SimServer
from services.monitor.app import build_app
from services.monitor.settings import MonitorSettings

ADMIN = {"Authorization": "Bearer monitor-admin"}


@pytest.fixture
def monitor(redis_url: str, sim: SimServer, redis: object) -> Iterator[TestClient]:
    settings = MonitorSettings(
        redis_url=redis_url,
        exchange_base_url=sim.api_url,
        exchange_rate_per_s=100,
        exchange_rate_burst=100,
        admin_token="monitor-admin",
        feed_token="feed-reader",
        feed_allowed_origins=("https://dash.example",),
        perf_test_symbols=4,
        perf_budget_share=0.01,  # 1 call/s: after one test and one benchmark, the share is spent
    )
    with TestClient(build_app(settings)) as client:
        yield client


def _refused(client: TestClient, url: str, **headers: str) -> str:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(url, headers=headers) as ws:
        ws.receive_json()
    assert closed.value.code == 1008
    return str(closed.value.reason)


def test_the_feed_needs_a_token_and_an_allowed_origin(monitor: TestClient) -> None:
    assert "feed token is required" in _refused(monitor, "/ws/feed")
    assert "feed token is required" in _refused(monitor, "/ws/feed?token=guess")
    assert "not allowed" in _refused(monitor, "/ws/feed?token=feed-reader", origin="https://evil.example")
    for url, headers in [
        ("/ws/feed?token=feed-reader", {}),
        ("/ws/feed", {"authorization": "Bearer feed-reader", "origin": "https://dash.example"}),
    ]:
        with monitor.websocket_connect(url, headers=headers) as ws:
            ws.close()


def test_the_feed_is_closed_when_no_token_is_set(redis_url: str, redis: object) -> None:
    with TestClient(build_app(MonitorSettings(redis_url=redis_url))) as client:
        assert "set FEED_TOKEN" in _refused(client, "/ws/feed?token=anything")


def test_exchange_calling_endpoints_are_limited_per_client_and_by_budget_share(monitor: TestClient) -> None:
    assert monitor.get("/api/system/performance/test").status_code == 200
    again = monitor.get("/api/system/performance/test")
    assert again.status_code == 429 and "per client" in again.json()["detail"]
    assert int(again.headers["retry-after"]) >= 1
    assert monitor.get("/api/system/performance/benchmark", headers=ADMIN).status_code == 200  # admin: no interval
    spent = monitor.get("/api/system/performance/benchmark", headers=ADMIN)
    assert spent.status_code == 429 and "share of the exchange budget" in spent.json()["detail"]
