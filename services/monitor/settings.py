"""monitor's settings: where the other services answer, how much history to keep, alert thresholds."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class MonitorSettings(ServiceSettings):
    service_name: str = "monitor"
    port: int = Field(8001, ge=1, le=65535)

    service_urls: dict[str, str] = {
        "scout": "http://127.0.0.1:8011",
        "ia1": "http://127.0.0.1:8012",
        "ia2": "http://127.0.0.1:8013",
        "execution": "http://127.0.0.1:8014",
        "journal": "http://127.0.0.1:8015",
    }
    history_interval_s: float = Field(60.0, ge=1, le=3600)
    history_retention_s: float = Field(86_400.0, ge=60, le=30 * 86_400)
    perf_test_symbols: int = Field(8, ge=1, le=50)

    alert_hit_rate_below: float = Field(0.7, ge=0, le=1)
    alert_consumer_lag_above: int = Field(1_000, ge=1)
    alert_pending_above: int = Field(500, ge=1)
    feed_client_queue: int = Field(1_000, ge=10, le=100_000)
    # The live feed needs a read token (FEED_TOKEN, or the admin token when unset); a browser must also
    # come from one of FEED_ALLOWED_ORIGINS (clients that send no Origin header, like scripts, are fine).
    feed_token: SecretStr | None = None
    feed_allowed_origins: tuple[str, ...] = ()
    # The performance test and benchmark call the exchange: each client may run one every this many
    # seconds, and together they may spend at most this share of the exchange's request budget.
    perf_client_interval_s: float = Field(60.0, ge=0, le=86_400)
    perf_budget_share: float = Field(0.1, gt=0, le=1)
