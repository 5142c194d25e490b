"""Every Grafana panel's query returns data when a real Prometheus scrapes the running stack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from devkit import processes
from devkit.net import free_port
from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack

pytestmark = pytest.mark.slow

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"


def panels() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            found.append((f"{path.stem}: {panel['title']}", panel["targets"][0]["expr"]))
    return found


@pytest.fixture
def prometheus(
    prometheus_binary: str, private_redis: RedisServer, sim: SimServer, tmp_path: Path
) -> Iterator[tuple[str, Stack]]:
    stack = Stack(private_redis.url, sim.api_url, tmp_path, RISK_MIN_CONFIDENCE="0.05", HISTORY_INTERVAL_S="1")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "tradepipe",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{p}"], "labels": {"service": name}} for name, p in stack.ports.items()
                ],
            },
            {"job_name": "exchange-sim", "static_configs": [{"targets": [f"127.0.0.1:{sim.port}"]}]},
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = processes.spawn(
        [prometheus_binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
    )  # fmt: skip
    try:
        stack.start_all()
        yield f"http://127.0.0.1:{port}", stack
    finally:
        stack.stop_all()
        processes.stop(process, grace_s=20)


def test_every_dashboard_panel_has_data(prometheus: tuple[str, Stack]) -> None:
    url, _ = prometheus
    pending = dict(panels())
    assert len(pending) >= 20
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for title, expr in list(pending.items()):
            answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
            assert answer["status"] == "success", (title, answer)
            if answer["data"]["result"]:
                del pending[title]
        time.sleep(1)
    assert not pending, f"panels without data: {sorted(pending)}"
