"""monitor's settings: where the other services answer, how much history to keep, alert thresholds."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class MonitorSettings(ServiceSettings):
    service_name: str = "monitor"
    port: int = Field(8001, ge=1, le=65535)

    service_urls: dict[str, str] = {
        "scout": "http://127.0.0.1:8011",
        "ia1": "http://127.0.0.1:8012",
        "ia2": "http://127.0.0.1:8013",
        "execution": "http://127.0.0.1:8014",
    }
    history_interval_s: float = Field(60.0, ge=1, le=3600)
    history_retention_s: float = Field(86_400.0, ge=60, le=30 * 86_400)
    perf_test_symbols: int = Field(8, ge=1, le=50)

    alert_hit_rate_below: float = Field(0.7, ge=0, le=1)
    alert_consumer_lag_above: int = Field(1_000, ge=1)
    alert_pending_above: int = Field(500, ge=1)
    feed_client_queue: int = Field(1_000, ge=10, le=100_000)
