"""B3: latency and throughput of ia1 -> ia2 -> execution, as real service processes, 1 and 2 replicas,
beside bare redis-py references measured in the same run (bench/b3_references.py).

The exchange is out of the hot path: a warm-up pass sends one opportunity per symbol through the
pipeline, which fills the shared cache with every candle series and analysis the stages need, then
the trading state is cleared so that orders can be placed again. Each opportunity's latency runs from
its creation (just before XADD) to the record that ends its path: the paper order for a decision to
trade, the decision itself for a rejection. Both are timestamped by the service that wrote them.

ia1's saturated rate is measured with ia1 alone (no ia2 or execution sharing the cores), on the warm
cache, against the bare batched consumer; the end-to-end p99 at the offered rate against the bare relay.
These machines vary threefold from hour to hour, so the goals are these ratios; absolute figures are
reported beside them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.b3_references import bare_batched, bare_relay
from bench.env import Env, Size, pct, progress
from devkit.stack import Stack
from shared.bus import Publisher
from shared.contracts import Analysis, Decision, Execution, Opportunity
from shared.keys import (
    PAPER_BOOK,
    STREAM_ANALYSES,
    STREAM_DECISIONS,
    STREAM_EXECUTIONS,
    STREAM_OPPORTUNITIES,
    book_keys,
)
from shared.messages import decode, encode
from shared.redis_client import create_redis
from shared.settings import ServiceSettings

STAGES = ("execution", "ia2", "ia1")
PERMISSIVE_RISK = {  # a large book (50 positions), so that many decisions to trade become orders
    "RISK_MAX_OPEN_POSITIONS": "50",
    "RISK_MAX_TOTAL_EXPOSURE": "50",
    "RISK_MAX_SYMBOL_EXPOSURE": "10",
    "RISK_MAX_CORRELATION": "1",
    "RISK_MAX_DAILY_LOSS": "1",
    "RISK_MAX_DRAWDOWN": "1",
    "PAPER_START_BALANCE": "10000000",
}


def _stack(env: Env, redis_url: str, replicas: int, log_dir: Path, services: tuple[str, ...] = STAGES) -> Stack:
    """``replicas`` processes of each pipeline stage, quiet, with a large book."""
    settings = {
        "EXCHANGE_RATE_PER_S": "1000",
        "EXCHANGE_RATE_BURST": "1000",
        "STREAM_BLOCK_MS": "100",
        "LOG_LEVEL": "WARNING",
        "PRICE_WATCH_INTERVAL_S": "60",
        **PERMISSIVE_RISK,
    }
    return Stack(redis_url, env.sim.api_url, log_dir, settings, services=services, replicas=replicas)


@dataclass
class Collector:
    """Follows decisions and executions, and notes when each opportunity's path ended and how long it took."""

    redis: Redis
    cursors: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)  # decision id -> opportunity id
    ended: dict[str, float] = field(default_factory=dict)  # opportunity id -> seconds from creation
    orders: dict[str, float] = field(default_factory=dict)  # opportunity id -> seconds, paper orders only

    async def mark(self) -> None:
        for stream in (STREAM_DECISIONS, STREAM_EXECUTIONS):
            last = await self.redis.xrevrange(stream, count=1)
            self.cursors[stream] = last[0][0].decode() if last else "0-0"
        self.ended.clear()
        self.orders.clear()

    async def wait_for(self, expected: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not expected <= self.ended.keys() and time.monotonic() < deadline:
            await self.poll()

    async def poll(self) -> None:
        replies = await self.redis.xread(self.cursors, count=1000, block=100)  # type: ignore[arg-type]
        for raw_stream, entries in replies:
            stream = raw_stream.decode()
            for entry_id, fields in entries:
                self.cursors[stream] = entry_id.decode()
                if stream == STREAM_DECISIONS:
                    self._on_decision(decode(fields, Decision))
                else:
                    self._on_execution(decode(fields, Execution))

    def _on_decision(self, decision: Decision) -> None:
        self.decisions[decision.message_id] = decision.opportunity_id
        if decision.action == "reject":
            self.ended[decision.opportunity_id] = decision.created_at - decision.opportunity_created_at

    def _on_execution(self, execution: Execution) -> None:
        opportunity_id = self.decisions.get(execution.decision_id)
        if opportunity_id is None or execution.kind != "open":
            return
        took = execution.created_at - execution.opportunity_created_at
        self.ended[opportunity_id] = took
        if execution.status == "filled":
            self.orders[opportunity_id] = took


def _opportunity(symbol: str, price: float, n: int) -> Opportunity:
    return Opportunity(
        scan_id=f"bench-{n // 1000}",
        symbol=symbol,
        rank=1 + n % 20,
        score=0.8,
        price=price,
        change_pct_24h=2.0,
        quote_volume_24h=5e7,
        volatility_pct=3.0,
        spread_bps=2.0,
    )


def _now(message: Opportunity) -> Opportunity:
    """The message stamped at the moment it is published, so the latency does not include the queueing here."""
    return message.model_copy(update={"created_at": time.time()})


@dataclass
class Offered:
    seconds: float  # from the first publish until every path ended
    published_at: float  # wall clock of the first publish
    ids: set[str]
    analyses_after: str  # last analysis entry before the first publish


async def _offer(
    redis: Redis, collector: Collector, market: list[tuple[str, float]], count: int, rate: float | None
) -> Offered:
    """Publish ``count`` opportunities, at ``rate`` per second or all at once; wait for every path to end."""
    await collector.mark()
    last_analysis = await redis.xrevrange(STREAM_ANALYSES, count=1)
    publisher = Publisher(redis, maxlen=1_000_000)
    messages = [_opportunity(*market[n % len(market)], n) for n in range(count)]
    ids = {m.message_id for m in messages}
    published_at, started = time.time(), time.perf_counter()
    if rate is None:
        async with redis.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.xadd(STREAM_OPPORTUNITIES, encode(_now(message)))  # type: ignore[arg-type]
            await pipe.execute()
    else:
        waiter = asyncio.create_task(collector.wait_for(ids, timeout_s=count / rate + 60))
        for n, message in enumerate(messages):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            await publisher.publish(STREAM_OPPORTUNITIES, _now(message))
        await waiter
    await collector.wait_for(ids, timeout_s=120)
    missing = len(ids - collector.ended.keys())
    if missing:
        raise RuntimeError(f"B3: {missing} of {count} opportunities never reached the end of the pipeline")
    after = last_analysis[0][0].decode() if last_analysis else "0-0"
    return Offered(time.perf_counter() - started, published_at, ids, after)


async def _ia1_rate(redis: Redis, offered: Offered) -> float:
    """Analyses per second that ia1 wrote for these opportunities, from the first publish to its last one."""
    last, found, after = offered.published_at, 0, offered.analyses_after
    while batch := await redis.xrange(STREAM_ANALYSES, min=f"({after}", count=1000):
        for entry_id, fields in batch:
            after = entry_id.decode()
            analysis = decode(fields, Analysis)
            if analysis.opportunity_id in offered.ids:
                found += 1
                last = max(last, analysis.created_at)
    return found / (last - offered.published_at) if last > offered.published_at else 0.0


async def _clear_trading_state(redis: Redis) -> None:
    paper = book_keys(PAPER_BOOK)
    await redis.delete(paper.positions, paper.orders, paper.account, paper.trades, paper.equity, paper.reservations)


async def run_replicas(env: Env, size: Size, replicas: int, db: int, log_dir: Path) -> dict[str, Any]:
    redis_url = f"{env.redis_server.url.rsplit('/', 1)[0]}/{db}"
    redis = create_redis(env.settings(redis_url=redis_url))
    await redis.flushdb()
    tickers = await _tickers(env, redis_url)
    group = _stack(env, redis_url, replicas, log_dir)
    collector = Collector(redis)
    try:
        group.start_all()
        await _offer(redis, collector, tickers, len(tickers), rate=50)  # warm-up: fills the cache
        await _clear_trading_state(redis)
        await _offer(redis, collector, tickers, int(size.b3_rate * size.b3_seconds), rate=size.b3_rate)
        paced = dict(collector.ended)
        orders = dict(collector.orders)
        await _clear_trading_state(redis)
        burst = await _offer(redis, collector, tickers, size.b3_burst, rate=None)
        saturated = dict(collector.ended)
        ia1_rate = await _ia1_rate(redis, burst)
    finally:
        group.stop_all()
        await redis.aclose()
    throughput = size.b3_burst / burst.seconds
    progress(
        f"B3 {replicas} replica(s): p50 {_ms(list(paced.values()), 50)} ms at {size.b3_rate:.0f} msg/s; saturated: "
        f"{throughput:.0f} msg/s through the pipeline, ia1 {ia1_rate:.0f} msg/s"
    )
    return {
        "replicas": replicas,
        "offered_rate": size.b3_rate,
        "messages": len(paced),
        "orders": len(orders),
        "e2e_ms_p50": _ms(list(paced.values()), 50),
        "e2e_ms_p99": _ms(list(paced.values()), 99),
        "order_e2e_ms_p50": _ms(list(orders.values()), 50),
        "order_e2e_ms_p99": _ms(list(orders.values()), 99),
        # Paths that end without a paper order (rejections): apart, since an order waits for a fresh price.
        "no_order_e2e_ms_p99": _ms([v for k, v in paced.items() if k not in orders], 99),
        "saturated_msgs_per_s": round(throughput, 1),
        "msgs_per_s_per_replica": round(throughput / replicas, 1),
        "ia1_msgs_per_s_per_replica": round(ia1_rate / replicas, 1),
        "saturated_e2e_ms_p50": _ms(list(saturated.values()), 50),
        "saturated_e2e_ms_p99": _ms(list(saturated.values()), 99),
        "e2e_ms_samples": sorted(round(v * 1000, 3) for v in paced.values()),
    }


def _ms(values: list[float], q: float) -> float:
    return round(pct(values, q) * 1000, 3)


async def _tickers(env: Env, redis_url: str) -> list[tuple[str, float]]:
    gateway = env.gateway(env.settings(redis_url=redis_url))
    try:
        tickers = await gateway.tickers()
    finally:
        await gateway.close()
        await gateway.cache.stop()
        await gateway.limiter.redis.aclose()
    return sorted((t.symbol, t.last) for t in tickers.values() if t.last)


async def ia1_alone(env: Env, size: Size, db: int, log_dir: Path) -> dict[str, Any]:
    """ia1 by itself at saturation on a warm cache: a pass over every symbol (its L1 starts empty, and a
    candle may have closed since the pipeline ran), then a burst, and its analyses/s."""
    redis_url = f"{env.redis_server.url.rsplit('/', 1)[0]}/{db}"
    redis = create_redis(env.settings(redis_url=redis_url))
    tickers = await _tickers(env, redis_url)
    group = _stack(env, redis_url, 1, log_dir, services=("ia1",))
    try:
        group.start_all()
        await _burst_through_ia1(redis, [_opportunity(*tickers[n], n) for n in range(len(tickers))])
        offered = await _burst_through_ia1(
            redis, [_opportunity(*tickers[n % len(tickers)], n) for n in range(size.b3_burst)]
        )
        rate = await _ia1_rate(redis, offered)
    finally:
        group.stop_all()
        await redis.aclose()
    progress(f"B3 ia1 alone: {rate:,.0f} analyses/s")
    return {"messages": size.b3_burst, "msgs_per_s": round(rate, 1)}


async def _burst_through_ia1(redis: Redis, messages: list[Opportunity]) -> Offered:
    """Publish ``messages`` at once and wait until ia1 has analysed every one."""
    last = await redis.xrevrange(STREAM_ANALYSES, count=1)
    offered = Offered(0.0, time.time(), {m.message_id for m in messages}, last[0][0].decode() if last else "0-0")
    async with redis.pipeline(transaction=False) as pipe:
        for message in messages:
            pipe.xadd(STREAM_OPPORTUNITIES, encode(_now(message)))  # type: ignore[arg-type]
        await pipe.execute()
    await _wait_for_analyses(redis, offered, timeout_s=120)
    return offered


async def _wait_for_analyses(redis: Redis, offered: Offered, timeout_s: float) -> None:
    found, after = 0, offered.analyses_after
    deadline = time.monotonic() + timeout_s
    while found < len(offered.ids) and time.monotonic() < deadline:
        for _, entries in await redis.xread({STREAM_ANALYSES: after}, count=1000, block=100) or []:
            for entry_id, fields in entries:
                after = entry_id.decode()
                found += decode(fields, Analysis).opportunity_id in offered.ids
    if found < len(offered.ids):
        raise RuntimeError(f"B3: ia1 analysed {found} of {len(offered.ids)} opportunities")


async def run(env: Env, size: Size, log_dir: Path) -> dict[str, Any]:
    env.sim.admin("POST", "/reset")
    env.sim.admin("PUT", "/rate-limit", json={"enabled": False})
    defaults = ServiceSettings()
    batch = min(defaults.stream_batch_size, defaults.stream_concurrency)  # what the services read at once
    # Each reference runs right before and right after what it is compared with, and the better of the two
    # counts (the machine's capability of the moment): load on a shared machine drifts within a run.
    relays = [await bare_relay(env, size, db=6, batch=batch)]
    one = await run_replicas(env, size, 1, db=3, log_dir=log_dir)
    relays.append(await bare_relay(env, size, db=6, batch=batch))
    batched = [await bare_batched(env, size, db=5, batch=batch)]
    alone = await ia1_alone(env, size, db=3, log_dir=log_dir)
    batched.append(await bare_batched(env, size, db=5, batch=batch))
    two = await run_replicas(env, size, 2, db=4, log_dir=log_dir)
    relay = min(relays, key=lambda r: float(r["e2e_ms_p99"]))
    consumer = max(batched, key=lambda r: float(r["msgs_per_s"]))
    samples = one.pop("e2e_ms_samples")
    two.pop("e2e_ms_samples")
    return {
        "e2e_ms_p50": one["e2e_ms_p50"],
        "e2e_ms_p99": one["e2e_ms_p99"],
        "msgs_per_s_per_replica": one["msgs_per_s_per_replica"],
        "ia1_msgs_per_s_per_replica": alone["msgs_per_s"],
        "bare_batched_msgs_per_s": consumer["msgs_per_s"],
        "bare_relay_e2e_ms_p50": relay["e2e_ms_p50"],
        "bare_relay_e2e_ms_p99": relay["e2e_ms_p99"],
        "ia1_over_bare_batched": round(alone["msgs_per_s"] / consumer["msgs_per_s"], 3),
        "e2e_p99_over_bare_relay": round(one["e2e_ms_p99"] / relay["e2e_ms_p99"], 3) if relay["e2e_ms_p99"] else None,
        "one_replica": one,
        "ia1_alone": alone,
        "two_replicas": two,
        "bare_batched": {"batch": batch, "runs_msgs_per_s": [r["msgs_per_s"] for r in batched]},
        "bare_relay": {"batch": batch, "runs_e2e_ms_p99": [r["e2e_ms_p99"] for r in relays]},
        "scaling_two_over_one": round(two["saturated_msgs_per_s"] / one["saturated_msgs_per_s"], 3),
        "e2e_ms_samples": samples,
    }
