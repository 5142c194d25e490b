"""Health of every service, gathered over HTTP from their /readyz endpoints, concurrently."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

HEALTH_TIMEOUT_S = 2.0


async def probe(client: httpx.AsyncClient, name: str, base_url: str) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        response = await client.get(f"{base_url}/readyz", timeout=HEALTH_TIMEOUT_S)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        status = "ready" if response.status_code == 200 else "not ready"
        return name, {
            "status": status,
            "reasons": body.get("reasons", []),
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
    except httpx.HTTPError as error:
        return name, {"status": "down", "reasons": [type(error).__name__], "latency_ms": None}


async def services_health(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    results = await asyncio.gather(*(probe(client, name, url) for name, url in urls.items()))
    return dict(results)
