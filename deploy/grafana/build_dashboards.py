"""Writes the Grafana dashboards (JSON, fixed uids) from the panel list below: `python build_dashboards.py`.

Each panel is (title, PromQL, unit). tests/deploy checks the JSON is current and, against a real
Prometheus scraping the running stack, that every query returns data.
"""

from __future__ import annotations

import json
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "tradepipe-prometheus"}

DASHBOARDS: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "overview": (
        "tradepipe-overview",
        "tradepipe: pipeline and health",
        [
            ("Targets up", 'up{job=~"tradepipe.*|exchange-sim"}', "none"),
            ("HTTP requests/s by service", "sum by (service) (rate(tradepipe_http_requests_total[5m]))", "reqps"),
            (
                "HTTP p95 latency by service",
                "histogram_quantile(0.95, sum by (le, service) (rate(tradepipe_http_request_duration_seconds_bucket[5m])))",
                "s",
            ),
            (
                "Stream messages/s by outcome",
                "sum by (stream, outcome) (rate(tradepipe_stream_messages_total[5m]))",
                "ops",
            ),
            ("Consumer lag (entries)", "max by (stream, group) (tradepipe_stream_consumer_lag_entries)", "none"),
            ("Pending entries", "max by (stream, group) (tradepipe_stream_pending_entries)", "none"),
            ("Dead letters (total)", 'sum(tradepipe_stream_messages_total{outcome="deadletter"})', "none"),
            (
                "Stage latency p95 since the opportunity",
                "histogram_quantile(0.95, sum by (le, stage) (rate(tradepipe_pipeline_stage_latency_seconds_bucket[5m])))",
                "s",
            ),
        ],
    ),
    "cache-exchange": (
        "tradepipe-cache-exchange",
        "tradepipe: cache and exchange",
        [
            (
                "Cache hit rate by tier",
                '1 - sum by (tier) (rate(tradepipe_cache_requests_total{level="redis",outcome=~"fill|error"}[5m]))'
                ' / clamp_min(sum by (tier) (rate(tradepipe_cache_requests_total{level="l1",outcome=~"hit|miss|join"}[5m])), 1e-9)',
                "percentunit",
            ),
            (
                "Cache lookups/s by level and outcome",
                "sum by (level, outcome) (rate(tradepipe_cache_requests_total[5m]))",
                "ops",
            ),
            (
                "Stale copies served/s",
                'sum by (tier) (rate(tradepipe_cache_requests_total{outcome="stale"}[5m]))',
                "ops",
            ),
            ("Cache entries by tier", 'sum by (tier) (tradepipe_cache_entries{level="redis"})', "none"),
            (
                "Exchange calls/s by endpoint and outcome",
                "sum by (endpoint, outcome) (rate(tradepipe_exchange_requests_total[5m]))",
                "ops",
            ),
            (
                "Exchange latency p95",
                "histogram_quantile(0.95, sum by (le, endpoint) (rate(tradepipe_exchange_request_duration_seconds_bucket[5m])))",
                "s",
            ),
            ("Calls saved by the cache/s", "sum(rate(tradepipe_exchange_calls_saved_total[5m]))", "ops"),
            ("Circuit breaker (0 closed, 1 half-open, 2 open)", "max(tradepipe_exchange_breaker_state)", "none"),
            (
                "Rate-limiter wait p95",
                "histogram_quantile(0.95, sum by (le) (rate(tradepipe_exchange_limiter_wait_seconds_bucket[5m])))",
                "s",
            ),
        ],
    ),
    "trading": (
        "tradepipe-trading",
        "tradepipe: trading",
        [
            ("Equity (USD)", "max(tradepipe_equity_usd)", "currencyUSD"),
            ("Drawdown from peak", "max(tradepipe_drawdown_ratio)", "percentunit"),
            ("Open positions", "max(tradepipe_open_positions)", "none"),
            ("Exposure (USD)", "max(tradepipe_exposure_usd)", "currencyUSD"),
            (
                "Orders by kind and outcome (1h)",
                "sum by (kind, outcome) (increase(tradepipe_orders_total[1h]))",
                "none",
            ),
            ("Trading halted (1 = yes)", "max(tradepipe_trading_halted)", "none"),
        ],
    ),
}


def panel(index: int, title: str, expr: str, unit: str) -> dict[str, object]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "datasource": DATASOURCE, "expr": expr}],
    }


def dashboard(uid: str, title: str, panels: list[tuple[str, str, str]]) -> dict[str, object]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["tradepipe"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": [panel(i, *p) for i, p in enumerate(panels)],
    }


def render() -> dict[str, str]:
    return {
        f"{name}.json": json.dumps(dashboard(uid, title, panels), indent=2) + "\n"
        for name, (uid, title, panels) in DASHBOARDS.items()
    }


if __name__ == "__main__":
    out = Path(__file__).parent / "dashboards"
    for filename, text in render().items():
        (out / filename).write_text(text)
