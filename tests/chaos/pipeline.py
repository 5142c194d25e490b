"""What the fault-injection tests share: load, progress, and the verdict that accounts for every message.

The verdict is strict on purpose: every opportunity published must end traded, refused with a reason,
or dead-lettered with a reason the test said it expected. A consumer that drops entries, or dead-letters
entries it should have processed, fails it (tests/chaos/test_verdict.py proves so with a broken consumer).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import orjson
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from devkit.sim_server import SimServer
from devkit.waits import eventually
from shared.bus import Publisher
from shared.contracts import Analysis, Decision, Opportunity
from shared.keys import (
    PAPER_BOOK,
    STREAM_ANALYSES,
    STREAM_DEADLETTER,
    STREAM_DECISIONS,
    STREAM_OPPORTUNITIES,
    BookKeys,
    book_keys,
)
from shared.messages import decode
from shared.trading_state import Order

PAPER = book_keys(PAPER_BOOK)
STAGES = ("ia1", "ia2", "execution")
INPUT_STREAM = {"ia1": STREAM_OPPORTUNITIES, "ia2": STREAM_ANALYSES, "execution": STREAM_DECISIONS}
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionResetError)


async def market(sim: SimServer) -> list[tuple[str, float]]:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        rows = (await client.get("/openApi/swap/v2/quote/ticker")).json()["data"]
    return [(row["symbol"].replace("-", "/") + ":USDT", float(row["lastPrice"])) for row in rows]


def opportunity(symbol: str, price: float, n: int) -> Opportunity:
    return Opportunity(
        scan_id=f"chaos-{n // 50}", symbol=symbol, rank=1 + n % 20, score=0.8, price=price,
        change_pct_24h=2.0, quote_volume_24h=5e7, volatility_pct=3.0, spread_bps=2.0,
    )  # fmt: skip


async def publish(redis: Redis, prices: list[tuple[str, float]], count: int, rate: float) -> set[str]:
    """Publish ``count`` opportunities at ``rate``/s; an XADD that fails (Redis away) is tried again."""
    publisher = Publisher(redis, maxlen=1_000_000)
    sent: set[str] = set()
    started = time.monotonic()
    for n in range(count):
        message = opportunity(*prices[n % len(prices)], n)
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))  # pacing, not a wait for an outcome
        while True:
            try:
                await publisher.publish(STREAM_OPPORTUNITIES, message)
                break
            except REDIS_DOWN:
                await asyncio.sleep(0.2)
        sent.add(message.message_id)
    return sent


async def entries_read(redis: Redis, stage: str) -> int:
    """How far the stage's consumer group has read its input stream (Redis 7's ``entries-read``)."""
    try:
        groups = await redis.xinfo_groups(INPUT_STREAM[stage])
    except REDIS_DOWN:
        return 0
    for group in groups:
        if group["name"].decode() == stage:
            return int(group.get("entries-read") or 0)
    return 0


async def drained(redis: Redis, timeout_s: float = 240) -> None:
    """Every stage's group has read everything and holds nothing pending."""

    async def quiet() -> bool:
        for stage, stream in INPUT_STREAM.items():
            info = {g["name"].decode(): g for g in await redis.xinfo_groups(stream)}
            if stage not in info or info[stage]["pending"] or info[stage]["lag"]:
                return False
        return True

    await eventually(quiet, timeout_s, interval_s=0.2, what="every stage drained its input")


def _dead_message_id(record: dict[bytes, bytes]) -> str:
    """The id of the message a dead-letter record holds (its original fields are kept as JSON)."""
    fields = orjson.loads(record[b"fields"])
    return str(orjson.loads(fields.get("data", "{}")).get("message_id", ""))


@dataclass(frozen=True)
class Figures:
    opportunities: int
    orders: int
    refused: int
    dead_letters: int


async def account_for_everything(
    redis: Redis,
    sent: set[str],
    *,
    expected_dead: Iterable[str] = (),
    max_positions: int | None = None,
    book: BookKeys = PAPER,
) -> Figures:
    """Every opportunity traded, refused with a reason, or dead-lettered with an expected reason; none twice;
    no order left pending."""
    analyses = [decode(f, Analysis) for _, f in await redis.xrange(STREAM_ANALYSES)]
    decisions = [decode(f, Decision) for _, f in await redis.xrange(STREAM_DECISIONS)]
    dead = {_dead_message_id(f): f[b"reason"].decode() for _, f in await redis.xrange(STREAM_DEADLETTER)}
    orders = [Order.model_validate_json(raw) for raw in (await redis.hgetall(book.orders)).values()]
    assert not [o for o in orders if o.status == "pending"], "an order left pending (reserved, never resolved)"
    assert await redis.hlen(book.reservations) == 0

    allowed = tuple(expected_dead)
    unexpected = {mid: why for mid, why in dead.items() if not any(text in why for text in allowed)}
    assert not unexpected, f"{len(unexpected)} entries dead-lettered that should have been processed: {unexpected}"

    missing = sent - {a.opportunity_id for a in analyses} - dead.keys()
    assert not missing, f"{len(missing)} opportunities neither analysed nor dead-lettered"
    undecided = {a.message_id for a in analyses} - {d.analysis_id for d in decisions} - dead.keys()
    assert not undecided, f"{len(undecided)} analyses neither decided nor dead-lettered"
    opens = [d for d in decisions if d.action == "open"]
    unexecuted = {d.message_id for d in opens} - {o.decision_id for o in orders} - dead.keys()
    assert not unexecuted, f"{len(unexecuted)} decisions to trade neither executed nor dead-lettered"
    assert all(d.reasons for d in decisions), "a decision without its reasons"
    refused = [o for o in orders if o.status == "rejected"]
    assert all(o.reason for o in refused), "an order refused without a reason"

    # Traded once: redeliveries re-derive the same ids, so one opportunity can never become two orders.
    opportunity_of = {d.message_id: d.opportunity_id for d in decisions}
    per_opportunity = Counter(opportunity_of[o.decision_id] for o in orders if o.kind == "open")
    assert max(per_opportunity.values(), default=0) <= 1, per_opportunity.most_common(3)
    filled_open = [o for o in orders if o.kind == "open" and o.status == "filled"]
    closed = sum(1 for o in orders if o.kind == "close" and o.status == "filled")
    positions = await redis.hlen(book.positions)
    assert positions == len(filled_open) - closed  # one position per filled opening order, no more
    if max_positions is not None:
        assert positions <= max_positions, f"{positions} positions open, the cap is {max_positions}"
    rejected_decisions = sum(1 for d in decisions if d.action == "reject")
    return Figures(len(sent), len(filled_open), len(refused) + rejected_decisions, len(dead))
