"""Prometheus alerts through a real Alertmanager running deploy's config (only its timings shortened and the
journal's address filled in): an alert posted to Alertmanager reaches the phone (the webhook receiver) once,
through the journal's authenticated /alerts, and its resolution follows."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devkit import processes
from devkit.net import free_port, http_ok
from devkit.waits import eventually, wait_until
from devkit.webhook_server import WebhookServer
from tests.conftest import JournalFactory

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "alert-routing-token"


def alertmanager_binary() -> str:
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found is None:
        pytest.fail("Alertmanager is required: apt-get install prometheus-alertmanager")
    return found


AlertmanagerFactory = Callable[[str], str]


def fast_config(journal_url: str, token_file: Path) -> dict[str, Any]:
    """deploy's config with the journal's address, a token file of the test's, and no waiting to group."""
    config: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    config["route"] |= {"group_wait": "0s", "group_interval": "1s"}
    for child in config["route"].get("routes", []):
        child["group_wait"] = "0s"
    [hook] = config["receivers"][0]["webhook_configs"]
    hook["url"] = f"{journal_url}/alerts"
    hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


@pytest.fixture
def alertmanager(tmp_path: Path, journal_service: JournalFactory) -> Iterator[AlertmanagerFactory]:
    """Starts a journal service notifying the given URL and an Alertmanager in front of it; its URL."""
    binary = alertmanager_binary()
    started: list[subprocess.Popen[bytes]] = []

    def start(notify_url: str) -> str:
        journal = journal_service(NOTIFY_URLS=notify_url, ADMIN_TOKEN=TOKEN)
        token_file = tmp_path / "admin_token"
        token_file.write_text(TOKEN)
        config = tmp_path / "alertmanager.yml"
        config.write_text(yaml.safe_dump(fast_config(journal.url("journal"), token_file)))
        port = free_port()
        args = [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}"]
        args += [f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
        with (tmp_path / "alertmanager.log").open("ab") as log:
            started.append(processes.spawn(args, stdout=log))
        url = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: http_ok(f"{url}/-/ready"), 30), (tmp_path / "alertmanager.log").read_text()
        return url

    yield start
    for process in started:
        processes.stop(process, grace_s=10)


async def test_an_alert_is_routed_to_one_notification(
    alertmanager: AlertmanagerFactory, webhook: WebhookServer
) -> None:
    url = alertmanager(webhook.url)
    alert = {
        "labels": {"alertname": "JournalDatabaseDown", "severity": "critical", "service": "journal"},
        "annotations": {"summary": "the journal cannot reach its database"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(3):  # Prometheus re-sends a firing alert on every evaluation
            assert (await client.post("/api/v2/alerts", json=[alert])).status_code == 200
        await eventually(webhook.titles, timeout_s=30, what="the alert reached the phone")
        resolved = alert | {"endsAt": datetime.now(UTC).isoformat()}
        assert (await client.post("/api/v2/alerts", json=[resolved])).status_code == 200
    await eventually(lambda: len(webhook.titles()) >= 2, timeout_s=30, what="the resolution reached the phone")
    assert webhook.titles() == ["[FIRING] JournalDatabaseDown", "[RESOLVED] JournalDatabaseDown"]
    assert webhook.received[0]["message"] == "the journal cannot reach its database"
