"""The bodies of monitor's /api/system endpoints. The figures are gathered as plain data (figures.py,
pipeline.py, the cache's statistics) and validated into these models at the edge, so the OpenAPI
document says what every number is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.cache import Tier

# -- the cache -----------------------------------------------------------------------------------------


class L1Stats(BaseModel):
    hits: int = Field(description="reads answered from this process's memory")
    misses: int = Field(description="reads that went on to Redis")
    joins: int = Field(description="reads that waited for the same read already in flight in this process")
    entries: int = Field(description="entries held in memory now (this process)")


class RedisTierStats(BaseModel):
    hits: int = Field(description="reads answered from a fresh Redis entry")
    misses: int = Field(description="reads that had to ask the exchange (fills plus errors)")
    stale_served: int = Field(description="reads answered from a stale copy because the exchange failed")
    joins: int = Field(description="reads that waited for another process's fill (single-flight)")
    fills: int = Field(description="entries filled from the exchange")
    errors: int = Field(description="fills that failed")
    entries: int = Field(description="entries in Redis now")


class TierStats(BaseModel):
    requests: int = Field(description="reads of this tier, every process (as last flushed)")
    l1: L1Stats = Field(description="the in-process level")
    redis: RedisTierStats = Field(description="the shared Redis level")
    upstream_calls: int = Field(description="exchange calls this tier made")
    hit_rate: float = Field(description="share of reads answered without an exchange call (0..1)")


class CacheOverall(BaseModel):
    requests: int = Field(description="reads of every tier")
    upstream_calls: int = Field(description="exchange calls they made")
    calls_saved: int = Field(description="reads answered without an exchange call")
    hit_rate: float = Field(description="calls_saved over requests (0..1)")
    stale_served: int = Field(description="reads answered from stale copies")


class RedisKeyStats(BaseModel):
    evicted_keys: int = Field(description="keys Redis evicted for memory (INFO stats)")
    expired_keys: int = Field(description="keys Redis expired (INFO stats)")


class CacheStats(BaseModel):
    tiers: dict[Tier, TierStats] = Field(description="by tier: price, ohlcv, market, technical, global")
    overall: CacheOverall = Field(description="every tier together")
    redis: RedisKeyStats = Field(description="what Redis itself reports")
    l1_evictions: int = Field(description="entries this process dropped from memory to stay within its bound")


# -- the pipeline and the services ---------------------------------------------------------------------


class GroupFigures(BaseModel):
    pending: int = Field(description="entries delivered to the group and not acknowledged yet")
    lag: int = Field(description="entries in the stream the group has not read yet")
    consumers: int = Field(description="consumers in the group")


class StreamFigures(BaseModel):
    length: int = Field(description="entries in the stream")
    groups: dict[str, GroupFigures] = Field(description="by consumer group")


class DeadLetter(BaseModel):
    stream: str | None = Field(description="the stream the entry came from")
    reason: str | None = Field(description="why it was dead-lettered")
    entry_id: str | None = Field(description="its id in that stream")


class DeadLetters(BaseModel):
    total: int = Field(description="entries in stream:deadletter")
    recent: list[DeadLetter] = Field(description="the latest ones, newest first")


class PipelineFigures(BaseModel):
    streams: dict[str, StreamFigures] = Field(description="by stream, from opportunities to executions")
    dead_letters: DeadLetters = Field(description="entries given up after too many deliveries")
    max_lag: int = Field(description="the largest lag of any group")
    max_pending: int = Field(description="the largest pending count of any group")


class ServiceHealth(BaseModel):
    status: Literal["ready", "not ready", "down"] = Field(description="its /readyz answer, or down if none")
    reasons: list[str] = Field(description="why it is not ready")
    latency_ms: float | None = Field(description="how long /readyz took; null when it did not answer")


class Alert(BaseModel):
    name: str = Field(description="what is wrong, e.g. cache_hit_rate_low, service_down")
    severity: Literal["info", "warning", "critical"] = Field(description="how urgent")
    message: str = Field(description="what was seen")
    recommendation: str = Field(description="what to do about it")


class TradingFigures(BaseModel):
    equity: float = Field(description="the active book's equity")
    drawdown: float = Field(description="below the peak, as a share of it")
    daily_loss: float = Field(description="below today's start, as a share of it")
    open_positions: int = Field(description="positions open")
    exposure: float = Field(description="notional of the open positions")
    halt: str | None = Field(description="why new entries are halted, or null")
    kill_switch: str | None = Field(description="why the kill switch is on, or null")


# -- /optimization-status and /performance/summary ----------------------------------------------------


class RedisState(BaseModel):
    status: Literal["ready"] = Field(description="Redis answered (otherwise the endpoint answers 503)")


class HitRate(BaseModel):
    hit_rate: float = Field(description="share of cache reads answered without an exchange call")


class Joins(BaseModel):
    joins: int = Field(description="reads that joined one already in flight instead of calling the exchange")


class StaleServed(BaseModel):
    stale_served: int = Field(description="reads answered from stale copies while the exchange failed")


class Optimizations(BaseModel):
    shared_cache: HitRate = Field(description="the tiered cache")
    single_flight: Joins = Field(description="one exchange call per key, whoever asks")
    stale_fallback: StaleServed = Field(description="stale-if-error")
    pipeline_reuse: float = Field(description="share of candle and technical reads a later stage reused")


class OptimizationStatus(BaseModel):
    status: Literal["optimal", "degraded"] = Field(description="degraded when any alert is raised")
    redis: RedisState = Field(description="the shared Redis")
    services: dict[str, ServiceHealth] = Field(description="by service name")
    optimizations: Optimizations = Field(description="what each optimisation saves")
    alerts: list[Alert] = Field(description="what needs attention now")


class Trend(BaseModel):
    first: float | None = Field(description="the oldest sample's value in the window")
    last: float | None = Field(description="the newest sample's value")
    change: float | None = Field(description="last minus first")
    min: float | None = Field(description="the lowest value in the window")
    max: float | None = Field(description="the highest value in the window")


class Trends(BaseModel):
    hit_rate: Trend = Field(description="cache hit rate")
    data_reuse: Trend = Field(description="share of candle and technical reads reused")
    max_lag: Trend = Field(description="the largest consumer lag")
    equity: Trend = Field(description="the active book's equity")
    drawdown: Trend = Field(description="the active book's drawdown")


class PipelineNow(BaseModel):
    max_lag: int = Field(description="the largest lag of any consumer group")
    max_pending: int = Field(description="the largest pending count of any group")


class SummaryNow(BaseModel):
    cache: CacheOverall = Field(description="the cache, every tier together")
    data_reuse: float = Field(description="share of candle and technical reads a later stage reused")
    pipeline: PipelineNow = Field(description="the streams' backlog")
    dead_letters: int = Field(description="entries in stream:deadletter")
    trading: TradingFigures = Field(description="the active book")


class Summary(BaseModel):
    window_hours: float = Field(description="how far back the samples go (HISTORY_RETENTION_S)")
    samples: int = Field(description="samples in the window (one every HISTORY_INTERVAL_S)")
    trends: Trends = Field(description="how the key figures moved over the window")
    upstream_calls_per_hour: float | None = Field(description="exchange calls per hour over the window")
    current: SummaryNow = Field(description="the figures now")
    alerts: list[Alert] = Field(description="what needs attention now")
    recommendations: list[str] = Field(description="what to do, one per alert (or 'no action needed')")


# -- cache invalidation and the live performance endpoints --------------------------------------------


class Invalidated(BaseModel):
    invalidated: int = Field(description="cache entries deleted from Redis")
    scope: Literal["all", "tier", "symbol"] = Field(description="what was asked")
    tier: Tier | None = Field(description="the tier, when the scope was one")
    symbol: str | None = Field(description="the symbol, when given")


class ReadRound(BaseModel):
    seconds: float = Field(description="how long reading prices and candles of every symbol took")
    upstream_calls: int = Field(description="exchange calls it made")


class PerfTest(BaseModel):
    symbols: list[str] = Field(description="the most traded symbols, read twice")
    first_read: ReadRound = Field(description="the first read (may call the exchange)")
    second_read: ReadRound = Field(description="the same read again (answered by the cache)")
    reads: int = Field(description="cache reads both rounds made")
    upstream_calls: int = Field(description="exchange calls both rounds made")
    hit_rate: float = Field(description="share of those reads answered without an exchange call")


class Ratios(BaseModel):
    upstream_calls_baseline_over_optimized: float | None = Field(
        description="how many times more exchange calls the baseline made; null if optimized made none"
    )
    seconds_baseline_over_optimized: float | None = Field(description="how many times longer the baseline took")


class Benchmark(BaseModel):
    symbols: list[str] = Field(description="the symbols read by both")
    baseline: ReadRound = Field(description="the gateway with cache and batching off (GATEWAY_MODE=baseline)")
    optimized: ReadRound = Field(description="the gateway as the services run it")
    ratios: Ratios = Field(description="baseline over optimized")
