"""Alerts and optimisation recommendations derived from the current figures.

Each check is a small function: it reads the figures and returns an alert (with a recommendation),
or nothing. Adding a check is adding a function to ``CHECKS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Alert:
    name: str
    severity: Literal["info", "warning", "critical"]
    message: str
    recommendation: str


@dataclass(frozen=True)
class Thresholds:
    hit_rate_below: float = 0.7
    lag_above: int = 1_000
    pending_above: int = 500
    stale_share_above: float = 0.1


Figures = dict[str, Any]
Check = Callable[[Figures, Thresholds], Alert | None]


def low_hit_rate(figures: Figures, limits: Thresholds) -> Alert | None:
    overall = figures.get("cache", {}).get("overall", {})
    if overall.get("requests", 0) < 100 or overall.get("hit_rate", 1.0) >= limits.hit_rate_below:
        return None
    return Alert(
        "cache_hit_rate_low",
        "warning",
        f"cache hit rate {overall['hit_rate']:.0%} is below {limits.hit_rate_below:.0%}",
        "raise CACHE_TTL_PRICE_S / CACHE_TTL_TECHNICAL_S (candles stay fresh until their close), "
        "or check that scout's prefetch runs",
    )


def stale_data(figures: Figures, limits: Thresholds) -> Alert | None:
    overall = figures.get("cache", {}).get("overall", {})
    requests = overall.get("requests", 0)
    if not requests or overall.get("stale_served", 0) / requests <= limits.stale_share_above:
        return None
    return Alert(
        "stale_data_served",
        "warning",
        f"{overall['stale_served'] / requests:.0%} of reads were served from stale copies",
        "the exchange is failing or rate limiting: check the breaker state and the rate-limit budget",
    )


def consumer_lag(figures: Figures, limits: Thresholds) -> Alert | None:
    lag = figures.get("pipeline", {}).get("max_lag", 0)
    if lag <= limits.lag_above:
        return None
    return Alert(
        "consumer_lag_high",
        "warning",
        f"a consumer group is {lag} entries behind",
        "scale the slow stage (docker compose up --scale ia1=3) or raise STREAM_CONCURRENCY",
    )


def pending_entries(figures: Figures, limits: Thresholds) -> Alert | None:
    pending = figures.get("pipeline", {}).get("max_pending", 0)
    if pending <= limits.pending_above:
        return None
    return Alert(
        "pending_entries_high",
        "warning",
        f"{pending} entries delivered but not acknowledged",
        "handlers are failing or stuck: read the service logs; entries are retried and then dead-lettered",
    )


def dead_letters(figures: Figures, limits: Thresholds) -> Alert | None:
    total = figures.get("pipeline", {}).get("dead_letters", {}).get("total", 0)
    if not total:
        return None
    return Alert(
        "dead_letters",
        "warning",
        f"{total} entries in stream:deadletter",
        "inspect stream:deadletter (XREVRANGE stream:deadletter + - COUNT 10): each entry says why",
    )


def services_down(figures: Figures, limits: Thresholds) -> Alert | None:
    down = [name for name, health in figures.get("services", {}).items() if health.get("status") != "ready"]
    if not down:
        return None
    return Alert(
        "service_down", "critical", f"not ready: {', '.join(sorted(down))}", "check those services' /readyz and logs"
    )


def trading_halted(figures: Figures, limits: Thresholds) -> Alert | None:
    trading = figures.get("trading", {})
    if trading.get("kill_switch"):
        return Alert(
            "kill_switch",
            "critical",
            f"kill switch on: {trading['kill_switch']}",
            "DELETE /kill-switch on execution to resume",
        )
    if trading.get("halt"):
        return Alert(
            "drawdown_halt",
            "critical",
            f"new entries halted: {trading['halt']}",
            "review, then POST /risk/halt/reset on ia2",
        )
    return None


CHECKS: list[Check] = [
    services_down,
    trading_halted,
    low_hit_rate,
    stale_data,
    consumer_lag,
    pending_entries,
    dead_letters,
]


def assess(figures: Figures, limits: Thresholds) -> list[Alert]:
    return [alert for check in CHECKS if (alert := check(figures, limits)) is not None]


def as_dicts(alerts: list[Alert]) -> list[dict[str, str]]:
    return [asdict(alert) for alert in alerts]
