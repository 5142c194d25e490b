"""The exchange simulator as a real HTTP server on a loopback port, in a background thread."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt
import httpx

from devkit.net import free_port
from devkit.threaded import ThreadedServer
from services.exchange_sim.app import build_app
from services.exchange_sim.market import SyntheticMarket
from services.exchange_sim.settings import SimulatorSettings
from services.exchange_sim.web import SimState
from shared.deps import provided_by
from shared.gateway.gateway import ccxt_urls

ADMIN_TOKEN = "sim-admin-token"


class SimServer(ThreadedServer):
    def __init__(self, **settings: Any) -> None:
        port = free_port()
        self.settings = SimulatorSettings(port=port, admin_token=ADMIN_TOKEN, **settings)
        super().__init__(build_app(self.settings), port=port, name="simulator")

    @property
    def api_url(self) -> str:
        return f"{self.url}/openApi"

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        response = httpx.request(method, f"{self.url}/admin{path}", headers=headers, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def freeze(self, at_ms: int) -> int:
        """Stop the simulator's clock at ``at_ms`` (whole seconds); the time it now answers."""
        return int(self.admin("POST", "/clock", json={"frozen_at_ms": at_ms})["now_ms"])

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms``: every account lives through that time. The new time."""
        return int(self.admin("POST", "/clock/advance", json={"ms": ms})["now_ms"])

    @property
    def market(self) -> SyntheticMarket:
        """The simulator's market, in process: tests compute expected prices from it."""
        return provided_by(self.app, SimState).market

    def requests(self, path: str | None = None) -> int:
        stats = httpx.get(f"{self.url}/admin/stats", timeout=10).json()
        return int(stats["total"] if path is None else stats["requests"].get(path, 0))

    def ccxt(self, *, secret: str | None = None, **options: Any) -> ccxt.bingx:
        return ccxt.bingx(
            {
                "apiKey": self.settings.sim_api_key,
                "secret": secret or self.settings.sim_api_secret.get_secret_value(),
                "urls": ccxt_urls(self.api_url),
                "options": {"defaultType": "swap"},
                "enableRateLimit": False,  # ccxt's own 100 ms throttle; the simulator's limits are tested explicitly
                **options,
            }
        )
