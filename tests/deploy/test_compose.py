"""docker-compose.yml is valid for Compose and keeps the promises deploy makes (no Docker engine here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCALABLE = ("scout", "ia1", "ia2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is required to validate docker-compose.yml (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_every_service_is_defined_with_a_readiness_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "exchange-sim", "scout", "ia1", "ia2", "execution", "monitor", "prometheus", "grafana"} <= set(
        services
    )
    for name in ("exchange-sim", "scout", "ia1", "ia2", "execution", "monitor"):
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"]), name


def test_scalable_services_have_no_fixed_names_or_host_ports(compose: dict[str, Any]) -> None:
    for name in SCALABLE:
        service = compose["services"][name]
        assert "container_name" not in service
        assert "ports" not in service


def test_services_wait_for_healthy_redis_and_use_its_password(compose: dict[str, Any]) -> None:
    for name in ("scout", "ia1", "ia2", "execution", "monitor"):
        service = compose["services"][name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["REDIS_PASSWORD"]
    assert "--requirepass" in compose["services"]["redis"]["command"]


def test_redis_keeps_streams_and_state() -> None:
    conf = (ROOT / "deploy" / "redis" / "redis.conf").read_text()
    assert "appendonly yes" in conf
    assert "maxmemory-policy volatile-lru" in conf  # only keys with a TTL (the cache) can be evicted


def test_grafana_is_provisioned_for_anonymous_viewers(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    mounts = " ".join(str(v) for v in grafana["volumes"])
    assert "deploy/grafana/provisioning" in mounts and "deploy/grafana/dashboards" in mounts
