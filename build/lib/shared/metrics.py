"""Metric names and the per-process registry.

One prefix for the whole project, base units, ``_total`` on counters, bounded labels. Components
define their metrics once, at module level, through :func:`name`; everything registers in the
process's default registry, which ``GET /metrics`` serves.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "tradepipe"

# Latency buckets in seconds, from a cache L1 hit (tens of µs) to a slow exchange call.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def name(metric: str) -> str:
    return f"{PREFIX}_{metric}"


def registry() -> CollectorRegistry:
    return REGISTRY


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
