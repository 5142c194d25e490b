"""docker-compose.yml is valid for Compose and keeps the promises deploy makes (no Docker engine here).

Every run of ``docker-compose config`` gets the variables the test names and nothing else: the
developer's environment and ``.env`` are kept out, so a password set on this machine cannot make a
refusal test pass.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devkit.settings_doc import compose_variables

ROOT = Path(__file__).resolve().parents[2]
SCALABLE = ("scout", "ia1", "ia2")
# Every variable docker-compose.yml reads: the tests set them explicitly or leave them unset.
COMPOSE_VARIABLES = tuple(compose_variables())
PASSWORDS = {
    "REDIS_PASSWORD": "redis-pw-7f3a9c",
    "GRAFANA_ADMIN_PASSWORD": "grafana-pw-2b8e41",
    "POSTGRES_PASSWORD": "postgrespw5d1c",
}


def compose_config(binary: str, tmp_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env_file = tmp_dir / "empty.env"  # instead of the repository's .env, which may hold real values
    env_file.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES} | variables
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def parsed(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.fixture(scope="module")
def compose(docker_compose: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The configuration as `docker compose up` would see it with only the required passwords set."""
    return parsed(compose_config(docker_compose, tmp_path_factory.mktemp("compose"), **PASSWORDS))


def host_ips(service: dict[str, Any]) -> list[str]:
    """The host address of every published port, in Compose v1's short or v2's long output syntax."""
    ips = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ips.append(str(port.get("host_ip", "")))
        else:  # "127.0.0.1:8014:8014/tcp"; without an address, "8014:8014" publishes on every interface
            parts = str(port).split(":")
            ips.append(parts[0] if len(parts) == 3 else "")
    return ips


@pytest.mark.parametrize("missing", ["REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "POSTGRES_PASSWORD"])
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_up_refuses_to_start_without_a_password(
    docker_compose: str, tmp_path: Path, missing: str, value: str | None
) -> None:
    variables = {k: v for k, v in PASSWORDS.items() if k != missing}
    if value is not None:
        variables[missing] = value
    result = compose_config(docker_compose, tmp_path, **variables)
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_no_password_has_a_default_in_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text
    for name in PASSWORDS:
        assert f"${{{name}:-" not in text and f"${{{name}}}" not in text, f"{name} must be required (:?)"


def test_every_published_port_binds_to_loopback_by_default(compose: dict[str, Any]) -> None:
    published = {name: host_ips(service) for name, service in compose["services"].items() if service.get("ports")}
    assert published, "compose publishes no port at all"
    for name, ips in published.items():
        assert ips == ["127.0.0.1"] * len(ips), f"{name} publishes on {ips}"


def test_bind_address_opens_every_port_deliberately(docker_compose: str, tmp_path: Path) -> None:
    config = parsed(compose_config(docker_compose, tmp_path, BIND_ADDRESS="0.0.0.0", **PASSWORDS))
    for name, service in config["services"].items():
        assert all(ip == "0.0.0.0" for ip in host_ips(service)), name


def test_grafana_needs_a_login_unless_opened(compose: dict[str, Any], docker_compose: str, tmp_path: Path) -> None:
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == PASSWORDS["GRAFANA_ADMIN_PASSWORD"]
    assert grafana["GF_USERS_ALLOW_SIGN_UP"] == "false"
    opened = parsed(compose_config(docker_compose, tmp_path, GRAFANA_ANONYMOUS="true", **PASSWORDS))
    viewer = opened["services"]["grafana"]["environment"]
    assert viewer["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert viewer["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"  # opened means read-only, never admin


def test_grafana_is_provisioned(compose: dict[str, Any]) -> None:
    mounts = " ".join(str(v) for v in compose["services"]["grafana"]["volumes"])
    assert "deploy/grafana/provisioning" in mounts and "deploy/grafana/dashboards" in mounts


def test_our_containers_are_hardened(compose: dict[str, Any]) -> None:
    ours = {name: s for name, s in compose["services"].items() if str(s.get("image", "")).startswith("tradepipe:")}
    assert {"exchange-sim", "scout", "ia1", "ia2", "execution", "monitor", "journal"} <= set(ours)
    for name, service in ours.items():
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert "/tmp" in service.get("tmpfs", []), name


def test_every_service_is_defined_with_a_readiness_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "exchange-sim", "scout", "ia1", "ia2", "execution", "monitor", "prometheus", "grafana"} <= set(
        services
    )
    assert {"postgres", "journal", "alertmanager"} <= set(services)
    for name in ("exchange-sim", "scout", "ia1", "ia2", "execution", "monitor", "journal"):
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"]), name


def test_scalable_services_have_no_fixed_names_or_host_ports(compose: dict[str, Any]) -> None:
    for name in SCALABLE:
        service = compose["services"][name]
        assert "container_name" not in service
        assert "ports" not in service


def test_services_wait_for_healthy_redis_and_use_its_password(compose: dict[str, Any]) -> None:
    password = PASSWORDS["REDIS_PASSWORD"]
    for name in ("scout", "ia1", "ia2", "execution", "monitor", "journal"):
        service = compose["services"][name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["REDIS_PASSWORD"] == password
    redis = compose["services"]["redis"]
    assert redis["environment"]["REDIS_PASSWORD"] == password
    command = " ".join(redis["command"])
    assert "--requirepass" in command
    assert password not in command  # read from the environment inside the container, not shown by ps


def test_redis_keeps_streams_and_state() -> None:
    conf = (ROOT / "deploy" / "redis" / "redis.conf").read_text()
    assert "appendonly yes" in conf
    assert "maxmemory-policy volatile-lru" in conf  # only keys with a TTL (the cache) can be evicted


def test_the_journal_writes_to_postgres_and_alertmanager_calls_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["journal"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = f"postgresql+asyncpg://tradepipe:{PASSWORDS['POSTGRES_PASSWORD']}@postgres:5432/tradepipe"
    for name in ("journal", "execution", "monitor"):  # the writer and its readers share one database
        assert services[name]["environment"]["DATABASE_URL"] == url
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == PASSWORDS["POSTGRES_PASSWORD"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    alertmanager = services["alertmanager"]
    assert "deploy/alertmanager" in " ".join(str(v) for v in alertmanager["volumes"])
    assert "/alertmanager/admin_token" in " ".join(alertmanager["command"])
    config = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    [hook] = config["receivers"][0]["webhook_configs"]
    assert hook["url"] == "http://journal:8015/alerts" and hook["send_resolved"]
    assert hook["http_config"]["authorization"]["credentials_file"] == "/alertmanager/admin_token"
