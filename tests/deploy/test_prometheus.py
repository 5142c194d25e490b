"""Prometheus config and alert rules pass promtool, and the alerts name metrics the code exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"


def test_config_and_rules_pass_promtool(promtool: str) -> None:
    checks = (
        ["check", "config", "prometheus.yml"],
        ["check", "config", "prometheus.local.yml"],
        ["check", "rules", "alerts.yml"],
    )
    for args in checks:
        result = subprocess.run([promtool, *args], cwd=PROM, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_alert_metrics_exist_in_the_code() -> None:
    rules = (PROM / "alerts.yml").read_text()
    source = "\n".join(p.read_text() for p in (ROOT / "shared").rglob("*.py")) + "\n".join(
        p.read_text() for p in (ROOT / "services").rglob("*.py")
    )
    for metric in sorted(set(re.findall(r"tradepipe_([a-z_]+?)(?:_total)?\b", rules))):
        assert f'"{metric}' in source, f"alerts.yml uses tradepipe_{metric}, which no code defines"


def test_alertmanager_config_passes_amtool(amtool: str) -> None:
    config = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
    result = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_sends_alerts_to_alertmanager_and_scrapes_the_journal() -> None:
    import yaml

    for name in ("prometheus.yml", "prometheus.local.yml"):
        config = yaml.safe_load((PROM / name).read_text())
        [target] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
        assert target.endswith(":9093"), name
        assert "8015" in (PROM / name).read_text(), name
